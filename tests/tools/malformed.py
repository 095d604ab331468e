#!/usr/bin/python3
"""Sends malformed frames at the appliance from a lab namespace, to exercise its drop paths.

Run inside elb-client (or a node): `ip netns exec elb-client tests/tools/malformed.py [--count N]`.
Each kind is one malformation; every frame goes out of --iface unicast to the appliance's MAC (--dst-mac, or
the gateway's neighbour entry after a ping). Addresses default to the interface's own and its default gateways
and must lie in 198.18.0.0/15 or 2001:2::/48. Prints a JSON object {kind: frames sent} on stdout; frames the
kernel refuses to send (it will not send a frame shorter than an Ethernet header) count as not sent.
"""

import argparse
import ipaddress
import json
import logging
import socket
import struct
import subprocess
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

# pylint: disable=wrong-import-position
from scapy.layers.inet import ICMP, IP  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402
from scapy.utils import checksum  # noqa: E402

ALLOWED_NETS = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:2::/48"))
MAX_COUNT = 10000
ETH_HLEN = 14
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
VLAN_ID = 100
PING_ID = 0x4D46  # "MF": marks these frames in captures


class Ctx:
    """Addresses every builder needs."""

    def __init__(self, src_mac, dst_mac, src4, dst4, src6, dst6):
        self.src_mac = src_mac
        self.dst_mac = dst_mac
        self.src4 = src4
        self.dst4 = dst4
        self.src6 = src6
        self.dst6 = dst6

    def eth(self, ethertype):
        return Ether(src=self.src_mac, dst=self.dst_mac, type=ethertype)


def spoil_u16(frame, offset):
    """Replaces a correct 16-bit checksum with one wrong in ones' complement too (never 0 <-> ffff)."""
    good = int.from_bytes(frame[offset : offset + 2], "big")
    return frame[:offset] + (good ^ 0x5A5A).to_bytes(2, "big") + frame[offset + 2 :]


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def ip4_bytes(addr):
    return ipaddress.IPv4Address(addr).packed


def echo4(ctx):
    return ctx.eth(ETH_P_IP) / IP(src=ctx.src4, dst=ctx.dst4, ttl=64) / ICMP(id=PING_ID, seq=1) / (b"m" * 8)


def echo6(ctx):
    ip6 = IPv6(src=ctx.src6, dst=ctx.dst6, hlim=64)
    return ctx.eth(ETH_P_IPV6) / ip6 / ICMPv6EchoRequest(id=PING_ID, seq=1)


def arp_request(ctx):
    return ctx.eth(ETH_P_ARP) / ARP(op=1, hwsrc=ctx.src_mac, psrc=ctx.src4, pdst=ctx.dst4)


def arp_raw(ctx, sha, spa, tpa):
    """An ARP request built by hand: hlen/plen follow the address fields given, whatever their size."""
    tha = bytes(len(sha))
    header = struct.pack("!HHBBH", 1, ETH_P_IP, len(sha), len(spa), 1)
    return bytes(ctx.eth(ETH_P_ARP)) + header + sha + spa + tha + tpa


def eth_runt(ctx):
    return bytes(ctx.eth(ETH_P_IP))[:10]


def eth_header_only(ctx):
    return bytes(ctx.eth(ETH_P_IP))


def arp_bad_hlen(ctx):
    # hlen 7 and 7-byte hardware addresses: self-consistent, but not Ethernet's 6.
    return arp_raw(ctx, mac_bytes(ctx.src_mac) + b"\x00", ip4_bytes(ctx.src4), ip4_bytes(ctx.dst4))


def arp_bad_plen(ctx):
    return arp_raw(ctx, mac_bytes(ctx.src_mac), ip4_bytes(ctx.src4) + b"\x00", ip4_bytes(ctx.dst4) + b"\x00")


def arp_truncated(ctx):
    return bytes(arp_request(ctx))[: ETH_HLEN + 20]


def ipv4_ihl_4(ctx):
    return bytes(ctx.eth(ETH_P_IP) / IP(src=ctx.src4, dst=ctx.dst4, ihl=4) / ICMP(id=PING_ID) / (b"m" * 8))


def ipv4_total_length_beyond_frame(ctx):
    return bytes(ctx.eth(ETH_P_IP) / IP(src=ctx.src4, dst=ctx.dst4, len=1000) / ICMP(id=PING_ID) / (b"m" * 8))


