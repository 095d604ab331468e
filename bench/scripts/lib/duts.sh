# shellcheck shell=bash
# The three devices under test of the L4 bench, each brought up on a fresh lab with the sink beside it,
# on the same ports (p0 in, p1 out, in elb-dp) and the same CPUs (CPU 0: control, CPU 1: forwarding):
#   edgelb    edgelb-dataplane with bench/configs/l4-bench.yaml (FullNAT to the sink), one worker on CPU 1;
#   testpmd   dpdk-testpmd io forwarding between the same af_packet ports, its forwarding lcore on CPU 1;
#   nftables  the kernel in elb-dp: routing, conntrack, kube-proxy-shaped DNAT + masquerade, RPS on CPU 1.
# Sourced by bench/scripts/l4-throughput after common.sh, lab-topology.sh and sink.sh; the cwd is the
# repository root. Each dut_up_* logs the command it ran into ${OUT}/commands.txt.

BENCH_CONFIG=bench/configs/l4-bench.yaml
BENCH_NFT=bench/configs/l4-bench.nft
TESTPMD_PREFIX=elb-testpmd
TESTPMD_WAIT_S=30
TESTPMD_PID=""

# Appends each line to the run's command list once (the rounds repeat them).
note_command() {
    local line
    for line in "$@"; do
        grep -qxF -- "${line}" "${OUT}/commands.txt" 2>/dev/null || printf '%s\n' "${line}" >>"${OUT}/commands.txt"
    done
}

lab_fresh() {
    sink_down
    scripts/lab up "$@" >>"${OUT}/lab.log" 2>&1
}

dut_up_edgelb() {
    [[ -x ${DP_BIN} ]] || {
        warn "edgelb: ${DP_BIN} is missing"
        return 1
    }
    note_command "EDGELB_LAB_CONFIG=${BENCH_CONFIG} EDGELB_DATAPLANE_BIN=${DP_BIN} scripts/lab up" \
        "  # runs: ip netns exec elb-dp ${DP_BIN} --config ${BENCH_CONFIG} --admin-socket .lab/dataplane.sock" \
        "  # then every thread of it: renice -n ${BENCH_NICE}"
    if ! EDGELB_LAB_CONFIG="${BENCH_CONFIG}" EDGELB_DATAPLANE_BIN="${DP_BIN}" lab_fresh; then
        cp -f .lab/dataplane.log "${OUT}/${RUN}-dataplane.log" 2>/dev/null || true
        warn "edgelb: the appliance did not start (see ${OUT}/lab.log and ${OUT}/${RUN}-dataplane.log)"
        return 1
    fi
    sink_up
    renice_ns "${LAB_NS_DP}"
}

dut_down_edgelb() {
    if [[ -S .lab/dataplane.sock ]]; then
        "${DP_BIN}" status --admin-socket .lab/dataplane.sock --json >"${OUT}/${RUN}-status.json" 2>/dev/null || true
    fi
    cp -f .lab/dataplane.log "${OUT}/${RUN}-dataplane.log" 2>/dev/null || true
}

dut_up_testpmd() {
    lab_fresh --no-dataplane
    sink_up
    # shellcheck disable=SC2054 # the commas belong to the vdev specs
    local cmd=(dpdk-testpmd -l 0,1 --no-huge -m 1024 --file-prefix "${TESTPMD_PREFIX}" --no-pci --no-telemetry
        --vdev net_af_packet0,iface=p0 --vdev net_af_packet1,iface=p1
        -- --forward-mode=io --auto-start --total-num-mbufs=16384 --stats-period 5)
    note_command "scripts/lab up --no-dataplane" "nice -n ${BENCH_NICE} ip netns exec ${LAB_NS_DP} ${cmd[*]}"
    local log="${OUT}/${RUN}-testpmd.log" deadline
    spawn "${log}" nice -n "${BENCH_NICE}" ip netns exec "${LAB_NS_DP}" setsid "${cmd[@]}" &
    TESTPMD_PID=$!
    deadline=$((SECONDS + TESTPMD_WAIT_S))
    until grep -q 'io packet forwarding' "${log}" 2>/dev/null; do
        if ! pid_alive "${TESTPMD_PID}" || ((SECONDS >= deadline)); then
            warn "testpmd did not start forwarding (see ${log})"
            return 1
        fi
        sleep 0.2
    done
}

dut_down_testpmd() {
    if [[ -n ${TESTPMD_PID} ]]; then
        terminate_pids 10 "${TESTPMD_PID}"
        TESTPMD_PID=""
    fi
    rm -rf "/var/run/dpdk/${TESTPMD_PREFIX}"
}

dut_up_nftables() {
    lab_fresh --no-dataplane
    sink_up
    local ns="${LAB_NS_DP}"
    note_command "scripts/lab up --no-dataplane" "# the kernel path, in ${ns}:" \
        "ip addr add 198.18.0.1/24 dev p0; ip addr add 198.19.0.1/24 dev p1" \
        "sysctl net.ipv4.ip_forward=1 net.ipv4.conf.{all,default,p0,p1}.rp_filter=0" \
        "ip route add 198.18.1.0/24 via 198.18.0.2 dev p0" \
        "ip neigh replace 198.19.0.21 lladdr ${SINK_MAC} dev p1 nud permanent" \
        "ip neigh replace 198.18.0.2 lladdr ${LAB_MAC_CLIENT} dev p0 nud permanent" \
        "echo 2 > /sys/class/net/p0/queues/rx-0/rps_cpus   # p0's receive work on CPU 1, as the DPDK workers" \
        "nft -f ${BENCH_NFT}"
    nsx "${ns}" ip addr add 198.18.0.1/24 dev p0
    nsx "${ns}" ip addr add 198.19.0.1/24 dev p1
    ns_sysctl "${ns}" net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.p0.rp_filter=0 net.ipv4.conf.p1.rp_filter=0
    nsx "${ns}" ip route add 198.18.1.0/24 via 198.18.0.2 dev p0
    nsx "${ns}" ip neigh replace 198.19.0.21 lladdr "${SINK_MAC}" dev p1 nud permanent
    nsx "${ns}" ip neigh replace 198.18.0.2 lladdr "${LAB_MAC_CLIENT}" dev p0 nud permanent
    nsx "${ns}" sh -c 'echo 2 > /sys/class/net/p0/queues/rx-0/rps_cpus'
    nsx "${ns}" nft -f "${BENCH_NFT}"
}

dut_down_nftables() {
    nsx "${LAB_NS_DP}" nft list ruleset >"${OUT}/${RUN}-nft-ruleset.txt" 2>/dev/null || true
    nsx "${LAB_NS_DP}" cat /proc/sys/net/netfilter/nf_conntrack_count >"${OUT}/${RUN}-conntrack-count.txt" \
        2>/dev/null || true
}
