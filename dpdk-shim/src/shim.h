/*
 * dpdk-sys: the DPDK 22.11 headers Meridian binds to, and the shim_* wrappers
 * for what DPDK defines as `static inline` functions, macros or thread-local
 * variables (none of which exist as symbols in the shared libraries).
 *
 * This is the one header bindgen reads. Every shim_* function behaves exactly
 * like the DPDK function or macro it is named after; see DPDK's documentation
 * for arguments, return values and thread-safety.
 */
#ifndef MERIDIAN_DPDK_SHIM_H
#define MERIDIAN_DPDK_SHIM_H

#include <stdint.h>

#include <rte_config.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

/* ---- ethdev fast path ---- */
uint16_t shim_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                               struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t shim_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                               struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* ---- mbuf ---- */
struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp);
int shim_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
                                unsigned int count);
void shim_rte_pktmbuf_free(struct rte_mbuf *m);
/* Returns NULL (and leaves the mbuf unchanged) if the tailroom is too small. */
char *shim_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
/* Returns NULL (and leaves the mbuf unchanged) if the headroom is too small. */
char *shim_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
/* Removes len bytes from the front; returns the new data start or NULL. */
char *shim_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
/* Removes len bytes from the end; 0 on success, -1 if len > data_len. */
int shim_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
void shim_rte_pktmbuf_reset(struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
/* rte_pktmbuf_mtod(m, void *): start of the data in the first segment. */
void *shim_rte_pktmbuf_mtod(const struct rte_mbuf *m);
/* rte_pktmbuf_mtod_offset(m, void *, off). */
void *shim_rte_pktmbuf_mtod_offset(const struct rte_mbuf *m, uint16_t off);
uint16_t shim_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t shim_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t shim_rte_mbuf_refcnt_read(const struct rte_mbuf *m);
uint64_t shim_rte_mbuf_ol_flags(const struct rte_mbuf *m);
void shim_rte_mbuf_set_ol_flags(struct rte_mbuf *m, uint64_t ol_flags);
uint16_t shim_rte_mbuf_port(const struct rte_mbuf *m);
/* RTE_MBUF_DYNFIELD(m, offset, void *): offset from rte_mbuf_dynfield_lookup
 * / rte_mbuf_dynfield_register (must be >= 0). */
void *shim_rte_mbuf_dynfield(struct rte_mbuf *m, int offset);

/* ---- ring ---- */
unsigned int shim_rte_ring_enqueue_burst(struct rte_ring *r,
                                         void *const *obj_table,
                                         unsigned int n,
                                         unsigned int *free_space);
unsigned int shim_rte_ring_dequeue_burst(struct rte_ring *r, void **obj_table,
                                         unsigned int n,
                                         unsigned int *available);
unsigned int shim_rte_ring_count(const struct rte_ring *r);

/* ---- cpu, lcore, errno ---- */
uint64_t shim_rte_rdtsc(void);
/* rte_rdtsc_precise: rte_rdtsc preceded by a full memory barrier. */
uint64_t shim_rte_rdtsc_precise(void);
unsigned int shim_rte_lcore_id(void);
void shim_rte_pause(void);
/* The calling thread's rte_errno (a thread-local variable in DPDK). */
int shim_rte_errno(void);

#endif /* MERIDIAN_DPDK_SHIM_H */
