// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flowlens Service translation: one fentry program on __nf_conntrack_confirm, which runs once per new connection
 * the node's connection tracking confirms (never per packet). Kept apart from flowlens.bpf.o because
 * nf_conntrack may be a module that is not loaded yet: the loader loads this object when the function exists
 * (vmlinux or module BTF) and retries every tick until then. Its nat_map is flowlens.bpf.o's (the loader
 * reuses the map), where the sock_ops program looks each new socket up.
 *
 * When the reply tuple's source differs from the original tuple's destination, the node rewrote the
 * destination (kube-proxy iptables DNAT, IPVS): the client socket (orig src -> orig dst) really talks to the
 * reply source (the backend). When the reply's destination also differs from the original source, the node
 * rewrote the source too (SNAT, e.g. a NodePort reached from another node): the server socket (reply src ->
 * reply dst) really talks to the original source (the client). Both are recorded, with the address the client
 * used (orig dst) as `via`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "flowlens.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define NFCT_PTRMASK (~7UL)

/* Reused from flowlens.bpf.o by the loader (same definition). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_NAT_ENTRIES);
	__type(key, struct fl_nat_key);
	__type(value, struct fl_nat_val);
} nat_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nat_recorded SEC(".maps");

static __always_inline void copy_addr(__u32 *dst, const union nf_inet_addr *a, __u8 family)
{
	if (family == 4) {
		dst[0] = a->all[0];
	} else {
		dst[0] = a->all[0];
		dst[1] = a->all[1];
		dst[2] = a->all[2];
		dst[3] = a->all[3];
	}
}

static __always_inline int addr_differs(const union nf_inet_addr *a, const union nf_inet_addr *b, __u8 family)
{
	if (family == 4)
		return a->all[0] != b->all[0];
	return a->all[0] != b->all[0] || a->all[1] != b->all[1] || a->all[2] != b->all[2] || a->all[3] != b->all[3];
}

SEC("fentry/__nf_conntrack_confirm")
int BPF_PROG(fl_ct_confirm, struct sk_buff *skb)
{
	struct nf_conntrack_tuple o = {}, r = {};
	unsigned long nfct = BPF_CORE_READ(skb, _nfct);
	struct nf_conn *ct = (struct nf_conn *)(nfct & NFCT_PTRMASK);
	if (!ct)
		return 0;
	if (bpf_core_read(&o, sizeof(o), &ct->tuplehash[0].tuple) ||
	    bpf_core_read(&r, sizeof(r), &ct->tuplehash[1].tuple))
		return 0;
	if (o.dst.protonum != IPPROTO_TCP)
		return 0;
	__u8 family = o.src.l3num == AF_INET ? 4 : o.src.l3num == AF_INET6 ? 6 : 0;
	if (!family)
		return 0;
	int dnat = addr_differs(&r.src.u3, &o.dst.u3, family) || r.src.u.tcp.port != o.dst.u.tcp.port;
	if (!dnat)
		return 0;
	int snat = addr_differs(&r.dst.u3, &o.src.u3, family) || r.dst.u.tcp.port != o.src.u.tcp.port;

	struct fl_nat_key k = { .family = family };
	struct fl_nat_val v = {};
	/* the client's socket: orig src -> orig dst, really talking to the reply's source */
	copy_addr(k.local, &o.src.u3, family);
	copy_addr(k.remote, &o.dst.u3, family);
	k.local_port = bpf_ntohs(o.src.u.tcp.port);
	k.remote_port = bpf_ntohs(o.dst.u.tcp.port);
	copy_addr(v.remote, &r.src.u3, family);
	v.remote_port = bpf_ntohs(r.src.u.tcp.port);
	copy_addr(v.via, &o.dst.u3, family);
	v.via_port = bpf_ntohs(o.dst.u.tcp.port);
	bpf_map_update_elem(&nat_map, &k, &v, BPF_ANY);

	if (snat) {
		/* the server's socket: reply src -> reply dst, really talking to the original source */
		struct fl_nat_key sk = { .family = family };
		struct fl_nat_val sv = {};
		copy_addr(sk.local, &r.src.u3, family);
		copy_addr(sk.remote, &r.dst.u3, family);
		sk.local_port = bpf_ntohs(r.src.u.tcp.port);
		sk.remote_port = bpf_ntohs(r.dst.u.tcp.port);
		copy_addr(sv.remote, &o.src.u3, family);
		sv.remote_port = bpf_ntohs(o.src.u.tcp.port);
		copy_addr(sv.via, &o.dst.u3, family);
		sv.via_port = v.via_port;
		bpf_map_update_elem(&nat_map, &sk, &sv, BPF_ANY);
	}
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&nat_recorded, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
