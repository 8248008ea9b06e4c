/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A kernel socket's own addresses and ports, read from its sock_common: one reader for flowlens.bpf.o (fl_adopt, over
 * iter/tcp's sockets) and drops.bpf.o (is a dropped packet's socket its local end?). Works for full, request and
 * time-wait sockets alike (all start with struct sock_common). Include after vmlinux.h and bpf_core_read.h.
 */
#ifndef FLOWLENS_SOCK_TUPLE_BPF_H
#define FLOWLENS_SOCK_TUPLE_BPF_H

#define FL_AF_INET 2
#define FL_AF_INET6 10

struct fl_sk_tuple {
	__u32 local[4];  /* IPv4: [0] (network order), the rest 0; IPv6 as the socket has it (v4-mapped kept) */
	__u32 remote[4];
	__u16 lport;     /* host order */
	__u16 rport;     /* host order */
	__u16 family;    /* FL_AF_INET or FL_AF_INET6; 0: another family (nothing else is set) */
};

static __always_inline void sk_tuple(struct sock_common *skc, struct fl_sk_tuple *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	__u16 family = BPF_CORE_READ(skc, skc_family);
	if (family == FL_AF_INET) {
		t->local[0] = BPF_CORE_READ(skc, skc_rcv_saddr);
		t->remote[0] = BPF_CORE_READ(skc, skc_daddr);
	} else if (family == FL_AF_INET6) {
		BPF_CORE_READ_INTO(&t->local, skc, skc_v6_rcv_saddr.in6_u.u6_addr32);
		BPF_CORE_READ_INTO(&t->remote, skc, skc_v6_daddr.in6_u.u6_addr32);
	} else {
		return;
	}
	t->family = family;
	t->lport = BPF_CORE_READ(skc, skc_num);
	t->rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
}

#endif
