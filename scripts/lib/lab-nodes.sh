# shellcheck shell=bash
# The lab's backends: one nginx and one UDP responder per node namespace, state under .lab/nodeN/.
# Sourced by scripts/lab after common.sh and lab-topology.sh.

LAB_HTTP_PORTS=(80 30080 30081 30082)
LAB_UDP_PORT=30053

node_dir() { printf '%s/.lab/%s\n' "${EDGELB_ROOT}" "$1"; }

# Writes .lab/NODE/nginx.conf from the template.
node_write_nginx_conf() {
    local node="$1" dir
    dir="$(node_dir "${node}")"
    [[ ${dir} != *'|'* ]] || die "the repository path must not contain '|': ${dir}"
    mkdir -p "${dir}/tmp"
    sed -e "s|@NODE@|${node}|g" -e "s|@DIR@|${dir}|g" \
        "${EDGELB_ROOT}/scripts/lab.d/nginx.conf.in" >"${dir}/nginx.conf"
}

# True when NS has a listening socket on PROTO (t or u) port PORT for both IPv4 and IPv6.
ns_listening() {
    local ns="$1" proto="$2" port="$3" out
    out="$(nsx "${ns}" ss -Hln"${proto}" "sport = :${port}" 2>/dev/null)" || return 1
    if [[ ${proto} == u ]]; then
        # One dual-stack socket serves both families (ss shows it as *:PORT).
        [[ -n ${out} ]]
    else
        grep -q '0\.0\.0\.0' <<<"${out}" && grep -q '\[::\]' <<<"${out}"
    fi
}

node_wait_ready() {
    local node="$1" ns="elb-$1" port deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)); do
        local ready=1
        for port in "${LAB_HTTP_PORTS[@]}"; do
            ns_listening "${ns}" t "${port}" || ready=0
        done
        ns_listening "${ns}" u "${LAB_UDP_PORT}" || ready=0
        ((ready)) && return 0
        sleep 0.1
    done
    die "${node}: servers not listening after 10 s (see $(node_dir "${node}")/error.log and udp-echo.log)"
}

node_start() {
    local node="$1" ns="elb-$1" dir
    dir="$(node_dir "${node}")"
    node_write_nginx_conf "${node}"
    rm -f "${dir}/nginx.pid" "${dir}/udp-echo.pid"
    # nginx daemonizes itself (daemon on) and writes its own pid file.
    (spawn "${dir}/error.log" ip netns exec "${ns}" nginx -p "${dir}/" -c "${dir}/nginx.conf" \
        -e "${dir}/error.log") || die "${node}: nginx did not start (see ${dir}/error.log)"
    spawn "${dir}/udp-echo.log" ip netns exec "${ns}" setsid /usr/bin/python3 \
        "${EDGELB_ROOT}/scripts/lab.d/udp_echo.py" --name "${node}" --port "${LAB_UDP_PORT}" &
    echo "$!" >"${dir}/udp-echo.pid"
    node_wait_ready "${node}"
}

nodes_up() {
    local node
    for node in "${LAB_NODES[@]}"; do
        node_start "${node}"
    done
    log "nodes: nginx on ${LAB_HTTP_PORTS[*]} and UDP echo on ${LAB_UDP_PORT} in elb-node1..3"
}

# Stops node servers by their pid files: catches those left in a namespace that was deleted under them.
nodes_down() {
    local node dir pid pids=()
    for node in "${LAB_NODES[@]}"; do
        dir="$(node_dir "${node}")"
        pid="$(read_pidfile "${dir}/nginx.pid")"
        if [[ -n ${pid} ]] && pid_matches "${pid}" nginx; then
            pids+=("${pid}")
        fi
        pid="$(read_pidfile "${dir}/udp-echo.pid")"
        if [[ -n ${pid} ]] && pid_matches "${pid}" udp_echo.py; then
            pids+=("${pid}")
        fi
    done
    terminate_pids 5 "${pids[@]}"
    for node in "${LAB_NODES[@]}"; do
        dir="$(node_dir "${node}")"
        rm -f "${dir}/nginx.pid" "${dir}/udp-echo.pid"
    done
}

# Prints one line per node; returns non-zero if any server is down.
nodes_status() {
    local node dir pid ok=0 nginx_state echo_state
    for node in "${LAB_NODES[@]}"; do
        dir="$(node_dir "${node}")"
        pid="$(read_pidfile "${dir}/nginx.pid")"
        if [[ -n ${pid} ]] && pid_matches "${pid}" nginx; then
            nginx_state="up (pid ${pid})"
        else
            nginx_state="down"
            ok=1
        fi
        pid="$(read_pidfile "${dir}/udp-echo.pid")"
        if [[ -n ${pid} ]] && pid_matches "${pid}" udp_echo.py; then
            echo_state="up (pid ${pid})"
        else
            echo_state="down"
            ok=1
        fi
        log "  ${node}: nginx ${nginx_state}, udp-echo ${echo_state}"
    done
    return "${ok}"
}
