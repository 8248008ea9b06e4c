/* Shared between the BPF programs (flowlens.bpf.c) and the loader (loader.c). */
#ifndef FLOWLENS_H
#define FLOWLENS_H

#define FL_DIR_CLIENT 0
#define FL_DIR_SERVER 1

/* A flow: (local ip, remote ip, server port, direction); the client's ephemeral port is dropped. */
struct fl_flow_key {
	__u32 local[4];  /* IPv4 in local[0] (network order) when family == 4 */
	__u32 remote[4];
	__u16 server_port; /* host order */
	__u8 direction;    /* FL_DIR_* */
	__u8 family;       /* 4 or 6 */
};

/* One tick's counter deltas of one flow. */
struct fl_flow_val {
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 segs_sent;
	__u64 segs_received;
	__u64 retransmits;
	__u64 rtos;
	__u64 opened;
	__u64 closed;
	__u64 rtt_sum_us;
	__u64 rtt_count;
	__u32 rtt_min_us;
	__u32 rtt_max_us;
};

enum fl_counter {
	FL_SOCKETS_TRACKED = 0,   /* gauge: sockets with state right now */
	FL_SOCKETS_SAMPLED_OUT,   /* cumulative: sockets not tracked (socket cap reached) */
	FL_FLOWS_DROPPED,         /* cumulative: updates lost because the flow map was full */
	FL_COUNTER_MAX,
};

#endif
