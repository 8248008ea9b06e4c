// SPDX-License-Identifier: GPL-2.0
/*
 * bench:sockstate: what keeping per-socket state costs a connection, by where the state lives. One program on
 * inet_sock_set_state (as the agent's fl_state), built once per arm (-DARM=N), doing the agent's per-socket state
 * work at the agent's transitions: create the state as the socket leaves SYN_SENT / SYN_RECV for ESTABLISHED (both
 * ends of a connection on the node), look it up at FIN_WAIT1 / LAST_ACK / CLOSE, and give it back at CLOSE where
 * the kernel does not. The state is the size of the agent's struct sock_state (136 bytes).
 *   ARM 1  nothing: the program returns at once (the tracepoint's dispatch alone)
 *   ARM 2  socket-local storage (what the agent uses): created per socket, freed by the kernel at destruction
 *   ARM 3  a preallocated hash keyed by the socket's address: an entry taken at open, deleted at close
 *   ARM 4  the same hash without preallocation (elements from the BPF memory allocator's per-CPU caches, reused
 *          only after an RCU grace period)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct sock_state_like {
	__u64 v[17];
};

enum { S_ESTABLISHED = 1, S_SYN_SENT = 2, S_SYN_RECV = 3, S_FIN_WAIT1 = 4, S_CLOSE = 7, S_LAST_ACK = 9 };

static __always_inline int opens(int o, int n)
{
	return (o == S_SYN_SENT || o == S_SYN_RECV) && n == S_ESTABLISHED;
}

static __always_inline int later(int n)
{
	return n == S_FIN_WAIT1 || n == S_LAST_ACK || n == S_CLOSE;
}

#if ARM == 2
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_state_like);
} states SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sockstate, struct sock *sk, int o, int n)
{
	if (opens(o, n)) {
		struct sock_state_like *s = bpf_sk_storage_get(&states, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
		if (s)
			s->v[0] = 1;
	} else if (later(n)) {
		struct sock_state_like *s = bpf_sk_storage_get(&states, sk, NULL, 0);
		if (s)
			s->v[1] += 1;
	}
	return 0;
}
#elif ARM == 3 || ARM == 4
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
#if ARM == 4
	__uint(map_flags, BPF_F_NO_PREALLOC);
#endif
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_state_like);
} states SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sockstate, struct sock *sk, int o, int n)
{
	__u64 k = (__u64)sk;
	if (opens(o, n)) {
		struct sock_state_like s = {};
		s.v[0] = 1;
		bpf_map_update_elem(&states, &k, &s, BPF_ANY);
	} else if (later(n)) {
		struct sock_state_like *s = bpf_map_lookup_elem(&states, &k);
		if (s)
			s->v[1] += 1;
		if (n == S_CLOSE)
			bpf_map_delete_elem(&states, &k);
	}
	return 0;
}
#else
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sockstate, struct sock *sk, int o, int n)
{
	return 0;
}
#endif
