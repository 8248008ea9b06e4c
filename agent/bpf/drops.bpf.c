// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flowlens drops and resets: why packets and connections fail. Loaded by the loader after flowlens.bpf.o, whose
 * maps it shares (bpf_map__reuse_fd): the failure tables and the epoch that swaps them (fail_maps.bpf.h), the
 * sockets' storage (their flow keys), the connecting sockets and the listening ports. Optional: when the kernel
 * refuses it, the agent runs on without drops (and counts received resets at close from sk_err instead).
 *
 *   fl_drop       tp_btf/kfree_skb: runs only when the kernel drops a packet (a normally consumed packet goes
 *                 through consume_skb and its own tracepoint; SKB_CONSUMED is skipped where kfree_skb sees it, and so
 *                 is NOT_SPECIFIED, see unspecified_reason, and QUEUE_PURGE, see purge_reason).
 *                 A TCP packet is attributed to a flow and counted per (flow, drop reason) in this tick's table.
 *   fl_rst_sent   tp_btf/tcp_send_reset: a reset sent on a socket we track (past the handshake).
 *   fl_rst_recv   tp_btf/tcp_receive_reset: a reset received on a socket we track (a reset answering a SYN is a
 *                 refused connect instead, counted by fl_sockops at SYN_SENT -> CLOSE).
 * Nothing here runs per packet on a healthy path: each program runs once per drop or per reset.
 *
 * The flow of a dropped packet (documented in docs/agent.md):
 *  1. the packet's socket (skb->sk: the sender's socket on the way out, the early-demuxed socket on the way in) when
 *     we track it, or the socket the kernel says a received packet was for (rx_sk, kernels >= 6.11): its own flow
 *     key (direction and Service translation as the socket has them) -- only when that socket is the packet's local
 *     end (same local address and port side): veth hands a packet to another namespace with the sender's socket
 *     still in skb->sk, and tc ingress runs before IP orphans it;
 *  2. a connecting socket (SYN_SENT): its client flow key (kernels without total_rto, where sock_ops keeps it from
 *     connect() on; elsewhere a connecting socket has no storage yet and rule 3 gives the same untranslated client
 *     key from the headers: a SYN's sender, a SYN-ACK's receiver is the client);
 *  3. otherwise the headers -- when the agent has a node scope (scope.bpf.h: several nodes on one kernel), only a
 *     packet of the scope: its local end's socket in the scope's cgroup, or, with no such socket, dropped in one of
 *     the scope's network namespaces (packet_in_scope). Local side: the destination of a received packet (skb_iif
 *     set), the source of a packet sent from this node. Server side: the receiver of a SYN, the sender of a
 *     SYN-ACK; any other packet's local port is the server port when a socket of the node listens on it, else the
 *     lower of the two ports is.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "flowlens.h"
#include "scope.bpf.h"
#include "sock_tuple.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10
#define FL_TCP_SYN_SENT 2

/* Set by the loader before load from the running kernel's BTF (enum skb_drop_reason); ~0: the kernel has none.
 * SKB_CONSUMED: a packet consumed, not dropped. SKB_DROP_REASON_NOT_SPECIFIED: a kfree_skb() the kernel never gave a
 * reason, which on every kernel we support is mostly a normal free (an ACK answered by a TIME_WAIT socket, for one,
 * once per closed connection): counted, it would make every clean node look lossy. */
const volatile __u32 consumed_reason = ~0U;
const volatile __u32 unspecified_reason = ~0U;
/* SKB_DROP_REASON_QUEUE_PURGE (kernels that have it, 6.18 here; 6.1 frees the same as NOT_SPECIFIED): a socket's
 * queues emptied as it is destroyed (sk_stream_kill_queues). For TCP that is the peer's FIN, still queued when a
 * socket closed before reading it is freed: once per such connection (at the client or the server, whichever closed
 * so), no packet lost (unread data is freed by tcp_close, without a reason, and answered with a reset, which
 * fl_rst_sent counts). Counted, it reported a drop per such connection and cost the connect/request/close pattern
 * about 0.4 us of BPF per connection (docs/agent.md, "The per-connection path"). */
const volatile __u32 purge_reason = ~0U;

