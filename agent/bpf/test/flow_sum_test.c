// SPDX-License-Identifier: Apache-2.0
/*
 * Unit test of the loader's per-tick flow sums (flow_sum.h): counters add, RTT min/max only from entries with
 * samples, parked attempts add, a full table refuses only new flows (the loader prints those alone) and every
 * value still adds up, reset empties the table for the next tick. Compared with a brute-force sum over the same
 * random entries. And a parked connection's ring record (flowlens.h fl_late_unpack) becomes the flow key its socket
 * had. Prints "ok N checks" and exits non-zero on the first failure. Run by agent/test/kernel/loader-sums.test.ts
 * (built with ASan/UBSan).
 */
#include <stdio.h>
#include <stdlib.h>
#include "../flow_sum.h"
#include "check.h"


static struct fl_flow_key key(__u32 i)
{
	struct fl_flow_key k;
	memset(&k, 0, sizeof(k));
	k.family = 4;
	k.local[0] = 0x0100000a;
	k.remote[0] = 0x0a000000u + i; /* unique per i */
	k.server_port = (__u16)(8000 + i % 7);
	k.direction = (__u8)(i % 2);
	return k;
}

static struct fl_flow_val val(__u64 seed, int rtt)
{
	struct fl_flow_val v;
	memset(&v, 0, sizeof(v));
	v.bytes_sent = seed * 3 + 1;
	v.bytes_received = seed * 5 + 2;
	v.segs_sent = seed + 3;
	v.segs_received = seed + 4;
	v.retransmits = seed % 3;
	v.rtos = seed % 2;
	v.opened = 1;
	v.closed = seed % 4 ? 1 : 0;
	if (rtt) {
		v.rtt_count = 1 + seed % 3;
		v.rtt_min_us = (__u32)(10 + seed % 97);
		v.rtt_max_us = v.rtt_min_us + (__u32)(seed % 13);
		v.rtt_sum_us = v.rtt_count * v.rtt_min_us;
	} else {
		v.rtt_max_us = 999999; /* no sample: must not count, whatever the field holds */
	}
	return v;
}

static void same_val(const struct fl_flow_val *a, const struct fl_flow_val *b)
{
	CHECK(a->bytes_sent == b->bytes_sent);
	CHECK(a->bytes_received == b->bytes_received);
	CHECK(a->segs_sent == b->segs_sent);
	CHECK(a->segs_received == b->segs_received);
	CHECK(a->retransmits == b->retransmits);
	CHECK(a->rtos == b->rtos);
	CHECK(a->opened == b->opened);
	CHECK(a->closed == b->closed);
	CHECK(a->rtt_sum_us == b->rtt_sum_us);
	CHECK(a->rtt_count == b->rtt_count);
	if (a->rtt_count) {
		CHECK(a->rtt_min_us == b->rtt_min_us);
		CHECK(a->rtt_max_us == b->rtt_max_us);
	}
}

static void rtt_rule(void)
{
	struct fl_flow_val a = val(1, 0), b = val(2, 1), c = val(3, 1);
	fl_flow_val_add(&a, &b); /* a had no sample: takes b's min and max */
	CHECK(a.rtt_count == b.rtt_count && a.rtt_min_us == b.rtt_min_us && a.rtt_max_us == b.rtt_max_us);
	c.rtt_min_us = 5;
	c.rtt_max_us = 500;
	fl_flow_val_add(&a, &c);
	CHECK(a.rtt_min_us == 5 && a.rtt_max_us == 500);
	CHECK(a.rtt_sum_us == b.rtt_sum_us + c.rtt_sum_us && a.rtt_count == b.rtt_count + c.rtt_count);
	struct fl_flow_val none = val(4, 0);
	__u32 min = a.rtt_min_us, max = a.rtt_max_us;
	fl_flow_val_add(&a, &none); /* no sample: min/max untouched */
	CHECK(a.rtt_min_us == min && a.rtt_max_us == max);
	CHECK(a.opened == 4 && a.bytes_sent == (1 * 3 + 1) + (2 * 3 + 1) + (3 * 3 + 1) + (4 * 3 + 1));
}

/* `n` entries over `flows` flows through a table of `max`: what the table holds plus what it refused equals the
 * brute-force per-flow sum, and the table holds at most `max` flows. */
