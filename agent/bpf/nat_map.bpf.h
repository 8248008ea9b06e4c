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

#endif
