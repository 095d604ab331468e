/*
 * Exported copies of DPDK's static inline functions (see shim.h). Each is a one-line call so that
 * the behaviour is DPDK's own; the Rust side adds no logic of its own here.
 */
#include <rte_config.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_prefetch.h>
#include <rte_pause.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>

#include "shim.h"

uint16_t edgelb_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                                 uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t edgelb_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                                 uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *edgelb_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int edgelb_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void edgelb_rte_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

void *edgelb_rte_pktmbuf_mtod(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, void *);
}

char *edgelb_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_prepend(m, len);
}

char *edgelb_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

char *edgelb_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_adj(m, len);
}

int edgelb_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_trim(m, len);
}

uint16_t edgelb_rte_pktmbuf_headroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_headroom(m);
}

uint16_t edgelb_rte_pktmbuf_tailroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_tailroom(m);
}

uint16_t edgelb_rte_pktmbuf_data_len(const struct rte_mbuf *m)
{
	return rte_pktmbuf_data_len(m);
}

uint32_t edgelb_rte_pktmbuf_pkt_len(const struct rte_mbuf *m)
{
	return rte_pktmbuf_pkt_len(m);
}

uint16_t edgelb_rte_pktmbuf_nb_segs(const struct rte_mbuf *m)
{
	return m->nb_segs;
}

uint16_t edgelb_rte_pktmbuf_port(const struct rte_mbuf *m)
{
	return m->port;
}

int edgelb_rte_pktmbuf_rss_hash(const struct rte_mbuf *m, uint32_t *hash)
{
	if (!(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH))
		return 0;
	*hash = m->hash.rss;
	return 1;
}

int edgelb_rte_errno(void)
{
	return rte_errno;
}

unsigned edgelb_rte_lcore_id(void)
{
	return rte_lcore_id();
}

uint64_t edgelb_rte_get_tsc_cycles(void)
{
	return rte_get_tsc_cycles();
}

uint64_t edgelb_rte_get_tsc_hz(void)
{
	return rte_get_tsc_hz();
}

void edgelb_rte_prefetch0(const volatile void *p)
{
	rte_prefetch0(p);
}

void edgelb_rte_pause(void)
{
	rte_pause();
}

unsigned edgelb_rte_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                       unsigned *free_space)
{
	return rte_ring_enqueue_burst(r, objs, n, free_space);
}

unsigned edgelb_rte_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n, unsigned *available)
{
	return rte_ring_dequeue_burst(r, objs, n, available);
}

unsigned edgelb_rte_ring_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

const uint64_t edgelb_RTE_ETH_RSS_IP = RTE_ETH_RSS_IP;
const uint64_t edgelb_RTE_ETH_RSS_TCP = RTE_ETH_RSS_TCP;
const uint64_t edgelb_RTE_ETH_RSS_UDP = RTE_ETH_RSS_UDP;
const uint64_t edgelb_RTE_ETH_RSS_IPV4 = RTE_ETH_RSS_IPV4;
const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV4_TCP = RTE_ETH_RSS_NONFRAG_IPV4_TCP;
const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV4_UDP = RTE_ETH_RSS_NONFRAG_IPV4_UDP;
const uint64_t edgelb_RTE_ETH_RSS_IPV6 = RTE_ETH_RSS_IPV6;
const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV6_TCP = RTE_ETH_RSS_NONFRAG_IPV6_TCP;
const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV6_UDP = RTE_ETH_RSS_NONFRAG_IPV6_UDP;
const uint64_t edgelb_RTE_ETH_RX_OFFLOAD_RSS_HASH = RTE_ETH_RX_OFFLOAD_RSS_HASH;