static void random_tick(__u32 n, __u32 flows, __u32 max, struct fl_sums *t, unsigned *rng)
{
	struct fl_flow_key *keys = calloc(n, sizeof(*keys));
	struct fl_flow_val *vals = calloc(n, sizeof(*vals));
	struct fl_flow_val *want = calloc(flows, sizeof(*want));
	struct fl_flow_val *got = calloc(flows, sizeof(*got));
	__u64 *want_att = calloc(flows, sizeof(__u64)), *got_att = calloc(flows, sizeof(__u64));
	__u32 *flow_of = calloc(n, sizeof(__u32));
	__u32 refused = 0;
	for (__u32 i = 0; i < n; i++) {
		flow_of[i] = (__u32)rand_r(rng) % flows;
		keys[i] = key(flow_of[i]);
		vals[i] = val((__u64)rand_r(rng), rand_r(rng) % 2);
		fl_flow_val_add(&want[flow_of[i]], &vals[i]);
		want_att[flow_of[i]] += i % 3;
	}
	for (__u32 i = 0; i < n; i++) {
		if (!fl_sums_add(t, &keys[i], &vals[i], i % 3, 0)) {
			refused++;
			fl_flow_val_add(&got[flow_of[i]], &vals[i]); /* printed alone: the node adds it */
			got_att[flow_of[i]] += i % 3;
		}
	}
	__u32 distinct = 0;
	for (__u32 f = 0; f < flows; f++)
		distinct += want[f].opened > 0;
	CHECK(t->n == (distinct < max ? distinct : max));
	for (__u32 i = 0; i < t->n; i++) {
		const struct fl_sum_entry *e = &t->entries[i];
		__u32 f = (__u32)(e->key - keys) < n ? flow_of[e->key - keys] : ~0u;
		CHECK(f < flows);
		for (__u32 j = 0; j < i; j++) /* one entry per flow */
			CHECK(memcmp(t->entries[j].key, e->key, sizeof(*e->key)) != 0);
		fl_flow_val_add(&got[f], e->val);
		got_att[f] += e->attempts;
	}
	for (__u32 f = 0; f < flows; f++) {
		same_val(&got[f], &want[f]);
		CHECK(got_att[f] == want_att[f]);
	}
	if (distinct <= max)
		CHECK(refused == 0);
	else
		CHECK(refused > 0);
	fl_sums_reset(t);
	CHECK(t->n == 0);
	for (__u32 i = 0; i < t->nslots; i++)
		CHECK(t->slots[i] == 0);
	free(keys);
	free(vals);
	free(want);
	free(got);
	free(want_att);
	free(got_att);
	free(flow_of);
}

/* A parked record (flowlens.h fl_late_rec) becomes the flow key the socket had and a whole life's counters: the server
 * port is the local port of a server socket and the remote port of a client's; via stays zero; opened = closed = 1. */
static void late_unpack(void)
{
	for (__u8 dir = 0; dir < 2; dir++) {
		struct fl_late_rec r;
		memset(&r, 0xa5, sizeof(r)); /* the ring's memory is not zeroed: unpack must not read the pad */
		memset(&r.nat, 0, sizeof(r.nat));
		r.nat.family = 6;
		for (int i = 0; i < 4; i++) {
			r.nat.local[i] = 0x20010db8u + (__u32)i;
			r.nat.remote[i] = 0x20010db8u + 16u + (__u32)i;
		}
		r.nat.local_port = 40000;
		r.nat.remote_port = 443;
		if (dir == FL_DIR_SERVER) {
			r.nat.local_port = 443;
			r.nat.remote_port = 40000;
		}
		r.bytes_sent = 100;
		r.bytes_received = 200;
		r.segs_sent = 3;
		r.segs_received = 4;
		r.retransmits = 5;
		r.rtos = 6;
		r.syn_retrans = 2;
		r.direction = dir;
		r.connect_attempted = dir == FL_DIR_CLIENT;
		struct fl_late_close l;
		memset(&l, 0x5a, sizeof(l));
		fl_late_unpack(&r, &l);
		struct fl_flow_key want;
		memset(&want, 0, sizeof(want));
		memcpy(want.local, r.nat.local, 16);
		memcpy(want.remote, r.nat.remote, 16);
		want.family = 6;
		want.direction = dir;
		want.server_port = 443;
		CHECK(memcmp(&l.key, &want, sizeof(want)) == 0); /* every byte: the key is compared whole */
		CHECK(l.val.bytes_sent == 100 && l.val.bytes_received == 200 && l.val.segs_sent == 3 &&
		      l.val.segs_received == 4 && l.val.retransmits == 5 && l.val.rtos == 6);
		CHECK(l.val.opened == 1 && l.val.closed == 1);
		CHECK(l.val.rtt_sum_us == 0 && l.val.rtt_count == 0 && l.val.rtt_min_us == 0 && l.val.rtt_max_us == 0);
		CHECK(l.connect_attempted == (dir == FL_DIR_CLIENT) && l.syn_retrans == 2);
	}
	CHECK(sizeof(struct fl_late_rec) == 96); /* FL_LATE_RING_BYTES's record count assumes it */
}

int main(void)
{
	rtt_rule();
	late_unpack();
	struct fl_sums t;
	CHECK(fl_sums_init(&t, 0) == -1);
	CHECK(fl_sums_init(&t, 1) == 0 && t.nslots >= 2);
	fl_sums_free(&t);
	unsigned rng = 42;
	const __u32 cases[][3] = { { 10000, 6, 4096 }, { 5000, 100, 16 }, { 300, 300, 300 }, { 1000, 2, 1 },
				   { 1, 1, 1 },        { 4000, 3000, 4096 }, { 700, 64, 64 }, { 700, 65, 64 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		CHECK(fl_sums_init(&t, cases[c][2]) == 0);
		for (int round = 0; round < 3; round++) /* the same table over several ticks */
			random_tick(cases[c][0], cases[c][1], cases[c][2], &t, &rng);
		fl_sums_free(&t);
	}
	/* the same value pointer added again (a caller's mistake) is not summed twice */
	struct fl_flow_key k = key(1);
	struct fl_flow_val v = val(7, 1), before = v;
	CHECK(fl_sums_init(&t, 4) == 0);
	CHECK(fl_sums_add(&t, &k, &v, 0, 0) == fl_sums_add(&t, &k, &v, 0, 0));
	same_val(&v, &before);
	fl_sums_free(&t);
	printf("ok %d checks\n", checks);
	return 0;
}
