# shellcheck shell=bash
# `scripts/lab demo`: brings the lab up and shows, with real tools, what the appliance does on the wire.
# Every command it runs is printed before its output, so the demo doubles as a tutorial. Sourced by scripts/lab.

demo_step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Prints a command (as typed from the repository root) and runs it in namespace elb-NS.
demo_run() {
    local ns="$1"
    shift
    printf '$ ip netns exec elb-%s %s\n' "${ns}" "$*"
    ip netns exec "elb-${ns}" "$@" 2>&1 | sed 's/^/  /'
}

cmd_demo() {
    demo_step "bringing the lab up (scripts/lab up)"
    "${EDGELB_ROOT}/scripts/lab" up

    local bin sock
    bin="$(dp_bin)"
    sock="${EDGELB_ROOT}/.lab/dataplane.sock"

    demo_step "the client pings the appliance's port address and a VIP (IPv4 and IPv6): the DPDK process answers"
    demo_run client ping -c 2 -i 0.2 198.18.0.1
    demo_run client ping -c 2 -i 0.2 198.18.10.10
    demo_run client ping -6 -c 2 -i 0.2 2001:2::1
    demo_run client ping -6 -c 2 -i 0.2 2001:2:0:10::10

    demo_step "ARP and IPv6 neighbour discovery see the appliance's MAC (port 0 is ${LAB_MAC_P0})"
    demo_run client arping -c 1 -w 3 -I eth0 198.18.10.10
    demo_run client ndisc6 -1 2001:2:0:10::10 eth0

    demo_step "each node pings the appliance's port 1; the appliance learns the nodes' MACs"
    local n
    for n in 1 2 3; do
        demo_run "node${n}" ping -c 1 -W 2 198.19.0.1 | grep -E 'bytes from|loss' || true
    done

    demo_step "L4: 30 new TCP connections to the VIP 198.18.10.10:80 are spread over the nodes by Maglev (FullNAT)"
    # shellcheck disable=SC2016 # printed for the reader, not expanded
    printf '$ for i in $(seq 30); do ip netns exec elb-client curl -s http://198.18.10.10/; done | sort | uniq -c\n'
    local _
    for _ in $(seq 30); do ip netns exec elb-client curl -s --max-time 3 http://198.18.10.10/; done |
        cut -d' ' -f1 | sort | uniq -c | sed 's/^/  /'

    demo_step "L4: UDP 198.18.10.10:53 goes to the nodes' echo on 30053; the IPv6 VIP serves HTTP too"
    demo_run client sh -c 'echo hello | socat -T2 - UDP4:198.18.10.10:53'
    demo_run client curl -s --max-time 3 'http://[2001:2:0:10::10]/demo'

    demo_step "control: edgelb-control planned config/examples/k8s and pushed it; demo-web asked for 198.18.10.11"
    demo_run client curl -s --max-time 3 http://198.18.10.11/
    demo_run client curl -s --max-time 3 'http://[2001:2:0:10::12]/'
    printf '$ %s --source manifests:config/examples/k8s --plan-once --vip-pool ... | head -12\n' "$(ctl_bin)"
    "$(ctl_bin)" --source manifests:config/examples/k8s --plan-once --vip-pool 198.18.10.100-198.18.10.199 \
        --vip-pool 2001:2:0:10::100-2001:2:0:10::1ff --log error 2>/dev/null | head -12 | sed 's/^/  /'

    demo_step "L7: TLS terminated on the worker cores, the certificate chosen by SNI, requests routed by host and path"
    demo_run client curl -sS --max-time 3 --cacert .lab/ca.pem --resolve secure.example.test:443:198.18.10.20 \
        https://secure.example.test/shop/cart
    demo_run client sh -c 'openssl s_client -brief -connect 198.18.10.20:443 -servername secure.example.test \
        -CAfile .lab/ca.pem </dev/null 2>&1 | head -4'
    demo_run client sh -c 'openssl s_client -brief -connect 198.18.10.20:443 -servername unknown.example.test \
        -CAfile .lab/ca.pem </dev/null 2>&1 | grep -i "peer certificate"'
    demo_run client curl -sS --max-time 3 -H 'Host: demo.example.test' http://198.18.10.20/dual/page
    demo_run client curl -sS --max-time 3 -H 'Host: x.apps.example.test' http://198.18.10.20/
    demo_run client curl -sS --max-time 3 -H 'Host: demo.example.test' 'http://[2001:2:0:10::20]/whoami'

    demo_step "malformed frames (tests/tools/malformed.py) are dropped and counted by reason; the appliance keeps answering"
    demo_run client /usr/bin/python3 tests/tools/malformed.py --count 2 --kinds \
        ipv4_ihl_4,ipv4_total_length_beyond_frame,arp_bad_hlen,icmp_short_header,ndp_ns_hop_limit_64
    demo_run client ping -c 1 -W 2 198.18.0.1 | grep -E 'bytes from|loss' || true
    sleep 0.5

    demo_step "the appliance's status: ports, listeners, learned neighbours, counters per worker core, drops by reason"
    printf '$ %s status --admin-socket .lab/dataplane.sock\n' "${bin#"${EDGELB_ROOT}"/}"
    "${bin}" status --admin-socket "${sock}"

    demo_step "the lab stays up"
    log "try: ip netns exec elb-client curl http://198.18.10.10/; scripts/lab status; tail -f .lab/dataplane.log"
    log "     ip netns exec elb-client curl --cacert .lab/ca.pem --resolve secure.example.test:443:198.18.10.20 https://secure.example.test/"
    log "edit config/examples/lab.yaml (pools, listeners) and apply it: ${bin#"${EDGELB_ROOT}"/} reload --admin-socket .lab/dataplane.sock"
    log "remove it with: scripts/lab down"
}
