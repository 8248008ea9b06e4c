/* Shared between the BPF programs (flowlens.bpf.c, conntrack.bpf.c) and the loader (loader.c). */
#ifndef FLOWLENS_H
#define FLOWLENS_H

#define FL_DIR_CLIENT 0
#define FL_DIR_SERVER 1

/*
 * A flow: (local ip, remote ip, server port, direction, via); the client's ephemeral port is dropped. When the
 * node translated the connection (kube-proxy DNAT / IPVS), remote is the real backend (client sockets) or the real
 * client (server sockets behind SNAT), and via is the address the client socket used (zero when untranslated).
 */
struct fl_flow_key {
	__u32 local[4];  /* IPv4 in local[0] (network order) when family == 4 */
	__u32 remote[4];
	__u32 via[4];
	__u16 server_port; /* host order */
	__u16 via_port;    /* host order, 0: not translated */
	__u8 direction;    /* FL_DIR_* */
	__u8 family;       /* 4 or 6 */
	__u8 pad[2];
};

/* One tick's counter deltas of one flow. */
struct fl_flow_val {
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 segs_sent;
	__u64 segs_received;
	__u64 retransmits;
	__u64 rtos;
	__u64 opened;
	__u64 closed;
	__u64 rtt_sum_us;
	__u64 rtt_count;
	__u32 rtt_min_us;
	__u32 rtt_max_us;
};

/* A connection as one socket sees it (both ports host order): the key of the translation map. */
struct fl_nat_key {
	__u32 local[4];
	__u32 remote[4];
	__u16 local_port;
	__u16 remote_port;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
};

/* What the socket's peer really is, and the address the client used. */
struct fl_nat_val {
	__u32 remote[4];
	__u32 via[4];
	__u16 remote_port;
	__u16 via_port;
	__u32 pad;
};

/* A connection closed before its translation could be looked up (netlink source: the event may still be on its way
 * to the loader): its whole life, keyed by its translation-map key, for the loader to translate at collect. */
struct fl_late_close {
	struct fl_flow_key key;
	struct fl_flow_val val;
	__u32 connect_attempted; /* an active open seen from connect(): the loader counts the attempt (fail line) */
	__u32 syn_retrans;       /* with its SYN retransmissions */
};

/*
 * The record of a parked connection in late_ring (flowlens.bpf.c park_close): its translation-map key and what its
 * whole life counted, nothing else. Its flow key is the untranslated one, rebuilt from the translation-map key by
 * fl_late_unpack (a parked connection had no translation when it closed); opened and closed are 1.
 */
struct fl_late_rec {
	struct fl_nat_key nat;
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 segs_sent;
	__u64 segs_received;
	__u64 retransmits;
	__u64 rtos;
	__u32 syn_retrans;       /* SYN retransmissions of its connect() attempt */
	__u8 direction;          /* FL_DIR_* */
	__u8 connect_attempted;  /* an active open seen from connect(): the loader counts the attempt (fail line) */
	__u8 pad[2];
};

/* A parked record as the loader sums it: the flow key the socket had (its translation-map key with the client's
 * port dropped, as fill_key in flowlens.bpf.c builds both from the same addresses) and its counters. */
static inline void fl_late_unpack(const struct fl_late_rec *r, struct fl_late_close *l)
{
	__builtin_memset(l, 0, sizeof(*l));
	__builtin_memcpy(l->key.local, r->nat.local, sizeof(l->key.local));
	__builtin_memcpy(l->key.remote, r->nat.remote, sizeof(l->key.remote));
	l->key.family = r->nat.family;
	l->key.direction = r->direction;
	l->key.server_port = r->direction == FL_DIR_SERVER ? r->nat.local_port : r->nat.remote_port;
	l->val.bytes_sent = r->bytes_sent;
	l->val.bytes_received = r->bytes_received;
	l->val.segs_sent = r->segs_sent;
	l->val.segs_received = r->segs_received;
	l->val.retransmits = r->retransmits;
	l->val.rtos = r->rtos;
	l->val.opened = 1;
	l->val.closed = 1;
	l->connect_attempted = r->connect_attempted;
	l->syn_retrans = r->syn_retrans;
}

