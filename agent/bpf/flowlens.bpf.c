// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flowlens TCP flow statistics. Nothing here runs per packet or per ACK:
 *
 *   fl_sockops   sock_ops on the cgroup-v2 root, kernels without tcp_sock.total_rto (< 6.7) only. Runs a few times per
 *                connection: at ACTIVE/PASSIVE_ESTABLISHED (register the socket: flow key, direction, baseline;
 *                enable STATE_CB and RTO_CB), at each state change (STATE_CB: note our FIN; at CLOSE take the final
 *                numbers), and at RTO_CB (RTOs are rare events). Where total_rto exists it is neither loaded nor
 *                attached (conn_by_state): fl_state does the same from the state changes alone.
 *   fl_tick      iter/bpf_sk_storage_map, run by the loader once per collection tick: for every tracked socket
 *                (all network namespaces) read the tcp_sock counters and add what changed since the last reading
 *                to this tick's flow table, plus one srtt sample per socket that moved.
 *   fl_adopt     iter/tcp, run by the loader once per network namespace at start: sockets established before
 *                the agent get storage with baseline = their current counters (nothing from before is reported).
 *                Only the scope's sockets and listeners (scope.bpf.h): iter/tcp sees every node of the kernel.
 *   fl_state     tp_btf/inet_sock_set_state. Kernels with total_rto: registers every connection as it leaves SYN_SENT
 *                / SYN_RECV, counts failed connects, notes our FIN and takes the final numbers at close (conn_state,
 *                sharing register_open / state_change / connect_failed with fl_sockops). Older kernels: final
 *                numbers at close for adopted sockets only, which have no STATE_CB (only sock_ops can enable it).
 *                Both: listeners opening and closing.
 *   fl_synack_timeout  fentry/tcp_syn_ack_timeout, kernels without tcp_sock.total_rto only (loaded on its own by the
 *                loader, optional): a server's SYN-ACK timeouts, which happen before its socket exists.
 *   fl_rto_timer fentry/tcp_retransmit_timer, kernels without total_rto only (likewise): the RTOs no callback sees
 *                (adopted sockets', a Fast Open server's SYN-ACK). Runs once per retransmission timer expiry (rare).
 *
 * Per socket (BPF socket-local storage, freed by the kernel with the socket) we keep the flow key and, per counter,
 * the value already accounted (the baseline). A reading is accounted by raising the baseline with a
 * compare-and-swap and adding the difference to the flow table, so the tick iterator and the close path can run
 * at the same time on two CPUs and every byte is still counted exactly once.
 *
 * Flow tables: userspace swaps them every tick (an epoch flip, then an RCU grace period so no program still uses
 * the old one) and drains the old one, so each drained table holds exactly one tick's deltas. When a table is full
 * the tick iterator leaves the deltas in the socket (taken at a later tick or at close) and the close path puts
 * them in a small overflow table drained with the same tick, so nothing is lost.
 *
 * Exactness (checked against the generators and /proc/net/snmp in agent/test/kernel):
 *  - bytes sent     = bytes_acked minus the client's SYN (baseline 1 for a client we saw open, so data carried by a
 *                     Fast Open SYN counts; a server's bytes_acked never includes its SYN-ACK) and minus one for
 *                     our FIN once acknowledged.
 *  - bytes received = bytes_received (baseline 0 for a connection we saw open: Fast Open data in the SYN counts)
 *                     minus one once the peer's FIN was taken in order (SOCK_DONE).
 *  - retransmits    = total_retrans (same increments as TcpRetransSegs, SYN / SYN-ACK retransmits included).
 *  - rtos           = total_rto (kernel >= 6.7, same event as TcpExtTCPTimeouts), else RTO callbacks counted, plus
 *                     the handshake's timeouts, which happen before RTO_CB can be enabled: a client's SYN timeouts
 *                     (every retransmission before ESTABLISHED was a SYN's, sent by one timer expiry) and a
 *                     server's SYN-ACK timeouts on its request socket (fl_synack_timeout, consumed at
 *                     PASSIVE_ESTABLISHED); an adopted socket's RTOs and a Fast Open server's SYN-ACK
 *                     timeouts by fl_rto_timer. See docs/agent.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "flowlens.h"
#include "nat_rule.h"
#include "scope.bpf.h"
#include "sock_tuple.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCPS_ESTABLISHED 1
#define TCPS_SYN_SENT 2
#define TCPS_SYN_RECV 3
#define TCPS_FIN_WAIT1 4
#define TCPS_FIN_WAIT2 5
#define TCPS_TIME_WAIT 6
#define TCPS_CLOSE 7
#define TCPS_CLOSE_WAIT 8
#define TCPS_LAST_ACK 9
#define TCPS_LISTEN 10
#define TCPS_CLOSING 11
#define SOCK_DONE_BIT 1
#define ECONNREFUSED 111
#define ECONNRESET 104

/* Set by the loader before load. */
const volatile __u32 max_sockets = 65536;
const volatile __u32 max_flows = 16384;
/* 1 on kernels with tcp_sock.total_rto (>= 6.7), where no RTO callback is needed: the loader neither loads nor
 * attaches fl_sockops, and fl_state registers and closes every connection (conn_state). 0: fl_sockops does. */
const volatile __u32 conn_by_state = 0;

enum { B_SENT, B_RECV, B_SOUT, B_SIN, B_RETR, B_RTO, B_MAX };

/*
 * The `tcp` tick's generation: the loader adds one after choosing a tick's namespaces, before the tick's epoch flip
 * and grace period (loader.c collect), so a tick's passes run with tick_gen one past the tick's own generation. A
 * namespace's scope_netns value is the last generation in which a socket was noted there (netns_live) or a tick
 * pass met a tracked open socket there; the loader's tick visits a namespace only when that value is its
 * generation or the one before. Why that loses no socket: loader.c "Which namespaces a tick visits".
 */
__u32 tick_gen;

/* Raises *v to generation g; values only rise. A compare-and-swap fails only when another program changed *v, and
 * every writer only raises it to the generation it read: at most one stale writer (generation g - 1, still running
 * from before the loader's last increment) can raise it to a value below g, so the third try at the latest finds
 * it >= g. Generations are compared wrap-safe (a 32-bit count of ticks). */
static __always_inline void gen_raise(__u32 *v, __u32 g)
{
	for (int i = 0; i < 4; i++) {
		__u32 old = *(volatile __u32 *)v;
		if ((__s32)(old - g) >= 0)
			return;
		if (__sync_val_compare_and_swap(v, old, g) == old)
			return;
	}
}

/* Network namespace `inum` holds an in-scope socket that connects, listens, establishes or is adopted: it is the
 * scope's (scope.bpf.h) and the `tcp` tick visits it this tick and the next (which meets the socket if it is
 * tracked and open, and so keeps the namespace visited). One hash lookup when the namespace was noted this
 * generation already. */
static __always_inline void netns_note(__u32 inum, __u32 g)
{
	if (!inum)
		return;
	__u32 *v = bpf_map_lookup_elem(&scope_netns, &inum);
	if (!v) {
		if (!bpf_map_update_elem(&scope_netns, &inum, &g, BPF_NOEXIST))
			return;
		v = bpf_map_lookup_elem(&scope_netns, &inum); /* created meanwhile on another CPU */
		if (!v)
			return;
	}
	gen_raise(v, g);
}

