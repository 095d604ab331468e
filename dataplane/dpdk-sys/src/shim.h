/*
 * edgelb's shim over DPDK's static inline functions and macros.
 *
 * bindgen cannot link to a `static inline` function, so each one the dataplane needs is exported here
 * under an `edgelb_` prefix; the constants that DPDK builds with function-like macros (RTE_BIT64)
 * are exported as plain `const` objects for the same reason.
 */
#ifndef EDGELB_DPDK_SHIM_H
#define EDGELB_DPDK_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* ethdev fast path */
uint16_t edgelb_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
                                 uint16_t nb_pkts);
uint16_t edgelb_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
                                 uint16_t nb_pkts);

/* mbuf */
struct rte_mbuf *edgelb_rte_pktmbuf_alloc(struct rte_mempool *mp);
int edgelb_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned count);
void edgelb_rte_pktmbuf_free(struct rte_mbuf *m);
void *edgelb_rte_pktmbuf_mtod(struct rte_mbuf *m);
char *edgelb_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *edgelb_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *edgelb_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int edgelb_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t edgelb_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t edgelb_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
uint16_t edgelb_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t edgelb_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t edgelb_rte_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t edgelb_rte_pktmbuf_port(const struct rte_mbuf *m);
/* Writes the RSS hash the NIC computed and returns 1, or returns 0 when the mbuf carries none. */
int edgelb_rte_pktmbuf_rss_hash(const struct rte_mbuf *m, uint32_t *hash);

/* per-lcore state, time, cpu hints */
int edgelb_rte_errno(void);
unsigned edgelb_rte_lcore_id(void);
uint64_t edgelb_rte_get_tsc_cycles(void);
uint64_t edgelb_rte_get_tsc_hz(void);
void edgelb_rte_prefetch0(const volatile void *p);
void edgelb_rte_pause(void);

/* rings of pointers (burst, the ring's own producer/consumer mode) */
unsigned edgelb_rte_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned n,
                                       unsigned *free_space);
unsigned edgelb_rte_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned n, unsigned *available);
unsigned edgelb_rte_ring_count(const struct rte_ring *r);

/* constants DPDK defines with RTE_BIT64(), which bindgen cannot evaluate */
extern const uint64_t edgelb_RTE_ETH_RSS_IP;
extern const uint64_t edgelb_RTE_ETH_RSS_TCP;
extern const uint64_t edgelb_RTE_ETH_RSS_UDP;
extern const uint64_t edgelb_RTE_ETH_RSS_IPV4;
extern const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV4_TCP;
extern const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV4_UDP;
extern const uint64_t edgelb_RTE_ETH_RSS_IPV6;
extern const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV6_TCP;
extern const uint64_t edgelb_RTE_ETH_RSS_NONFRAG_IPV6_UDP;
extern const uint64_t edgelb_RTE_ETH_RX_OFFLOAD_RSS_HASH;

#endif
