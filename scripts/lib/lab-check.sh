# shellcheck shell=bash
# `lab check`: a self test of the node servers over the bridge, node to node (no address is added anywhere,
# nothing goes through the appliance). Sourced by scripts/lab after the other lab files.

CHECK_FAILURES=0
NL=$'\n'

# Runs a command and prints its output with the trailing newlines kept (plain $(...) would strip them).
capture() {
    local out
    out="$("$@" 2>&1 || true; printf '|')"
    printf '%s' "${out%|}"
}

check_expect() {
    local what="$1" want="$2" got="$3"
    if [[ ${got} == "${want}" ]]; then
        log "ok   ${what}"
    else
        log "FAIL ${what}: want $(printf '%q' "${want}"), got $(printf '%q' "${got}")"
        CHECK_FAILURES=$((CHECK_FAILURES + 1))
    fi
}

# HTTP from node FROM to node TO (index) on every port, both families, with an exact expected body.
check_http() {
    local from="$1" to="$2" node="node$2" port addr url body
    for addr in "$(lab_node_v4 "${to}")" "[$(lab_node_v6 "${to}")]"; do
        for port in "${LAB_HTTP_PORTS[@]}"; do
            url="http://${addr}:${port}/lab/check?x=1"
            body="$(capture nsx "elb-${from}" curl -sS -m 3 --noproxy '*' \
                -H "Host: check.example:${port}" "${url}"; printf '|')"
            check_expect "${from} -> ${url}" \
                "node=${node} port=${port} host=check.example:${port} path=/lab/check xff= proto=${NL}|" "${body}"
        done
        body="$(capture nsx "elb-${from}" curl -sS -m 3 --noproxy '*' "http://${addr}/whoami"; printf '|')"
        check_expect "${from} -> http://${addr}/whoami" "${node}${NL}|" "${body}"
        body="$(nsx "elb-${from}" curl -sS -m 3 --noproxy '*' -o /dev/null -w '%{content_type}' \
            "http://${addr}/" 2>&1)" || true
        check_expect "${from} -> http://${addr}/ content type" "text/plain" "${body}"
    done
}

check_udp() {
    local from="$1" to="$2" addr body
    for addr in "UDP4:$(lab_node_v4 "${to}")" "UDP6:[$(lab_node_v6 "${to}")]"; do
        body="$(printf probe | capture nsx "elb-${from}" socat -t 1 -T 2 - "${addr}:${LAB_UDP_PORT}"
            printf '|')"
        check_expect "${from} -> ${addr}:${LAB_UDP_PORT}" "node=node${to}${NL}|" "${body}"
    done
}

cmd_check() {
    local ns pair from to
    for ns in "${LAB_ALL_NS[@]}"; do
        ns_exists "${ns}" || die "namespace ${ns} missing: run scripts/lab up first"
    done
    for pair in 1:2 1:3 2:1; do
        from="node${pair%%:*}"
        to="${pair##*:}"
        check_http "${from}" "${to}"
        check_udp "${from}" "${to}"
    done
    if ((CHECK_FAILURES > 0)); then
        die "${CHECK_FAILURES} check(s) failed"
    fi
    log "all checks passed"
}