def ipv4_truncated_header(ctx):
    return bytes(echo4(ctx))[: ETH_HLEN + 12]


def ipv4_bad_header_checksum(ctx):
    return spoil_u16(bytes(echo4(ctx)), ETH_HLEN + 10)


def icmp_short_header(ctx):
    # Type, code and checksum only: 4 bytes where an echo request needs 8.
    icmp = bytes([8, 0, 0, 0])
    icmp = icmp[:2] + checksum(icmp).to_bytes(2, "big")
    return bytes(ctx.eth(ETH_P_IP) / IP(src=ctx.src4, dst=ctx.dst4, proto=1) / Raw(icmp))


def icmp_bad_checksum(ctx):
    return spoil_u16(bytes(echo4(ctx)), ETH_HLEN + 20 + 2)


def ipv6_payload_length_beyond_frame(ctx):
    frame = echo6(ctx)
    frame[IPv6].plen = 1000
    return bytes(frame)


def icmpv6_truncated(ctx):
    ip6 = IPv6(src=ctx.src6, dst=ctx.dst6, nh=58, hlim=64)
    return bytes(ctx.eth(ETH_P_IPV6) / ip6 / Raw(bytes([128, 0])))


def ndp_ns_hop_limit_64(ctx):
    # Otherwise valid (checksum, option); RFC 4861 requires hop limit 255 so the receiver must drop it.
    return bytes(
        ctx.eth(ETH_P_IPV6)
        / IPv6(src=ctx.src6, dst=ctx.dst6, hlim=64)
        / ICMPv6ND_NS(tgt=ctx.dst6)
        / ICMPv6NDOptSrcLLAddr(lladdr=ctx.src_mac)
    )


def vlan_tagged_icmp(ctx):
    inner = echo4(ctx)
    return bytes(ctx.eth(0x8100) / Dot1Q(vlan=VLAN_ID, type=ETH_P_IP) / inner[IP])


def vlan_tagged_arp(ctx):
    return bytes(ctx.eth(0x8100) / Dot1Q(vlan=VLAN_ID, type=ETH_P_ARP) / arp_request(ctx)[ARP])


KINDS = {
    "eth_runt": ("Ethernet frame of 10 bytes, shorter than its header (Linux refuses to send it)", eth_runt),
    "eth_header_only": ("Ethernet header alone, type IPv4, no payload", eth_header_only),
    "arp_bad_hlen": ("ARP request with hardware address length 7", arp_bad_hlen),
    "arp_bad_plen": ("ARP request with protocol address length 5", arp_bad_plen),
    "arp_truncated": ("ARP request cut to 20 of its 28 bytes", arp_truncated),
    "ipv4_ihl_4": ("IPv4 header length field 4 (16 bytes, below the minimum 5)", ipv4_ihl_4),
    "ipv4_total_length_beyond_frame": (
        "IPv4 total length 1000 in a 36-byte packet",
        ipv4_total_length_beyond_frame,
    ),
    "ipv4_truncated_header": ("IPv4 header cut to 12 bytes", ipv4_truncated_header),
    "ipv4_bad_header_checksum": (
        "ICMP echo request with a wrong IPv4 header checksum",
        ipv4_bad_header_checksum,
    ),
    "icmp_short_header": ("ICMP echo request of 4 bytes (no identifier/sequence)", icmp_short_header),
    "icmp_bad_checksum": ("ICMP echo request with a wrong ICMP checksum", icmp_bad_checksum),
    "ipv6_payload_length_beyond_frame": (
        "IPv6 payload length 1000 with an 8-byte ICMPv6 echo request",
        ipv6_payload_length_beyond_frame,
    ),
    "icmpv6_truncated": ("ICMPv6 message of 2 bytes (no checksum)", icmpv6_truncated),
    "ndp_ns_hop_limit_64": ("Neighbor Solicitation with hop limit 64 instead of 255", ndp_ns_hop_limit_64),
    "vlan_tagged_icmp": (
        f"802.1Q VLAN {VLAN_ID} tagged ICMP echo request on an untagged port",
        vlan_tagged_icmp,
    ),
    "vlan_tagged_arp": (f"802.1Q VLAN {VLAN_ID} tagged ARP request on an untagged port", vlan_tagged_arp),
}


