// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only loss injector: a tc classifier (clsact ingress of the receiving interface) that drops a configured
 * share of TCP packets, or every TCP packet while the blackhole switch is on. Non-TCP traffic (ARP, ICMP)
 * always passes so the link stays up. Configured through the `lossy_config` array by flowlens-lossy.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

struct lossy_config {
	__u32 drop_threshold; /* drop when bpf_get_prandom_u32() < threshold (share * 2^32) */
	__u32 blackhole;      /* 1: drop every TCP packet */
	__u64 dropped;        /* packets dropped so far */
	__u64 seen;           /* TCP packets seen so far */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lossy_config);
} lossy_config SEC(".maps");

SEC("tc")
int fl_lossy(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 proto;
	__u32 zero = 0;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return TC_ACT_OK;
		proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		proto = ip6->nexthdr;
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_TCP_)
		return TC_ACT_OK;

	struct lossy_config *cfg = bpf_map_lookup_elem(&lossy_config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	__sync_fetch_and_add(&cfg->seen, 1);
	if (cfg->blackhole || (cfg->drop_threshold && bpf_get_prandom_u32() < cfg->drop_threshold)) {
		__sync_fetch_and_add(&cfg->dropped, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}
