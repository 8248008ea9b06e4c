// SPDX-License-Identifier: Apache-2.0
/*
 * flowlens-loader: the privileged half of the node agent's collector. The TypeScript agent spawns it and talks
 * to it over stdio (one command per line). It
 *   - opens flowlens.bpf.o, sizes the maps from the command line, loads it (verifier log to stderr on failure),
 *   - attaches the sock_ops program to the cgroup-v2 root with a bpf_link (closing the link detaches it, so
 *     nothing survives this process, even a SIGKILL; nothing is pinned),
 *   - keeps kernel bpf_stats enabled for as long as it runs (fd-scoped BPF_ENABLE_STATS),
 *   - on `collect`: flips the flow map epoch, waits for running programs (an RCU grace period, obtained by
 *     updating a map-in-map), drains the previous map and prints one line per flow, then a stats line and `end`.
 * stdin EOF, `quit`, SIGTERM, SIGINT or the parent's death: detach and exit 0.
 *
 * Output lines:
 *   ready <progId> <linkId> <maxSockets> <maxFlows> <totalRto:0|1>
 *   flow <localIp> <remoteIp> <serverPort> <client|server> <bytesSent> <bytesReceived> <segsSent> <segsReceived>
 *        <retransmits> <rtos> <opened> <closed> <rttSumUs> <rttCount> <rttMinUs> <rttMaxUs>
 *   stats <runTimeNs> <runCount> <socketsTracked> <socketsSampledOut> <flowsDropped> <flowsDrained>
 *   end
 *   error <message>          (then exit status 1)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "flowlens.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("error ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	exit(1);
}

struct state {
	struct bpf_object *obj;
	struct bpf_link *link;
	int prog_fd;
	int epoch_fd;
	int sync_fd;       /* map-in-map whose update waits for an RCU grace period */
	int sync_inner_fd;
	int index_fds[2]; /* flow key -> slot, per set */
	int vals_fds[2];  /* slot -> counters, per set */
	int slot_next_fd;
	__u32 epoch; /* programs fill set epoch & 1 */
	int counters_fd;
	__u32 max_flows;
	__u32 max_sockets;
	/* Drain buffers, max_flows entries each, allocated once: a tick is drained with a few batch syscalls. */
	struct fl_flow_key *keys;
	__u32 *slots;    /* slot of keys[i] */
	__u32 *indices;  /* 0, 1, 2, ...: the array keys to read and zero */
	struct fl_flow_val *vals;
	struct fl_flow_val *zeros;
};

static void format_ip(__u8 family, const __u32 *addr, char *buf, size_t len)
{
	if (family == 4)
		inet_ntop(AF_INET, addr, buf, len);
	else
		inet_ntop(AF_INET6, addr, buf, len);
}

static __u64 counter(struct state *s, __u32 idx)
{
	__u64 v = 0;
	bpf_map_lookup_elem(s->counters_fd, &idx, &v);
	return v;
}

/* Reads and empties one flow index into s->keys / s->slots; returns how many flows it held. */
static __u32 drain_index(struct state *s, int index_fd)
{
	__u32 n = 0;
	struct fl_flow_key batch_in, batch_out; /* opaque position (a bucket number for a hash map) */
	void *in = NULL;
	while (n < s->max_flows) {
		__u32 count = s->max_flows - n;
		int err = bpf_map_lookup_and_delete_batch(index_fd, in, &batch_out, s->keys + n, s->slots + n, &count,
							  NULL);
		if (err && errno != ENOENT)
			fail("draining the flow index: %s", strerror(errno));
		n += count;
		if (err)
			break; /* ENOENT: the whole map was read */
		batch_in = batch_out;
		in = &batch_in;
	}
	return n;
}

