# shellcheck shell=bash
# The bench's sink and the traffic generator's two ports, added beside a running lab and removed again.
# Sourced after scripts/lib/common.sh and scripts/lib/lab-topology.sh (for make_veth and the lab's names).
#
#   elb-client eth0 ── p0 [elb-dp: the device under test] p1 ── br0 (elb-sw) ── sink ─┐
#        └ gen0 (macvlan, moved into elb-sink)                                        │
#   elb-sink: gen0 = the generator's tx port          eth0 198.19.0.21 ──────────────┘ = its rx port
#
# One DPDK process cannot open af_packet ports in two namespaces, so the generator runs in elb-sink and
# sends through gen0, a macvlan child of the client's eth0: its frames leave elb-client's eth0 towards p0
# as if the client sent them, and the client's own traffic is untouched. The sink's kernel answers ARP for
# 198.19.0.21 (the appliance and the kernel path resolve their backend) but never sees the datagrams: an
# nftables ingress rule on eth0 drops UDP to port 9 after the generator's packet socket has its copy, so
# no ICMP port unreachable comes back and the sink costs the same whatever the device under test did.

SINK_NS=elb-sink
SINK_V4=198.19.0.21
SINK_PREFIX=24
SINK_PORT=9
SINK_MAC=02:00:c6:13:00:15
SINK_BR_PORT=sink
SINK_BR_PORT_MAC=02:00:c6:13:01:15
GEN_IF=gen0
GEN_MAC=02:00:c6:12:00:03

sink_down() {
    local pids
    if ns_exists "${SINK_NS}"; then
        mapfile -t pids < <(ip netns pids "${SINK_NS}" 2>/dev/null || true)
        terminate_pids 5 "${pids[@]}"
        ip netns del "${SINK_NS}" 2>/dev/null || warn "could not delete namespace ${SINK_NS}"
    fi
    # The macvlan goes with the client's eth0 when the lab comes down; remove it now if the lab stays.
    if ns_exists "${LAB_NS_CLIENT}"; then
        ip -n "${LAB_NS_CLIENT}" link del "${GEN_IF}" 2>/dev/null || true
    fi
}

sink_up() {
    ns_exists "${LAB_NS_SW}" || die "the lab is not up (no ${LAB_NS_SW})"
    sink_down
    ip netns add "${SINK_NS}"
    nsx "${SINK_NS}" ip link set lo up
    # No IPv6 in the sink: no ND or MLD chatter on the generator's ports.
    ns_sysctl "${SINK_NS}" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    make_veth "${SINK_NS}" eth0 "${SINK_MAC}" "${LAB_NS_SW}" "${SINK_BR_PORT}" "${SINK_BR_PORT_MAC}"
    nsx "${LAB_NS_SW}" ip link set "${SINK_BR_PORT}" master br0 up
    # Static entries: frames for the sink (and, in the testpmd run, frames still addressed to p0's MAC)
    # go to the sink's port only, never flooded to the nodes, even before the sink has said anything.
    nsx "${LAB_NS_SW}" bridge fdb replace "${SINK_MAC}" dev "${SINK_BR_PORT}" master static
    nsx "${LAB_NS_SW}" bridge fdb replace "${LAB_MAC_P0}" dev "${SINK_BR_PORT}" master static
    nsx "${SINK_NS}" ip link set eth0 up
    nsx "${SINK_NS}" ip addr add "${SINK_V4}/${SINK_PREFIX}" dev eth0
    nsx "${SINK_NS}" nft -f - <<NFT
table netdev edgelb_sink {
    chain ingress {
        type filter hook ingress device "eth0" priority 0; policy accept;
        udp dport ${SINK_PORT} counter drop
    }
}
NFT
    ip -n "${LAB_NS_CLIENT}" link add "${GEN_IF}" link eth0 address "${GEN_MAC}" mtu "${LAB_MTU}" \
        type macvlan mode private
    ip -n "${LAB_NS_CLIENT}" link set "${GEN_IF}" netns "${SINK_NS}"
    # No offloads to turn off: a macvlan keeps its lower device's, and only the generator's packet socket,
    # which writes whole frames with their checksums, sends on it.
    nsx "${SINK_NS}" ip link set "${GEN_IF}" up
}

# Datagrams the sink's kernel dropped (they reached it): the nft counter.
sink_dropped() {
    nsx "${SINK_NS}" nft list chain netdev edgelb_sink ingress 2>/dev/null |
        sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n1
}
