#!/usr/bin/env python3
"""Turns one bench/scripts/l4-throughput run directory into a Markdown section for bench/RESULTS.md.

Reads OUT/meta.json (options, machine, date), OUT/commands.txt, and the generator's summaries
OUT/<dut>-r<round>-tput.json and OUT/<dut>-r<round>-lat.json; prints the section on stdout. Medians over
the rounds; the ratios are of the medians of the forwarded rate (the generator's rx_pps).
"""

import json
import os
import statistics
import sys

DUTS = {
    "edgelb": "edgelb FullNAT (edgelb-dataplane)",
    "testpmd": "dpdk-testpmd io forward",
    "nftables": "kernel: nftables DNAT + masquerade",
}


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_pps(v):
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_pct(v):
    return "n/a" if v is None else f"{100 * v:.2f}%"


def fmt_us(v):
    return "n/a" if v is None else f"{v:,.1f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.3f}"


def cpu_split(out, dut, rounds):
    """The per-CPU time split of the last round's throughput pass, as one table cell per CPU."""
    for r in range(rounds, 0, -1):
        try:
            with open(os.path.join(out, f"{dut}-r{r}-cpu.txt"), encoding="utf-8") as f:
                return [line.strip().split(" ", 1)[1] for line in f if line.strip()]
        except (OSError, IndexError):
            continue
    return []


def collect(out, dut, rounds, kind):
    runs = [load(os.path.join(out, f"{dut}-r{r}-{kind}.json")) for r in range(1, rounds + 1)]
    return [r for r in runs if r is not None], runs


def main():
    out = sys.argv[1]
    meta = load(os.path.join(out, "meta.json")) or {}
    opts = meta.get("options", {})
    rounds = int(opts.get("rounds", 1))
    duts = opts.get("duts", list(DUTS))
    lat_pps = int(opts.get("latency_pps", 0))

    rows, per_round, medians, cpus = [], [], {}, []
    for dut in duts:
        tput, tput_all = collect(out, dut, rounds, "tput")
        lat, _ = collect(out, dut, rounds, "lat")
        rx = median([t["rx_pps"] for t in tput])
        medians[dut] = rx
        lat_cells = [
            fmt_us(median([l["latency_us"][k] for l in lat if l["latency_us"]["samples"] > 0]))
            for k in ("p50", "p99", "p999", "max")
        ]
        rows.append(
            f"| {DUTS.get(dut, dut)} | {fmt_pps(median([t['tx_pps'] for t in tput]))} | **{fmt_pps(rx)}** "
            f"| {fmt_pct(median([t['loss'] for t in tput]))} | {' / '.join(lat_cells)} "
            f"| {fmt_pct(median([l['loss'] for l in lat]))} |"
        )
        cells = [fmt_pps(t["rx_pps"]) if t else "failed" for t in tput_all]
        per_round.append(f"| {dut} | {' | '.join(cells)} |")
        split = cpu_split(out, dut, rounds)
        if split:
            cpus.append(f"| {dut} | {' | '.join(split)} |")

    m = meta.get("machine", {})
    lines = [
        f"## L4 throughput, {meta.get('date', '?')}",
        "",
        f"Machine: {m.get('nproc', '?')} CPUs ({m.get('cpu', '?')}), kernel {m.get('kernel', '?')}, "
        f"DPDK {m.get('dpdk', '?')}, edgelb {m.get('commit', '?')}; load average at the start "
        f"{m.get('loadavg', '?')}.",
        "",
        f"Traffic: {opts.get('frame_size')}-byte UDP frames over {opts.get('flows')} flows "
        f"(sources {opts.get('src_ip')}, ports {opts.get('src_port')}) to 198.18.10.20:9; throughput pass "
        f"{'as fast as the generator sends' if int(opts.get('pps', 0)) == 0 else str(opts.get('pps')) + ' pps'} "
        f"for {opts.get('duration')} s"
        + (f", latency pass at {lat_pps} pps for {opts.get('latency_duration')} s" if lat_pps else "")
        + f"; {rounds} round(s), devices interleaved within each round, medians shown. Generator on CPU 0; "
        f"each device's forwarding on CPU 1; generator, devices and ksoftirqd at nice {opts.get('nice', 0)}.",
        "",
        f"| device under test | offered pps | forwarded pps | loss | one-way latency µs p50 / p99 / p99.9 / max "
        f"at {lat_pps} pps | loss at {lat_pps} pps |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    if "edgelb" in medians:
        lines.append(
            f"**Ratios** (median forwarded pps): edgelb / testpmd io-forward = **{ratio(medians['edgelb'], medians.get('testpmd'))}**, "
            f"edgelb / nftables = **{ratio(medians['edgelb'], medians.get('nftables'))}**."
        )
    if "testpmd" in medians and "nftables" in medians:
        lines.append(f"nftables / testpmd = {ratio(medians['nftables'], medians['testpmd'])}.")
    lines.append(
        "How to read these (af_packet ports on veths; the kernel's figure is a lower bound when its CPU shows idle "
        "time): bench/README.md."
    )
    lines += [
        "",
        "Forwarded pps per round:",
        "",
        f"| device | {' | '.join(f'round {r}' for r in range(1, rounds + 1))} |",
        f"|---|{'---:|' * rounds}",
        *per_round,
        "",
    ]
    if cpus:
        width = max(c.count("|") - 2 for c in cpus)
        lines += [
            "CPU time during the last round's throughput pass (busy-polling shows as user; the kernel's "
            "forwarding and the veth/bridge work as softirq; other jobs on the machine count too):",
            "",
            f"| device | {' | '.join(f'CPU {i}' for i in range(width))} |",
            f"|---|{'---|' * width}",
            *cpus,
            "",
        ]
    notes = meta.get("notes", [])
    if notes:
        lines += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    try:
        with open(os.path.join(out, "commands.txt"), encoding="utf-8") as f:
            commands = f.read().rstrip()
    except OSError:
        commands = "(none recorded)"
    lines += [
        f"Commands ({meta.get('invocation', 'bench/scripts/l4-throughput')}; raw JSON in {out}):",
        "",
        "```sh",
        commands,
        "```",
        "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