/*
 * The namespaces this CPU noted last, one 64-bit (generation << 32 | inode) per slot, the slot chosen by the
 * inode's low bits: a socket opening in a namespace this CPU noted already in this generation costs no scope_netns
 * lookup (a hash lookup, most of a note's cost; a connection notes two, one per end). Skipping is safe because
 * values only rise: that note left the namespace's value at this generation or later. Only an LRU eviction could
 * lose it, and the loader visits every namespace when scope_netns is nearly full (loader.c "Which namespaces a tick
 * visits"). A slot is written with one store after its note, so a program nested on this CPU (a softirq's) sees an
 * older key or this one, both only a miss or a note already made.
 */
#define FL_NOTE_CACHE_SLOTS 8
struct note_cache {
	__u64 key[FL_NOTE_CACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct note_cache);
} note_cache SEC(".maps");

static __always_inline void netns_live(__u32 inum)
{
	__u32 g = *(volatile __u32 *)&tick_gen;
	__u64 key = (__u64)g << 32 | inum;
	__u32 zero = 0;
	struct note_cache *c = bpf_map_lookup_elem(&note_cache, &zero);
	if (!c) {
		netns_note(inum, g); /* never: a per-CPU array's only entry */
		return;
	}
	__u64 *slot = &c->key[inum & (FL_NOTE_CACHE_SLOTS - 1)];
	if (*(volatile __u64 *)slot == key)
		return;
	netns_note(inum, g);
	*(volatile __u64 *)slot = key;
}

/* Every caller holds a BTF pointer (bpf_skc_to_tcp_sock, tp_btf, iter/tcp): plain loads the verifier makes safe, not
 * two bpf_probe_read_kernel calls per connection and callback as BPF_CORE_READ would. */
static __always_inline void scope_note_netns(struct sock *sk)
{
	netns_live(sk->__sk_common.skc_net.net->ns.inum);
}

struct sock_state {
	struct fl_flow_key key;
	__u64 base[B_MAX];  /* accounted so far, per counter; raised only by compare-and-swap */
	__u64 slot_tag;     /* (epoch + 1) << 32 | slot: this socket's flow in the set of that epoch */
	__u32 rto_cb;       /* RTO callbacks seen (kernels without total_rto) */
	__u32 closed;       /* set once by the close path; the tick iterator skips the socket afterwards */
	__u32 nat_pending;  /* NAT_* below: registration found no translation (yet), opening not counted yet */
	__u16 other_port;   /* the port the flow key drops (the client's), for the translation lookup */
	__u8 fin_out;       /* we queued a FIN */
	__u8 adopted;       /* existed before the agent: closed by fl_state, not STATE_CB */
	__u8 attempted;     /* an active open we saw from connect(): the attempt is counted with the opening */
	__u8 connecting;    /* between connect() and its outcome (closed is set meanwhile: nothing accounts it yet) */
	__u32 syn_retrans;  /* SYNs retransmitted before it established */
};
_Static_assert(__builtin_offsetof(struct sock_state, key) == 0, "drops.bpf.c reads the key as struct fl_sock_head");

/* A translation can reach nat_map after its socket registered (the netlink source is read by the loader, usually
 * after the handshake): such a socket looks again at its first accounting, before anything is counted, so a
 * translated connection is counted under the backend's key only, never split. */
enum {
	NAT_DONE = 0,
	NAT_PENDING = 1,
	NAT_RESOLVING = 2,
	NAT_OPEN_DEFERRED = 3, /* looked up (found at registration, or missing at a full table); opening not counted */
	NAT_PENDING_LAST = 4,  /* netlink source: missed at one tick already; the next accounting takes it as it is */
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
 * the index once per tick and remembers the slot. Every map is referenced statically so the verifier inlines the
 * lookups.
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

/* Close-time deltas that found the set's flow table full; drained with the same set. */
struct flow_overflow {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_OVERFLOW_ENTRIES);
	__type(key, struct fl_flow_key);
	__type(value, struct fl_flow_val);
} flow_overflow_a SEC(".maps"), flow_overflow_b SEC(".maps");

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

/* Failure tables, connecting sockets and listening ports (fail_maps.bpf.h: shared with drops.bpf.o). */
#include "fail_maps.bpf.h"

/* Set to 1 by the loader when the reset tracepoints of drops.bpf.o are attached; otherwise a reset received on an
 * established connection is counted at its close from sk_err (ECONNRESET), and resets sent are not counted. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rst_tp_attached SEC(".maps");

/* Never used by the programs: userspace updates it after flipping the epoch because an update of a map-in-map
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

/* Connections the node translated (nat_map.bpf.h: one definition for both objects). */
#include "nat_map.bpf.h"

/* Set to 1 by the loader when translations come from netlink events (which can reach nat_map after a short
 * connection closed): a connection closing untranslated before its first tick is then parked in late_ring. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nat_late_mode SEC(".maps");

/* Parked connections (struct fl_late_rec: translation-map key and whole life), read and translated by the loader at
 * collect. A ring rather than a hash keyed by the translation-map key: a record costs a reservation and a copy, no
 * element allocation, hashing or bucket lock, and a full ring refuses at once. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FL_LATE_RING_BYTES);
} late_ring SEC(".maps");

/* Local ports listening in the network namespace being adopted (emptied by the loader between namespaces). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, __u8);
} listeners SEC(".maps");

/*
 * Kernels without total_rto: SYN-ACK timeouts of request sockets (fl_synack_timeout), by the connection they will
 * become, until its PASSIVE_ESTABLISHED takes them. Our SYN-ACK's sequence number is in the key, so a request that
 * never completed (its entry ages out of the LRU) is never taken by a later connection on the same addresses.
 */
struct synack_key {
	__u32 netns;
	__u32 isn;        /* our SYN-ACK's sequence number */
	__u32 local[4];   /* IPv4 (also an IPv4 connection on an IPv6 socket) in [0] */
	__u32 remote[4];
	__u16 local_port; /* host order */
	__u16 remote_port;
	__u32 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct synack_key);
	__type(value, __u32);
} synack_timeouts SEC(".maps");

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

/* Fills the flow key (and the translation-map key) of a socket; ports in host order. */
static __always_inline void fill_key(struct fl_flow_key *k, struct fl_nat_key *nk, __u32 family, const __u32 *l,
				     const __u32 *r, __u16 lport, __u16 rport, __u8 direction)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memset(nk, 0, sizeof(*nk));
	if (family == AF_INET || (is_v4_mapped(l) && is_v4_mapped(r))) {
		k->family = 4;
		k->local[0] = family == AF_INET ? l[0] : l[3];
		k->remote[0] = family == AF_INET ? r[0] : r[3];
	} else {
		k->family = 6;
		__builtin_memcpy(k->local, l, 16);
		__builtin_memcpy(k->remote, r, 16);
	}
	k->direction = direction;
	k->server_port = direction == FL_DIR_SERVER ? lport : rport;
	__builtin_memcpy(nk->local, k->local, 16);
	__builtin_memcpy(nk->remote, k->remote, 16);
	nk->family = k->family;
	nk->local_port = lport;
	nk->remote_port = rport;
}

