/*
 * The one translation rule, shared by the conntrack fentry program (conntrack.bpf.c) and the loader's netlink
 * fallback (loader.c): plain C over a small tuple struct, so both sources write exactly the same nat_map entries.
 * Needs __u8/__u16/__u32 and flowlens.h's fl_nat_key / fl_nat_val.
 */
#ifndef FLOWLENS_NAT_RULE_H
#define FLOWLENS_NAT_RULE_H

/* One direction of a connection as conntrack tracks it; ports in host order, IPv4 in addr[0] (network order). */
struct fl_ct_tuple {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
};

static inline int fl_addr_differs(const __u32 *a, const __u32 *b, __u8 family)
{
	if (family == 4)
		return a[0] != b[0];
	return a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] != b[3];
}

static inline void fl_addr_copy(__u32 *dst, const __u32 *src, __u8 family)
{
	dst[0] = src[0];
	if (family == 6) {
		dst[1] = src[1];
		dst[2] = src[2];
		dst[3] = src[3];
	}
}

/*
 * A TCP connection the node confirmed, its original (o) and reply (r) tuples; family 4 or 6. Returns how many
 * nat_map entries to write (0 or 2) into keys[0..1] / vals[0..1].
 * When the reply source differs from the original destination, the node rewrote the destination (kube-proxy DNAT,
 * IPVS), and both ends get an entry, each with the address the client used (orig dst) as via:
 *  - the client's socket (orig src -> orig dst) really talks to the reply source (the backend);
 *  - the server's socket (reply src -> reply dst) really talks to the original source: the client itself when the
 *    node rewrote the source too (SNAT, e.g. a NodePort with externalTrafficPolicy Cluster), else its peer
 *    unchanged (a NodePort with policy Local, a ClusterIP whose backend is on this node): the via tells the hub
 *    it is the same connection as a client end that was not translated where it ran.
 * Entries for sockets that are not on this node (a backend on another node) are never looked up (LRU map).
 */
static inline int fl_nat_entries(const struct fl_ct_tuple *o, const struct fl_ct_tuple *r, __u8 family,
				 struct fl_nat_key keys[2], struct fl_nat_val vals[2])
{
	if (family != 4 && family != 6)
		return 0;
	if (!fl_addr_differs(r->src, o->dst, family) && r->sport == o->dport)
		return 0;
	__builtin_memset(keys, 0, 2 * sizeof(keys[0]));
	__builtin_memset(vals, 0, 2 * sizeof(vals[0]));
	keys[0].family = family;
	fl_addr_copy(keys[0].local, o->src, family);
	fl_addr_copy(keys[0].remote, o->dst, family);
	keys[0].local_port = o->sport;
	keys[0].remote_port = o->dport;
	fl_addr_copy(vals[0].remote, r->src, family);
	vals[0].remote_port = r->sport;
	fl_addr_copy(vals[0].via, o->dst, family);
	vals[0].via_port = o->dport;
	keys[1].family = family;
	fl_addr_copy(keys[1].local, r->src, family);
	fl_addr_copy(keys[1].remote, r->dst, family);
	keys[1].local_port = r->sport;
	keys[1].remote_port = r->dport;
	fl_addr_copy(vals[1].remote, o->src, family);
	vals[1].remote_port = o->sport;
	fl_addr_copy(vals[1].via, o->dst, family);
	vals[1].via_port = o->dport;
	return 2;
}

/* A socket's flow key once its connection is known translated: keyed by the real peer, via = what the client used. */
static inline void fl_apply_nat(struct fl_flow_key *k, const struct fl_nat_val *t)
{
	__builtin_memcpy(k->remote, t->remote, 16);
	__builtin_memcpy(k->via, t->via, 16);
	k->via_port = t->via_port;
	if (k->direction == FL_DIR_CLIENT)
		k->server_port = t->remote_port;
}

/*
 * A connection the node translated, as the node that translated it counts it for the hub (report `forwards`): who
 * called (orig src), the address it used (orig dst = via), the backend it reached (reply src) and, when the node
 * rewrote the source too (SNAT: a NodePort with externalTrafficPolicy Cluster), the address the backend sees as its
 * client (reply dst). Counted per tick in the forward tables (fwd_a / fwd_b, nat_map.bpf.h) by the conntrack
 * program or the loader's netlink thread. The agent keeps only connections whose client and backend are both
 * elsewhere (forwarded through this node); the others' ends already carry the translation.
 */
#define FL_FWD_ENTRIES 8192 /* per set; a connection that finds its set full is counted lost */

struct fl_fwd_key {
	__u32 client[4];
	__u32 via[4];
	__u32 backend[4];
	__u32 snat[4]; /* zero when the source was not rewritten */
	__u16 via_port;
	__u16 backend_port;
	__u8 family; /* 4 or 6 */
	__u8 has_snat;
	__u8 pad[2];
};

/* Fills key for a connection the node translated (the same test as fl_nat_entries); returns 0 when it was not. */
static inline int fl_fwd_entry(const struct fl_ct_tuple *o, const struct fl_ct_tuple *r, __u8 family,
			       struct fl_fwd_key *key)
{
	if (family != 4 && family != 6)
		return 0;
	if (!fl_addr_differs(r->src, o->dst, family) && r->sport == o->dport)
		return 0;
	__builtin_memset(key, 0, sizeof(*key));
	key->family = family;
	fl_addr_copy(key->client, o->src, family);
	fl_addr_copy(key->via, o->dst, family);
	key->via_port = o->dport;
	fl_addr_copy(key->backend, r->src, family);
	key->backend_port = r->sport;
	if (fl_addr_differs(r->dst, o->src, family)) {
		fl_addr_copy(key->snat, r->dst, family);
		key->has_snat = 1;
	}
	return 1;
}

#endif
