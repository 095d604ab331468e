# shellcheck shell=bash
# Scheduling priority for the bench on a shared machine: the generator, the device under test and the
# kernel's softirq threads run at nice ${BENCH_NICE} (default -10), so that other jobs on the same CPUs (builds,
# tests) take a small share of them instead of half. Every device under test gets the same boost: the DPDK
# processes through nice/renice, the kernel path through its ksoftirqd threads (restored at the end).
# Sourced by bench/scripts/l4-throughput after common.sh. BENCH_NICE=0 turns it off.

BENCH_NICE="${BENCH_NICE:--10}"
KSOFTIRQD_SAVED=()

# Renices every thread of every process in namespace NS (a process started by someone else, e.g. the lab).
renice_ns() {
    local ns="$1" pid task
    ((BENCH_NICE != 0)) || return 0
    for pid in $(ip netns pids "${ns}" 2>/dev/null); do
        for task in /proc/"${pid}"/task/*; do
            renice -n "${BENCH_NICE}" -p "${task##*/}" >/dev/null 2>&1 || true
        done
    done
}

# Raises the ksoftirqd threads to the bench's priority, remembering their nice values.
ksoftirqd_boost() {
    local pid
    ((BENCH_NICE != 0)) || return 0
    for pid in $(pgrep -x 'ksoftirqd/[0-9]+' || true); do
        KSOFTIRQD_SAVED+=("${pid}:$(ps -o nice= -p "${pid}" | tr -d ' ')")
        renice -n "${BENCH_NICE}" -p "${pid}" >/dev/null 2>&1 || true
    done
}

ksoftirqd_restore() {
    local entry
    for entry in "${KSOFTIRQD_SAVED[@]}"; do
        renice -n "${entry#*:}" -p "${entry%%:*}" >/dev/null 2>&1 || true
    done
    KSOFTIRQD_SAVED=()
}