/* Fills the flow key (and the translation-map key) from the socket itself, with plain loads through its BTF pointer.
 * The local port is inet_sport, not skc_num: by the time inet_sock_set_state reports a close, tcp_set_state has
 * released the port (inet_put_port zeroes skc_num), and a failed connect() is keyed then. */
static __always_inline void key_of_sock(struct tcp_sock *tp, struct fl_flow_key *k, struct fl_nat_key *nk, __u8 dir)
{
	struct sock_common *skc = &tp->inet_conn.icsk_inet.sk.__sk_common;
	__u16 lport = bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport);
	__u16 rport = bpf_ntohs(skc->skc_dport);
	if (skc->skc_family == AF_INET) {
		__u32 l[4] = { skc->skc_rcv_saddr }, r[4] = { skc->skc_daddr };
		fill_key(k, nk, AF_INET, l, r, lport, rport, dir);
	} else {
		__u32 l[4], r[4];
		__builtin_memcpy(l, skc->skc_v6_rcv_saddr.in6_u.u6_addr32, 16);
		__builtin_memcpy(r, skc->skc_v6_daddr.in6_u.u6_addr32, 16);
		fill_key(k, nk, AF_INET6, l, r, lport, rport, dir);
	}
}

/*
 * Set to 1 by the loader before anything can write nat_map: before its first entry from netlink or from the conntrack
 * table read at adoption, and before it attaches the conntrack program. Until then nat_map is empty and every
 * translation lookup (two per connection and end: at establish and at the first accounting) would miss: on a node
 * that translates nothing, none is made.
 */
__u32 nat_any;

/* When the node translated this connection: key by the real peer and remember the address the client used. */
static __always_inline int translate(struct fl_flow_key *k, struct fl_nat_key *nk)
{
	if (!*(volatile __u32 *)&nat_any)
		return 0;
	struct fl_nat_val *t = bpf_map_lookup_elem(&nat_map, nk);
	if (!t)
		return 0;
	fl_apply_nat(k, t);
	counter_add(FL_NAT_TRANSLATED, 1);
	return 1;
}

static __always_inline int fin_queued(struct tcp_sock *tp, struct sock_state *st)
{
	__u8 state = tp->inet_conn.icsk_inet.sk.__sk_common.skc_state;
	return st->fin_out || state == TCPS_FIN_WAIT1 || state == TCPS_FIN_WAIT2 || state == TCPS_TIME_WAIT ||
	       state == TCPS_CLOSING || state == TCPS_LAST_ACK;
}

/* The socket's counters now, corrected for SYN/FIN sequence numbers (see the top of this file). */
static __always_inline void read_counters(struct tcp_sock *tp, struct sock_state *st, __u64 *r)
{
	__u64 acked = tp->bytes_acked;
	__u64 received = tp->bytes_received;

	/* Our FIN takes one sequence number; once acknowledged it is counted in bytes_acked. */
	if (fin_queued(tp, st) && tp->snd_una == tp->write_seq && acked > 0)
		acked -= 1;
	/* The peer's FIN advanced rcv_nxt (and bytes_received) by one when taken in order. */
	if (((tp->inet_conn.icsk_inet.sk.__sk_common.skc_flags >> SOCK_DONE_BIT) & 1) && received > 0)
		received -= 1;
	r[B_SENT] = acked;
	r[B_RECV] = received;
	r[B_SOUT] = tp->data_segs_out;
	r[B_SIN] = tp->data_segs_in;
	r[B_RETR] = tp->total_retrans;
	if (bpf_core_field_exists(tp->total_rto))
		r[B_RTO] = tp->total_rto;
	else
		r[B_RTO] = st->rto_cb;
}

/* Raise the baseline to `cur`; returns what this caller accounted (0 when another CPU already took it). */
static __always_inline __u64 claim(__u64 *base, __u64 cur)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)base;
		if (cur <= old)
			return 0;
		if (__sync_val_compare_and_swap(base, old, cur) == old)
			return cur - old;
	}
	return 0;
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
	if (*next >= max_flows)
		return ~0U;
	__u32 slot = __sync_fetch_and_add(next, 1);
	if (slot >= max_flows)
		return ~0U;
	if (bpf_map_update_elem(index, key, &slot, BPF_NOEXIST)) {
		/* another CPU published this flow first (our slot stays unused and zero), or the index is full */
		found = bpf_map_lookup_elem(index, key);
		return found ? *found : ~0U;
	}
	return slot;
}

static __always_inline __u32 current_epoch(void)
{
	__u32 zero = 0;
	__u32 *ep = bpf_map_lookup_elem(&flow_epoch, &zero);
	return ep ? *ep : 0;
}

/*
 * The epoch a tick counts into: the one before the current. The loader flips the epoch before it runs a tick's
 * passes (loader.c collect, "One grace period, beside the passes"), so that the grace period after the flip runs
 * while the passes do; the passes then count into the set the loader drains after both. A socket's change is
 * counted once either way: by the pass (into that set) or by its close (into the new one), claim() decides.
 */
static __always_inline __u32 tick_epoch(void)
{
	return current_epoch() - 1;
}

/* This tick's counters of the socket's flow, or NULL when the flow table is full. */
static __always_inline struct fl_flow_val *flow_entry(struct sock_state *st, __u32 epoch)
{
	__u32 set = epoch & 1;
	__u64 tag = *(volatile __u64 *)&st->slot_tag;
	__u32 slot;
	if ((__u32)(tag >> 32) == epoch + 1) {
		slot = (__u32)tag;
	} else {
		slot = set ? flow_slot(&flow_index_b, 1, &st->key) : flow_slot(&flow_index_a, 0, &st->key);
		if (slot == ~0U)
			return NULL;
		/* one 64-bit store: another CPU never sees a slot of one epoch tagged with another */
		st->slot_tag = ((__u64)(epoch + 1) << 32) | slot;
	}
	/* two call sites, each with a constant map, so both array lookups are inlined */
	if (set)
		return bpf_map_lookup_elem(&flow_vals_b, &slot);
	return bpf_map_lookup_elem(&flow_vals_a, &slot);
}

/* The overflow entry of the socket's flow in the current set (created zeroed), or NULL when that is full too. */
static __always_inline struct fl_flow_val *overflow_entry(struct sock_state *st, __u32 epoch)
{
	static const struct fl_flow_val zero_val = {};
	void *map = (epoch & 1) ? (void *)&flow_overflow_b : (void *)&flow_overflow_a;
	struct fl_flow_val *v = bpf_map_lookup_elem(map, &st->key);
	if (v)
		return v;
	bpf_map_update_elem(map, &st->key, &zero_val, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, &st->key);
}

/* F_OPEN_TICK / F_OPEN_CLOSE: the first accounting of a socket whose opening was deferred (see NAT_PENDING). */
enum { F_TICK = 0, F_CLOSE = 2, F_OPEN_TICK = 3, F_OPEN_CLOSE = 4 };

