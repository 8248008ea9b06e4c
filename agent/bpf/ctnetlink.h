/*
 * Parser of conntrack netlink messages (NETLINK_NETFILTER, ctnetlink): the events (IPCTNL_MSG_CT_NEW) that are the
 * loader's Service translation source when the kernel refuses the fentry program, and the answer to a dump of the
 * whole table (IPCTNL_MSG_CT_GET with NLM_F_DUMP, which the kernel answers with messages of the request's type), read
 * once at adoption. Pure (no I/O): fed the bytes of one recv(), it hands each TCP connection's original and reply
 * tuples to a callback. Bad or truncated input is skipped, never read past. Unit-tested with fixture bytes by
 * test/ctnetlink_test.c.
 */
#ifndef FLOWLENS_CTNETLINK_H
#define FLOWLENS_CTNETLINK_H

#include <string.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include "flowlens.h"
#include "nat_rule.h"

#define FL_NLA_TYPE(a) ((a)->nla_type & NLA_TYPE_MASK)
#define FL_NLA_DATA(a) ((const unsigned char *)(a) + NLA_HDRLEN)

struct fl_ct_event {
	struct fl_ct_tuple orig, reply;
	__u8 family; /* 4 or 6 */
};

/* Walks the attributes in [p, p+len): calls fn(attr, arg) for each well-formed one. */
static inline void fl_nla_each(const unsigned char *p, size_t len,
			       void (*fn)(const struct nlattr *a, size_t alen, void *arg), void *arg)
{
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return;
		fn(a, a->nla_len - NLA_HDRLEN, arg);
		size_t step = NLA_ALIGN(a->nla_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

struct fl_tuple_parse {
	struct fl_ct_tuple *t;
	__u8 family; /* from the address attributes */
	__u8 proto;
	__u8 have_src, have_dst, have_sport, have_dport;
};

static inline void fl_ct_ip_attr(const struct nlattr *a, size_t alen, void *arg)
{
	struct fl_tuple_parse *tp = arg;
	const unsigned char *d = FL_NLA_DATA(a);
	switch (FL_NLA_TYPE(a)) {
	case CTA_IP_V4_SRC:
	case CTA_IP_V4_DST:
		if (alen < 4)
			return;
		memcpy(FL_NLA_TYPE(a) == CTA_IP_V4_SRC ? tp->t->src : tp->t->dst, d, 4);
		tp->family = 4;
		break;
	case CTA_IP_V6_SRC:
	case CTA_IP_V6_DST:
		if (alen < 16)
			return;
		memcpy(FL_NLA_TYPE(a) == CTA_IP_V6_SRC ? tp->t->src : tp->t->dst, d, 16);
		tp->family = 6;
		break;
	default:
		return;
	}
	if (FL_NLA_TYPE(a) == CTA_IP_V4_SRC || FL_NLA_TYPE(a) == CTA_IP_V6_SRC)
		tp->have_src = 1;
	else
		tp->have_dst = 1;
}

static inline void fl_ct_proto_attr(const struct nlattr *a, size_t alen, void *arg)
{
	struct fl_tuple_parse *tp = arg;
	const unsigned char *d = FL_NLA_DATA(a);
	__u16 port;
	switch (FL_NLA_TYPE(a)) {
	case CTA_PROTO_NUM:
		if (alen >= 1)
			tp->proto = d[0];
		break;
	case CTA_PROTO_SRC_PORT:
	case CTA_PROTO_DST_PORT:
		if (alen < 2)
			return;
		memcpy(&port, d, 2);
		if (FL_NLA_TYPE(a) == CTA_PROTO_SRC_PORT) {
			tp->t->sport = ntohs(port);
			tp->have_sport = 1;
		} else {
			tp->t->dport = ntohs(port);
			tp->have_dport = 1;
		}
		break;
	}
}

static inline void fl_ct_tuple_attr(const struct nlattr *a, size_t alen, void *arg)
{
	if (FL_NLA_TYPE(a) == CTA_TUPLE_IP)
		fl_nla_each(FL_NLA_DATA(a), alen, fl_ct_ip_attr, arg);
	else if (FL_NLA_TYPE(a) == CTA_TUPLE_PROTO)
		fl_nla_each(FL_NLA_DATA(a), alen, fl_ct_proto_attr, arg);
}

struct fl_ct_msg_parse {
	struct fl_tuple_parse orig, reply;
	__u8 seen_orig, seen_reply;
};

static inline void fl_ct_top_attr(const struct nlattr *a, size_t alen, void *arg)
{
	struct fl_ct_msg_parse *m = arg;
	if (FL_NLA_TYPE(a) == CTA_TUPLE_ORIG) {
		fl_nla_each(FL_NLA_DATA(a), alen, fl_ct_tuple_attr, &m->orig);
		m->seen_orig = 1;
	} else if (FL_NLA_TYPE(a) == CTA_TUPLE_REPLY) {
		fl_nla_each(FL_NLA_DATA(a), alen, fl_ct_tuple_attr, &m->reply);
		m->seen_reply = 1;
	}
}

static inline int fl_tuple_complete(const struct fl_tuple_parse *t)
{
	return t->have_src && t->have_dst && t->have_sport && t->have_dport;
}

/*
 * Parses one netlink message (header included, len bytes). Returns 1 and fills ev for a TCP connection (a new one's
 * event, or one entry of a table dump) with both tuples complete, 0 for anything else (other message types, other
 * protocols, truncated attributes).
 */
static inline int fl_ct_parse_msg(const struct nlmsghdr *nh, size_t len, struct fl_ct_event *ev)
{
	if (len < NLMSG_HDRLEN || nh->nlmsg_len < NLMSG_HDRLEN || nh->nlmsg_len > len)
		return 0;
	if (nh->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW) &&
	    nh->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET))
		return 0;
	size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	if (nh->nlmsg_len < hdr)
		return 0;
	struct fl_ct_msg_parse m;
	memset(&m, 0, sizeof(m));
	memset(ev, 0, sizeof(*ev));
	m.orig.t = &ev->orig;
	m.reply.t = &ev->reply;
	fl_nla_each((const unsigned char *)nh + hdr, nh->nlmsg_len - hdr, fl_ct_top_attr, &m);
	if (!m.seen_orig || !m.seen_reply || !fl_tuple_complete(&m.orig) || !fl_tuple_complete(&m.reply))
		return 0;
	if (m.orig.proto != IPPROTO_TCP || m.orig.family != m.reply.family)
		return 0;
	ev->family = m.orig.family;
	return 1;
}