/* Shared with flowlens.bpf.o (same definitions; the loader passes that object's maps). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_epoch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fl_sock_head);
} sock_states SEC(".maps");

#include "fail_maps.bpf.h"

static __always_inline int is_v4_mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0x0000ffff);
}

/* Is the socket's flow key this packet's local end? veth hands a packet to the peer namespace with the sender's
 * socket still in skb->sk, so a packet received from a socket of the same node carries the other end's socket. */
static __always_inline int same_end(const struct fl_flow_key *sock, const struct fl_flow_key *pkt, __u16 lport)
{
	if (sock->family != pkt->family || sock->local[0] != pkt->local[0] || sock->local[1] != pkt->local[1] ||
	    sock->local[2] != pkt->local[2] || sock->local[3] != pkt->local[3])
		return 0;
	/* a server socket's server port is its local port; a client socket's never is (loopback: both ends share
	 * the address, the ports tell them apart) */
	return sock->direction == FL_DIR_SERVER ? sock->server_port == lport : sock->server_port != lport;
}

/* The flow key of a tracked or connecting socket when it is the packet's local end, or 0 (before 6.7 a connecting
 * socket keeps its client flow key in the same storage from connect() on, see connect_begin in flowlens.bpf.c). */
static __always_inline int socket_key(struct sock *sk, const struct fl_flow_key *pkt, __u16 lport,
				      struct fl_flow_key *key)
{
	if (!sk)
		return 0;
	struct fl_sock_head *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (!st)
		return 0;
	__builtin_memcpy(key, &st->key, sizeof(*key));
	return same_end(key, pkt, lport);
}

/* The flow key of a TCP packet from its headers (rule 3 above); 0 when it is no TCP over IPv4/IPv6. */
static __always_inline int header_key(struct sk_buff *skb, struct fl_flow_key *key, __u16 *local_port)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	if (!head || nh == (__u16)~0U)
		return 0;
	__u8 first;
	if (bpf_probe_read_kernel(&first, 1, head + nh))
		return 0;
	__u32 saddr[4] = {}, daddr[4] = {};
	__u32 thoff;
	__u8 family;
	if ((first >> 4) == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.protocol != IPPROTO_TCP)
			return 0;
		if (ip.frag_off & bpf_htons(0x1fff))
			return 0; /* a later fragment carries no TCP header */
		saddr[0] = ip.saddr;
		daddr[0] = ip.daddr;
		thoff = nh + ip.ihl * 4;
		family = 4;
	} else if ((first >> 4) == 6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) || ip6.nexthdr != IPPROTO_TCP)
			return 0; /* extension headers are not followed */
		__builtin_memcpy(saddr, &ip6.saddr, 16);
		__builtin_memcpy(daddr, &ip6.daddr, 16);
		thoff = nh + sizeof(ip6);
		family = is_v4_mapped(saddr) && is_v4_mapped(daddr) ? 4 : 6;
		if (family == 4) {
			saddr[0] = saddr[3];
			daddr[0] = daddr[3];
			saddr[1] = saddr[2] = saddr[3] = 0;
			daddr[1] = daddr[2] = daddr[3] = 0;
		}
	} else {
		return 0;
	}
	struct {
		__be16 source;
		__be16 dest;
		__be32 seq;
		__be32 ack_seq;
		__u8 doff;
		__u8 flags;
	} th;
	if (bpf_probe_read_kernel(&th, sizeof(th), head + thoff))
		return 0;
	__u16 sport = bpf_ntohs(th.source), dport = bpf_ntohs(th.dest);
	int received = BPF_CORE_READ(skb, skb_iif) != 0;
	__u16 lport = received ? dport : sport, rport = received ? sport : dport;
	__builtin_memset(key, 0, sizeof(*key));
	key->family = family;
	__builtin_memcpy(key->local, received ? daddr : saddr, 16);
	__builtin_memcpy(key->remote, received ? saddr : daddr, 16);
	int local_server;
	if ((th.flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		local_server = received; /* the receiver of a SYN is the server */
	else if (th.flags & TCP_FLAG_SYN)
		local_server = !received; /* the sender of a SYN-ACK is */
	else if (bpf_map_lookup_elem(&listen_ports, &lport))
		local_server = 1;
	else
		local_server = lport < rport; /* no listener (any more): the lower port is the server's */
	key->direction = local_server ? FL_DIR_SERVER : FL_DIR_CLIENT;
	key->server_port = local_server ? lport : rport;
	*local_port = lport;
	return 1;
}

/* Is this kernel socket (full, request or time-wait: their sock_common) the packet's local end: same local port,
 * and same local address or bound to any? */
static __always_inline int local_end(struct sock *sk, const struct fl_flow_key *pkt, __u16 lport)
{
	if (!sk)
		return 0;
	struct fl_sk_tuple t;
	sk_tuple(&sk->__sk_common, &t);
	if (t.lport != lport)
		return 0;
	__u32 *a = t.local;
	if (t.family == FL_AF_INET)
		return pkt->family == 4 && (a[0] == pkt->local[0] || a[0] == 0);
	if (t.family != FL_AF_INET6)
		return 0;
	if (!(a[0] | a[1] | a[2] | a[3]))
		return 1; /* bound to :: (IPv4 too, unless v6only) */
	if (pkt->family == 4)
		return is_v4_mapped(a) && a[3] == pkt->local[0];
	return a[0] == pkt->local[0] && a[1] == pkt->local[1] && a[2] == pkt->local[2] && a[3] == pkt->local[3];
}

/*
 * Scoped mode (scope.bpf.h): whether a packet no tracked socket claimed is the scope's. Its local end's socket when
 * the kernel holds one (rx_sk, or skb->sk when that is the local end: listeners and request sockets included, so a
 * listen-queue overflow counts): that socket's cgroup decides. Else the network namespace the packet was dropped
 * in, the one of the device the kernel holds it on (a forwarded or DNATed packet: the forwarding node's namespace,
 * where the netfilter hook that dropped it ran), or of the socket that sent it.
 */
static __always_inline int packet_in_scope(struct sk_buff *skb, struct sock *sk, struct sock *rx_sk,
					   const struct fl_flow_key *pkt, __u16 lport)
{
	if (local_end(rx_sk, pkt, lport))
		return any_sk_in_scope(rx_sk);
	if (local_end(sk, pkt, lport))
		return any_sk_in_scope(sk);
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev)
		return netns_in_scope(BPF_CORE_READ(dev, nd_net.net, ns.inum));
	return sk && netns_in_scope(BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum));
}