/* The translation-map key of a client socket from its (untranslated) flow key and its own port. */
static __always_inline void nat_key_of_client(const struct fl_flow_key *k, __u16 local_port, struct fl_nat_key *nk)
{
	__builtin_memset(nk, 0, sizeof(*nk));
	__builtin_memcpy(nk->local, k->local, 16);
	__builtin_memcpy(nk->remote, k->remote, 16);
	nk->family = k->family;
	nk->local_port = local_port;
	nk->remote_port = k->server_port;
}

/* The translation-map key of a registered socket, rebuilt from its flow key. */
static __always_inline void nat_key_of(struct sock_state *st, struct fl_nat_key *nk)
{
	__builtin_memset(nk, 0, sizeof(*nk));
	__builtin_memcpy(nk->local, st->key.local, 16);
	__builtin_memcpy(nk->remote, st->key.remote, 16);
	nk->family = st->key.family;
	if (st->key.direction == FL_DIR_CLIENT) {
		nk->local_port = st->other_port;
		nk->remote_port = st->key.server_port;
	} else {
		nk->local_port = st->key.server_port;
		nk->remote_port = st->other_port;
	}
}

/*
 * First accounting of a socket whose registration found no translation: look again (the entry may have arrived
 * since), exactly once, before any of its counters or its opening are accounted. Returns 1 when this caller must
 * count the opening (2: and the translation is still missing), 0 when not, -1 when the tick must leave the socket
 * for the next tick (another CPU is resolving right now, or the netlink source may not have delivered yet).
 */
static __always_inline int late_mode(void);

static __always_inline int resolve_pending(struct sock_state *st, int why)
{
	__u32 p = *(volatile __u32 *)&st->nat_pending;
	if (p == NAT_DONE)
		return 0;
	if (p == NAT_OPEN_DEFERRED)
		return __sync_val_compare_and_swap(&st->nat_pending, NAT_OPEN_DEFERRED, NAT_DONE) == NAT_OPEN_DEFERRED;
	if ((p == NAT_PENDING || p == NAT_PENDING_LAST) &&
	    __sync_val_compare_and_swap(&st->nat_pending, p, NAT_RESOLVING) == p) {
		struct fl_nat_key nk;
		nat_key_of(st, &nk);
		int found = translate(&st->key, &nk);
		if (!found && p == NAT_PENDING && why == F_TICK && late_mode()) {
			/* netlink source: the event of a connection opened just before this tick may still be on its way
			 * to the loader; its counters wait in the socket for one more tick (or its close) */
			__sync_lock_test_and_set(&st->nat_pending, NAT_PENDING_LAST);
			return -1;
		}
		__sync_lock_test_and_set(&st->nat_pending, NAT_DONE);
		return found ? 1 : 2;
	}
	/* another CPU is translating the key: a few ns; wait a bounded while */
	for (int i = 0; i < 256; i++)
		if (*(volatile __u32 *)&st->nat_pending == NAT_DONE)
			return 0;
	return -1;
}

static __always_inline int late_mode(void)
{
	__u32 zero = 0;
	__u32 *m = bpf_map_lookup_elem(&nat_late_mode, &zero);
	return m && *m;
}

/*
 * A connection closing before its first tick with no translation found, while translations come from netlink: its
 * event may not have been read yet. Park its whole life in late_ring for the loader, which looks the translation up
 * at collect (after reading the events). Returns 1 when parked; 0 (nothing claimed) when the ring is full.
 */
static __always_inline int park_close(struct sock_state *st, __u64 *r)
{
	struct fl_late_rec *l = bpf_ringbuf_reserve(&late_ring, sizeof(*l), 0);
	if (!l)
		return 0;
	/* the close path runs once per socket (st->closed) and the tick skips closed sockets: nothing races here */
	nat_key_of(st, &l->nat);
	l->bytes_sent = r[B_SENT] > st->base[B_SENT] ? r[B_SENT] - st->base[B_SENT] : 0;
	l->bytes_received = r[B_RECV] > st->base[B_RECV] ? r[B_RECV] - st->base[B_RECV] : 0;
	l->segs_sent = r[B_SOUT] > st->base[B_SOUT] ? r[B_SOUT] - st->base[B_SOUT] : 0;
	l->segs_received = r[B_SIN] > st->base[B_SIN] ? r[B_SIN] - st->base[B_SIN] : 0;
	l->retransmits = r[B_RETR] > st->base[B_RETR] ? r[B_RETR] - st->base[B_RETR] : 0;
	l->rtos = r[B_RTO] > st->base[B_RTO] ? r[B_RTO] - st->base[B_RTO] : 0;
	l->syn_retrans = st->syn_retrans;
	l->direction = st->key.direction;
	l->connect_attempted = st->attempted;
	l->pad[0] = 0;
	l->pad[1] = 0;
	/* the loader reads the ring at collect: no wakeup */
	bpf_ringbuf_submit(l, BPF_RB_NO_WAKEUP);
	st->attempted = 0; /* counted by the loader with the parked connection */
#pragma unroll
	for (int i = 0; i < B_MAX; i++)
		claim(&st->base[i], r[i]);
	counter_add(FL_LATE_PARKED, 1);
	return 1;
}

/*
 * Account everything that changed since the baseline into the current flow table. The tick iterator (F_TICK)
 * leaves the deltas in the socket when the table is full (and a first accounting its opening); the close path uses
 * the overflow table then.
 */
static __always_inline int flush(struct tcp_sock *tp, struct sock_state *st, int why)
{
	__u64 r[B_MAX] = {};
	__u64 d[B_MAX] = {};
	struct fl_flow_val *v;
	__u64 any = 0;

	int opening = resolve_pending(st, why);
	if (opening < 0 && why == F_TICK)
		return 1; /* left in the socket for the next tick */
	if (opening > 0)
		why = why == F_TICK ? F_OPEN_TICK : F_OPEN_CLOSE;
	read_counters(tp, st, r);
	if (opening == 2 && why == F_OPEN_CLOSE && late_mode() && park_close(st, r))
		return 0;
#pragma unroll
	for (int i = 0; i < B_MAX; i++)
		any |= r[i] > st->base[i];
	if (!any && why == F_TICK)
		return 0;

	__u32 epoch = why == F_TICK || why == F_OPEN_TICK ? tick_epoch() : current_epoch();
	v = flow_entry(st, epoch);
	if (!v) {
		counter_add(FL_FLOWS_DROPPED, 1);
		if (why == F_TICK)
			return 1; /* the deltas stay in the socket: taken at a later tick or at close */
		if (why == F_OPEN_TICK) {
			/* the opening is counted at a later tick or at close, with the deltas */
			__sync_lock_test_and_set(&st->nat_pending, NAT_OPEN_DEFERRED);
			return 1;
		}
		v = overflow_entry(st, epoch);
		if (!v) {
			counter_add(FL_FLOWS_LOST, 1);
			return 0;
		}
		counter_add(FL_FLOWS_CARRIED, 1);
	}

#pragma unroll
	for (int i = 0; i < B_MAX; i++)
		d[i] = claim(&st->base[i], r[i]);
	if (d[B_SENT])
		__sync_fetch_and_add(&v->bytes_sent, d[B_SENT]);
	if (d[B_RECV])
		__sync_fetch_and_add(&v->bytes_received, d[B_RECV]);
	if (d[B_SOUT])
		__sync_fetch_and_add(&v->segs_sent, d[B_SOUT]);
	if (d[B_SIN])
		__sync_fetch_and_add(&v->segs_received, d[B_SIN]);
	if (d[B_RETR])
		__sync_fetch_and_add(&v->retransmits, d[B_RETR]);
	if (d[B_RTO])
		__sync_fetch_and_add(&v->rtos, d[B_RTO]);
	if (why == F_OPEN_TICK || why == F_OPEN_CLOSE) {
		__sync_fetch_and_add(&v->opened, 1);
		/* a connect() attempt is counted where its opening is, under the same (translated) key */
		if (st->attempted) {
			st->attempted = 0;
			fail_add_in(epoch, &st->key, 0, FAIL_ATTEMPT, 1);
			fail_add_in(epoch, &st->key, 0, FAIL_SYN_RETRANS, st->syn_retrans);
		}
	}
	if (why == F_CLOSE || why == F_OPEN_CLOSE)
		__sync_fetch_and_add(&v->closed, 1);
	if ((why == F_TICK || why == F_OPEN_TICK) && (d[B_SENT] | d[B_RECV] | d[B_SOUT] | d[B_SIN])) {
		/* one srtt sample per socket per tick in which it moved (an idle socket's srtt does not change) */
		__u32 rtt_us = tp->srtt_us >> 3;
		if (rtt_us) {
			__sync_fetch_and_add(&v->rtt_sum_us, rtt_us);
			__sync_fetch_and_add(&v->rtt_count, 1);
			/* min/max race benignly between CPUs; they are summaries, not counters */
			if (v->rtt_min_us == 0 || rtt_us < v->rtt_min_us) /* 0: no sample yet (samples are >= 1) */
				v->rtt_min_us = rtt_us;
			if (rtt_us > v->rtt_max_us)
				v->rtt_max_us = rtt_us;
		}
	}
	return 0;
}

