#!/usr/bin/env python3
"""Holds N keep-alive HTTP connections to a VIP and asks `GET /whoami` on each every INTERVAL seconds.

Used by the L4 end-to-end test: while the appliance's pools change, every connection must keep answering from the
same node, and only the connections on a removed backend may be reset. Bounded by --duration. Prints one JSON
document: for each connection its local port, the nodes that answered (in order, deduplicated), how many requests
succeeded and the error that ended it, if any.
"""
import argparse
import json
import socket
import time


def ask(sock, buf):
    sock.sendall(b"GET /whoami HTTP/1.1\r\nHost: longlived\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by peer")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by peer mid-body")
        rest += chunk
    return rest[:length].decode().strip(), rest[length:]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vip", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--connections", type=int, default=6)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--ready-file", help="written once every connection has had its first answer")
    args = ap.parse_args()
    if not (0 < args.duration <= 300 and 0 < args.connections <= 200):
        ap.error("duration must be in (0, 300] s and connections in (0, 200]")

    family = socket.AF_INET6 if ":" in args.vip else socket.AF_INET
    conns = []
    for _ in range(args.connections):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect((args.vip, args.port))
        conns.append({"sock": s, "buf": b"", "port": s.getsockname()[1], "nodes": [], "ok": 0, "error": None})

    deadline = time.monotonic() + args.duration
    first = True
    while time.monotonic() < deadline:
        for c in conns:
            if c["error"]:
                continue
            try:
                node, c["buf"] = ask(c["sock"], c["buf"])
                c["ok"] += 1
                if not c["nodes"] or c["nodes"][-1] != node:
                    c["nodes"].append(node)
            except (OSError, ConnectionError) as e:
                c["error"] = type(e).__name__ + ": " + str(e)
        if first and args.ready_file:
            with open(args.ready_file, "w") as f:
                f.write("ready\n")
            first = False
        time.sleep(args.interval)
    for c in conns:
        c["sock"].close()
        del c["sock"], c["buf"]
    print(json.dumps(conns))


if __name__ == "__main__":
    main()
