/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's node scope, one definition for flowlens.bpf.o and drops.bpf.o (the loader hands drops.bpf.o
 * flowlens.bpf.o's scope_netns map with bpf_map__reuse_fd).
 *
 * The scope is the cgroup the loader attaches sock_ops to (`flowlens-loader --cgroup DIR`). sock_ops only sees
 * the sockets of that cgroup and its descendants; everything else the agent runs is global to the kernel
 * (tp_btf/kfree_skb, iter/tcp in every network namespace, inet_sock_set_state). Where several nodes share one
 * kernel (kind: every node is a container on one kernel) each node's agent must still see its node only, so
 * those programs ask the same question sock_ops' attachment answers: is this socket in the scope's cgroup tree?
 *
 *   scope_cgroup_id  the scope cgroup's id (kernfs node id: the directory's inode / name_to_handle_at handle);
 *                    0 when the scope is the cgroup-v2 root (a real node): everything is in scope and the
 *                    verifier removes every check (the value is a frozen read-only constant).
 *   scope_level      its depth below the cgroup-v2 root, or ~0 when the loader cannot know it (it sees the cgroup
 *                    tree through a cgroup namespace, as a pod of a kind node does): then the socket's ancestors
 *                    are searched, at most FL_SCOPE_MAX_LEVEL of them.
 *   scope_netns      network namespaces (inode numbers) the scope's sockets live in, noted when an in-scope socket
 *                    connects, starts listening, establishes or is adopted: a dropped packet with no socket of its
 *                    own is the scope's when the namespace it was dropped in is one of these (any value). Noted also
 *                    when the scope is the root: the loader's `tcp` tick visits these namespaces (loader.c
 *                    tick_namespaces), and only those whose value is recent. The value is a tick generation
 *                    (flowlens.bpf.c netns_live, tick_gen): the last one in which a socket was noted there or a tick
 *                    pass met a tracked open socket there. Values only ever rise (compare-and-swap).
 * Include after vmlinux.h, bpf_helpers.h and bpf_core_read.h.
 */
#ifndef FLOWLENS_SCOPE_BPF_H
#define FLOWLENS_SCOPE_BPF_H

#define FL_SCOPE_MAX_LEVEL 32
#define FL_SCOPE_NETNS_ENTRIES 4096
#define FL_TCP_TIME_WAIT 6
#define FL_TCP_NEW_SYN_RECV 12

/* Set by the loader before load (loader.c set_scope_rodata). */
const volatile __u64 scope_cgroup_id = 0;
const volatile __u32 scope_level = ~0U;

/* LRU: a long-gone namespace makes room for a new one instead of filling the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_SCOPE_NETNS_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} scope_netns SEC(".maps");

/* Whether the scope cgroup is the cgroup `cg` or one of its ancestors (cgroup->ancestors[], kernels >= 6.0). */
static __always_inline int cgroup_in_scope(struct cgroup *cg)
{
	struct cgroup *a = NULL;
	int level = BPF_CORE_READ(cg, level);
	if (scope_level != ~0U) {
		if (level < 0 || (__u32)level < scope_level)
			return 0;
		if (bpf_core_read(&a, sizeof(a), &cg->ancestors[scope_level]) || !a)
			return 0;
		return BPF_CORE_READ(a, kn, id) == scope_cgroup_id;
	}
	for (int i = 0; i < FL_SCOPE_MAX_LEVEL && i <= level; i++) {
		a = NULL;
		if (bpf_core_read(&a, sizeof(a), &cg->ancestors[i]) || !a)
			return 0;
		if (BPF_CORE_READ(a, kn, id) == scope_cgroup_id)
			return 1;
	}
	return 0;
}

/* Whether a full socket (not a request or time-wait socket) belongs to the scope. */
static __always_inline int sk_in_scope(struct sock *sk)
{
	if (!scope_cgroup_id)
		return 1;
	if (!sk)
		return 0;
	struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	return cg && cgroup_in_scope(cg);
}

/* Whether network namespace `inum` holds sockets of the scope. */
static __always_inline int netns_in_scope(__u32 inum)
{
	if (!scope_cgroup_id)
		return 1;
	return inum && bpf_map_lookup_elem(&scope_netns, &inum);
}

/* Any socket (full, request or time-wait): a request socket is its listener's, a time-wait socket (which has no
 * cgroup any more) its namespace's. */
static __always_inline int any_sk_in_scope(struct sock *sk)
{
	if (!scope_cgroup_id)
		return 1;
	if (!sk)
		return 0;
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == FL_TCP_NEW_SYN_RECV)
		return sk_in_scope(BPF_CORE_READ(sk, __sk_common.skc_listener));
	if (state == FL_TCP_TIME_WAIT)
		return netns_in_scope(BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum));
	return sk_in_scope(sk);
}

#endif