static __always_inline int rst_tracepoints(void);

/* Final numbers, exactly once per socket whichever close path sees it first. Without the reset tracepoints a reset
 * received on an established connection is counted here, from sk_err (tcp_reset set ECONNRESET). */
static __always_inline void close_socket(struct tcp_sock *tp, struct sock_state *st)
{
	if (__sync_fetch_and_or(&st->closed, 1))
		return;
	if (!rst_tracepoints() && tp->inet_conn.icsk_inet.sk.sk_err == ECONNRESET)
		fail_add(&st->key, 0, FAIL_RST_RECV, 1);
	flush(tp, st, F_CLOSE);
	counter_add(FL_SOCKETS_TRACKED, -1);
}

/* A tracked socket changes state (sock_ops STATE_CB, or inet_sock_set_state): our FIN is queued (FIN_WAIT1,
 * LAST_ACK), or it closes (the final numbers). Every other state needs nothing. */
static __always_inline void state_change(struct tcp_sock *tp, struct sock_state *st, int new_state)
{
	if (new_state == TCPS_FIN_WAIT1 || new_state == TCPS_LAST_ACK)
		st->fin_out = 1;
	else if (new_state == TCPS_CLOSE)
		close_socket(tp, st);
}

/* The synack_timeouts key of a request socket or of the connection it became (both are a struct sock_common). */
static __always_inline void synack_key_of(const struct sock_common *skc, __u32 isn, struct synack_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->netns = skc->skc_net.net->ns.inum;
	k->isn = isn;
	k->local_port = skc->skc_num;
	k->remote_port = bpf_ntohs(skc->skc_dport);
	const __u32 *r6 = skc->skc_v6_daddr.in6_u.u6_addr32;
	/* an IPv4 connection accepted by an IPv6 listener: an IPv4 request, an IPv6 child with mapped addresses */
	if (skc->skc_family == AF_INET6 && !(r6[0] == 0 && r6[1] == 0 && r6[2] == bpf_htonl(0xffff))) {
		k->family = AF_INET6;
		__builtin_memcpy(k->local, skc->skc_v6_rcv_saddr.in6_u.u6_addr32, 16);
		__builtin_memcpy(k->remote, r6, 16);
	} else {
		k->family = AF_INET;
		k->local[0] = skc->skc_rcv_saddr;
		k->remote[0] = skc->skc_daddr;
	}
}

/*
 * Kernels without total_rto count RTOs with RTO_CB, which only an established socket can enable: the handshake's
 * timeouts (TCPTimeouts counts them) are taken here, once, at registration. A client's retransmissions so far were
 * its SYN's, each sent by one timer expiry; a server's SYN-ACK timeouts were counted on its request socket by
 * fl_synack_timeout. (Kernels with total_rto start it with the same: SYN timeouts, and req->num_timeout.)
 */
static __always_inline void handshake_timeouts(struct tcp_sock *tp, struct sock_state *st, __u8 dir)
{
	if (dir == FL_DIR_CLIENT) {
		st->rto_cb = tp->total_retrans;
		return;
	}
	/* the child starts with snd_una one past our SYN-ACK's sequence number and has sent nothing yet */
	struct synack_key k;
	synack_key_of(&tp->inet_conn.icsk_inet.sk.__sk_common, tp->snd_una - 1, &k);
	__u32 *n = bpf_map_lookup_elem(&synack_timeouts, &k);
	if (n) {
		st->rto_cb = *n;
		bpf_map_delete_elem(&synack_timeouts, &k);
	}
}

/* Counts a socket tracked from now; 0 (counted sampled out) when the socket cap is reached. */
static __always_inline int count_state(void)
{
	if (counter_get(FL_SOCKETS_TRACKED) >= max_sockets) {
		counter_add(FL_SOCKETS_SAMPLED_OUT, 1);
		return 0;
	}
	counter_add(FL_SOCKETS_TRACKED, 1);
	return 1;
}

/* Socket storage for a socket, or NULL when the socket cap is reached. */
static __always_inline struct sock_state *new_state(void *sk)
{
	if (counter_get(FL_SOCKETS_TRACKED) >= max_sockets) {
		counter_add(FL_SOCKETS_SAMPLED_OUT, 1);
		return NULL;
	}
	struct sock_state *st = bpf_sk_storage_get(&sock_states, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		counter_add(FL_SOCKETS_SAMPLED_OUT, 1);
		return NULL;
	}
	counter_add(FL_SOCKETS_TRACKED, 1);
	return st;
}

/*
 * Registers a socket seen opening (sock_ops ACTIVE/PASSIVE_ESTABLISHED, or fl_state as it leaves SYN_SENT /
 * SYN_RECV) in its storage: flow key, direction, baseline, translation. The opening is counted at its first
 * accounting (resolve_pending).
 * A client's connect() attempt (st->attempted, st->syn_retrans) is set by the caller before.
 */
