/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Failure tables, one definition for the two BPF objects: flowlens.bpf.o creates them (its sock_ops program counts
 * connect attempts and failures), drops.bpf.o counts drops and resets into them (the loader hands it these maps
 * with bpf_map__reuse_fd). Like the flow tables there are two, swapped with the same epoch (flow_epoch): programs
 * fill fail_a while the epoch is even, fail_b while it is odd, and the loader drains the other one at collect.
 * Include after vmlinux.h, bpf_helpers.h, flowlens.h and the definition of flow_epoch.
 */
#ifndef FLOWLENS_FAIL_MAPS_BPF_H
#define FLOWLENS_FAIL_MAPS_BPF_H

struct fail_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_FAIL_ENTRIES);
	__type(key, struct fl_fail_key);
	__type(value, struct fl_fail_val);
} fail_a SEC(".maps"), fail_b SEC(".maps");

/* [0]: updates lost because the tick's failure table was full (cumulative). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fail_lost SEC(".maps");

/* Local ports with a listening socket (any network namespace of the node) -> how many listen on it. Kept by
 * fl_state (LISTEN transitions) and fl_adopt (listeners that existed before the agent); read by the drop hook to
 * decide which side of a packet without a socket is the server. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, __u32);
} listen_ports SEC(".maps");

enum { FAIL_ATTEMPT, FAIL_FAILURE, FAIL_REFUSED, FAIL_SYN_RETRANS, FAIL_RST_SENT, FAIL_RST_RECV, FAIL_DROP };

/* This tick's failure counters of (flow, reason), created zeroed; NULL (and counted lost) when the table is full. */
/* The epoch programs count into now (a tick counts into the one before: flowlens.bpf.c flush). */
static __always_inline __u32 fail_epoch(void)
{
	__u32 zero = 0;
	__u32 *ep = bpf_map_lookup_elem(&flow_epoch, &zero);
	return ep ? *ep : 0;
}

static __always_inline struct fl_fail_val *fail_entry(const struct fl_flow_key *flow, __u32 reason, __u32 epoch)
{
	static const struct fl_fail_val zero_val = {};
	struct fl_fail_key k;
	__u32 zero = 0;
	__builtin_memset(&k, 0, sizeof(k));
	__builtin_memcpy(&k.flow, flow, sizeof(k.flow));
	k.reason = reason;
	void *map = (epoch & 1) ? (void *)&fail_b : (void *)&fail_a;
	struct fl_fail_val *v = bpf_map_lookup_elem(map, &k);
	if (v)
		return v;
	bpf_map_update_elem(map, &k, &zero_val, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, &k);
	if (!v) {
		__u64 *lost = bpf_map_lookup_elem(&fail_lost, &zero);
		if (lost)
			__sync_fetch_and_add(lost, 1);
	}
	return v;
}

/* Adds n to a failure counter of the flow in the given epoch's set. */
static __always_inline void fail_add_in(__u32 epoch, const struct fl_flow_key *flow, __u32 reason, int what, __u64 n)
{
	if (!n)
		return;
	struct fl_fail_val *v = fail_entry(flow, reason, epoch);
	if (!v)
		return;
	switch (what) {
	case FAIL_ATTEMPT: __sync_fetch_and_add(&v->attempts, n); break;
	case FAIL_FAILURE: __sync_fetch_and_add(&v->failures, n); break;
	case FAIL_REFUSED: __sync_fetch_and_add(&v->refused, n); break;
	case FAIL_SYN_RETRANS: __sync_fetch_and_add(&v->syn_retrans, n); break;
	case FAIL_RST_SENT: __sync_fetch_and_add(&v->resets_sent, n); break;
	case FAIL_RST_RECV: __sync_fetch_and_add(&v->resets_received, n); break;
	default: __sync_fetch_and_add(&v->drops, n); break;
	}
}

/* Adds n to a failure counter of the flow in the set programs count into now. */
static __always_inline void fail_add(const struct fl_flow_key *flow, __u32 reason, int what, __u64 n)
{
	if (n)
		fail_add_in(fail_epoch(), flow, reason, what, n);
}

#endif
