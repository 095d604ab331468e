# shellcheck shell=bash
# The appliance in the lab: build, start inside elb-dp, wait until it answers, stop, report.
# Sourced by scripts/lab after common.sh and lab-topology.sh; paths are relative to the repository root
# (the cwd).

LAB_DP_PIDFILE=.lab/dataplane.pid
LAB_DP_LOG=.lab/dataplane.log
LAB_DP_SOCK=.lab/dataplane.sock
LAB_DP_FILE_PREFIX_DIR=/var/run/dpdk/edgelb-lab
LAB_DP_WAIT_S=60
LAB_DP_STOP_S=10

# The binary: $EDGELB_DATAPLANE_BIN when set (then never built), else cargo's release output.
dp_bin() {
    if [[ -n ${EDGELB_DATAPLANE_BIN:-} ]]; then
        printf '%s\n' "${EDGELB_DATAPLANE_BIN}"
    else
        printf '%s/release/edgelb-dataplane\n' "${CARGO_TARGET_DIR:-target}"
    fi
}

find_cargo() {
    if command -v cargo >/dev/null 2>&1; then
        command -v cargo
    elif [[ -x ${HOME}/.cargo/bin/cargo ]]; then
        printf '%s\n' "${HOME}/.cargo/bin/cargo"
    fi
}

# cargo decides staleness itself: a build with nothing to do takes a second or two.
dp_build() {
    local bin cargo
    bin="$(dp_bin)"
    if [[ -n ${EDGELB_DATAPLANE_BIN:-} ]]; then
        [[ -x ${bin} ]] || die "EDGELB_DATAPLANE_BIN=${bin} is not an executable"
        return 0
    fi
    cargo="$(find_cargo)"
    if [[ -z ${cargo} ]]; then
        [[ -x ${bin} ]] || die "${bin} is missing and cargo is not on PATH (see scripts/setup)"
        warn "cargo not found: using ${bin} as it is, it may be stale"
        return 0
    fi
    log "building the appliance and the control process (cargo build --release -p edgelb-appliance -p edgelb-control)"
    "${cargo}" build --release -p edgelb-appliance -p edgelb-control || die "the appliance did not build"
    [[ -x ${bin} ]] || die "cargo built, but ${bin} is missing"
}

dp_pid() {
    local pid needle
    pid="$(read_pidfile "${LAB_DP_PIDFILE}")"
    needle="$(basename "$(dp_bin)")"
    if [[ -n ${pid} ]] && pid_matches "${pid}" "${needle}"; then
        printf '%s\n' "${pid}"
    fi
}

dp_fail() {
    local why="$1"
    printf 'error: %s; last lines of %s:\n' "${why}" "${LAB_DP_LOG}" >&2
    tail -n 40 "${LAB_DP_LOG}" >&2 || true
    dp_down
    exit 1
}

dp_config() { printf '%s\n' "${EDGELB_LAB_CONFIG:-config/examples/lab.yaml}"; }

# Everything that can fail before the lab is touched: the config is there, the binary is built.
dp_prepare() {
    local cfg
    cfg="$(dp_config)"
    [[ -f ${cfg} ]] || die "appliance config ${cfg} not found (set EDGELB_LAB_CONFIG or use --no-dataplane)"
    dp_build
}

# Starts the appliance (after dp_prepare) and returns once it answers ping from the client.
dp_up() {
    local cfg bin pid deadline
    cfg="$(dp_config)"
    bin="$(dp_bin)"
    mkdir -p .lab
    if [[ -f ${LAB_DP_LOG} ]]; then
        mv -f "${LAB_DP_LOG}" "${LAB_DP_LOG}.1"
    fi
    rm -f "${LAB_DP_SOCK}"
    log "starting the appliance in ${LAB_NS_DP}: ${bin} --config ${cfg} (log ${LAB_DP_LOG})"
    # setsid keeps it out of the caller's process group (a Ctrl-C meant for a test does not reach it).
    spawn "${LAB_DP_LOG}" ip netns exec "${LAB_NS_DP}" setsid "${bin}" --config "${cfg}" \
        --admin-socket "${LAB_DP_SOCK}" --stats-interval 10 &
    pid=$!
    echo "${pid}" >"${LAB_DP_PIDFILE}"
    deadline=$((SECONDS + LAB_DP_WAIT_S))
    while ((SECONDS < deadline)); do
        pid_alive "${pid}" || dp_fail "the appliance exited during start-up"
        if nsx "${LAB_NS_CLIENT}" ping -n -q -c1 -W1 "${LAB_CLIENT_GW_V4}" >/dev/null 2>&1; then
            log "appliance up (pid ${pid}): ${LAB_CLIENT_GW_V4} answers ping from ${LAB_NS_CLIENT}"
            return 0
        fi
        sleep 0.2
    done
    dp_fail "the appliance did not answer ping to ${LAB_CLIENT_GW_V4} within ${LAB_DP_WAIT_S} s"
}

# SIGTERM, up to 10 s to exit, then SIGKILL; then the files it leaves behind.
dp_down() {
    local pid
    pid="$(dp_pid)"
    if [[ -n ${pid} ]]; then
        log "stopping the appliance (pid ${pid})"
        terminate_pids "${LAB_DP_STOP_S}" "${pid}"
    fi
    # Anything else left in elb-dp is most likely the appliance started by hand; give it the same grace.
    if ns_exists "${LAB_NS_DP}"; then
        local pids
        mapfile -t pids < <(ip netns pids "${LAB_NS_DP}" 2>/dev/null || true)
        terminate_pids "${LAB_DP_STOP_S}" "${pids[@]}"
    fi
    rm -rf "${LAB_DP_FILE_PREFIX_DIR}"
    rm -f "${LAB_DP_PIDFILE}" "${LAB_DP_SOCK}"
}

dp_status() {
    local pid bin
    pid="$(dp_pid)"
    bin="$(dp_bin)"
    if [[ -n ${pid} ]]; then
        log "appliance: up (pid ${pid}), log ${LAB_DP_LOG}"
    else
        log "appliance: not running"
    fi
    if [[ -S ${LAB_DP_SOCK} ]]; then
        if [[ -x ${bin} ]]; then
            log "appliance status (${bin} status --admin-socket ${LAB_DP_SOCK}):"
            "${bin}" status --admin-socket "${LAB_DP_SOCK}" || warn "the admin socket did not answer"
        else
            warn "${LAB_DP_SOCK} exists but ${bin} is missing"
        fi
    fi
}
