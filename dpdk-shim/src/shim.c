/*
 * Out-of-line copies of DPDK 22.11's static-inline functions, macros and
 * thread-local errno, so that Rust can call them. Each wrapper only forwards;
 * keep it that way (semantics live in DPDK, wrappers in the appliance).
 */
#include "shim.h"

uint16_t shim_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                               struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
    return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t shim_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                               struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
    return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
    return rte_pktmbuf_alloc(mp);
}

int shim_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
                                unsigned int count)
{
    return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void shim_rte_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

char *shim_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
    return rte_pktmbuf_append(m, len);
}

char *shim_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
    return rte_pktmbuf_prepend(m, len);
}

char *shim_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len)
{
    return rte_pktmbuf_adj(m, len);
}

int shim_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len)
{
    return rte_pktmbuf_trim(m, len);
}

void shim_rte_pktmbuf_reset(struct rte_mbuf *m) { rte_pktmbuf_reset(m); }

uint16_t shim_rte_pktmbuf_headroom(const struct rte_mbuf *m)
{
    return rte_pktmbuf_headroom(m);
}

uint16_t shim_rte_pktmbuf_tailroom(const struct rte_mbuf *m)
{
    return rte_pktmbuf_tailroom(m);
}

void *shim_rte_pktmbuf_mtod(const struct rte_mbuf *m)
{
    return rte_pktmbuf_mtod(m, void *);
}

void *shim_rte_pktmbuf_mtod_offset(const struct rte_mbuf *m, uint16_t off)
{
    return rte_pktmbuf_mtod_offset(m, void *, off);
}

uint16_t shim_rte_pktmbuf_data_len(const struct rte_mbuf *m)
{
    return rte_pktmbuf_data_len(m);
}

uint32_t shim_rte_pktmbuf_pkt_len(const struct rte_mbuf *m)
{
    return rte_pktmbuf_pkt_len(m);
}

uint16_t shim_rte_mbuf_refcnt_read(const struct rte_mbuf *m)
{
    return rte_mbuf_refcnt_read(m);
}

uint64_t shim_rte_mbuf_ol_flags(const struct rte_mbuf *m) { return m->ol_flags; }

void shim_rte_mbuf_set_ol_flags(struct rte_mbuf *m, uint64_t ol_flags)
{
    m->ol_flags = ol_flags;
}

uint16_t shim_rte_mbuf_port(const struct rte_mbuf *m) { return m->port; }

void *shim_rte_mbuf_dynfield(struct rte_mbuf *m, int offset)
{
    return RTE_MBUF_DYNFIELD(m, offset, void *);
}

unsigned int shim_rte_ring_enqueue_burst(struct rte_ring *r,
                                         void *const *obj_table,
                                         unsigned int n,
                                         unsigned int *free_space)
{
    return rte_ring_enqueue_burst(r, obj_table, n, free_space);
}

unsigned int shim_rte_ring_dequeue_burst(struct rte_ring *r, void **obj_table,
                                         unsigned int n,
                                         unsigned int *available)
{
    return rte_ring_dequeue_burst(r, obj_table, n, available);
}

unsigned int shim_rte_ring_count(const struct rte_ring *r)
{
    return rte_ring_count(r);
}

uint64_t shim_rte_rdtsc(void) { return rte_rdtsc(); }

uint64_t shim_rte_rdtsc_precise(void) { return rte_rdtsc_precise(); }

unsigned int shim_rte_lcore_id(void) { return rte_lcore_id(); }

void shim_rte_pause(void) { rte_pause(); }

int shim_rte_errno(void) { return rte_errno; }
