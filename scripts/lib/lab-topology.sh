# shellcheck shell=bash
# The lab's network: namespaces, veth pairs, the node bridge, addresses and routes (the lab contract).
# Sourced by scripts/lab after common.sh.
#
#   elb-client eth0 ─── p0 [elb-dp: DPDK owns p0/p1] p1 ─── dp ┐
#                                                  elb-sw br0 ├── n1 ─── eth0 elb-node1
#                                                             ├── n2 ─── eth0 elb-node2
#                                                             └── n3 ─── eth0 elb-node3

# shellcheck disable=SC2034 # constants are read by the other lab files and by `lab status`
LAB_NS_CLIENT=elb-client
LAB_NS_DP=elb-dp
LAB_NS_SW=elb-sw
LAB_NODES=(node1 node2 node3)
LAB_ALL_NS=("${LAB_NS_CLIENT}" "${LAB_NS_DP}" "${LAB_NS_SW}" elb-node1 elb-node2 elb-node3)

LAB_MTU=1500
# Fixed, locally administered MACs so that tests and captures can name them (c6:12 / c6:13 = 198.18 / 198.19).
LAB_MAC_CLIENT=02:00:c6:12:00:02
LAB_MAC_P0=02:00:c6:12:00:01
LAB_MAC_P1=02:00:c6:13:00:01
LAB_MAC_SW_DP=02:00:c6:13:00:fe
LAB_MAC_BR0=02:00:c6:13:00:ff

LAB_CLIENT_V4=198.18.0.2/24
LAB_CLIENT_GW_V4=198.18.0.1
LAB_CLIENT_V6=2001:2::2/64
LAB_CLIENT_GW_V6=2001:2::1
LAB_NODE_GW_V4=198.19.0.1
LAB_NODE_GW_V6=2001:2:0:1::1

# node index (1..3) -> addresses and MACs
lab_node_v4() { printf '198.19.0.%d\n' "$((10 + $1))"; }
lab_node_v6() { printf '2001:2:0:1::%d\n' "$((10 + $1))"; }
lab_node_mac() { printf '02:00:c6:13:00:%02x\n' "$((10 + $1))"; }
lab_node_port_mac() { printf '02:00:c6:13:01:%02x\n' "$1"; }

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }
nsx() { ip netns exec "$@"; }
ns_sysctl() {
    local ns="$1"
    shift
    nsx "${ns}" sysctl -qw "$@" >/dev/null
}

# Frames crossing the af_packet ports must be whole: no checksum offload (else the DPDK process reads
# CHECKSUM_PARTIAL packets with unfinished checksums), no TSO/GSO/GRO (else it sees frames above the MTU),
# no VLAN acceleration.
disable_offloads() {
    local ns="$1" dev="$2" features
    nsx "${ns}" ethtool -K "${dev}" rx off tx off sg off tso off gso off gro off \
        rxvlan off txvlan off >/dev/null 2>&1 || true
    features="$(nsx "${ns}" ethtool -k "${dev}")"
    if ! grep -q '^tx-checksumming: off' <<<"${features}" ||
        ! grep -q '^generic-segmentation-offload: off' <<<"${features}"; then
        die "could not turn off offloads on ${ns}:${dev}"
    fi
    nsx "${ns}" ethtool -K "${dev}" rx-gro-list off tx-udp-segmentation off >/dev/null 2>&1 || true
}

# A veth pair with each end created directly in its namespace, fixed MACs, MTU and no offloads.
make_veth() {
    local ns_a="$1" dev_a="$2" mac_a="$3" ns_b="$4" dev_b="$5" mac_b="$6"
    ip link add "${dev_a}" netns "${ns_a}" address "${mac_a}" mtu "${LAB_MTU}" type veth \
        peer name "${dev_b}" netns "${ns_b}" address "${mac_b}" mtu "${LAB_MTU}"
    disable_offloads "${ns_a}" "${dev_a}"
    disable_offloads "${ns_b}" "${dev_b}"
}

