// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only loss injector: a tc classifier (clsact ingress of the receiving interface) that drops a configured
 * share of TCP packets, or every TCP packet while the blackhole switch is on. Two deterministic handshake modes
 * reproduce timeouts during connection setup: drop the next N SYNs (the client's SYN timer fires), and, once a SYN
 * has passed, drop every other TCP packet for a while (the server's SYN-ACK timer fires: the handshake's last ACK
 * and the data behind it never arrive). Non-TCP traffic (ARP, ICMP) always passes so the link stays up. Configured
 * through the `lossy_config` array by flowlens-lossy.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lossy.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lossy_config);
} lossy_config SEC(".maps");

/* The TCP flags byte (offset 13 of the TCP header), or -1 when the header is not in the linear data. */
static __always_inline int tcp_flags(void *l4, void *end)
{
	__u8 *flags = (__u8 *)l4 + 13;
	if ((void *)(flags + 1) > end)
		return -1;
	return *flags;
}

SEC("tc")
int fl_lossy(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	void *l4;
	__u8 proto;
	__u32 zero = 0;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return TC_ACT_OK;
		proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_TCP_)
		return TC_ACT_OK;

	struct lossy_config *cfg = bpf_map_lookup_elem(&lossy_config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	__sync_fetch_and_add(&cfg->seen, 1);
	int flags = tcp_flags(l4, end);
	int syn = flags >= 0 && (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	if (syn && cfg->drop_syns) {
		__sync_fetch_and_add(&cfg->drop_syns, -1);
		__sync_fetch_and_add(&cfg->syns_dropped, 1);
		__sync_fetch_and_add(&cfg->dropped, 1);
		return TC_ACT_SHOT;
	}
	__u64 now = bpf_ktime_get_ns();
	if (syn && cfg->hold_ms) {
		/* this SYN passes; everything after it is dropped for hold_ms (one shot) */
		cfg->hold_until_ns = now + (__u64)cfg->hold_ms * 1000000;
		cfg->hold_ms = 0;
		return TC_ACT_OK;
	}
	if (!syn && now < cfg->hold_until_ns) {
		__sync_fetch_and_add(&cfg->held, 1);
		__sync_fetch_and_add(&cfg->dropped, 1);
		return TC_ACT_SHOT;
	}
	if (cfg->blackhole || (cfg->drop_threshold && bpf_get_prandom_u32() < cfg->drop_threshold)) {
		__sync_fetch_and_add(&cfg->dropped, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}
