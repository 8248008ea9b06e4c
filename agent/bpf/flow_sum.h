// SPDX-License-Identifier: Apache-2.0
/*
 * One tick's drained flow entries summed per flow key before the loader prints them (pure: no I/O, no BPF; unit
 * test agent/bpf/test/flow_sum_test.c). The kernel's flow table already holds one entry per flow, but a tick also
 * drains the overflow table (close-time updates that found the table full) and, with the netlink translation
 * source, one parked record per connection that closed before its first tick (late_ring): under a
 * connect/request/close load that was one line per closed connection, thousands per tick for a handful of flows.
 *
 * The table is bounded (`max` distinct flows, fixed at start): an entry whose flow is new when the table is full is
 * not summed, and the caller prints it alone, as every entry was printed before, so nothing is lost. Entries point
 * at the drain buffers' values and are summed into them in place (nothing copied); the table is emptied after
 * printing by clearing only the hash slots it used, so its memory stays untouched zero pages beyond what a tick used.
 *
 * Sums keep every field's meaning, the same rule as the node's agent/src/bpf/merge.ts addKernelFlow: counters add
 * (bytes, segments, retransmits, RTOs, opens, closes, RTT sum and sample count); RTT min and max are the extremes of
 * the entries that have samples (an entry with rtt_count 0 carries no RTT).
 */
#ifndef FLOWLENS_FLOW_SUM_H
#define FLOWLENS_FLOW_SUM_H

#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "flowlens.h"

/* Adds `v` into `into` (same flow key). */
static inline void fl_flow_val_add(struct fl_flow_val *into, const struct fl_flow_val *v)
{
	into->bytes_sent += v->bytes_sent;
	into->bytes_received += v->bytes_received;
	into->segs_sent += v->segs_sent;
	into->segs_received += v->segs_received;
	into->retransmits += v->retransmits;
	into->rtos += v->rtos;
	into->opened += v->opened;
	into->closed += v->closed;
	if (v->rtt_count) {
		if (into->rtt_count) {
			if (v->rtt_min_us < into->rtt_min_us)
				into->rtt_min_us = v->rtt_min_us;
			if (v->rtt_max_us > into->rtt_max_us)
				into->rtt_max_us = v->rtt_max_us;
		} else {
			into->rtt_min_us = v->rtt_min_us;
			into->rtt_max_us = v->rtt_max_us;
		}
		into->rtt_sum_us += v->rtt_sum_us;
		into->rtt_count += v->rtt_count;
	}
}

struct fl_sum_entry {
	const struct fl_flow_key *key;
	struct fl_flow_val *val; /* the first drained value of the flow: the others are added into it */
	__u64 attempts;          /* connect() attempts of parked connections (their `fail` line), summed too */
	__u64 syn_retrans;       /* and those attempts' SYN retransmissions */
	__u32 pos;               /* its hash slot, cleared by fl_sums_reset */
};

struct fl_sums {
	__u32 *slots; /* open addressing: 0 empty, otherwise entry index + 1 */
	__u32 nslots; /* a power of two, at least 2 * max: probes stay short */
	struct fl_sum_entry *entries;
	__u32 max;
	__u32 n;
};

/* Allocates a table for `max` distinct flows (calloc: pages stay untouched until used); 0 or -1. */
static inline int fl_sums_init(struct fl_sums *t, __u32 max)
{
	memset(t, 0, sizeof(*t));
	if (max == 0 || max > (1u << 30))
		return -1;
	__u32 nslots = 2;
	while (nslots < 2 * max)
		nslots <<= 1;
	t->slots = calloc(nslots, sizeof(*t->slots));
	t->entries = calloc(max, sizeof(*t->entries));
	if (!t->slots || !t->entries) {
		free(t->slots);
		free(t->entries);
		memset(t, 0, sizeof(*t));
		return -1;
	}
	t->nslots = nslots;
	t->max = max;
	return 0;
}

static inline void fl_sums_free(struct fl_sums *t)
{
	free(t->slots);
	free(t->entries);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a over the key's 32-bit words (the key is what the kernel's flow index compares: all of its bytes). */
static inline __u32 fl_key_hash(const struct fl_flow_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u64 h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < sizeof(*k) / sizeof(__u32); i++) {
		h ^= w[i];
		h *= 0x100000001b3ull;
	}
	return (__u32)(h ^ (h >> 32));
}

/*
 * Sums one drained entry (`key` and `val` must stay valid until the table is printed and reset). Returns the flow's
 * entry, or NULL when its flow is new and the table is full: the caller prints that entry alone.
 */
static inline struct fl_sum_entry *fl_sums_add(struct fl_sums *t, const struct fl_flow_key *key,
					       struct fl_flow_val *val, __u64 attempts, __u64 syn_retrans)
{
	__u32 mask = t->nslots - 1;
	for (__u32 pos = fl_key_hash(key) & mask;; pos = (pos + 1) & mask) {
		__u32 s = t->slots[pos];
		if (s == 0) {
			if (t->n == t->max)
				return NULL;
			struct fl_sum_entry *e = &t->entries[t->n];
			e->key = key;
			e->val = val;
			e->attempts = attempts;
			e->syn_retrans = syn_retrans;
			e->pos = pos;
			t->slots[pos] = ++t->n;
			return e;
		}
		struct fl_sum_entry *e = &t->entries[s - 1];
		if (memcmp(e->key, key, sizeof(*key)) == 0) {
			if (e->val != val)
				fl_flow_val_add(e->val, val);
			e->attempts += attempts;
			e->syn_retrans += syn_retrans;
			return e;
		}
	}
}

/* Empties the table (only the slots it used are written). */
static inline void fl_sums_reset(struct fl_sums *t)
{
	for (__u32 i = 0; i < t->n; i++)
		t->slots[t->entries[i].pos] = 0;
	t->n = 0;
}

#endif
