# shellcheck shell=bash
# The two devices under test of the L7 bench, each on a fresh lab, on the same ports (p0 to the client, p1 to
# the nodes, in elb-dp), the same VIP and certificate, and the same CPU for their worker(s):
#   edgelb  edgelb-dataplane with bench/configs/l7-bench.yaml (one worker lcore on CPU 1) and edgelb-control on
#           the example manifests: TLS terminated by rustls on the worker, HTTP/1.1 proxied to the nodes;
#   nginx   Debian's nginx (OpenSSL) in elb-dp on the kernel path: p0/p1 get the appliance's addresses, the VIP
#           sits on lo, p0's and p1's receive work is steered to CPU 1 (RPS) and the nginx worker(s) are pinned
#           there (worker_cpu_affinity); bench/configs/l7-bench-nginx.conf.in.
# Sourced by bench/scripts/l7-throughput after common.sh, lab-topology.sh, lab-certs.sh and priority.sh; the cwd
# is the repository root. Each dut_up_* notes the commands it ran in ${OUT}/commands.txt.

L7_BENCH_CONFIG=bench/configs/l7-bench.yaml
L7_NGINX_TEMPLATE=bench/configs/l7-bench-nginx.conf.in
# What bench/configs/l7-bench.yaml gives edgelb: its worker count and the CPU they are pinned to.
L7_WORKERS=1
L7_WORKER_CPU=1
NGINX_WAIT_S=10
NGINX_PID=""

# Appends each line to the run's command list once (the rounds repeat them).
note_command() {
    local line
    for line in "$@"; do
        grep -qxF -- "${line}" "${OUT}/commands.txt" 2>/dev/null || printf '%s\n' "${line}" >>"${OUT}/commands.txt"
    done
}

# Every process of the lab at the bench's priority (the device under test, the nodes' nginx).
renice_lab() {
    local ns
    for ns in "${LAB_ALL_NS[@]}"; do
        renice_ns "${ns}"
    done
}

# Keeps the certificate, key and CA of this round's lab (scripts/lab down deletes .lab/certs) for nginx.
keep_certs() {
    cp -f "${LAB_CERT_DIR}/demo-tls.pem" "${LAB_CERT_DIR}/demo-tls.key" "${TLS_DIR}/" &&
        cp -f "${LAB_CA}" "${TLS_DIR}/ca.pem"
}

dut_up_edgelb() {
    [[ -x ${DP_BIN} ]] || {
        warn "edgelb: ${DP_BIN} is missing"
        return 1
    }
    note_command "EDGELB_LAB_CONFIG=${L7_BENCH_CONFIG} EDGELB_DATAPLANE_BIN=${DP_BIN} scripts/lab up" \
        "  # runs: ip netns exec elb-dp ${DP_BIN} --config ${L7_BENCH_CONFIG} --admin-socket .lab/dataplane.sock" \
        "  # and edgelb-control on config/examples/k8s (the Ingress secure.example.test on 198.18.10.20:443)" \
        "  # then every process of the lab's namespaces: renice -n ${BENCH_NICE}"
    if ! EDGELB_LAB_CONFIG="${L7_BENCH_CONFIG}" EDGELB_DATAPLANE_BIN="${DP_BIN}" \
        scripts/lab up >>"${OUT}/lab.log" 2>&1; then
        cp -f .lab/dataplane.log "${OUT}/${RUN}-dataplane.log" 2>/dev/null || true
        warn "edgelb: the lab did not come up (see ${OUT}/lab.log and ${OUT}/${RUN}-dataplane.log)"
        return 1
    fi
    keep_certs || return 1
    renice_lab
}

dut_down_edgelb() {
    cp -f .lab/dataplane.log "${OUT}/${RUN}-dataplane.log" 2>/dev/null || true
}

# dut_counters_edgelb FILE: the dataplane's status (its workers publish counters every 250 ms).
dut_counters_edgelb() {
    sleep 0.6
    "${DP_BIN}" status --json --admin-socket .lab/dataplane.sock >"$1" 2>/dev/null || true
}

# One CPU mask per worker process, all on CPU ${L7_WORKER_CPU} (nginx writes masks CPU 0 rightmost).
nginx_affinity() {
    local mask="1" i out=()
    for ((i = 0; i < L7_WORKER_CPU; i++)); do mask+="0"; done
    for ((i = 0; i < L7_WORKERS; i++)); do out+=("${mask}"); done
    printf '%s\n' "${out[*]}"
}