static __always_inline void register_open(struct tcp_sock *tp, struct sock_state *st, __u8 dir)
{
	/* the tick iterator may meet the socket while it is being registered: it leaves it alone until then */
	st->nat_pending = NAT_RESOLVING;
	st->closed = 0;
	struct fl_nat_key nk;
	key_of_sock(tp, &st->key, &nk, dir);
	st->other_port = dir == FL_DIR_CLIENT ? nk.local_port : nk.remote_port;
	int translated = translate(&st->key, &nk);
	/* Baseline of a connection seen opening: everything counts from zero except our SYN's sequence number, which a
	 * client's bytes_acked includes (the SYN-ACK acknowledged it, and with Fast Open the SYN's data too, which is
	 * payload and counts). A server's bytes_acked never includes its SYN-ACK (the child starts with snd_una past
	 * it). Handshake retransmits and timeouts are kept (baseline 0), as the kernel's TcpRetransSegs / TCPTimeouts
	 * count them too. */
	if (dir == FL_DIR_CLIENT)
		st->base[B_SENT] = 1;
	if (!bpf_core_field_exists(tp->total_rto))
		handshake_timeouts(tp, st, dir);
	/* The opening is counted at the socket's first accounting (its first tick, or its close), with its counters: a
	 * connection that opens and closes within one tick touches the flow table once. Untranslated, the translation
	 * is looked up once more then (it may arrive after the handshake). */
	__sync_lock_test_and_set(&st->nat_pending, translated ? NAT_OPEN_DEFERRED : NAT_PENDING);
	/* tracked from now: the `tcp` tick visits its namespace from now on (a quiet one included) */
	scope_note_netns((struct sock *)tp);
}

/*
 * TCP_CONNECT_CB: the client flow key of an active open (its translation is looked up at its outcome), in the
 * socket's own storage: the one it keeps when it establishes (no second storage, no delete). Until then it is marked
 * connecting and closed, so the tick and the close path leave it alone, and it is not counted against
 * --max-sockets (that is decided when it establishes). A socket that had a life already (disconnected with
 * AF_UNSPEC and connecting again) keeps its storage as it is and is not tracked again.
 */
static __always_inline void connect_begin(struct bpf_sock_ops *ctx, struct bpf_sock *sk, struct tcp_sock *tp)
{
	struct sock_state *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (st && !st->connecting)
		return;
	if (!st)
		st = bpf_sk_storage_get(&sock_states, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return;
	st->closed = 1;
	st->connecting = 1;
	struct fl_nat_key nk;
	key_of_sock(tp, &st->key, &nk, FL_DIR_CLIENT);
	st->other_port = nk.local_port;
	bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

static __always_inline int rst_tracepoints(void)
{
	__u32 zero = 0;
	__u32 *on = bpf_map_lookup_elem(&rst_tp_attached, &zero);
	return on && *on;
}

/* SYN_SENT -> CLOSE: the attempt failed; refused when a reset answered it (tcp_reset set ECONNREFUSED). `key` is the
 * client flow key (untranslated) and `nk` its translation-map key. Nothing else accounts the socket: sock_ops
 * leaves its connect() storage closed, fl_state never made one. */
static __always_inline void connect_failed(struct tcp_sock *tp, struct fl_flow_key *key, struct fl_nat_key *nk)
{
	translate(key, nk);
	fail_add(key, 0, FAIL_ATTEMPT, 1);
	fail_add(key, 0, FAIL_FAILURE, 1);
	if (tp->inet_conn.icsk_inet.sk.sk_err == ECONNREFUSED)
		fail_add(key, 0, FAIL_REFUSED, 1);
	fail_add(key, 0, FAIL_SYN_RETRANS, tp->total_retrans);
}

SEC("sockops")
int fl_sockops(struct bpf_sock_ops *ctx)
{
	struct sock_state *st;
	__u32 op = ctx->op;

	/* The op first, before any helper: the kernel runs this program for ops it does not handle too (TIMEOUT_INIT,
	 * RWND_INIT, NEEDS_ECN, BASE_RTT, ...), and for every state change once STATE_CB is on. Of a connection's
	 * state changes only three need anything (FIN_WAIT1 / LAST_ACK: our FIN is queued; CLOSE: the final numbers
	 * or a failed connect); SYN_SENT -> ESTABLISHED, FIN_WAIT2 and CLOSE_WAIT return here. */
	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_RTO_CB:
		break;
	case BPF_SOCK_OPS_STATE_CB: {
		__u32 to = ctx->args[1];
		if (to != TCPS_CLOSE && to != TCPS_FIN_WAIT1 && to != TCPS_LAST_ACK)
			return 1;
		break;
	}
	default:
		return 1;
	}
	if (ctx->family != AF_INET && ctx->family != AF_INET6)
		return 1;
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return 1;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 1;

	switch (op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* an active open: remember its flow until it establishes or fails (STATE_CB: SYN_SENT -> CLOSE) */
		connect_begin(ctx, sk, tp);
		scope_note_netns((struct sock *)tp); /* sock_ops sees in-scope sockets only */
		return 1;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: {
		__u8 dir = op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ? FL_DIR_CLIENT : FL_DIR_SERVER;
		st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
		if (st) {
			/* registered already (adopted), unless it is the storage connect() made */
			if (!st->connecting)
				return 1;
			if (!count_state()) {
				bpf_sk_storage_delete(&sock_states, sk); /* rare: the cap is reached */
				return 1;
			}
			st->connecting = 0;
			/* every retransmission before ESTABLISHED was a SYN's (a simultaneous open ends PASSIVE) */
			if (dir == FL_DIR_CLIENT) {
				st->attempted = 1;
				st->syn_retrans = tp->total_retrans;
			}
		} else {
			st = new_state(sk);
			if (!st)
				return 1;
		}
		register_open(tp, st, dir);
		__u32 flags = BPF_SOCK_OPS_STATE_CB_FLAG;
		if (!bpf_core_field_exists(tp->total_rto))
			flags |= BPF_SOCK_OPS_RTO_CB_FLAG;
		bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags | flags);
		return 1;
	}
	case BPF_SOCK_OPS_RTO_CB:
		st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
		/* an adopted socket's RTOs are fl_rto_timer's, also when an earlier agent left this callback on */
		if (st && !st->adopted)
			__sync_fetch_and_add(&st->rto_cb, 1);
		return 1;
	case BPF_SOCK_OPS_STATE_CB: {
		st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
		/* no storage: callbacks enabled by an earlier agent (the socket was adopted, or is not ours) */
		if (!st)
			return 1;
		if (st->connecting) {
			/* a connect() that never established (no answer, or refused) */
			if (ctx->args[0] == TCPS_SYN_SENT && ctx->args[1] == TCPS_CLOSE) {
				struct fl_flow_key key = st->key;
				struct fl_nat_key nk;
				st->connecting = 0;
				nat_key_of_client(&key, st->other_port, &nk);
				connect_failed(tp, &key, &nk);
			}
			return 1;
		}
		state_change(tp, st, ctx->args[1]);
		return 1;
	}
	}
	return 1;
}

SEC("iter/bpf_sk_storage_map")
int fl_tick(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct sock *sk = ctx->sk;
	if (!sk || !ctx->value)
		return 0;
	struct sock_state *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (!st || st->closed)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	flush(tp, st, F_TICK);
	return 0;
}

/* Node-wide listening ports (listen_ports), for the drop hook's choice of the server side. */
static __always_inline void listen_track(__u16 port, int up)
{
	__u32 *n = bpf_map_lookup_elem(&listen_ports, &port);
	if (up) {
		if (n) {
			__sync_fetch_and_add(n, 1);
		} else {
			__u32 one = 1;
			if (bpf_map_update_elem(&listen_ports, &port, &one, BPF_NOEXIST)) {
				/* created meanwhile on another CPU */
				n = bpf_map_lookup_elem(&listen_ports, &port);
				if (n)
					__sync_fetch_and_add(n, 1);
			}
		}
	} else if (n) {
		if (__sync_fetch_and_add(n, -1) == 1)
			bpf_map_delete_elem(&listen_ports, &port);
	}
}

