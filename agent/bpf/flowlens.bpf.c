// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flowlens TCP flow statistics: one sock_ops program on the cgroup-v2 root.
 *
 * Per socket (BPF socket-local storage, freed by the kernel with the socket) we keep the flow key and the
 * counter values already accounted. On every callback we read the kernel's own tcp_sock counters, and add
 * what changed since the last callback to the flow's entry in the *current* flow map. Userspace swaps the
 * flow map every collection tick (an epoch flip, then an RCU grace period so no program still uses the old one)
 * and drains the old one, so each drained map holds exactly one tick's deltas. Nothing is sent per packet.
 *
 * Exactness (checked against /proc/net/snmp and netstat in agent/test/kernel):
 *  - bytes sent     = bytes_acked, minus the SYN (absorbed by the baseline taken at ESTABLISHED) and minus
 *                     one for our FIN once it is acknowledged (snd_una == write_seq after we sent a FIN).
 *  - bytes received = bytes_received minus one once the peer's FIN was taken in order (SOCK_DONE).
 *  - retransmits    = total_retrans (same increments as TcpRetransSegs, SYN / SYN-ACK retransmits included).
 *  - rtos           = total_rto (kernel >= 6.7, same event as TcpExtTCPTimeouts), else RTO callbacks counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "flowlens.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define TCPS_ESTABLISHED 1
#define TCPS_FIN_WAIT1 4
#define TCPS_CLOSE 7
#define TCPS_LAST_ACK 9
#define SOCK_DONE_BIT 1

/* Set by the loader before load. */
const volatile __u32 max_sockets = 65536;
const volatile __u32 max_flows = 16384;

struct sock_state {
	struct fl_flow_key key;
	__u64 bytes_sent;     /* accounted so far (raw minus corrections) */
	__u64 bytes_received;
	__u32 segs_out;
	__u32 segs_in;
	__u32 retrans;
	__u32 rto_cb;          /* RTO callbacks seen (fallback when total_rto is missing) */
	__u16 rto;
	__u8 fin_out;          /* we sent (queued) a FIN */
	__u8 pad;
	__u32 slot;            /* index of this socket's flow in flow_vals_* ... */
	__u32 slot_epoch;      /* ... valid while the epoch is slot_epoch - 1 (0: none yet) */
	__u32 pad2;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_state);
} sock_states SEC(".maps");

/*
 * Per-tick flow tables, two of them: programs fill set A while the epoch is even, set B while it is odd. A set is
 * an index (flow key -> slot, a hash) and the values (an array indexed by slot). A socket looks its flow up in
 * the index once per tick and remembers the slot, so the per-callback path is an array access, not a hash
 * lookup. Every map is referenced statically so the verifier inlines the lookups.
 */
struct flow_index {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fl_flow_key);
	__type(value, __u32);
} flow_index_a SEC(".maps"), flow_index_b SEC(".maps");

struct flow_vals {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct fl_flow_val);
} flow_vals_a SEC(".maps"), flow_vals_b SEC(".maps");

/* Next free slot of set A (index 0) and set B (index 1); userspace resets it when it drains the set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} slot_next SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_epoch SEC(".maps");

/* Never used by the program: userspace updates it after flipping the epoch because an update of a map-in-map
 * waits for an RCU grace period, i.e. until every program run that may still see the old epoch has finished. */
struct rcu_sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rcu_sync_dummy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct rcu_sync_inner);
} rcu_sync SEC(".maps") = {
	.values = { &rcu_sync_dummy },
};

/* Global counters (index: enum fl_counter). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void counter_add(__u32 idx, __s64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		__sync_fetch_and_add(c, v);
}

static __always_inline __u64 counter_get(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	return c ? *c : 0;
}

static __always_inline int is_v4_mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

/* sock_ops keeps the remote port in network order in the upper 16 bits of a 32-bit field. */
static __always_inline __u32 remote_port_of(struct bpf_sock_ops *ctx)
{
	return bpf_ntohl(ctx->remote_port);
}

static __always_inline void fill_key(struct bpf_sock_ops *ctx, struct fl_flow_key *k, __u8 direction)
{
	__u32 lport = ctx->local_port; /* host order */
	__u32 rport = remote_port_of(ctx);

	__builtin_memset(k, 0, sizeof(*k));
	if (ctx->family == AF_INET) {
		k->family = 4;
		k->local[0] = ctx->local_ip4;
		k->remote[0] = ctx->remote_ip4;
	} else {
		__u32 l[4] = { ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2], ctx->local_ip6[3] };
		__u32 r[4] = { ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2], ctx->remote_ip6[3] };
		if (is_v4_mapped(l) && is_v4_mapped(r)) {
			k->family = 4;
			k->local[0] = l[3];
			k->remote[0] = r[3];
		} else {
			k->family = 6;
			__builtin_memcpy(k->local, l, sizeof(l));
			__builtin_memcpy(k->remote, r, sizeof(r));
		}
	}
	k->direction = direction;
	k->server_port = direction == FL_DIR_SERVER ? lport : rport;
}

