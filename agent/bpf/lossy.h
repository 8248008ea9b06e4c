/* SPDX-License-Identifier: Apache-2.0 */
/* The loss injector's configuration, shared by lossy.bpf.c (the tc program) and lossy.c (flowlens-lossy). */
#ifndef FLOWLENS_LOSSY_H
#define FLOWLENS_LOSSY_H

struct lossy_config {
	__u32 drop_threshold; /* drop when bpf_get_prandom_u32() < threshold (share * 2^32) */
	__u32 blackhole;      /* 1: drop every TCP packet */
	__u64 dropped;        /* packets dropped so far */
	__u64 seen;           /* TCP packets seen so far */
	__u32 drop_syns;      /* drop the next N SYNs (SYN without ACK), then let SYNs pass */
	__u32 hold_ms;        /* armed: once a SYN passes, drop every other TCP packet for this long (one shot) */
	__u64 hold_until_ns;  /* bpf_ktime_get_ns() until which the armed hold drops */
	__u64 syns_dropped;   /* SYNs dropped by drop_syns so far */
	__u64 held;           /* packets dropped by the hold so far */
};

#endif