topo_namespaces() {
    local ns
    for ns in "${LAB_ALL_NS[@]}"; do
        ip netns add "${ns}"
        nsx "${ns}" ip link set lo up
    done
    # No IPv6 at all in elb-dp (the DPDK process owns the addresses; the kernel there must never answer) and
    # in elb-sw (a pure L2 switch). Set before the links are made so that they are born without IPv6.
    for ns in "${LAB_NS_DP}" "${LAB_NS_SW}"; do
        ns_sysctl "${ns}" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
}

topo_links() {
    local i
    make_veth "${LAB_NS_CLIENT}" eth0 "${LAB_MAC_CLIENT}" "${LAB_NS_DP}" p0 "${LAB_MAC_P0}"
    make_veth "${LAB_NS_DP}" p1 "${LAB_MAC_P1}" "${LAB_NS_SW}" dp "${LAB_MAC_SW_DP}"
    # No STP and no forwarding delay: ports forward at once. No multicast snooping: ND to solicited-node
    # groups is flooded to every port, as on a dumb switch.
    nsx "${LAB_NS_SW}" ip link add br0 address "${LAB_MAC_BR0}" mtu "${LAB_MTU}" type bridge \
        stp_state 0 forward_delay 0 mcast_snooping 0
    nsx "${LAB_NS_SW}" ip link set dp master br0 up
    for i in 1 2 3; do
        make_veth "elb-node${i}" eth0 "$(lab_node_mac "${i}")" "${LAB_NS_SW}" "n${i}" "$(lab_node_port_mac "${i}")"
        nsx "${LAB_NS_SW}" ip link set "n${i}" master br0 up
    done
    nsx "${LAB_NS_SW}" ip link set br0 up
}

topo_dp() {
    local dev
    for dev in p0 p1; do
        ns_sysctl "${LAB_NS_DP}" "net.ipv6.conf.${dev}.disable_ipv6=1" "net.ipv4.conf.${dev}.arp_ignore=8"
        nsx "${LAB_NS_DP}" ip link set "${dev}" up
    done
}

# A host: static addresses (no DAD, no router advertisements), default routes via the appliance.
topo_host() {
    local ns="$1" v4="$2" gw4="$3" v6="$4" gw6="$5"
    ns_sysctl "${ns}" net.ipv6.conf.eth0.accept_ra=0 net.ipv6.conf.eth0.accept_dad=0
    nsx "${ns}" ip link set eth0 up
    nsx "${ns}" ip addr add "${v4}" dev eth0
    nsx "${ns}" ip -6 addr add "${v6}" dev eth0 nodad
    nsx "${ns}" ip route add default via "${gw4}" dev eth0
    nsx "${ns}" ip -6 route add default via "${gw6}" dev eth0
}

topo_up() {
    local i
    topo_namespaces
    topo_links
    topo_dp
    topo_host "${LAB_NS_CLIENT}" "${LAB_CLIENT_V4}" "${LAB_CLIENT_GW_V4}" "${LAB_CLIENT_V6}" "${LAB_CLIENT_GW_V6}"
    for i in 1 2 3; do
        topo_host "elb-node${i}" "$(lab_node_v4 "${i}")/24" "${LAB_NODE_GW_V4}" \
            "$(lab_node_v6 "${i}")/64" "${LAB_NODE_GW_V6}"
    done
}

# Any lab namespace present (a whole or partial lab)?
topo_any_up() {
    local ns
    for ns in "${LAB_ALL_NS[@]}"; do
        if ns_exists "${ns}"; then
            return 0
        fi
    done
    return 1
}

# Kills every process inside the lab namespaces, then deletes them (their veths go with them).
topo_down() {
    local ns pids
    for ns in "${LAB_ALL_NS[@]}"; do
        ns_exists "${ns}" || continue
        mapfile -t pids < <(ip netns pids "${ns}" 2>/dev/null || true)
        if ((${#pids[@]} > 0)); then
            log "stopping ${#pids[@]} process(es) in ${ns}"
            terminate_pids 5 "${pids[@]}"
        fi
    done
    for ns in "${LAB_ALL_NS[@]}"; do
        if ns_exists "${ns}"; then
            ip netns del "${ns}" 2>/dev/null || warn "could not delete namespace ${ns}"
        fi
    done
}
