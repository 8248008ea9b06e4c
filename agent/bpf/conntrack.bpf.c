// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flowlens Service translation: one fentry program on __nf_conntrack_confirm, which runs once per new connection
 * the node's connection tracking confirms (never per packet). Kept apart from flowlens.bpf.o because
 * nf_conntrack may be a module that is not loaded yet: the loader loads this object when the function exists
 * (vmlinux or module BTF) and retries every tick until then. Its nat_map is flowlens.bpf.o's (the loader
 * reuses the map), where the sock_ops program looks each new socket up.
 *
 * Which entries a translated connection gets is decided in one place, nat_rule.h (fl_nat_entries), shared with the
 * loader's netlink fallback for kernels that refuse this program. Only confirms in the loader's own network
 * namespace (the node's) are recorded.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "flowlens.h"
#include "nat_rule.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define NFCT_PTRMASK (~7UL)

/* Connections the node translated (nat_map.bpf.h: one definition for both objects). */
#include "nat_map.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} nat_recorded SEC(".maps");

/* flowlens.bpf.o's epoch (the loader reuses the map): which forward table (fwd_a / fwd_b) this tick fills. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_epoch SEC(".maps");

/* Cumulative: translated connections not counted in a forward table because it was full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fwd_lost SEC(".maps");

/* One more connection of key in this tick's forward table. */
static __always_inline void count_forward(const struct fl_fwd_key *key)
{
	__u32 zero = 0;
	__u32 *ep = bpf_map_lookup_elem(&flow_epoch, &zero);
	void *map = (ep && (*ep & 1)) ? (void *)&fwd_b : (void *)&fwd_a;
	__u64 one = 1, *n = bpf_map_lookup_elem(map, key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) == 0)
		return;
	n = bpf_map_lookup_elem(map, key); /* another CPU inserted it meanwhile */
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	__u64 *lost = bpf_map_lookup_elem(&fwd_lost, &zero);
	if (lost)
		__sync_fetch_and_add(lost, 1);
}

/* Set by the loader before load: the inode of its network namespace (the node's). On a machine whose nodes share
 * one kernel (kind), every node's conntrack is seen here: only this node's translations are recorded. */
const volatile __u32 netns_ino = 0;

static __always_inline void ct_tuple(struct fl_ct_tuple *t, const struct nf_conntrack_tuple *c)
{
	__builtin_memcpy(t->src, c->src.u3.all, 16);
	__builtin_memcpy(t->dst, c->dst.u3.all, 16);
	t->sport = bpf_ntohs(c->src.u.tcp.port);
	t->dport = bpf_ntohs(c->dst.u.tcp.port);
}

SEC("fentry/__nf_conntrack_confirm")
int BPF_PROG(fl_ct_confirm, struct sk_buff *skb)
{
	struct nf_conntrack_tuple o = {}, r = {};
	unsigned long nfct = BPF_CORE_READ(skb, _nfct);
	struct nf_conn *ct = (struct nf_conn *)(nfct & NFCT_PTRMASK);
	if (!ct)
		return 0;
	if (netns_ino && BPF_CORE_READ(ct, ct_net.net, ns.inum) != netns_ino)
		return 0;
	if (bpf_core_read(&o, sizeof(o), &ct->tuplehash[0].tuple) ||
	    bpf_core_read(&r, sizeof(r), &ct->tuplehash[1].tuple))
		return 0;
	if (o.dst.protonum != IPPROTO_TCP)
		return 0;
	__u8 family = o.src.l3num == AF_INET ? 4 : o.src.l3num == AF_INET6 ? 6 : 0;
	struct fl_ct_tuple ot, rt;
	struct fl_nat_key keys[2];
	struct fl_nat_val vals[2];
	ct_tuple(&ot, &o);
	ct_tuple(&rt, &r);
	int n = fl_nat_entries(&ot, &rt, family, keys, vals);
	if (!n)
		return 0;
	struct fl_fwd_key fwd;
	if (fl_fwd_entry(&ot, &rt, family, &fwd))
		count_forward(&fwd);
	bpf_map_update_elem(&nat_map, &keys[0], &vals[0], BPF_ANY);
	if (n > 1)
		bpf_map_update_elem(&nat_map, &keys[1], &vals[1], BPF_ANY);
	/* n is 0 or 2 today; the rule owns that choice */
	__u32 zero = 0;
	__u64 *cnt = bpf_map_lookup_elem(&nat_recorded, &zero);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}