SEC("iter/tcp")
int fl_adopt(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0; /* request and time-wait sockets */
	struct fl_sk_tuple tu;
	sk_tuple(skc, &tu);
	if (tu.family != AF_INET && tu.family != AF_INET6)
		return 0;
	/* iter/tcp sees every socket of the namespace: another node's (one kernel, several nodes) are not ours */
	if (!sk_in_scope((struct sock *)tp))
		return 0;
	scope_note_netns((struct sock *)tp);
	__u8 state = skc->skc_state;
	__u16 lport = tu.lport;
	if (state == TCPS_LISTEN) {
		/* iter/tcp visits every listening socket before any established one */
		__u8 one = 1;
		bpf_map_update_elem(&listeners, &lport, &one, BPF_ANY);
		listen_track(lport, 1);
		return 0;
	}
	if (state != TCPS_ESTABLISHED && state != TCPS_CLOSE_WAIT && state != TCPS_FIN_WAIT1 &&
	    state != TCPS_FIN_WAIT2)
		return 0;
	if (bpf_sk_storage_get(&sock_states, tp, NULL, 0))
		return 0; /* registered by sock_ops since we attached */
	struct sock_state *st = new_state(tp);
	if (!st)
		return 0;
	__u8 dir = bpf_map_lookup_elem(&listeners, &lport) ? FL_DIR_SERVER : FL_DIR_CLIENT;
	struct fl_nat_key nk;
	fill_key(&st->key, &nk, tu.family, tu.local, tu.remote, tu.lport, tu.rport, dir);
	translate(&st->key, &nk);
	st->adopted = 1;
	/* counting starts now: everything the socket carried before is the baseline */
	read_counters(tp, st, st->base);
	counter_add(FL_SOCKETS_ADOPTED, 1);
	return 0;
}

/*
 * Kernels with tcp_sock.total_rto (conn_by_state): what fl_sockops does elsewhere, from the state changes alone.
 *  - CLOSE -> SYN_SENT, a connect(): nothing is kept (no storage until it opens); its namespace is noted only when
 *    the scope is below the cgroup root (socketless drops there are the scope's), not for the tick.
 *  - Leaving SYN_SENT or SYN_RECV: the connection opens, its direction given by the state it leaves (SYN_SENT: we
 *    connected; SYN_RECV: a listener's child, or a simultaneous open, which sock_ops also calls passive).
 *    -> ESTABLISHED registers it. A Fast Open child (tp->fastopen_rsk still set) is registered however it leaves
 *    SYN_RECV: it may have carried and sent data there, and it may close from there (-> FIN_WAIT1 when the
 *    application closes it, -> CLOSE on a reset), which is then taken at once. Any other child leaving SYN_RECV for
 *    CLOSE never opened (sock_ops never saw it either). SYN_SENT -> CLOSE is a failed connect(), keyed from the
 *    socket. A socket with storage already (a second connect() after AF_UNSPEC) is not tracked again, as with
 *    sock_ops.
 *  - FIN_WAIT1 / LAST_ACK / CLOSE of a tracked socket: state_change, as STATE_CB does.
 * Only the scope's sockets (sk_in_scope: the cgroup sock_ops would have been attached to) are registered; the
 * scope's check is free at the cgroup root. Every other change returns before any lookup.
 */
static __always_inline int conn_state(struct sock *sk, int oldstate, int newstate)
{
	int opens = oldstate == TCPS_SYN_SENT || oldstate == TCPS_SYN_RECV;
	int connects = newstate == TCPS_SYN_SENT;
	if (!opens && !connects && newstate != TCPS_CLOSE && newstate != TCPS_FIN_WAIT1 && newstate != TCPS_LAST_ACK)
		return 0;
	if (connects) {
		/* Only a node scope below the cgroup root needs the namespace noted this early: a packet dropped there with
		 * no socket of its own (a SYN-ACK, a reset) is the scope's when the namespace is (scope.bpf.h). At the root
		 * every namespace is the scope's, and the note would serve only the `tcp` tick, which has nothing to meet
		 * here: a connecting socket has no storage on this path, and registration notes the namespace when it opens.
		 * A failed connect() is counted into the failure table, which the loader drains whatever the tick visits.
		 * The verifier removes this at the root (scope_cgroup_id is a constant). */
		if (scope_cgroup_id && sk->sk_protocol == IPPROTO_TCP && sk_in_scope(sk))
			scope_note_netns(sk);
		return 0;
	}
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	struct sock_state *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (!opens) {
		if (st)
			state_change(tp, st, newstate);
		return 0;
	}
	if (st || newstate == TCPS_SYN_RECV)
		return 0; /* tracked already, or a simultaneous open (registered when it leaves SYN_RECV) */
	__u16 family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (!sk_in_scope(sk))
		return 0;
	if (oldstate == TCPS_SYN_SENT && newstate == TCPS_CLOSE) {
		struct fl_flow_key key;
		struct fl_nat_key nk;
		key_of_sock(tp, &key, &nk, FL_DIR_CLIENT);
		connect_failed(tp, &key, &nk);
		return 0;
	}
	if (newstate != TCPS_ESTABLISHED && !(oldstate == TCPS_SYN_RECV && tp->fastopen_rsk))
		return 0;
	st = new_state(sk);
	if (!st)
		return 0;
	__u8 dir = oldstate == TCPS_SYN_SENT ? FL_DIR_CLIENT : FL_DIR_SERVER;
	if (dir == FL_DIR_CLIENT) {
		/* the connect() attempt, counted with the opening; every retransmission so far was a SYN's */
		st->attempted = 1;
		st->syn_retrans = tp->total_retrans;
	}
	register_open(tp, st, dir);
	if (newstate != TCPS_ESTABLISHED)
		state_change(tp, st, newstate); /* a Fast Open child closing in SYN_RECV */
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fl_state, struct sock *sk, int oldstate, int newstate)
{
	/* a listener opens (-> LISTEN) or closes (LISTEN -> CLOSE); an accepted child, cloned from its listener, goes
	 * LISTEN -> SYN_RECV and is no listener closing */
	if (newstate == TCPS_LISTEN || (oldstate == TCPS_LISTEN && newstate == TCPS_CLOSE)) {
		/* only the scope's listeners (another node's are not ours to choose server sides with) */
		if (sk->sk_protocol == IPPROTO_TCP && sk_in_scope(sk)) {
			listen_track(sk->__sk_common.skc_num, newstate == TCPS_LISTEN);
			if (newstate == TCPS_LISTEN)
				scope_note_netns(sk);
		}
		return 0;
	}
	if (conn_by_state)
		return conn_state(sk, oldstate, newstate);
	if (newstate != TCPS_CLOSE && newstate != TCPS_FIN_WAIT1 && newstate != TCPS_LAST_ACK)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	struct sock_state *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	/* sock_ops' STATE_CB takes every other tracked socket */
	if (!st || !st->adopted)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (tp)
		state_change(tp, st, newstate);
	return 0;
}