static void collect(struct state *s)
{
	__u32 zero = 0;
	__u32 next = s->epoch + 1;
	__u32 set = s->epoch & 1;
	int index_fd = s->index_fds[set], vals_fd = s->vals_fds[set];
	__u32 batch_out;
	char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN];
	__u64 drained = 0;

	/* Point programs at the other (empty) set, then wait until no program run can still be using this one:
	 * updating a map-in-map returns only after an RCU grace period (programs run under rcu_read_lock). */
	if (bpf_map_update_elem(s->epoch_fd, &zero, &next, BPF_ANY))
		fail("flipping the flow map epoch: %s", strerror(errno));
	if (bpf_map_update_elem(s->sync_fd, &zero, &s->sync_inner_fd, BPF_ANY))
		fail("waiting for running programs: %s", strerror(errno));
	s->epoch = next;

	/* Nothing writes this set any more: read it, then empty it for its next turn. Every slot handed out is read
	 * and zeroed (including ones lost in a publishing race, which stay zero); the index is read and emptied in
	 * one lookup-and-delete batch. */
	__u32 used = 0;
	bpf_map_lookup_elem(s->slot_next_fd, &set, &used);
	if (used > s->max_flows)
		used = s->max_flows;
	__u32 n = drain_index(s, index_fd);
	__u32 count = used;
	/* an array batch ends with ENOENT when it reaches the last entry, after reading it */
	if (used && bpf_map_lookup_batch(vals_fd, NULL, &batch_out, s->indices, s->vals, &count, NULL) &&
	    errno != ENOENT)
		fail("reading the flow values: %s", strerror(errno));
	for (__u32 i = 0; i < n; i++) {
		const struct fl_flow_key *key = &s->keys[i];
		if (s->slots[i] >= used)
			continue; /* cannot happen: a slot is handed out before it is published */
		const struct fl_flow_val *val = &s->vals[s->slots[i]];
		format_ip(key->family, key->local, lip, sizeof(lip));
		format_ip(key->family, key->remote, rip, sizeof(rip));
		printf("flow %s %s %u %s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %u %u\n", lip, rip,
		       key->server_port, key->direction == FL_DIR_SERVER ? "server" : "client",
		       (unsigned long long)val->bytes_sent, (unsigned long long)val->bytes_received,
		       (unsigned long long)val->segs_sent, (unsigned long long)val->segs_received,
		       (unsigned long long)val->retransmits, (unsigned long long)val->rtos,
		       (unsigned long long)val->opened, (unsigned long long)val->closed,
		       (unsigned long long)val->rtt_sum_us, (unsigned long long)val->rtt_count,
		       val->rtt_count ? val->rtt_min_us : 0, val->rtt_max_us);
		drained++;
	}
	count = used;
	if (used && bpf_map_update_batch(vals_fd, s->indices, s->zeros, &count, NULL))
		fail("zeroing the flow values: %s", strerror(errno));
	__u32 reset = 0;
	bpf_map_update_elem(s->slot_next_fd, &set, &reset, BPF_ANY);

	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &info_len))
		memset(&info, 0, sizeof(info));
	printf("stats %llu %llu %llu %llu %llu %llu\n", (unsigned long long)info.run_time_ns,
	       (unsigned long long)info.run_cnt, (unsigned long long)counter(s, FL_SOCKETS_TRACKED),
	       (unsigned long long)counter(s, FL_SOCKETS_SAMPLED_OUT), (unsigned long long)counter(s, FL_FLOWS_DROPPED),
	       (unsigned long long)drained);
	printf("end\n");
	fflush(stdout);
}