/*
 * Why packets and connections failed, per flow and per tick (drops.bpf.c, and the connect path of fl_sockops).
 * reason 0 (SKB_NOT_DROPPED_YET, never a drop) holds the connection counters; any other reason is a kernel drop
 * reason (enum skb_drop_reason, named by the loader from the running kernel's BTF) and only `drops` is set.
 */
struct fl_fail_key {
	struct fl_flow_key flow;
	__u32 reason;
	__u32 pad;
};

struct fl_fail_val {
	__u64 attempts;        /* connect() attempts resolved this tick (established or failed) */
	__u64 failures;        /* attempts that went SYN_SENT -> CLOSE */
	__u64 refused;         /* of those, answered with a reset (sk_err ECONNREFUSED) */
	__u64 syn_retrans;     /* SYNs sent again by the attempts resolved this tick */
	__u64 resets_sent;     /* resets sent on a connection past the handshake */
	__u64 resets_received; /* resets received on a connection past the handshake */
	__u64 drops;           /* packets of the flow the kernel dropped for `reason` */
};

/* A socket's BPF storage (struct sock_state in flowlens.bpf.c) starts with its flow key: drops.bpf.c reads only that. */
struct fl_sock_head {
	struct fl_flow_key key;
};

#define FL_FAIL_ENTRIES 4096

#define FL_NAT_ENTRIES 65536
#define FL_LATE_ENTRIES 16384 /* distinct flows of parked connections the loader sums per tick */
/* late_ring's size: 2 MiB holds 20,164 records (sizeof(struct fl_late_rec) 96 bytes + the ring's 8-byte header) */
#define FL_LATE_RING_BYTES (2u << 20)
#define FL_OVERFLOW_ENTRIES 1024


/*
 * The `tcp` tick's idle skip (flowlens.bpf.c fl_tick_tcp, loader.c tick_pass), per network namespace (inode): the
 * loader writes since_ns before each pass of the namespace (the start of its last complete pass, less
 * FL_TICK_SINCE_MARGIN_NS; 0: read every socket) and the pass sets `deferred` when it left counters in a socket (a
 * full flow table, a translation still on its way), which makes the namespace's next pass read every socket.
 * last_ns is the loader's own: the start of the last complete pass (CLOCK_MONOTONIC, the clock of tcp_mstamp).
 */
struct fl_tick_since {
	__u64 since_ns;
	__u64 last_ns;
	__u32 deferred;
	__u32 pad;
};
#define FL_TICK_SINCE_ENTRIES 4096
#define FL_TICK_SINCE_MARGIN_NS 1000000ULL

enum fl_counter {
	FL_SOCKETS_TRACKED = 0,   /* gauge: sockets with state right now */
	FL_SOCKETS_SAMPLED_OUT,   /* cumulative: sockets not tracked (socket cap reached) */
	FL_FLOWS_DROPPED,         /* cumulative: updates that found the flow table full (deferred or carried) */
	FL_SOCKETS_ADOPTED,       /* cumulative: sockets that existed before the agent, adopted at start */
	FL_NAT_TRANSLATED,        /* cumulative: sockets whose peer was translated by the node (DNAT/SNAT) */
	FL_FLOWS_CARRIED,         /* cumulative: close-time updates kept in the overflow table (flow table full) */
	FL_FLOWS_LOST,            /* cumulative: close-time updates lost (flow table and overflow table full) */
	FL_NAT_RECORDED,          /* cumulative: translated connections recorded by the conntrack program */
	FL_LATE_PARKED,           /* cumulative: connections closed before their translation lookup, left to the loader */
	FL_COUNTER_MAX,
};

#endif
