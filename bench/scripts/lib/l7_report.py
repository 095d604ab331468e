#!/usr/bin/env python3
"""Turns a run of bench/scripts/l7-throughput (its --out directory) into the Markdown section for RESULTS.md.

Reads meta.json, and per device and round: RUN-check.json, RUN-ka.json, RUN-hs.json (wrk-report.lua's JSON),
RUN-{ka,hs}-cpu.txt (per-CPU time split), RUN-tls.txt (openssl s_client -brief), and the device's own counters
(RUN-ka-before.txt, RUN-ka-after.txt, RUN-hs-after.txt: edgelb's status JSON or nginx's stub_status).
Prints the section on stdout.
"""
import json
import re
import statistics
import sys
from pathlib import Path

DUTS = {
    "edgelb": "edgelb (rustls on its worker lcore, DPDK af_packet ports)",
    "nginx": "nginx + OpenSSL (kernel TCP, veths)",
}


def load(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rate(run):
    if not run or run.get("duration_us", 0) <= 0:
        return None
    return run["requests"] * 1e6 / run["duration_us"]


def socket_errors(run):
    e = run.get("errors", {})
    return sum(e.get(k, 0) for k in ("connect", "read", "write", "timeout"))


def fmt_rate(v):
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_ms(us):
    return "n/a" if us is None else f"{us / 1000:.2f}"


def ratio(a, b):
    return "n/a" if not a or not b else f"{a / b:.2f}"


def tls_summary(path):
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "n/a"
    proto = re.search(r"Protocol version: (\S+)", text)
    cipher = re.search(r"Ciphersuite: (\S+)", text)
    group = re.search(r"(?:Negotiated TLS1.3 group|Server Temp Key): ([^\n]+)", text)
    parts = [m.group(1).strip() for m in (proto, cipher, group) if m]
    return ", ".join(parts) if parts else "handshake failed"


def counters(path, dut):
    """(accepted connections or TLS handshakes, requests) as the device counts them."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    if dut == "edgelb":
        try:
            t = json.loads(text)["totals"]
        except (ValueError, KeyError):
            return None
        return t.get("l7_tls_handshakes", 0), t.get("l7_requests", 0)
    m = re.search(r"\n\s*(\d+)\s+(\d+)\s+(\d+)", text)
    return (int(m.group(1)), int(m.group(3))) if m else None


def delta(out, run, dut, before, after):
    a = counters(out / f"{run}-{before}.txt", dut)
    b = counters(out / f"{run}-{after}.txt", dut)
    if not a or not b:
        return None
    return b[0] - a[0], b[1] - a[1]


def cpu_lines(path):
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError:
        return []


def shown(path):
    """The path relative to the working directory (the repository root) when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main():
    out = Path(sys.argv[1])
    meta = load(out / "meta.json") or {}
    opts = meta.get("options", {})
    rounds = int(opts.get("rounds", 1))
    workers = int(opts.get("workers", 1))
    duts = opts.get("duts", ["edgelb", "nginx"])
    m = meta.get("machine", {})

    rows, per_round, checks, cpus, tls, med = [], [], [], [], [], {}
    for dut in duts:
        runs = [f"{dut}-r{r}" for r in range(1, rounds + 1)]
        ka = [load(out / f"{r}-ka.json") for r in runs]
        hs = [load(out / f"{r}-hs.json") for r in runs]
        ka_rate = median([rate(x) for x in ka])
        hs_rate = median([rate(x) for x in hs])
        med[dut] = (ka_rate, hs_rate)
        lat = lambda runs_, k: median([x["latency_us"][k] for x in runs_ if x])  # noqa: E731
        rows.append(
            f"| {DUTS.get(dut, dut)} | **{fmt_rate(ka_rate)}** | {fmt_rate(ka_rate and ka_rate / workers)} "
            f"| {fmt_ms(lat(ka, 'p50'))} / {fmt_ms(lat(ka, 'p99'))} "
            f"| **{fmt_rate(hs_rate)}** | {fmt_rate(hs_rate and hs_rate / workers)} "
            f"| {fmt_ms(lat(hs, 'p50'))} / {fmt_ms(lat(hs, 'p99'))} |"
        )
        cells = []
        for r, k, h in zip(runs, ka, hs):
            errs = sum(socket_errors(x) + x["errors"].get("status", 0) for x in (k, h) if x)
            own_ka = delta(out, r, dut, "ka-before", "ka-after")
            own_hs = delta(out, r, dut, "ka-after", "hs-after")
            counted = (
                f"{own_ka[1]:,} req / {own_hs[0]:,} {'handshakes' if dut == 'edgelb' else 'accepts'}"
                if own_ka and own_hs
                else "n/a"
            )
            cells.append(
                f"{fmt_rate(rate(k))} / {fmt_rate(rate(h))} ({errs} errors; device counted {counted})"
            )
        per_round.append(f"| {dut} | {' | '.join(cells)} |")
        for r in runs:
            c = load(out / f"{r}-check.json")
            if c and c.get("checked"):
                ck = c["checked"]
                bad = ck["status_4xx"] + ck["status_5xx"] + ck["status_other"] + ck["wrong_body"]
                checks.append(f"{r}: {ck['ok']} × 200 from demo-web, {bad} other, {socket_errors(c)} socket errors")
            else:
                checks.append(f"{r}: check pass failed")
        last = runs[-1]
        for kind in ("ka", "hs"):
            lines = cpu_lines(out / f"{last}-{kind}-cpu.txt")
            if lines:
                cpus.append(f"| {dut} | {'keep-alive' if kind == 'ka' else 'handshakes'} | {' | '.join(lines)} |")
        tls.append(f"{dut}: {tls_summary(out / f'{runs[0]}-tls.txt')}")

    commands = ""
    if (out / "commands.txt").exists():
        commands = (out / "commands.txt").read_text(encoding="utf-8").strip().replace(f"{Path.cwd()}/", "")
    lines = [
        f"## L7 HTTPS: edgelb vs nginx, {meta.get('date', '?')}",
        "",
        f"Machine: {m.get('nproc', '?')} CPUs ({m.get('cpu', '?')}), kernel {m.get('kernel', '?')}, "
        f"{m.get('nginx', '?')} with {m.get('openssl', '?')}, wrk {m.get('wrk', '?')}, edgelb {m.get('commit', '?')}; "
        f"load average at the start {m.get('loadavg', '?')}.",
        "",
        f"Traffic: wrk from elb-client, {opts.get('threads')} threads, to https://secure.example.test/ at "
        f"198.18.10.20:443 (SNI and Host secure.example.test, the lab CA's ECDSA P-256 certificate), answered by "
        f"demo-web's nginx on the three nodes (NodePort 30080, one ~90-byte line). Keep-alive: "
        f"{opts.get('conns')} connections for {opts.get('duration')} s; handshakes: {opts.get('close_conns')} "
        f"connections for {opts.get('duration')} s with `Connection: close` (a new TCP connection and a full TLS "
        f"handshake per request: wrk resumes no sessions). Each device: {workers} worker on CPU "
        f"{opts.get('worker_cpu')}; {rounds} round(s), devices interleaved, medians shown; wrk, the lab's "
        f"processes and ksoftirqd at nice {opts.get('nice')}. Latency is wrk's, at saturation (queueing included).",
        "",
        "| device under test | keep-alive req/s | per worker core | p50 / p99 ms | new TLS connections/s "
        "| per worker core | p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    if "edgelb" in med and "nginx" in med:
        lines.append(
            f"**Ratios** edgelb / nginx: keep-alive requests **{ratio(med['edgelb'][0], med['nginx'][0])}**, "
            f"new TLS connections **{ratio(med['edgelb'][1], med['nginx'][1])}**."
        )
        lines.append("")
    lines += [
        "TLS negotiated (openssl s_client): " + "; ".join(tls) + ".",
        "",
        "Per round, keep-alive req/s / new connections/s (wrk's errors: socket + status; the device's own counters "
        "over the two runs: requests in the keep-alive run, handshakes or accepted connections in the other):",
        "",
        f"| device | {' | '.join(f'round {r}' for r in range(1, rounds + 1))} |",
        f"|---|{'---|' * rounds}",
        *per_round,
        "",
        "Check pass before each device's runs (wrk -c20 -d1s, every answer checked): " + "; ".join(checks) + ".",
        "",
    ]
    if cpus:
        lines += [
            "CPU time during the last round's runs (CPU 0: wrk, nodes, edgelb's main lcore; CPU 1: the device's "
            "worker, its RPS receive work for nginx, and whatever else the scheduler puts there):",
            "",
            "| device | run | per CPU |",
            "|---|---|---|",
            *cpus,
            "",
        ]
    if meta.get("notes"):
        lines += ["Notes: " + "; ".join(meta["notes"]) + ".", ""]
    lines += [
        f"Commands (`{meta.get('invocation', 'bench/scripts/l7-throughput')}`; raw results in {shown(out)}/):",
        "",
        "```sh",
        commands,
        "```",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