/* Write a `const volatile __u32` global before load (what a generated skeleton would do). */
static int set_rodata_u32(struct bpf_object *obj, struct bpf_map *map, const char *var, __u32 value)
{
	struct btf *btf = bpf_object__btf(obj);
	size_t sz;
	const void *initial = bpf_map__initial_value(map, &sz);
	if (!btf || !initial)
		return -1;
	int sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (sec_id < 0)
		return -1;
	const struct btf_type *sec = btf__type_by_id(btf, sec_id);
	const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *v = btf__type_by_id(btf, vs->type);
		if (strcmp(btf__name_by_offset(btf, v->name_off), var) != 0 || vs->size != sizeof(__u32) ||
		    vs->offset + sizeof(__u32) > sz)
			continue;
		char *copy = malloc(sz);
		if (!copy)
			return -1;
		memcpy(copy, initial, sz);
		memcpy(copy + vs->offset, &value, sizeof(value));
		int err = bpf_map__set_initial_value(map, copy, sz);
		free(copy);
		return err;
	}
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: flowlens-loader --object FILE --cgroup DIR [--max-sockets N] [--max-flows N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *object = NULL, *cgroup = NULL;
	struct state s = { .max_flows = 16384, .max_sockets = 65536 };
	static const struct option opts[] = {
		{ "object", required_argument, NULL, 'o' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "max-sockets", required_argument, NULL, 's' },
		{ "max-flows", required_argument, NULL, 'f' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': object = optarg; break;
		case 'c': cgroup = optarg; break;
		case 's': s.max_sockets = (__u32)strtoul(optarg, NULL, 10); break;
		case 'f': s.max_flows = (__u32)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!object || !cgroup || s.max_flows == 0 || s.max_sockets == 0)
		usage();

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(print_libbpf);

	s.obj = bpf_object__open_file(object, NULL);
	if (!s.obj)
		fail("opening %s: %s", object, strerror(errno));

	struct bpf_map *map;
	bpf_object__for_each_map(map, s.obj)
	{
		const char *name = bpf_map__name(map);
		if (strncmp(name, "flow_index_", 11) == 0 || strncmp(name, "flow_vals_", 10) == 0)
			bpf_map__set_max_entries(map, s.max_flows);
		if (strstr(name, ".rodata") && (set_rodata_u32(s.obj, map, "max_sockets", s.max_sockets) ||
						 set_rodata_u32(s.obj, map, "max_flows", s.max_flows)))
			fail("cannot set max_sockets/max_flows in %s", object);
	}

	/* Kernel-side run time / count for our programs; stays on while this fd is open. */
	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0)
		fprintf(stderr, "flowlens-loader: bpf_stats unavailable (%s): run time will read 0\n", strerror(errno));

	if (bpf_object__load(s.obj)) {
		int err = errno;
		fail("loading BPF programs failed: %s (%s). The verifier log is above on stderr.", strerror(err),
		     err == EPERM ? "need root or CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON" : "see log");
	}

	struct bpf_program *prog = bpf_object__find_program_by_name(s.obj, "fl_sockops");
	if (!prog)
		fail("program fl_sockops missing from %s", object);
	s.prog_fd = bpf_program__fd(prog);
	s.epoch_fd = bpf_object__find_map_fd_by_name(s.obj, "flow_epoch");
	s.sync_fd = bpf_object__find_map_fd_by_name(s.obj, "rcu_sync");
	s.sync_inner_fd = bpf_object__find_map_fd_by_name(s.obj, "rcu_sync_dummy");
	s.index_fds[0] = bpf_object__find_map_fd_by_name(s.obj, "flow_index_a");
	s.index_fds[1] = bpf_object__find_map_fd_by_name(s.obj, "flow_index_b");
	s.vals_fds[0] = bpf_object__find_map_fd_by_name(s.obj, "flow_vals_a");
	s.vals_fds[1] = bpf_object__find_map_fd_by_name(s.obj, "flow_vals_b");
	s.slot_next_fd = bpf_object__find_map_fd_by_name(s.obj, "slot_next");
	s.counters_fd = bpf_object__find_map_fd_by_name(s.obj, "counters");
	if (s.epoch_fd < 0 || s.sync_fd < 0 || s.sync_inner_fd < 0 || s.index_fds[0] < 0 || s.index_fds[1] < 0 ||
	    s.vals_fds[0] < 0 || s.vals_fds[1] < 0 || s.slot_next_fd < 0 || s.counters_fd < 0)
		fail("maps missing from %s", object);
	s.epoch = 0;
	s.keys = calloc(s.max_flows, sizeof(*s.keys));
	s.slots = calloc(s.max_flows, sizeof(*s.slots));
	s.indices = calloc(s.max_flows, sizeof(*s.indices));
	s.vals = calloc(s.max_flows, sizeof(*s.vals));
	s.zeros = calloc(s.max_flows, sizeof(*s.zeros)); /* untouched zero pages: costs no memory */
	if (!s.keys || !s.slots || !s.indices || !s.vals || !s.zeros)
		fail("cannot allocate drain buffers for %u flows", s.max_flows);
	for (__u32 i = 0; i < s.max_flows; i++)
		s.indices[i] = i;

	int cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY);
	if (cg_fd < 0)
		fail("opening cgroup %s: %s", cgroup, strerror(errno));
	s.link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!s.link)
		fail("attaching sock_ops to %s: %s", cgroup, strerror(errno));
	close(cg_fd);

	struct bpf_prog_info pinfo = {};
	__u32 plen = sizeof(pinfo);
	bpf_obj_get_info_by_fd(s.prog_fd, &pinfo, &plen);
	struct bpf_link_info linfo = {};
	__u32 llen = sizeof(linfo);
	bpf_obj_get_info_by_fd(bpf_link__fd(s.link), &linfo, &llen);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int total_rto = 0;
	if (vmlinux) {
		int id = btf__find_by_name_kind(vmlinux, "tcp_sock", BTF_KIND_STRUCT);
		if (id > 0) {
			const struct btf_type *t = btf__type_by_id(vmlinux, id);
			const struct btf_member *m = btf_members(t);
			for (int i = 0; i < btf_vlen(t); i++, m++)
				if (strcmp(btf__name_by_offset(vmlinux, m->name_off), "total_rto") == 0)
					total_rto = 1;
		}
		btf__free(vmlinux);
	}
	printf("ready %u %u %u %u %d\n", pinfo.id, linfo.id, s.max_sockets, s.max_flows, total_rto);
	fflush(stdout);

	char line[256];
	setvbuf(stdin, NULL, _IONBF, 0); /* poll() must see every pending line */
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	while (!stop_requested) {
		int r = poll(&pfd, 1, 1000);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			continue;
		if (!fgets(line, sizeof(line), stdin))
			break; /* EOF: the agent is gone */
		if (strncmp(line, "collect", 7) == 0)
			collect(&s);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else {
			printf("error unknown command\n");
			fflush(stdout);
		}
	}

	bpf_link__destroy(s.link);
	bpf_object__close(s.obj);
	if (stats_fd >= 0)
		close(stats_fd);
	printf("bye\n");
	fflush(stdout);
	return 0;
}
