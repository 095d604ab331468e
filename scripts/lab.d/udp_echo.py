#!/usr/bin/python3
"""UDP responder for a lab node: answers every datagram with `node=<name>\\n`.

One dual-stack socket (IPv4 arrives as v4-mapped IPv6), a tight recvfrom/sendto loop: no fork per
datagram, so it keeps up with load tests and never stops on a bad peer.
"""

import argparse
import socket
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="node name put in each reply")
    parser.add_argument("--port", type=int, default=30053)
    args = parser.parse_args()

    reply = f"node={args.name}\n".encode()
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A deep receive queue absorbs bursts from load tests.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("::", args.port))
    print(f"udp echo {args.name} on [::]:{args.port}", flush=True)
    while True:
        try:
            _, peer = sock.recvfrom(65535)
            sock.sendto(reply, peer)
        except OSError:
            # A failed send (no route, ICMP error queued) must not stop the responder.
            continue


if __name__ == "__main__":
    sys.exit(main())
