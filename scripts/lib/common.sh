# shellcheck shell=bash
# Shared helpers for the edgelb scripts: messages, root check, repository root, pid handling.
# Sourced, never run; the caller sets `set -euo pipefail`.

# The repository root, found from this file's own location so the scripts work from any directory.
EDGELB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export EDGELB_ROOT

log() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

require_root() {
    if [[ ${EUID} -ne 0 ]]; then
        die "must run as root (network namespaces, veth pairs and DPDK need it)"
    fi
}

# True when PID is a live process whose command line contains NEEDLE; guards against a recycled pid.
pid_matches() {
    local pid="$1" needle="$2" cmdline
    [[ ${pid} =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/${pid}/cmdline ]] || return 1
    cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 1
    [[ ${cmdline} == *"${needle}"* ]]
}

# Reads a pid file; prints the pid or nothing.
read_pidfile() {
    local file="$1" pid=""
    if [[ -f ${file} ]]; then
        read -r pid <"${file}" || true
    fi
    if [[ ${pid} =~ ^[0-9]+$ ]]; then
        printf '%s\n' "${pid}"
    fi
}

# True when PID is running; a zombie (exited, not yet reaped by its parent) counts as gone.
pid_alive() {
    local pid="$1" stat
    [[ ${pid} =~ ^[0-9]+$ ]] || return 1
    stat="$(cat "/proc/${pid}/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ ${stat:0:1} != Z ]]
}

# Sends SIGTERM to the pids given, waits up to TIMEOUT seconds for them to exit, then SIGKILLs the rest.
terminate_pids() {
    local timeout="$1"
    shift
    local pid left deadline
    (($# > 0)) || return 0
    for pid in "$@"; do
        kill -TERM "${pid}" 2>/dev/null || true
    done
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        left=0
        for pid in "$@"; do
            if pid_alive "${pid}"; then
                left=1
            fi
        done
        ((left)) || return 0
        sleep 0.1
    done
    for pid in "$@"; do
        if pid_alive "${pid}"; then
            warn "pid ${pid} ignored SIGTERM for ${timeout}s; sending SIGKILL"
            kill -KILL "${pid}" 2>/dev/null || true
        fi
    done
}

# Closes every descriptor above stderr in this (sub)shell: a daemon must not keep a caller's pipe or lock
# open (a test harness reading until EOF would hang for as long as the daemon lives).
close_inherited_fds() {
    local path fd
    for path in /proc/"${BASHPID}"/fd/*; do
        fd="${path##*/}"
        if [[ ${fd} =~ ^[0-9]+$ ]] && ((fd > 2)); then
            exec {fd}>&-
        fi
    done
}

# Runs CMD detached with stdin from /dev/null and output appended to LOG. Call it as `spawn LOG CMD... &`:
# the background subshell execs CMD, so $! is CMD's own pid (as long as CMD itself execs, as
# `ip netns exec` and setsid do).
spawn() {
    local log="$1"
    shift
    close_inherited_fds
    exec "$@" </dev/null >>"${log}" 2>&1
}
