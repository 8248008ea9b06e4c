// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of the conntrack netlink parser (ctnetlink.h: events, table dump answers, the dump request) and the
 * translation rule (nat_rule.h) with fixture bytes laid out as the kernel sends them (ctnetlink_dump_tuples: nested
 * CTA_TUPLE_ORIG / CTA_TUPLE_REPLY, each with CTA_TUPLE_IP and CTA_TUPLE_PROTO, NLA_F_NESTED set, ports in network
 * order). Prints "ok N" lines and exits non-zero on the first failure. Run by agent/test/kernel/ctnetlink.test.ts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <linux/types.h>
#include "../ctnetlink.h"
#include "check.h"


struct buf {
	unsigned char b[4096];
	size_t len;
};

static size_t put_attr(struct buf *m, __u16 type, const void *data, size_t len)
{
	size_t at = m->len;
	struct nlattr *a = (struct nlattr *)(m->b + at);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(m->b + at + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a->nla_len);
	return at;
}

static size_t nest_start(struct buf *m, __u16 type)
{
	return put_attr(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct buf *m, size_t at)
{
	((struct nlattr *)(m->b + at))->nla_len = m->len - at;
}

static void put_tuple(struct buf *m, __u16 which, int v6, const char *src, const char *dst, __u16 sport, __u16 dport,
		      __u8 proto)
{
	size_t t = nest_start(m, which);
	size_t ip = nest_start(m, CTA_TUPLE_IP);
	unsigned char a[16];
	inet_pton(v6 ? AF_INET6 : AF_INET, src, a);
	put_attr(m, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, a, v6 ? 16 : 4);
	inet_pton(v6 ? AF_INET6 : AF_INET, dst, a);
	put_attr(m, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, a, v6 ? 16 : 4);
	nest_end(m, ip);
	size_t p = nest_start(m, CTA_TUPLE_PROTO);
	put_attr(m, CTA_PROTO_NUM, &proto, 1);
	__u16 port = htons(sport);
	put_attr(m, CTA_PROTO_SRC_PORT, &port, 2);
	port = htons(dport);
	put_attr(m, CTA_PROTO_DST_PORT, &port, 2);
	nest_end(m, p);
	nest_end(m, t);
}

/* One IPCTNL_MSG_CT_NEW message appended to m. */
static void put_msg(struct buf *m, int v6, const char *osrc, const char *odst, __u16 osport, __u16 odport,
		    const char *rsrc, const char *rdst, __u16 rsport, __u16 rdport, __u8 proto)
{
	size_t start = m->len;
	struct nlmsghdr *nh = (struct nlmsghdr *)(m->b + start);
	memset(nh, 0, NLMSG_HDRLEN);
	nh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	m->len += NLMSG_HDRLEN;
	struct nfgenmsg *g = (struct nfgenmsg *)(m->b + m->len);
	g->nfgen_family = v6 ? AF_INET6 : AF_INET;
	g->version = NFNETLINK_V0;
	m->len += NLMSG_ALIGN(sizeof(*g));
	put_tuple(m, CTA_TUPLE_ORIG, v6, osrc, odst, osport, odport, proto);
	put_tuple(m, CTA_TUPLE_REPLY, v6, rsrc, rdst, rsport, rdport, proto);
	__u32 status = htonl(8);
	put_attr(m, CTA_STATUS, &status, 4);
	nh->nlmsg_len = m->len - start;
}

static struct fl_ct_event events[8];
static int nevents;

static void collect(const struct fl_ct_event *ev, void *arg)
{
	(void)arg;
	if (nevents < 8)
		events[nevents++] = *ev;
}

static __u32 ip4(const char *s)
{
	__u32 a;
	inet_pton(AF_INET, s, &a);
	return a;
}

int main(void)
{
	struct buf m = { .len = 0 };
	/* a pod calling a ClusterIP, DNATed to a backend (no SNAT) */
	put_msg(&m, 0, "10.244.1.5", "10.96.0.10", 40000, 80, "10.244.2.7", "10.244.1.5", 8080, 40000, IPPROTO_TCP);
	/* a NodePort reached from another node: DNAT + SNAT */
	put_msg(&m, 0, "172.18.0.3", "172.18.0.2", 41000, 30080, "10.244.2.7", "172.18.0.2", 8080, 61000,
		IPPROTO_TCP);
	/* untranslated TCP, UDP DNAT (ignored), IPv6 DNAT */
	put_msg(&m, 0, "10.244.1.5", "10.244.2.7", 42000, 8080, "10.244.2.7", "10.244.1.5", 8080, 42000, IPPROTO_TCP);
	put_msg(&m, 0, "10.244.1.5", "10.96.0.10", 53000, 53, "10.244.2.9", "10.244.1.5", 53, 53000, IPPROTO_UDP);
	put_msg(&m, 1, "fd00::5", "fd00:96::a", 43000, 443, "fd00:2::7", "fd00::5", 8443, 43000, IPPROTO_TCP);

	CHECK(fl_ct_parse_buf(m.b, m.len, collect, NULL) == 5);
	CHECK(nevents == 4); /* the UDP one is skipped */

	struct fl_nat_key k[2];
	struct fl_nat_val v[2];
	/* ClusterIP: client entry -> backend, server entry keeps the client, both via the ClusterIP */
	CHECK(events[0].family == 4);
	CHECK(events[0].orig.sport == 40000 && events[0].orig.dport == 80 && events[0].reply.sport == 8080);
	CHECK(fl_nat_entries(&events[0].orig, &events[0].reply, 4, k, v) == 2);
	CHECK(k[0].local[0] == ip4("10.244.1.5") && k[0].remote[0] == ip4("10.96.0.10"));
	CHECK(k[0].local_port == 40000 && k[0].remote_port == 80 && k[0].family == 4);
	CHECK(v[0].remote[0] == ip4("10.244.2.7") && v[0].remote_port == 8080);
	CHECK(v[0].via[0] == ip4("10.96.0.10") && v[0].via_port == 80);
	CHECK(k[1].local[0] == ip4("10.244.2.7") && k[1].remote[0] == ip4("10.244.1.5"));
	CHECK(k[1].local_port == 8080 && k[1].remote_port == 40000);
	CHECK(v[1].remote[0] == ip4("10.244.1.5") && v[1].remote_port == 40000 && v[1].via_port == 80);
	CHECK(k[0].pad[0] == 0 && v[0].pad == 0 && k[0].local[1] == 0);

	/* NodePort + SNAT: the backend's socket (backend -> node:61000) really talks to the original client */
	CHECK(fl_nat_entries(&events[1].orig, &events[1].reply, 4, k, v) == 2);
	CHECK(k[1].local[0] == ip4("10.244.2.7") && k[1].remote[0] == ip4("172.18.0.2") && k[1].remote_port == 61000);
	CHECK(v[1].remote[0] == ip4("172.18.0.3") && v[1].remote_port == 41000);
	CHECK(v[1].via[0] == ip4("172.18.0.2") && v[1].via_port == 30080);

	/* untranslated: nothing */
	CHECK(fl_nat_entries(&events[2].orig, &events[2].reply, 4, k, v) == 0);

	/* IPv6 */
	CHECK(events[3].family == 6);
	CHECK(fl_nat_entries(&events[3].orig, &events[3].reply, 6, k, v) == 2);
	struct in6_addr be;
	inet_pton(AF_INET6, "fd00:2::7", &be);
	CHECK(memcmp(v[0].remote, &be, 16) == 0 && v[0].remote_port == 8443 && v[0].via_port == 443);
	CHECK(k[0].family == 6);

	/* truncation anywhere never reads past the buffer and never yields a half-parsed event */
	for (size_t cut = 0; cut < m.len; cut++) {
		nevents = 0;
		fl_ct_parse_buf(m.b, cut, collect, NULL);
		for (int i = 0; i < nevents; i++)
			CHECK(events[i].family == 4 || events[i].family == 6);
		CHECK(nevents <= 4);
	}
	/* a message whose attributes are cut (nlmsg_len shortened) is skipped, the next one still parsed */
	struct buf t = { .len = 0 };
	put_msg(&t, 0, "10.0.0.1", "10.96.0.1", 1000, 80, "10.0.0.9", "10.0.0.1", 8080, 1000, IPPROTO_TCP);
	size_t first = t.len;
	put_msg(&t, 0, "10.0.0.2", "10.96.0.1", 1001, 80, "10.0.0.9", "10.0.0.2", 8080, 1001, IPPROTO_TCP);
	((struct nlmsghdr *)t.b)->nlmsg_len = 60; /* inside the reply tuple */
	memmove(t.b + 60, t.b + first, t.len - first);
	t.len = 60 + (t.len - first);
	nevents = 0;
	CHECK(fl_ct_parse_buf(t.b, t.len, collect, NULL) == 2);
	CHECK(nevents == 1 && events[0].orig.sport == 1001);
	/* a bogus attribute length stops that message's walk */
	struct buf bad = { .len = 0 };
	put_msg(&bad, 0, "10.0.0.1", "10.96.0.1", 1000, 80, "10.0.0.9", "10.0.0.1", 8080, 1000, IPPROTO_TCP);
	((struct nlattr *)(bad.b + NLMSG_HDRLEN + 4))->nla_len = 0xffff;
	nevents = 0;
	fl_ct_parse_buf(bad.b, bad.len, collect, NULL);
	CHECK(nevents == 0);

	/* a table dump's entries carry the request's type (IPCTNL_MSG_CT_GET): parsed like events; others skipped */
	struct buf d = { .len = 0 };
	put_msg(&d, 0, "10.244.1.5", "10.96.0.10", 40001, 80, "10.244.2.7", "10.244.1.5", 8080, 40001, IPPROTO_TCP);
	((struct nlmsghdr *)d.b)->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	((struct nlmsghdr *)d.b)->nlmsg_flags = NLM_F_MULTI;
	size_t second = d.len;
	put_msg(&d, 0, "10.244.1.5", "10.96.0.10", 40002, 80, "10.244.2.7", "10.244.1.5", 8080, 40002, IPPROTO_TCP);
	((struct nlmsghdr *)(d.b + second))->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nevents = 0;
	CHECK(fl_ct_parse_buf(d.b, d.len, collect, NULL) == 2);
	CHECK(nevents == 1 && events[0].orig.sport == 40001 && events[0].reply.sport == 8080);
	CHECK(fl_nat_entries(&events[0].orig, &events[0].reply, 4, k, v) == 2);

	/* the dump request: ctnetlink GET with NLM_F_DUMP, both families */
	unsigned char req[FL_CT_DUMP_REQ_LEN + 8];
	memset(req, 0xaa, sizeof(req));
	CHECK(fl_ct_dump_request(req, 7) == FL_CT_DUMP_REQ_LEN);
	const struct nlmsghdr *rh = (const struct nlmsghdr *)req;
	CHECK(rh->nlmsg_len == FL_CT_DUMP_REQ_LEN && rh->nlmsg_seq == 7 && rh->nlmsg_pid == 0);
	CHECK(rh->nlmsg_type == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET));
	CHECK(rh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_DUMP));
	const struct nfgenmsg *rg = (const struct nfgenmsg *)(req + NLMSG_HDRLEN);
	CHECK(rg->nfgen_family == AF_UNSPEC && rg->version == NFNETLINK_V0 && rg->res_id == 0);
	CHECK(req[FL_CT_DUMP_REQ_LEN] == 0xaa); /* nothing written past it */

	printf("ok %d checks\n", checks);
	return 0;
}