/* Parses the bytes of one recv(): calls fn for each TCP connection; returns how many messages it walked. */
static inline int fl_ct_parse_buf(const void *buf, size_t len, void (*fn)(const struct fl_ct_event *ev, void *arg),
				  void *arg)
{
	const unsigned char *p = buf;
	int n = 0;
	while (len >= NLMSG_HDRLEN) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)p;
		if (nh->nlmsg_len < NLMSG_HDRLEN || nh->nlmsg_len > len)
			break;
		struct fl_ct_event ev;
		if (fl_ct_parse_msg(nh, len, &ev))
			fn(&ev, arg);
		n++;
		size_t step = NLMSG_ALIGN(nh->nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return n;
}

/*
 * The request for a dump of the conntrack table of the socket's network namespace, both families (AF_UNSPEC), into
 * buf (at least FL_CT_DUMP_REQ_LEN bytes); returns its length. The answer is a series of multipart messages (the
 * entries, IPCTNL_MSG_CT_GET) ended by NLMSG_DONE, or an NLMSG_ERROR.
 */
#define FL_CT_DUMP_REQ_LEN (NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)))
static inline size_t fl_ct_dump_request(void *buf, __u32 seq)
{
	memset(buf, 0, FL_CT_DUMP_REQ_LEN);
	struct nlmsghdr *nh = buf;
	nh->nlmsg_len = FL_CT_DUMP_REQ_LEN;
	nh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nh->nlmsg_seq = seq;
	struct nfgenmsg *g = (struct nfgenmsg *)((unsigned char *)buf + NLMSG_HDRLEN);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return FL_CT_DUMP_REQ_LEN;
}

#endif
