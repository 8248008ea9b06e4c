/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The translation map, one definition for the two BPF objects: flowlens.bpf.o creates it and looks sockets up in
 * it; conntrack.bpf.o fills it (the loader hands it flowlens.bpf.o's map with bpf_map__reuse_fd). Include after
 * vmlinux.h, bpf_helpers.h and flowlens.h. */
#ifndef FLOWLENS_NAT_MAP_BPF_H
#define FLOWLENS_NAT_MAP_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_NAT_ENTRIES);
	__type(key, struct fl_nat_key);
	__type(value, struct fl_nat_val);
} nat_map SEC(".maps");

/* Translated connections per tick, keyed by fl_fwd_key (nat_rule.h), valued by how many: set A while the flow epoch
 * is even, B while odd, drained by the loader like the flow tables. Created with flowlens.bpf.o (which never uses
 * them) so the netlink fallback has them when conntrack.bpf.o cannot load. */
struct fl_fwd_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FL_FWD_ENTRIES);
	__type(key, struct fl_fwd_key);
	__type(value, __u64);
};
struct fl_fwd_map fwd_a SEC(".maps");
struct fl_fwd_map fwd_b SEC(".maps");

#endif