struct readings {
	__u64 bytes_sent;
	__u64 bytes_received;
	__u32 segs_out;
	__u32 segs_in;
	__u32 retrans;
	__u16 rto;
};

static __always_inline void read_counters(struct bpf_sock_ops *ctx, struct bpf_sock *bsk, struct sock_state *st,
					  struct readings *r)
{
	struct tcp_sock *tp = NULL;
	__u64 acked = ctx->bytes_acked;
	__u64 received = ctx->bytes_received;

	tp = bpf_skc_to_tcp_sock(bsk);
	if (tp) {
		/* Our FIN takes one sequence number; once acknowledged it is counted in bytes_acked. */
		if (st->fin_out && tp->snd_una == tp->write_seq && acked > 0)
			acked -= 1;
		/* The peer's FIN advanced rcv_nxt (and bytes_received) by one when taken in order. */
		if ((tp->inet_conn.icsk_inet.sk.__sk_common.skc_flags >> SOCK_DONE_BIT) & 1) {
			if (received > 0)
				received -= 1;
		}
		if (bpf_core_field_exists(tp->total_rto))
			r->rto = tp->total_rto;
		else
			r->rto = st->rto_cb;
	} else {
		r->rto = st->rto_cb;
	}
	r->bytes_sent = acked;
	r->bytes_received = received;
	r->segs_out = ctx->data_segs_out;
	r->segs_in = ctx->data_segs_in;
	r->retrans = ctx->total_retrans;
}

/* The slot of `key` in one set: found in the index, or allocated and published. ~0 when the set is full. */
static __always_inline __u32 flow_slot(void *index, __u32 set, struct fl_flow_key *key)
{
	__u32 *found = bpf_map_lookup_elem(index, key);
	if (found)
		return *found;
	__u32 *next = bpf_map_lookup_elem(&slot_next, &set);
	if (!next)
		return ~0U;
	__u32 slot = __sync_fetch_and_add(next, 1);
	if (slot >= max_flows) {
		counter_add(FL_FLOWS_DROPPED, 1);
		return ~0U;
	}
	if (bpf_map_update_elem(index, key, &slot, BPF_NOEXIST)) {
		/* another CPU published this flow first (our slot stays unused and zero), or the index is full */
		found = bpf_map_lookup_elem(index, key);
		if (found)
			return *found;
		counter_add(FL_FLOWS_DROPPED, 1);
		return ~0U;
	}
	return slot;
}

/* This tick's counters of the socket's flow, or NULL when the flow table is full. */
static __always_inline struct fl_flow_val *flow_entry(struct sock_state *st)
{
	__u32 zero = 0;
	__u32 *ep = bpf_map_lookup_elem(&flow_epoch, &zero);
	if (!ep)
		return NULL;
	__u32 epoch = *ep;
	__u32 set = epoch & 1;
	if (st->slot_epoch != epoch + 1) {
		__u32 slot = set ? flow_slot(&flow_index_b, 1, &st->key) : flow_slot(&flow_index_a, 0, &st->key);
		if (slot == ~0U)
			return NULL;
		st->slot = slot;
		st->slot_epoch = epoch + 1;
	}
	__u32 slot = st->slot;
	/* two call sites, each with a constant map, so both array lookups are inlined */
	if (set)
		return bpf_map_lookup_elem(&flow_vals_b, &slot);
	return bpf_map_lookup_elem(&flow_vals_a, &slot);
}

#define DELTA(cur, prev) ((cur) > (prev) ? (cur) - (prev) : 0)

/* Add everything that changed since the last callback to the current flow map. */
static __always_inline void flush(struct bpf_sock_ops *ctx, struct bpf_sock *sk, struct sock_state *st, __u32 opened, __u32 closed,
				  __u32 rtt_us)
{
	struct readings r = {};
	struct fl_flow_val *v;

	read_counters(ctx, sk, st, &r);
	__u64 d_sent = DELTA(r.bytes_sent, st->bytes_sent);
	__u64 d_recv = DELTA(r.bytes_received, st->bytes_received);
	__u32 d_sout = r.segs_out - st->segs_out;
	__u32 d_sin = r.segs_in - st->segs_in;
	__u32 d_retr = r.retrans - st->retrans;
	__u16 d_rto = (__u16)(r.rto - st->rto);

	if (!(d_sent | d_recv | d_sout | d_sin | d_retr | d_rto | opened | closed | rtt_us))
		return;

	v = flow_entry(st);
	if (!v)
		return; /* counted in FL_FLOWS_DROPPED; keep st unchanged so nothing is lost if space frees up */

	if (d_sent)
		__sync_fetch_and_add(&v->bytes_sent, d_sent);
	if (d_recv)
		__sync_fetch_and_add(&v->bytes_received, d_recv);
	if (d_sout)
		__sync_fetch_and_add(&v->segs_sent, d_sout);
	if (d_sin)
		__sync_fetch_and_add(&v->segs_received, d_sin);
	if (d_retr)
		__sync_fetch_and_add(&v->retransmits, d_retr);
	if (d_rto)
		__sync_fetch_and_add(&v->rtos, d_rto);
	if (opened)
		__sync_fetch_and_add(&v->opened, opened);
	if (closed)
		__sync_fetch_and_add(&v->closed, closed);
	if (rtt_us) {
		__sync_fetch_and_add(&v->rtt_sum_us, rtt_us);
		__sync_fetch_and_add(&v->rtt_count, 1);
		/* min/max race benignly between CPUs; they are summaries, not counters */
		if (v->rtt_min_us == 0 || rtt_us < v->rtt_min_us) /* 0: no sample yet (samples are >= 1) */
			v->rtt_min_us = rtt_us;
		if (rtt_us > v->rtt_max_us)
			v->rtt_max_us = rtt_us;
	}

	if (r.bytes_sent > st->bytes_sent)
		st->bytes_sent = r.bytes_sent;
	if (r.bytes_received > st->bytes_received)
		st->bytes_received = r.bytes_received;
	st->segs_out = r.segs_out;
	st->segs_in = r.segs_in;
	st->retrans = r.retrans;
	st->rto = r.rto;
}

