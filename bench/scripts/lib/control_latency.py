#!/usr/bin/env python3
"""Delay from a manifest change to the dataplane running the new desired state, over N changes.

Edits FILE (an annotation `edgelb.io/probe` on the first Service) N times; after each write, asks the dataplane's
admin socket for its status until `desired_generation` grows, and records the delay. Prints JSON: the delays'
p50/p90/p99/max in milliseconds and every sample. Bounded: each change gets at most --timeout seconds.
"""
import argparse
import json
import socket
import time


def status(sock_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock_path)
    s.sendall(b'{"cmd":"status"}\n')
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--file", required=True, help="the manifest to edit (its first 'annotations:' line)")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--gap", type=float, default=0.25, help="seconds between a change applied and the next")
    args = ap.parse_args()
    if not 0 < args.changes <= 1000:
        ap.error("--changes must be in 1..=1000")

    original = open(args.file).read()
    if "  annotations:\n" not in original:
        ap.error(f"{args.file} has no 'annotations:' line to add a probe under")
    samples = []
    try:
        for i in range(args.changes):
            before = status(args.socket).get("desired_generation") or 0
            text = original.replace("  annotations:\n", f'  annotations:\n    edgelb.io/probe: "{i}"\n', 1)
            with open(args.file, "w") as f:
                f.write(text)
            t0 = time.monotonic()
            while True:
                now = status(args.socket).get("desired_generation") or 0
                if now > before:
                    samples.append((time.monotonic() - t0) * 1000.0)
                    break
                if time.monotonic() - t0 > args.timeout:
                    raise SystemExit(f"change {i}: not applied within {args.timeout} s")
                time.sleep(0.002)
            time.sleep(args.gap)
    finally:
        with open(args.file, "w") as f:
            f.write(original)
    s = sorted(samples)
    print(json.dumps({
        "changes": len(samples),
        "p50_ms": round(percentile(s, 0.50), 1),
        "p90_ms": round(percentile(s, 0.90), 1),
        "p99_ms": round(percentile(s, 0.99), 1),
        "max_ms": round(s[-1], 1),
        "min_ms": round(s[0], 1),
        "samples_ms": [round(x, 1) for x in samples],
    }))


if __name__ == "__main__":
    main()
