#!/usr/bin/env python3
"""Writes the cluster of bench/scripts/control-scale as Kubernetes manifests (what `edgelb-control --source
manifests:DIR` reads): 3 Ready nodes and N LoadBalancer Services of class edgelb.io/slb, each with one TCP port and
an EndpointSlice of E ready endpoints, spread over NS namespaces, one file per namespace.

Deterministic: the same arguments write the same bytes. Endpoint addresses come from 198.19.128.0/17; a /17 holds
32,766 hosts, so with more endpoints than that an address serves several Services (each Service's own endpoints
stay distinct). NodePorts cycle through 30000-32767 (Services may share one: the bench sends no traffic).
"""

import argparse
import ipaddress
import os
import sys

NODES = [("node1", "198.19.0.11"), ("node2", "198.19.0.12"), ("node3", "198.19.0.13")]
POD_NET = ipaddress.ip_network("198.19.128.0/17")
POD_HOSTS = POD_NET.num_addresses - 2
NODE_PORTS = (30000, 32767)
TARGET_PORT = 8080
CLASS = "edgelb.io/slb"


def nodes_yaml():
    docs = []
    for name, ip in NODES:
        docs.append(
            f"""apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{ kubernetes.io/hostname: {name} }}
status:
  conditions:
    - {{ type: Ready, status: "True", reason: KubeletReady }}
  addresses:
    - {{ type: InternalIP, address: {ip} }}
    - {{ type: Hostname, address: {name} }}
"""
        )
    return "---\n".join(docs)


def pod_address(k):
    """The k-th endpoint's address: host (k mod 32766) + 1 of the pod network."""
    return str(POD_NET.network_address + (k % POD_HOSTS) + 1)


def service_yaml(namespace, index, endpoints):
    name = f"svc-{index:05d}"
    lo, hi = NODE_PORTS
    node_port = lo + index % (hi - lo + 1)
    lines = [
        f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
spec:
  type: LoadBalancer
  loadBalancerClass: {CLASS}
  externalTrafficPolicy: Cluster
  selector: {{ app: {name} }}
  ports:
    - {{ name: http, port: 80, targetPort: {TARGET_PORT}, nodePort: {node_port}, protocol: TCP }}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-x7k2p
  namespace: {namespace}
  labels:
    kubernetes.io/service-name: {name}
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
addressType: IPv4
ports:
  - {{ name: http, port: {TARGET_PORT}, protocol: TCP }}
endpoints:
"""
    ]
    for j in range(endpoints):
        k = index * endpoints + j
        node = NODES[k % len(NODES)][0]
        lines.append(
            f"""  - addresses: [{pod_address(k)}]
    nodeName: {node}
    conditions: {{ ready: true, serving: true, terminating: false }}
"""
        )
    return "".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="output directory (created; must be empty)")
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=10, help="ready endpoints per Service")
    parser.add_argument("--namespaces", type=int, default=100)
    args = parser.parse_args()
    if args.services < 1 or args.endpoints < 1 or args.namespaces < 1:
        sys.exit("error: --services, --endpoints and --namespaces must be at least 1")
    if args.endpoints > POD_HOSTS:
        sys.exit(f"error: at most {POD_HOSTS} endpoints per Service")
    os.makedirs(args.dir, exist_ok=True)
    if os.listdir(args.dir):
        sys.exit(f"error: {args.dir} is not empty")
    with open(os.path.join(args.dir, "00-nodes.yaml"), "w", encoding="ascii") as f:
        f.write(nodes_yaml())
    per_ns = [[] for _ in range(args.namespaces)]
    for i in range(args.services):
        per_ns[i % args.namespaces].append(i)
    for n, indices in enumerate(per_ns):
        if not indices:
            continue
        namespace = f"scale-{n:03d}"
        docs = [service_yaml(namespace, i, args.endpoints) for i in indices]
        with open(os.path.join(args.dir, f"10-{namespace}.yaml"), "w", encoding="ascii") as f:
            f.write("---\n".join(docs))
    print(
        f"{args.services} Services, {args.services * args.endpoints} endpoints, "
        f"{min(args.namespaces, args.services)} namespaces in {args.dir}"
    )


if __name__ == "__main__":
    main()