static __always_inline int count_drop(struct sk_buff *skb, __u32 why, struct sock *rx_sk)
{
	if (why == 0 || why == consumed_reason || why == unspecified_reason || why == purge_reason)
		return 0;
	struct fl_flow_key pkt, key;
	__u16 lport;
	if (!header_key(skb, &pkt, &lport))
		return 0; /* no TCP over IPv4/IPv6 */
	struct sock *sk = skb->sk;
	/* a tracked socket is the scope's by construction (sock_ops, fl_state and adoption register only those) */
	if (socket_key(sk, &pkt, lport, &key) || socket_key(rx_sk, &pkt, lport, &key)) {
		fail_add(&key, why, FAIL_DROP, 1);
		return 0;
	}
	if (scope_cgroup_id && !packet_in_scope(skb, sk, rx_sk, &pkt, lport))
		return 0; /* another node's packet (several nodes on one kernel) */
	fail_add(&pkt, why, FAIL_DROP, 1);
	return 0;
}

/* Kernels >= 6.11 pass the socket a received packet was for (rx_sk): a packet dropped after the socket lookup (old
 * data, a full receive queue, ...) then gets its socket's own flow key. The loader picks this program when the
 * kernel's kfree_skb tracepoint has the argument, fl_drop otherwise. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(fl_drop_rx, struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk)
{
	return count_drop(skb, (__u32)reason, rx_sk);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(fl_drop, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return count_drop(skb, (__u32)reason, NULL);
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(fl_rst_sent, struct sock *sk)
{
	if (!sk)
		return 0; /* a reset answering a packet no socket wanted */
	if (sk->__sk_common.skc_state == FL_TCP_SYN_SENT)
		return 0; /* a connecting socket (with sock_ops it has storage from connect() on): not past the handshake */
	struct fl_sock_head *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (st)
		fail_add(&st->key, 0, FAIL_RST_SENT, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(fl_rst_recv, struct sock *sk)
{
	if (!sk)
		return 0;
	if (sk->__sk_common.skc_state == FL_TCP_SYN_SENT)
		return 0; /* a reset answering our SYN: a refused connect, counted at SYN_SENT -> CLOSE (flowlens.bpf.c) */
	struct fl_sock_head *st = bpf_sk_storage_get(&sock_states, sk, NULL, 0);
	if (st)
		fail_add(&st->key, 0, FAIL_RST_RECV, 1);
	return 0;
}