def run_json(*cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def iface_mac(iface):
    with open(f"/sys/class/net/{iface}/address", encoding="ascii") as f:
        return f.read().strip()


def iface_address(iface, family):
    """The interface's first global address of a family ("inet" or "inet6"), or None."""
    for link in run_json("ip", "-j", "addr", "show", "dev", iface):
        for addr in link.get("addr_info", []):
            if addr.get("family") == family and addr.get("scope") == "global":
                return addr["local"]
    return None


def default_gateway(iface, flag):
    for route in run_json("ip", "-j", flag, "route", "show", "default", "dev", iface):
        if "gateway" in route:
            return route["gateway"]
    return None


def resolve_mac(iface, gateway):
    """The gateway's MAC from the neighbour table, after a ping has made the kernel resolve it."""
    subprocess.run(["ping", "-n", "-q", "-c1", "-W1", "-I", iface, gateway], capture_output=True, check=False)
    for neigh in run_json("ip", "-j", "neigh", "show", gateway, "dev", iface):
        if neigh.get("lladdr"):
            return neigh["lladdr"]
    return None


def allowed(addr):
    ip = ipaddress.ip_address(addr)
    return any(ip in net for net in ALLOWED_NETS)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--dst-mac", help="the appliance port's MAC (default: from the neighbour table)")
    parser.add_argument("--count", type=int, default=1, help=f"frames per kind, 1..{MAX_COUNT} (default 1)")
    parser.add_argument("--interval", type=float, default=0.001, help="seconds between frames, 0..1")
    parser.add_argument("--kinds", help="comma-separated subset of the kinds (default: all)")
    parser.add_argument("--list", action="store_true", help="print each kind with its description and exit")
    parser.add_argument("--src4", help="default: the interface's IPv4 address")
    parser.add_argument("--dst4", help="default: the IPv4 default gateway (the appliance)")
    parser.add_argument("--src6", help="default: the interface's global IPv6 address")
    parser.add_argument("--dst6", help="default: the IPv6 default gateway (the appliance)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= MAX_COUNT:
        parser.error(f"--count must be within 1..{MAX_COUNT}")
    if not 0 <= args.interval <= 1:
        parser.error("--interval must be within 0..1 s")
    return args


def select_kinds(spec):
    if not spec:
        return list(KINDS)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise SystemExit(f"unknown kind(s): {', '.join(unknown)} (see --list)")
    return names


def build_context(args):
    src4 = args.src4 or iface_address(args.iface, "inet")
    src6 = args.src6 or iface_address(args.iface, "inet6")
    dst4 = args.dst4 or default_gateway(args.iface, "-4")
    dst6 = args.dst6 or default_gateway(args.iface, "-6")
    for name, value in (("src4", src4), ("dst4", dst4), ("src6", src6), ("dst6", dst6)):
        if value is None:
            raise SystemExit(f"no {name}: give --{name}")
        if not allowed(value):
            raise SystemExit(f"{name} {value} is outside 198.18.0.0/15 and 2001:2::/48: refusing to send")
    dst_mac = args.dst_mac or resolve_mac(args.iface, dst4)
    if dst_mac is None:
        raise SystemExit(f"could not resolve the MAC of {dst4} on {args.iface}: give --dst-mac")
    return Ctx(iface_mac(args.iface), dst_mac.lower(), src4, dst4, src6, dst6)


def send_kind(sock, frame, count, interval):
    """Sends a frame COUNT times; returns (sent, last error or None)."""
    sent, error = 0, None
    for _ in range(count):
        try:
            sock.send(frame)
            sent += 1
        except OSError as err:
            error = err
        if interval:
            time.sleep(interval)
    return sent, error


def main(argv):
    args = parse_args(argv)
    kinds = select_kinds(args.kinds)
    if args.list:
        for name in kinds:
            print(f"{name:34} {KINDS[name][0]}")
        return 0
    ctx = build_context(args)
    print(f"sending to {ctx.dst_mac} ({ctx.dst4}, {ctx.dst6}) from {args.iface}", file=sys.stderr)
    summary = {}
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as sock:
        sock.bind((args.iface, 0))
        for name in kinds:
            frame = bytes(KINDS[name][1](ctx))
            summary[name], error = send_kind(sock, frame, args.count, args.interval)
            if error is not None:
                refused = args.count - summary[name]
                print(f"{name}: kernel refused {refused} frame(s): {error}", file=sys.stderr)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
