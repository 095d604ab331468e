#!/usr/bin/env python3
"""Opens N TLS connections to a VIP, holds them all open, then sends one HTTP/1.1 request on each.

Used by the L7 load test (tests/tests/lab_l7_load.rs). Phase 1 opens every connection (TCP + TLS handshake,
certificate verified against --cafile for --sni), at most --parallel handshakes at a time, and writes --ready-file
once all of them are up; the test then reads the dataplane's counters while every connection is still open.
Phase 2 starts when --go-file appears (or at once without one): `GET --path` with `Host: --sni` on every
connection at the same time; an answer counts as good when its status is 200 and its body contains --expect.
Everything is bounded by --timeout. Prints one JSON document: counts, handshake times and the failures seen
(the first few of each kind).
"""
import argparse
import asyncio
import json
import resource
import ssl
import sys
import time


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[i]


async def open_one(args, ctx, gate, times, failures):
    async with gate:
        start = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.vip, args.port, ssl=ctx, server_hostname=args.sni),
                args.connect_timeout,
            )
        except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
            failures.append("connect: " + (type(e).__name__ + " " + str(e)).strip())
            return None
        times.append(time.monotonic() - start)
        return reader, writer


async def ask(args, conn):
    """One request on an open connection: (status, body) or an error string."""
    reader, writer = conn
    request = f"GET {args.path} HTTP/1.1\r\nHost: {args.sni}\r\n\r\n".encode()
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return status, "(no content-length)"
    body = await reader.readexactly(length)
    return status, body.decode("utf-8", "replace")


async def ask_checked(args, conn, result):
    try:
        status, body = await asyncio.wait_for(ask(args, conn), args.request_timeout)
    except (OSError, ssl.SSLError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
        result["request_errors"].append(type(e).__name__ + " " + str(e))
        return
    if status == 200 and args.expect in body:
        result["ok"] += 1
    else:
        result["bad_answers"].append(f"{status} {body.strip()[:120]}")


async def wait_for_file(path, deadline):
    while time.monotonic() < deadline:
        try:
            with open(path, encoding="utf-8"):
                return True
        except FileNotFoundError:
            await asyncio.sleep(0.05)
    return False


async def run(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    gate = asyncio.Semaphore(args.parallel)
    times, failures = [], []
    deadline = time.monotonic() + args.timeout
    result = {"connections": args.connections, "opened": 0, "ok": 0, "request_errors": [], "bad_answers": []}

    start = time.monotonic()
    try:
        conns = await asyncio.wait_for(
            asyncio.gather(*(open_one(args, ctx, gate, times, failures) for _ in range(args.connections))),
            args.timeout,
        )
    except asyncio.TimeoutError:
        failures.append("the connection phase ran past the deadline")
        conns = []
    conns = [c for c in conns if c is not None]
    result["handshake_phase_s"] = round(time.monotonic() - start, 3)
    result["opened"] = len(conns)
    times.sort()
    result["handshake_ms"] = {
        "p50": round(percentile(times, 50) * 1000, 2) if times else None,
        "p99": round(percentile(times, 99) * 1000, 2) if times else None,
        "max": round(times[-1] * 1000, 2) if times else None,
    }
    result["connect_failures"] = len(failures)
    result["connect_failure_samples"] = failures[:5]
    if args.ready_file:
        with open(args.ready_file, "w", encoding="utf-8") as f:
            f.write(f"{len(conns)}\n")
    if args.go_file and not await wait_for_file(args.go_file, deadline):
        result["request_errors"].append("no go file before the deadline")
    else:
        start = time.monotonic()
        left = max(1.0, deadline - time.monotonic())
        try:
            await asyncio.wait_for(asyncio.gather(*(ask_checked(args, c, result) for c in conns)), left)
        except asyncio.TimeoutError:
            result["request_errors"].append("the request phase ran past the deadline")
        result["request_phase_s"] = round(time.monotonic() - start, 3)
    for _, writer in conns:
        writer.close()
    result["request_error_count"] = len(result["request_errors"])
    result["request_errors"] = result["request_errors"][:5]
    result["bad_answer_count"] = len(result["bad_answers"])
    result["bad_answers"] = result["bad_answers"][:5]
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--sni", required=True, help="server name, verified name and Host header")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--connections", type=int, required=True)
    ap.add_argument("--parallel", type=int, default=256, help="handshakes in progress at most")
    ap.add_argument("--path", default="/")
    ap.add_argument("--expect", default="", help="text every answer's body must contain")
    ap.add_argument("--connect-timeout", type=float, default=10)
    ap.add_argument("--request-timeout", type=float, default=20)
    ap.add_argument("--timeout", type=float, required=True, help="the whole run, seconds")
    ap.add_argument("--ready-file")
    ap.add_argument("--go-file")
    args = ap.parse_args()
    if not (0 < args.connections <= 20000 and 0 < args.timeout <= 300 and 0 < args.parallel <= 4096):
        ap.error("connections must be in (0, 20000], timeout in (0, 300] s, parallel in (0, 4096]")
    want = args.connections + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    print(json.dumps(asyncio.run(run(args))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