dut_up_nginx() {
    local ns="${LAB_NS_DP}" dir rps deadline
    scripts/lab up --no-dataplane >>"${OUT}/lab.log" 2>&1 || {
        warn "nginx: the lab did not come up (see ${OUT}/lab.log)"
        return 1
    }
    if [[ ! -s ${TLS_DIR}/demo-tls.pem ]]; then
        # nginx runs without an edgelb run before it in this bench: make the lab's certificates here.
        certs_generate >>"${OUT}/lab.log" 2>&1 || return 1
        keep_certs || return 1
    fi
    dir="${OUT}/nginx"
    mkdir -p "${dir}/tmp"
    [[ ${dir} != *'|'* && ${TLS_DIR} != *'|'* ]] || die "paths must not contain '|'"
    sed -e "s|@WORKERS@|${L7_WORKERS}|" -e "s|@AFFINITY@|$(nginx_affinity)|" -e "s|@DIR@|${dir}|g" \
        -e "s|@CERT@|${TLS_DIR}/demo-tls.pem|" -e "s|@KEY@|${TLS_DIR}/demo-tls.key|" \
        "${L7_NGINX_TEMPLATE}" >"${dir}/nginx.conf"
    rps="$(printf '%x' $((1 << L7_WORKER_CPU)))"
    note_command "scripts/lab up --no-dataplane" "# the kernel path, in ${ns}:" \
        "sysctl net.ipv4.conf.p0.arp_ignore=0 net.ipv4.conf.p1.arp_ignore=0   # the lab leaves ARP to the DPDK process" \
        "ip addr add 198.18.0.1/24 dev p0; ip addr add 198.19.0.1/24 dev p1; ip addr add ${VIP}/32 dev lo" \
        "echo ${rps} > /sys/class/net/{p0,p1}/queues/rx-0/rps_cpus   # receive work on CPU ${L7_WORKER_CPU}, as edgelb's worker" \
        "nice -n ${BENCH_NICE} ip netns exec ${ns} nginx -p ${OUT}/nginx/ -c ${OUT}/nginx/nginx.conf   # from ${L7_NGINX_TEMPLATE}"
    nsx "${ns}" ip link set lo up
    ns_sysctl "${ns}" net.ipv4.conf.p0.arp_ignore=0 net.ipv4.conf.p1.arp_ignore=0
    nsx "${ns}" ip addr add 198.18.0.1/24 dev p0
    nsx "${ns}" ip addr add 198.19.0.1/24 dev p1
    nsx "${ns}" ip addr add "${VIP}/32" dev lo
    nsx "${ns}" sh -c "echo ${rps} > /sys/class/net/p0/queues/rx-0/rps_cpus && echo ${rps} > /sys/class/net/p1/queues/rx-0/rps_cpus"
    spawn "${OUT}/${RUN}-nginx.log" nice -n "${BENCH_NICE}" ip netns exec "${ns}" setsid \
        nginx -p "${dir}/" -c "${dir}/nginx.conf" -e "${dir}/error.log" &
    NGINX_PID=$!
    deadline=$((SECONDS + NGINX_WAIT_S))
    until [[ -n $(nsx "${ns}" ss -Hltn "sport = :443" 2>/dev/null) ]]; do
        if ! pid_alive "${NGINX_PID}" || ((SECONDS >= deadline)); then
            warn "nginx did not start listening (see ${OUT}/${RUN}-nginx.log and ${dir}/error.log)"
            return 1
        fi
        sleep 0.1
    done
    renice_lab
}

dut_down_nginx() {
    if [[ -n ${NGINX_PID} ]]; then
        terminate_pids 10 "${NGINX_PID}"
        NGINX_PID=""
    fi
    cp -f "${OUT}/nginx/error.log" "${OUT}/${RUN}-nginx-error.log" 2>/dev/null || true
}

# dut_counters_nginx FILE: nginx's stub_status (accepted connections, requests).
dut_counters_nginx() {
    nsx "${LAB_NS_DP}" curl -sS --max-time 2 http://127.0.0.1:8081/status >"$1" 2>/dev/null || true
}