static __always_inline struct sock_state *track(struct bpf_sock_ops *ctx, struct bpf_sock *sk, __u8 direction,
						 int adopted)
{
	struct sock_state *st;

	if (counter_get(FL_SOCKETS_TRACKED) >= max_sockets) {
		counter_add(FL_SOCKETS_SAMPLED_OUT, 1);
		return NULL;
	}
	st = bpf_sk_storage_get(&sock_states, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		counter_add(FL_SOCKETS_SAMPLED_OUT, 1);
		return NULL;
	}
	counter_add(FL_SOCKETS_TRACKED, 1);
	fill_key(ctx, &st->key, direction);

	/* Baseline: bytes and segments count from now on (the SYN is not payload). Retransmits and timeouts of the
	 * handshake are kept (baseline 0), as the namespace's TcpRetransSegs / TCPTimeouts count them too. A socket
	 * adopted mid-life (established before we were attached) counts everything from now on. */
	struct readings r = {};
	read_counters(ctx, sk, st, &r);
	st->bytes_sent = r.bytes_sent;
	st->bytes_received = r.bytes_received;
	st->segs_out = r.segs_out;
	st->segs_in = r.segs_in;
	if (adopted) {
		st->retrans = r.retrans;
		st->rto = r.rto;
	}
	return st;
}

static __always_inline void enable_callbacks(struct bpf_sock_ops *ctx)
{
	bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG |
					       BPF_SOCK_OPS_RETRANS_CB_FLAG | BPF_SOCK_OPS_RTO_CB_FLAG |
					       BPF_SOCK_OPS_STATE_CB_FLAG);
}

static __always_inline void untrack(struct bpf_sock *sk)
{
	bpf_sk_storage_delete(&sock_states, sk);
	counter_add(FL_SOCKETS_TRACKED, -1);
}

SEC("sockops")
int fl_sockops(struct bpf_sock_ops *ctx)
{
	struct sock_state *st;
	__u32 op = ctx->op;

	if (ctx->family != AF_INET && ctx->family != AF_INET6)
		return 1;
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;

	switch (op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
		if (st)
			return 1;
		st = track(ctx, sk, op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ? FL_DIR_CLIENT : FL_DIR_SERVER, 0);
		if (!st)
			return 1;
		enable_callbacks(ctx);
		flush(ctx, sk, st, 1, 0, 0);
		return 1;
	case BPF_SOCK_OPS_RTT_CB:
	case BPF_SOCK_OPS_RETRANS_CB:
	case BPF_SOCK_OPS_RTO_CB:
	case BPF_SOCK_OPS_STATE_CB:
		break;
	default:
		return 1;
	}

	st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (!st) {
		/* Callbacks were enabled by an earlier instance of the agent: adopt the socket from now on. The
		 * smaller port is taken to be the server's. */
		if (op == BPF_SOCK_OPS_STATE_CB && ctx->args[1] == TCPS_CLOSE)
			return 1;
		__u32 rport = remote_port_of(ctx);
		st = track(ctx, sk, ctx->local_port < rport ? FL_DIR_SERVER : FL_DIR_CLIENT, 1);
		if (!st)
			return 1;
	}

	switch (op) {
	case BPF_SOCK_OPS_RTT_CB:
		flush(ctx, sk, st, 0, 0, (ctx->srtt_us >> 3) ?: 1);
		break;
	case BPF_SOCK_OPS_RTO_CB:
		st->rto_cb += 1;
		flush(ctx, sk, st, 0, 0, 0);
		break;
	case BPF_SOCK_OPS_RETRANS_CB:
		flush(ctx, sk, st, 0, 0, 0);
		break;
	case BPF_SOCK_OPS_STATE_CB: {
		__u32 new_state = ctx->args[1];
		if (new_state == TCPS_FIN_WAIT1 || new_state == TCPS_LAST_ACK)
			st->fin_out = 1;
		/* intermediate states only note our FIN; the numbers are taken on the next callback or at CLOSE */
		if (new_state == TCPS_CLOSE) {
			flush(ctx, sk, st, 0, 1, 0);
			untrack(sk);
		}
		break;
	}
	}
	return 1;
}
