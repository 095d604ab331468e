# shellcheck shell=bash
# The control process in the lab: edgelb-control reads a directory of Kubernetes manifests (config/examples/k8s,
# or $EDGELB_LAB_MANIFESTS) and the lab's TLS Secrets (.lab/secrets, see lab-certs.sh), watches them, and pushes
# each desired state to the appliance's admin socket.
# Sourced by scripts/lab after lab-dataplane.sh; paths are relative to the repository root (the cwd).

LAB_CTL_PIDFILE=.lab/control.pid
LAB_CTL_LOG=.lab/control.log
LAB_CTL_WAIT_S=30
# VIPs the lab's control process allocates from (the manifests may also ask for addresses of 198.18.10.0/24).
LAB_CTL_VIP_POOLS=(198.18.10.100-198.18.10.199 2001:2:0:10::100-2001:2:0:10::1ff)

ctl_bin() {
    printf '%s/edgelb-control\n' "$(dirname "$(dp_bin)")"
}

ctl_manifests() { printf '%s\n' "${EDGELB_LAB_MANIFESTS:-config/examples/k8s}"; }

ctl_pid() {
    local pid
    pid="$(read_pidfile "${LAB_CTL_PIDFILE}")"
    if [[ -n ${pid} ]] && pid_matches "${pid}" edgelb-control; then
        printf '%s\n' "${pid}"
    fi
}

# Starts edgelb-control (after the appliance) and returns once the appliance runs its first desired state.
ctl_up() {
    local bin dir pid deadline pools=() p
    bin="$(ctl_bin)"
    dir="$(ctl_manifests)"
    [[ -d ${dir} ]] || die "manifests directory ${dir} not found (EDGELB_LAB_MANIFESTS)"
    [[ -x ${bin} ]] || die "${bin} is missing (cargo build --release -p edgelb-control)"
    for p in "${LAB_CTL_VIP_POOLS[@]}"; do pools+=(--vip-pool "${p}"); done
    if [[ -f ${LAB_CTL_LOG} ]]; then
        mv -f "${LAB_CTL_LOG}" "${LAB_CTL_LOG}.1"
    fi
    certs_generate
    certs_secrets
    log "starting the control process: ${bin} --source manifests:${dir},${LAB_SECRETS_DIR} (log ${LAB_CTL_LOG})"
    spawn "${LAB_CTL_LOG}" setsid "${bin}" --source "manifests:${dir},${LAB_SECRETS_DIR}" "${pools[@]}" \
        --dataplane-socket "${LAB_DP_SOCK}" --dataplane-config "$(dp_config)" --poll-ms 100 --debounce-ms 50 &
    pid=$!
    echo "${pid}" >"${LAB_CTL_PIDFILE}"
    deadline=$((SECONDS + LAB_CTL_WAIT_S))
    while ((SECONDS < deadline)); do
        pid_alive "${pid}" || ctl_fail "the control process exited during start-up"
        if "$(dp_bin)" status --json --admin-socket "${LAB_DP_SOCK}" 2>/dev/null | grep -q '"desired_generation": [0-9]'; then
            log "control up (pid ${pid}): the appliance runs the desired state from ${dir}"
            return 0
        fi
        sleep 0.2
    done
    ctl_fail "the appliance did not get a desired state within ${LAB_CTL_WAIT_S} s"
}

ctl_fail() {
    printf 'error: %s; last lines of %s:\n' "$1" "${LAB_CTL_LOG}" >&2
    tail -n 40 "${LAB_CTL_LOG}" >&2 || true
    ctl_down
    exit 1
}

ctl_down() {
    local pid
    pid="$(ctl_pid)"
    if [[ -n ${pid} ]]; then
        log "stopping the control process (pid ${pid})"
        terminate_pids 5 "${pid}"
    fi
    rm -f "${LAB_CTL_PIDFILE}"
}

ctl_status() {
    local pid
    pid="$(ctl_pid)"
    if [[ -n ${pid} ]]; then
        log "control: up (pid ${pid}), manifests $(ctl_manifests), log ${LAB_CTL_LOG}"
    else
        log "control: not running"
    fi
}