/* The `tcp` tick's idle skip, per network namespace (struct fl_tick_since in flowlens.h). LRU: an entry evicted
 * (deleted namespaces are never removed) only makes that namespace's next pass read every socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_TICK_SINCE_ENTRIES);
	__type(key, __u32);
	__type(value, struct fl_tick_since);
} tick_since SEC(".maps");

/*
 * What a pass of fl_tick_tcp needs per socket, kept per CPU for the pass that ran last on it, so a socket costs no
 * hash lookup: the namespace's since_ns (tick_since, constant during the pass) and whether this pass met a tracked
 * open socket there already (scope_netns raised). Keyed by pass: (tick_gen << 32 | namespace inode); each namespace
 * is passed at most once per tick generation. A program can be preempted on its CPU (iter/tcp runs it with the
 * socket locked by lock_sock when a user owns the socket), and another pass may then refill the entry: `since`
 * is read between two reads of since_key, and `live_key` is one 64-bit store naming its pass, so a mixed-up entry
 * is only ever a miss.
 */
struct tick_cache {
	__u64 since_key;
	__u64 since_ns;
	__u64 live_key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_cache);
} tick_cache SEC(".maps");

/*
 * The same tick as fl_tick for kernels that refuse map iterators (a BPF LSM policy can deny them while allowing
 * iter/tcp): the loader runs it in every network namespace in turn that may hold a tracked open socket (loader.c
 * "Which namespaces a tick visits"). It visits every TCP socket of the namespace, tracked or not, so it costs more
 * per tick; the loader reports which tick it uses.
 *
 * Idle sockets are skipped before their storage is looked up (the lookup is a chain of dependent cache misses,
 * most of a visit's cost): a socket whose tcp_mstamp is older than the start of its namespace's last complete pass
 * has not changed since that pass read it. iter/tcp runs this program with the socket locked (lock_sock_fast in
 * bpf_iter_tcp_seq_show), and the kernel changes the counters we read only with the socket locked, in sections
 * that refresh tcp_mstamp (tcp_rcv_established, tcp_rcv_state_process, tcp_write_xmit, tcp_write_timer_handler):
 * such a section that began before the pass started had ended before the pass could lock the socket, so the pass
 * read its counts. docs/agent.md "The tcp tick's idle skip" lists what the rule does not see at once.
 *
 * Until the pass has met one tracked open socket in the namespace, idle sockets are looked up too: the first one
 * that is tracked and open raises the namespace's scope_netns value to this generation, which keeps the namespace
 * visited next tick (an idle socket may carry data at any moment, and nothing else would say so).
 */
SEC("iter/tcp")
int fl_tick_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	__u32 inum = skc->skc_net.net->ns.inum;
	__u32 g = *(volatile __u32 *)&tick_gen;
	__u64 key = (__u64)g << 32 | inum;
	__u32 zero = 0;
	struct tick_cache *c = bpf_map_lookup_elem(&tick_cache, &zero);
	if (!c)
		return 0; /* never: a per-CPU array's only entry */
	__u64 since_ns = 0;
	if (*(volatile __u64 *)&c->since_key == key) {
		since_ns = *(volatile __u64 *)&c->since_ns;
		if (*(volatile __u64 *)&c->since_key != key)
			since_ns = 0; /* refilled meanwhile by another pass on this CPU: read every socket */
	} else {
		struct fl_tick_since *since = bpf_map_lookup_elem(&tick_since, &inum);
		since_ns = since ? since->since_ns : 0;
		*(volatile __u64 *)&c->since_key = 0;
		*(volatile __u64 *)&c->since_ns = since_ns;
		*(volatile __u64 *)&c->since_key = key;
	}
	int idle = tp->tcp_mstamp * 1000 < since_ns; /* since the namespace's last complete pass */
	int live = *(volatile __u64 *)&c->live_key == key;
	if (idle && live)
		return 0;
	struct sock_state *st = bpf_sk_storage_get(&sock_states, tp, NULL, 0);
	if (!st || st->closed)
		return 0;
	if (!live) {
		netns_note(inum, g - 1); /* the tick's own generation: the loader raised tick_gen before the passes */
		*(volatile __u64 *)&c->live_key = key;
	}
	if (idle)
		return 0;
	if (flush(tp, st, F_TICK)) {
		/* counters left in the socket: the next pass reads every socket */
		struct fl_tick_since *since = bpf_map_lookup_elem(&tick_since, &inum);
		if (since)
			since->deferred = 1;
	}
	return 0;
}

/*
 * Kernels without tcp_sock.total_rto (< 6.7; the loader loads this program only there): a SYN-ACK timer expiry,
 * counted by TcpExtTCPTimeouts on the request socket before the connection's socket exists. Kept by the connection
 * it will become until its PASSIVE_ESTABLISHED (handshake_timeouts). A Fast Open request is skipped: its socket
 * exists already and its SYN-ACK is retransmitted by that socket's own timer (fl_rto_timer counts it).
 */
SEC("?fentry/tcp_syn_ack_timeout")
int BPF_PROG(fl_synack_timeout, const struct request_sock *req)
{
	if (BPF_CORE_READ((struct tcp_request_sock *)req, tfo_listener))
		return 0;
	__u32 isn = BPF_CORE_READ((struct tcp_request_sock *)req, snt_isn);
	struct synack_key k;
	synack_key_of(&req->__req_common, isn, &k);
	__u32 *n = bpf_map_lookup_elem(&synack_timeouts, &k);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return 0;
	}
	__u32 one = 1;
	if (bpf_map_update_elem(&synack_timeouts, &k, &one, BPF_NOEXIST)) {
		/* created meanwhile on another CPU */
		n = bpf_map_lookup_elem(&synack_timeouts, &k);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return 0;
}

/*
 * Kernels without total_rto: the retransmission timer expiries of tracked sockets that no RTO callback sees.
 *  - A Fast Open server socket before the handshake's last ACK: its timer retransmits the SYN-ACK
 *    (tcp_fastopen_synack_timer, which counts TCPTimeouts and returns before the RTO callback).
 *  - A socket adopted at start: it has no RTO callback (only sock_ops can enable one). Counted are the expiries
 *    tcp_retransmit_timer counts in TCPTimeouts (6.1 to 6.6): something in flight, and not the zero-window path
 *    (a peer with no window, a socket not orphaned, not in the handshake), which counts no timeout.
 * Every other socket returns after one storage lookup.
 */
SEC("?fentry/tcp_retransmit_timer")
int BPF_PROG(fl_rto_timer, struct sock *sk)
{
	struct sock_state *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (!st)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	if (tp->fastopen_rsk) {
		__sync_fetch_and_add(&st->rto_cb, 1);
		return 0;
	}
	if (!st->adopted || !tp->packets_out)
		return 0;
	__u8 state = sk->__sk_common.skc_state;
	int dead = sk->__sk_common.skc_flags & 1; /* SOCK_DEAD */
	if (!tp->snd_wnd && !dead && state != TCPS_SYN_SENT && state != TCPS_SYN_RECV)
		return 0;
	__sync_fetch_and_add(&st->rto_cb, 1);
	return 0;
}
