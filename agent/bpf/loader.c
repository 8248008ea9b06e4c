// SPDX-License-Identifier: Apache-2.0
/*
 * flowlens-loader: the privileged half of the node agent's collector. The TypeScript agent spawns it and talks
 * to it over stdio (one command per line; parsed in one place: agent/src/bpf/protocol.ts). It
 *   - opens flowlens.bpf.o, sizes the maps from the command line, loads it (verifier log to stderr on failure),
 *   - attaches the sock_ops program to the --cgroup directory (the cgroup-v2 root on a real node; only on kernels
 *     without tcp_sock.total_rto, < 6.7: elsewhere the state tracepoint registers connections itself) and the state
 *     tracepoint with bpf_links (closing a link detaches it, so nothing survives this process, even a SIGKILL;
 *     nothing is pinned); below the root, that cgroup is the node's scope, written into both objects' rodata so
 *     the kernel-global programs (adoption, listeners, drops) keep to it too (scope.bpf.h, scope_init),
 *   - adopts the sockets that existed before it: for every network namespace (/proc/PID/ns/net deduplicated by
 *     inode, /var/run/netns, /run/docker/netns) it enters the namespace and runs the iter/tcp program once; before
 *     that it dumps its own namespace's conntrack table (netlink, IPCTNL_MSG_CT_GET + NLM_F_DUMP) into nat_map, so
 *     a connection translated before the agent started (a pool through a ClusterIP) is adopted translated,
 *   - with --bpf-stats only, keeps kernel bpf_stats enabled for as long as it runs (fd-scoped BPF_ENABLE_STATS): that
 *     switches the accounting on for EVERY BPF program on the node (two clock reads and a per-CPU update around each
 *     run, the CNI's per-packet programs included), so it is off by default and the run-time fields read `-`,
 *   - loads conntrack.bpf.o (Service translation) when __nf_conntrack_confirm exists, retrying every collect,
 *     told our network namespace's inode so it records only this node's translations; when the kernel refuses
 *     it (fentry EPERM), subscribes instead to conntrack netlink events (NFNLGRP_CONNTRACK_NEW, our namespace
 *     only) and a thread writes the same nat_map entries (one rule for both: nat_rule.h; parser: ctnetlink.h),
 *     one netlink message per new connection, nothing per packet,
 *   - loads drops.bpf.o beside it with its maps (kfree_skb drops by the kernel's reason, tcp resets; optional: what
 *     the kernel refuses is left out and the failstats line says so), naming drop reasons from the kernel's BTF,
 *   - on kernels without tcp_sock.total_rto (< 6.7), loads the two RTO programs of flowlens.bpf.o that no callback
 *     replaces (fl_synack_timeout, fl_rto_timer; optional, stderr says what is refused),
 *   - on `collect`: flips the flow table epoch, runs the tick iterator over the socket storage (every tracked
 *     socket's counters into the table just retired) while a thread waits for running programs (an RCU grace
 *     period, obtained by updating a map-in-map), then drains that table, its overflow table and (netlink source) the parked
 *     connections, sums what shares a flow key (flow_sum.h: a table of --sum-flows distinct flows, 4096 by default)
 *     and prints one line per flow, then a stats line and `end`.
 * stdin EOF, `quit`, SIGTERM, SIGINT or the parent's death: detach and exit 0.
 *
 * Output lines (new fields are only ever added at the end of a line):
 *   ready <progId> <linkId> <maxSockets> <maxFlows> <totalRto:0|1> <socketsAdopted> <netnsVisited> <tick:storage|tcp>
 *         <natSource:fentry|netlink|none> <bpfStats:0|1> <connPath:sockops|state>
 *         (progId/linkId: the program that registers connections and its link: sock_ops on the cgroup
 *         (connPath sockops, kernels without total_rto), or fl_state on inet_sock_set_state (connPath state: no
 *         sock_ops program is loaded))
 *         (bpfStats: 1 while this loader holds BPF_ENABLE_STATS (--bpf-stats); 0: run times are not measured and every
 *         run-time/run-count field below reads `-`)
 *         (tick: `storage` = iter/bpf_sk_storage_map over tracked sockets; `tcp` = iter/tcp in each namespace where
 *         tracked sockets live (tick_select, tick_run),
 *         used when the kernel refuses map iterators, e.g. by a BPF LSM policy)
 *   flow <localIp> <remoteIp> <serverPort> <client|server> <bytesSent> <bytesReceived> <segsSent> <segsReceived>
 *        <retransmits> <rtos> <opened> <closed> <rttSumUs> <rttCount> <rttMinUs> <rttMaxUs> <viaIp|-> <viaPort>
 *        (one line per flow; only when more flows than --sum-flows drained in one tick may a flow appear again,
 *        from the overflow table or a parked connection: add them up)
 *   stats <runTimeNs> <runCount> <socketsTracked> <socketsSampledOut> <flowsDropped> <flowsDrained>
 *         <socketsAdopted> <natTranslated> <conntrack:0 waiting|1 attached|2 failed> <tickIterNs>
 *         <iterRunTimeNs> <iterRunCount> <flowsCarried> <flowsLost> <natRecorded> <natSource:fentry|netlink|none>
 *         <natNetlink> <natNetlinkOverruns> <natParked> <tickNetns> <netnsWalks> <flowLines> <flowsUnsummed>
 *         <tickSyncNs> <tickDrainNs> <collectNs>
 *         (tickNetns: namespaces the `tcp` tick visited this time, netnsWalks: its full walks of /proc and the
 *         netns directories so far; both 0 with the `storage` tick; flowLines: `flow` lines of this answer;
 *         flowsUnsummed: cumulative drained entries printed alone because the sum table was full; the parts of
 *         this answer's wall time: tickIterNs the passes, tickSyncNs the epoch flip and its grace period,
 *         tickDrainNs reading the retired set and printing its lines into stdout's buffer, collectNs the whole
 *         answer up to this line, so the rest of the node's wall time is the pipes and its own parsing)
 *   fwd <clientIp> <viaIp> <viaPort> <backendIp> <backendPort> <snatIp|-> <connections>
 *        (connections the node translated this tick, with or without SNAT: forward tables, nat_rule.h fl_fwd_entry)
 *   fwdlost <cumulative connections not counted because a forward table was full>
 *   fail <localIp> <remoteIp> <serverPort> <client|server> <viaIp|-> <viaPort> <reason|-> <connectAttempts>
 *        <connectFailures> <connectRefused> <synRetransmits> <resetsSent> <resetsReceived> <drops>
 *        (why packets and connections failed, per flow and kernel drop reason, this tick: reason `-` holds the
 *        connection counters, any other reason is the kernel's drop reason name and only drops is set)
 *   failstats <drops:0|1> <resets:0|1> <failLost> <dropRunTimeNs> <dropRunCount> <reasons> <listenPorts>
 *             <dropMisses> <flowMisses>
 *        (drops/resets: whether the kfree_skb / tcp reset tracepoints of drops.bpf.o are attached; failLost:
 *        cumulative failure updates lost because the tick's table was full or the kernel refused the update;
 *        dropRunTimeNs/dropRunCount: cumulative bpf_stats of the drop and reset programs; reasons: drop reasons read
 *        from the kernel's BTF; listenPorts: local ports with a listening socket, which the drop hook takes for the
 *        server side; dropMisses / flowMisses: cumulative runs the kernel skipped (bpf_prog_info.recursion_misses,
 *        0 where the kernel lacks it) of the drop and reset programs / of the flow programs: a tp_btf or fentry
 *        program does not run while the same program already runs on that CPU, e.g. a softirq drop interrupting
 *        a process-context kfree_skb: each such drop or reset is missing from the failure tables)
 *   end
 *   error <message>          (then exit status 1)
 * runTimeNs/runCount, iterRunTimeNs/iterRunCount, dropRunTimeNs/dropRunCount: `-` (not measured) unless bpfStats.
 * runTimeNs/runCount: cumulative bpf_stats of the per-connection programs (sock_ops, close tracepoint, conntrack
 * fentry); iterRunTimeNs/iterRunCount: of the tick iterator (one run per tracked socket per tick); tickIterNs: wall
 * time of this tick's iterator pass. natSource: where Service translations come from now (none: nf_conntrack not
 * loaded yet, or both sources refused); natRecorded: connections the fentry program recorded; natNetlink: those
 * recorded from netlink events; natNetlinkOverruns: times the kernel dropped events (socket buffer full);
 * natParked: connections that closed before their first tick with no translation yet (netlink source only), whose
 * flows the loader translated itself at collect when their event had arrived (counted in natTranslated then).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "flowlens.h"
#include "nat_rule.h"
#include "ctnetlink.h"
#include "flow_sum.h"

static volatile sig_atomic_t stop_requested;
static int quiet_libbpf; /* conntrack attach attempts are expected to fail until nf_conntrack is loaded */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || quiet_libbpf)
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

/* drops.bpf.o: drops by kernel reason and resets (optional; see load_drops). */
struct drop_reason {
	__u32 value;
	char name[64]; /* without the SKB_DROP_REASON_ prefix */
};

struct fail_state {
	struct bpf_object *obj;
	struct bpf_link *drop_link;
	struct bpf_link *rst_links[2];
	int drop_prog_fd, rst_prog_fds[2];
	int fds[2];   /* fail_a, fail_b */
	int lost_fd;
	int listen_fd;
	struct fl_fail_key *keys;
	struct fl_fail_val *vals;
	struct drop_reason *reasons;
	__u32 nreasons;
};

enum { CT_WAITING = 0, CT_ATTACHED = 1, CT_FAILED = 2 };
enum { TICK_STORAGE = 0, TICK_TCP = 1 };

struct state {
	struct bpf_object *obj;
	int stats_fd;                /* BPF_ENABLE_STATS held (--bpf-stats), else -1: run times are not measured */
	struct bpf_link *link;       /* sock_ops on the cgroup; NULL when conn_by_state */
	struct bpf_link *state_link; /* inet_sock_set_state: every connection (conn_by_state), else adopted sockets */
	int conn_by_state;           /* the kernel has tcp_sock.total_rto: no sock_ops, fl_state registers connections */
	struct bpf_link *tick_link;  /* iter/bpf_sk_storage_map */
	struct bpf_link *adopt_link; /* iter/tcp */
	struct bpf_link *tick_tcp_link; /* iter/tcp tick, when the kernel refuses map iterators */
	struct rto_program {
		struct bpf_object *obj;
		struct bpf_link *link;
		int fd;
	} rto_progs[2]; /* kernels without tcp_sock.total_rto (load_rto_programs) */
	int n_rto_progs;
	int tick_mode;               /* TICK_STORAGE or TICK_TCP */
	struct bpf_object *ct_obj;
	struct bpf_link *ct_link;
	int ct_state;
	const char *ct_object;
	__u32 netns_ino;   /* inode of our network namespace (the node's): only its translations are recorded */
	int nl_fd;         /* conntrack netlink socket, the fallback source when fentry is refused; -1: not used */
	pthread_t nl_thread;
	__u64 nl_recorded;  /* translated connections recorded from netlink (written by the netlink thread) */
	__u32 *nat_any;     /* flowlens.bpf.o's nat_any (its .bss, mapped): 1 once anything may write nat_map */
	__u64 nl_overruns;  /* times the kernel dropped events because we read too slowly (ENOBUFS) */
	int prog_fd, state_prog_fd, tick_prog_fd, ct_prog_fd, ct_count_fd;
	int epoch_fd;
	int sync_fd; /* map-in-map whose update waits for an RCU grace period */
	int sync_inner_fd;
	int index_fds[2];    /* flow key -> slot, per set */
	int vals_fds[2];     /* slot -> counters, per set */
	int overflow_fds[2]; /* flow key -> counters, close-time updates that found the set full */
	int slot_next_fd;
	int nat_fd;
	int listeners_fd;
	int scope_netns_fd; /* namespaces where tracked sockets live (scope.bpf.h): the tick fallback visits these */
	int tick_since_fd;  /* the tcp tick's idle skip per namespace (struct fl_tick_since, tick_pass) */
	__u32 *tick_gen;    /* flowlens.bpf.o's tick_gen (its .bss, mapped): see "Which namespaces a tick visits" */
	__u32 epoch; /* programs fill set epoch & 1 */
	int counters_fd;
	__u32 max_flows;
	__u32 max_sockets;
	/* Drain buffers, max_flows entries each, allocated once: a tick is drained with a few batch syscalls. */
	struct fl_flow_key *keys;
	__u32 *slots;   /* slot of keys[i] */
	__u32 *indices; /* 0, 1, 2, ...: the array keys to read and zero */
	struct fl_flow_val *vals;
	struct fl_flow_val *zeros;
	struct fl_flow_key *ovf_keys;
	struct fl_flow_val *ovf_vals;
	int late_mode_fd; /* netlink source: connections closed before their translation was looked up */
	struct ring_buffer *late_ring; /* their records (flowlens.bpf.c park_close), read at collect */
	struct fl_late_close *late_vals; /* the parked connections of this tick that start a flow in the sums */
	__u32 late_n;                    /* late_vals in use this tick */
	__u32 late_read;                 /* records read this tick */
	__u64 late_translated; /* parked connections the loader found translated */
	/* Forward tables (translated connections per tick, nat_map.bpf.h fwd_a / fwd_b): the conntrack program or the
	 * netlink thread counts into the set of the current epoch; collect drains the previous one. */
	int fwd_fds[2];
	int ct_fwd_lost_fd;
	__u64 nl_fwd_lost;
	pthread_mutex_t fwd_lock; /* netlink thread: the epoch it counts into stays the same while it counts */
	struct fl_fwd_key *fwd_keys;
	__u64 *fwd_vals;
	struct fail_state fail;
	struct fl_sums sums;    /* this tick's drained entries summed per flow (flow_sum.h) */
	__u64 flow_lines;       /* `flow` lines printed this tick */
	__u64 unsummed;         /* cumulative: entries printed alone because the sum table was full */
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

static __u64 now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Runs an iterator link once to its end; returns 0 or -errno. */
static int run_iter(struct bpf_link *link)
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Reads and empties a hash map of flow keys into keys/vals; returns how many entries it held. */
static __u32 drain_hash(int fd, void *keys, size_t ksize, void *vals, size_t vsize, __u32 max, const char *what)
{
	__u32 n = 0;
	struct fl_flow_key batch_in, batch_out; /* opaque position (a bucket number for a hash map) */
	void *in = NULL;
	while (n < max) {
		__u32 count = max - n;
		int err = bpf_map_lookup_and_delete_batch(fd, in, &batch_out, (char *)keys + n * ksize, (char *)vals + n * vsize,
							  &count, NULL);
		/* ENOSPC (nothing read): the next bucket holds more than the room left, which happens when programs add
		 * entries while we drain (late closes under a high connection rate): they wait for the next tick */
		if (err && errno == ENOSPC)
			break;
		if (err && errno != ENOENT)
			fail("draining the flow %s: %s", what, strerror(errno));
		n += count;
		if (err)
			break; /* ENOENT: the whole map was read */
		batch_in = batch_out;
		in = &batch_in;
	}
	return n;
}

static void print_flow(struct state *s, const struct fl_flow_key *key, const struct fl_flow_val *val)
{
	s->flow_lines++;
	char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN], vip[INET6_ADDRSTRLEN] = "-";
	format_ip(key->family, key->local, lip, sizeof(lip));
	format_ip(key->family, key->remote, rip, sizeof(rip));
	if (key->via_port)
		format_ip(key->family, key->via, vip, sizeof(vip));
	printf("flow %s %s %u %s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %u %u %s %u\n", lip, rip,
	       key->server_port, key->direction == FL_DIR_SERVER ? "server" : "client",
	       (unsigned long long)val->bytes_sent, (unsigned long long)val->bytes_received,
	       (unsigned long long)val->segs_sent, (unsigned long long)val->segs_received,
	       (unsigned long long)val->retransmits, (unsigned long long)val->rtos, (unsigned long long)val->opened,
	       (unsigned long long)val->closed, (unsigned long long)val->rtt_sum_us,
	       (unsigned long long)val->rtt_count, val->rtt_count ? val->rtt_min_us : 0, val->rtt_max_us, vip,
	       key->via_port);
}

static int func_in_btf(struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

static int set_rodata_u32(struct bpf_object *obj, struct bpf_map *map, const char *var, __u32 value);

/* ---- forward tables: translated connections per tick (the hub joins a forwarded NodePort's two ends with them) ---- */

/* conntrack.bpf.o counts into flowlens.bpf.o's forward tables, by its epoch. */
static int reuse_forward_maps(struct state *s, struct bpf_object *obj)
{
	struct bpf_map *a = bpf_object__find_map_by_name(obj, "fwd_a");
	struct bpf_map *b = bpf_object__find_map_by_name(obj, "fwd_b");
	struct bpf_map *ep = bpf_object__find_map_by_name(obj, "flow_epoch");
	if (!a || !b || !ep)
		return -1;
	return bpf_map__reuse_fd(a, s->fwd_fds[0]) || bpf_map__reuse_fd(b, s->fwd_fds[1]) ||
	       bpf_map__reuse_fd(ep, s->epoch_fd);
}

/* The netlink thread's count of one translated connection, into the set of the current epoch. */
static void nl_count_forward(struct state *s, const struct fl_fwd_key *key)
{
	pthread_mutex_lock(&s->fwd_lock);
	int fd = s->fwd_fds[s->epoch & 1];
	__u64 n = 0;
	bpf_map_lookup_elem(fd, key, &n);
	n++;
	if (bpf_map_update_elem(fd, key, &n, BPF_ANY))
		s->nl_fwd_lost++;
	pthread_mutex_unlock(&s->fwd_lock);
}

/* Prints and empties forward table `set` (no writer uses it any more: the epoch moved on). */
static void drain_forwards(struct state *s, __u32 set)
{
	__u32 n = drain_hash(s->fwd_fds[set], s->fwd_keys, sizeof(*s->fwd_keys), s->fwd_vals, sizeof(*s->fwd_vals),
			     FL_FWD_ENTRIES, "forward table");
	for (__u32 i = 0; i < n; i++) {
		const struct fl_fwd_key *k = &s->fwd_keys[i];
		char client[INET6_ADDRSTRLEN], via[INET6_ADDRSTRLEN], backend[INET6_ADDRSTRLEN], snat[INET6_ADDRSTRLEN] = "-";
		format_ip(k->family, k->client, client, sizeof(client));
		format_ip(k->family, k->via, via, sizeof(via));
		format_ip(k->family, k->backend, backend, sizeof(backend));
		if (k->has_snat)
			format_ip(k->family, k->snat, snat, sizeof(snat));
		printf("fwd %s %s %u %s %u %s %llu\n", client, via, k->via_port, backend, k->backend_port, snat,
		       (unsigned long long)s->fwd_vals[i]);
	}
	__u64 lost = 0;
	__u32 zero = 0;
	if (s->ct_fwd_lost_fd >= 0)
		bpf_map_lookup_elem(s->ct_fwd_lost_fd, &zero, &lost);
	pthread_mutex_lock(&s->fwd_lock);
	lost += s->nl_fwd_lost;
	pthread_mutex_unlock(&s->fwd_lock);
	printf("fwdlost %llu\n", (unsigned long long)lost);
}

/* Loads conntrack.bpf.o once __nf_conntrack_confirm exists (in vmlinux or the nf_conntrack module's BTF). */
static void try_conntrack(struct state *s)
{
	/* Parsing the kernel's BTF takes milliseconds and megabytes of heap: vmlinux is looked at once (it does not
	 * change); while waiting, a tick only checks whether the nf_conntrack module's BTF has appeared. */
	static int in_vmlinux = -1;
	if (s->ct_state != CT_WAITING)
		return;
	int present = in_vmlinux > 0;
	if (in_vmlinux < 0 || (!present && access("/sys/kernel/btf/nf_conntrack", R_OK) == 0)) {
		struct btf *vmlinux = btf__load_vmlinux_btf();
		if (in_vmlinux < 0 && vmlinux)
			in_vmlinux = func_in_btf(vmlinux, "__nf_conntrack_confirm");
		present = in_vmlinux > 0;
		if (!present && vmlinux && access("/sys/kernel/btf/nf_conntrack", R_OK) == 0) {
			struct btf *mod = btf__load_module_btf("nf_conntrack", vmlinux);
			present = func_in_btf(mod, "__nf_conntrack_confirm");
			btf__free(mod);
		}
		btf__free(vmlinux);
		malloc_trim(0);
	}
	if (!present)
		return; /* nf_conntrack not loaded yet: nothing is translated, try again next tick */
	struct bpf_object *obj = bpf_object__open_file(s->ct_object, NULL);
	if (!obj) {
		fprintf(stderr, "flowlens-loader: opening %s: %s\n", s->ct_object, strerror(errno));
		s->ct_state = CT_FAILED;
		return;
	}
	struct bpf_map *nat = bpf_object__find_map_by_name(obj, "nat_map");
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "fl_ct_confirm");
	struct bpf_map *map, *rodata = NULL;
	bpf_object__for_each_map(map, obj)
		if (strstr(bpf_map__name(map), ".rodata"))
			rodata = map;
	if (!nat || !prog || !rodata || set_rodata_u32(obj, rodata, "netns_ino", s->netns_ino) ||
	    bpf_map__reuse_fd(nat, s->nat_fd) || reuse_forward_maps(s, obj) || bpf_object__load(obj)) {
		fprintf(stderr, "flowlens-loader: loading %s failed (%s): Service addresses are not translated\n",
			s->ct_object, strerror(errno));
		bpf_object__close(obj);
		s->ct_state = CT_FAILED;
		return;
	}
	__atomic_store_n(s->nat_any, 1, __ATOMIC_RELEASE); /* the program writes nat_map from its first run */
	struct bpf_link *link = bpf_program__attach(prog);
	if (!link) {
		fprintf(stderr, "flowlens-loader: attaching fentry/__nf_conntrack_confirm failed (%s)\n",
			strerror(errno));
		bpf_object__close(obj);
		s->ct_state = CT_FAILED;
		return;
	}
	s->ct_obj = obj;
	s->ct_link = link;
	s->ct_prog_fd = bpf_program__fd(prog);
	s->ct_count_fd = bpf_object__find_map_fd_by_name(obj, "nat_recorded");
	s->ct_fwd_lost_fd = bpf_object__find_map_fd_by_name(obj, "fwd_lost");
	s->ct_state = CT_ATTACHED;
}

/* ---- Service translation from conntrack netlink events (when the kernel refuses the fentry program) ---- */

/* The loader's one writer of nat_map, for every connection it learns of from netlink (a new one's event, or an
 * entry of the table dumped at adoption): the entries the rule (nat_rule.h) gives; returns 1 when translated. */
static int record_translation(struct state *s, const struct fl_ct_event *ev)
{
	struct fl_nat_key keys[2];
	struct fl_nat_val vals[2];
	int n = fl_nat_entries(&ev->orig, &ev->reply, ev->family, keys, vals);
	if (n > 0)
		__atomic_store_n(s->nat_any, 1, __ATOMIC_RELEASE); /* before the entry: programs look from now on */
	for (int i = 0; i < n; i++)
		bpf_map_update_elem(s->nat_fd, &keys[i], &vals[i], BPF_ANY);
	return n > 0;
}

static void nl_record(const struct fl_ct_event *ev, void *arg)
{
	struct state *s = arg;
	if (record_translation(s, ev))
		__atomic_fetch_add(&s->nl_recorded, 1, __ATOMIC_RELAXED);
	struct fl_fwd_key fwd;
	if (fl_fwd_entry(&ev->orig, &ev->reply, ev->family, &fwd))
		nl_count_forward(s, &fwd);
}

/* Reads events until the process exits: a blocking recv() per batch, so a new connection's entry is in nat_map
 * microseconds after the kernel confirmed it (usually before its socket's first tick or close). */
static void *nl_loop(void *arg)
{
	struct state *s = arg;
	static char buf[1 << 16];
	for (;;) {
		ssize_t n = recv(s->nl_fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* the socket buffer overflowed: some connections of this burst go untranslated */
				__atomic_fetch_add(&s->nl_overruns, 1, __ATOMIC_RELAXED);
				continue;
			}
			fprintf(stderr, "flowlens-loader: reading conntrack events: %s\n", strerror(errno));
			return NULL;
		}
		fl_ct_parse_buf(buf, (size_t)n, nl_record, s);
	}
}

/* Subscribes to new-connection events of our network namespace and starts the reading thread; 0 or -errno. */
static int start_netlink(struct state *s)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	int rcvbuf = 8 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	int group = NFNLGRP_CONNTRACK_NEW;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group))) {
		int err = -errno;
		close(fd);
		return err;
	}
	s->nl_fd = fd;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the main thread */
	int err = pthread_create(&s->nl_thread, NULL, nl_loop, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(fd);
		s->nl_fd = -1;
		return -err;
	}
	return 0;
}

/* After the fentry program failed: the netlink source, once. */
static void try_netlink(struct state *s)
{
	static int tried;
	if (s->ct_state != CT_FAILED || tried)
		return;
	tried = 1;
	int err = start_netlink(s);
	if (err)
		fprintf(stderr, "flowlens-loader: conntrack netlink events unavailable (%s): Service addresses are not "
				"translated\n", strerror(-err));
	else {
		__u32 zero = 0, one = 1;
		bpf_map_update_elem(s->late_mode_fd, &zero, &one, BPF_ANY);
		fprintf(stderr, "flowlens-loader: fentry refused: Service translation from conntrack netlink events\n");
	}
}

/* The connect() attempts of parked connections, under their (now translated) key: a fail line of their own. */
static void print_late_attempts(const struct fl_flow_key *k, __u64 attempts, __u64 syn_retrans)
{
	if (!attempts)
		return;
	char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN], vip[INET6_ADDRSTRLEN] = "-";
	format_ip(k->family, k->local, lip, sizeof(lip));
	format_ip(k->family, k->remote, rip, sizeof(rip));
	if (k->via_port)
		format_ip(k->family, k->via, vip, sizeof(vip));
	printf("fail %s %s %u %s %s %u - %llu 0 0 %llu 0 0 0\n", lip, rip, k->server_port,
	       k->direction == FL_DIR_SERVER ? "server" : "client", vip, k->via_port, (unsigned long long)attempts,
	       (unsigned long long)syn_retrans);
}

/*
 * Sums one drained entry into this tick's table (flow_sum.h) and returns its flow's entry; when the table is full and
 * its flow is new, prints it alone (the node adds up lines of one flow too, so this loses nothing) and returns NULL.
 */
static struct fl_sum_entry *sum_flow(struct state *s, const struct fl_flow_key *key, struct fl_flow_val *val,
				     __u64 attempts, __u64 syn_retrans)
{
	struct fl_sum_entry *e = fl_sums_add(&s->sums, key, val, attempts, syn_retrans);
	if (e)
		return e;
	s->unsummed++;
	print_flow(s, key, val);
	print_late_attempts(key, attempts, syn_retrans);
	return NULL;
}

/* One line per flow of this tick (and one `fail` line per flow with parked connections' attempts), then empty. */
static void print_sums(struct state *s)
{
	for (__u32 i = 0; i < s->sums.n; i++) {
		const struct fl_sum_entry *e = &s->sums.entries[i];
		print_flow(s, e->key, e->val);
		print_late_attempts(e->key, e->attempts, e->syn_retrans);
	}
	fl_sums_reset(&s->sums);
}

/*
 * One parked connection's record (late_ring): translated now when its event has arrived (the thread reads events
 * continuously; by the tick it has), summed with the flows of this tick. Its values are kept only when it starts a
 * flow in the sums (the sums point at them); a record of a flow already summed is added into that flow's values and
 * its slot is reused. Returns -1 (stop reading; this record is taken) when the slots or the tick's share of records
 * are used up: the rest waits in the ring for the next tick.
 */
static int late_record(void *ctx, void *data, size_t size)
{
	struct state *s = ctx;
	if (size < sizeof(struct fl_late_rec))
		return 0;
	const struct fl_late_rec *r = data;
	struct fl_late_close *l = &s->late_vals[s->late_n];
	fl_late_unpack(r, l);
	struct fl_nat_val t;
	/* nat_map is empty until nat_any is set (a node without Service translation): then a lookup, a system call per
	 * parked connection, cannot find anything */
	if (__atomic_load_n(s->nat_any, __ATOMIC_ACQUIRE) && bpf_map_lookup_elem(s->nat_fd, &r->nat, &t) == 0) {
		fl_apply_nat(&l->key, &t);
		s->late_translated++;
	}
	struct fl_sum_entry *e =
		sum_flow(s, &l->key, &l->val, l->connect_attempted ? 1 : 0, l->connect_attempted ? l->syn_retrans : 0);
	if (e && e->val == &l->val)
		s->late_n++; /* the flow's first values: kept until the sums are printed */
	s->late_read++;
	/* at most one ring's worth a tick, so a drain under a steady connection rate ends */
	return s->late_n == FL_LATE_ENTRIES || s->late_read >= FL_LATE_RING_BYTES / (sizeof(*r) + 8) ? -1 : 0;
}

/* Connections that closed before their translation was looked up (netlink source), read from late_ring. */
static __u64 drain_late(struct state *s)
{
	if (s->nl_fd < 0)
		return 0;
	s->late_n = 0;
	s->late_read = 0;
	int err = ring_buffer__consume(s->late_ring);
	if (err < 0 && err != -1)
		fail("reading the parked connections: %s", strerror(-err));
	return s->late_read;
}

/* ---- adoption: the translations of connections the node confirmed before the agent started ---- */

/*
 * Reads the whole conntrack table of our network namespace (the node's, where kube-proxy translates) once, with a
 * netlink dump, and records every translated TCP entry with record_translation, as the event path does: fl_adopt's
 * lookup then finds the translation of a connection older than the agent (a pool, a gRPC stream). Forward tables
 * are not counted: these connections are not new. Returns the entries read, or -errno.
 */
static long long dump_conntrack_table(struct state *s, __u64 *translated, int *interrupted)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	unsigned char req[FL_CT_DUMP_REQ_LEN];
	size_t len = fl_ct_dump_request(req, 1);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    sendto(fd, req, len, 0, (struct sockaddr *)&addr, sizeof(addr)) != (ssize_t)len) {
		int err = -errno;
		close(fd);
		return err;
	}
	size_t size = 1 << 16; /* a dump message is at most 32 KiB */
	unsigned char *buf = malloc(size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	long long entries = 0;
	int done = 0, err = 0;
	while (!done) {
		ssize_t n = recv(fd, buf, size, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EPIPE;
			break;
		}
		int rem = (int)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, rem); nh = NLMSG_NEXT(nh, rem)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				err = nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? e->error : -EPROTO;
				done = 1;
				break;
			}
			if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
				*interrupted = 1;
			entries++;
			struct fl_ct_event ev;
			if (fl_ct_parse_msg(nh, (size_t)rem, &ev) && record_translation(s, &ev))
				(*translated)++;
		}
	}
	free(buf);
	close(fd);
	return err ? err : entries;
}

/* At adoption, before fl_adopt runs: the dump above, said once on stderr with its cost. */
static void adopt_translations(struct state *s)
{
	/* The table exists once nf_conntrack is loaded; a dump request would load it (and ctnetlink) into a kernel
	 * that does not track connections, so ask only when it is there. */
	if (access("/proc/sys/net/netfilter/nf_conntrack_count", F_OK) != 0) {
		fprintf(stderr, "flowlens-loader: no connection tracking (nf_conntrack not loaded): connections older "
				"than the agent have no translation to adopt\n");
		return;
	}
	__u64 translated = 0, t0 = now_ns();
	int interrupted = 0;
	long long entries = dump_conntrack_table(s, &translated, &interrupted);
	double ms = (double)(now_ns() - t0) / 1e6;
	if (entries < 0) {
		fprintf(stderr, "flowlens-loader: dumping the conntrack table failed (%s): connections older than the "
				"agent are not translated\n", strerror((int)-entries));
		return;
	}
	fprintf(stderr, "flowlens-loader: adoption: %lld conntrack entries read in %.1f ms, %llu translated TCP "
			"connections recorded%s\n", entries, ms, (unsigned long long)translated,
		interrupted ? " (the table changed during the dump: some may be missing)" : "");
}

static const char *nat_source(const struct state *s)
{
	return s->ct_state == CT_ATTACHED ? "fentry" : s->nl_fd >= 0 ? "netlink" : "none";
}

/* A bpf_stats figure, or `-` when this loader does not hold BPF_ENABLE_STATS: the kernel then counts nothing for
 * our programs (or counts for someone else's holder), and 0 would read as a cost measured to be nothing. */
static const char *measured(const struct state *s, __u64 v, char *buf, size_t len)
{
	if (s->stats_fd < 0)
		return "-";
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static void prog_stats(int fd, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	*run_ns += info.run_time_ns;
	*run_cnt += info.run_cnt;
}

/* Cumulative runs of a program the kernel skipped because it already ran on that CPU (recursion protection of
 * trampoline and raw tracepoint programs); 0 for a program not loaded or a kernel without the field. */
static __u64 prog_misses(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

static int for_each_netns(struct state *s, struct bpf_link *link, int clear_listeners);
static void tick_select(struct state *s);
static void tick_run(struct state *s);
static void tick_gen_advance(struct state *s);
static void tick_netns_stats(int *visited, unsigned long long *walks);

/* The kernel's name of a drop reason (enum skb_drop_reason, read from its BTF at start). */
static const char *reason_name(const struct fail_state *f, __u32 value, char *buf, size_t len)
{
	for (__u32 i = 0; i < f->nreasons; i++)
		if (f->reasons[i].value == value)
			return f->reasons[i].name;
	snprintf(buf, len, "UNKNOWN_%u", value); /* a subsystem's reason (high bits), or a BTF without the enum */
	return buf;
}

/* The failure table of the set just retired (the epoch flip and grace period made it ours): one line per entry,
 * then the failstats line. */
static void drain_failures(struct state *s, __u32 set)
{
	struct fail_state *f = &s->fail;
	__u32 n = drain_hash(f->fds[set], f->keys, sizeof(*f->keys), f->vals, sizeof(*f->vals), FL_FAIL_ENTRIES,
			     "failures");
	for (__u32 i = 0; i < n; i++) {
		const struct fl_flow_key *k = &f->keys[i].flow;
		const struct fl_fail_val *v = &f->vals[i];
		char lip[INET6_ADDRSTRLEN], rip[INET6_ADDRSTRLEN], vip[INET6_ADDRSTRLEN] = "-", unknown[32];
		format_ip(k->family, k->local, lip, sizeof(lip));
		format_ip(k->family, k->remote, rip, sizeof(rip));
		if (k->via_port)
			format_ip(k->family, k->via, vip, sizeof(vip));
		const char *reason = f->keys[i].reason ? reason_name(f, f->keys[i].reason, unknown, sizeof(unknown)) : "-";
		printf("fail %s %s %u %s %s %u %s %llu %llu %llu %llu %llu %llu %llu\n", lip, rip, k->server_port,
		       k->direction == FL_DIR_SERVER ? "server" : "client", vip, k->via_port, reason,
		       (unsigned long long)v->attempts, (unsigned long long)v->failures, (unsigned long long)v->refused,
		       (unsigned long long)v->syn_retrans, (unsigned long long)v->resets_sent,
		       (unsigned long long)v->resets_received, (unsigned long long)v->drops);
	}
	__u64 lost = 0, run_ns = 0, run_cnt = 0;
	__u32 zero = 0;
	bpf_map_lookup_elem(f->lost_fd, &zero, &lost);
	prog_stats(f->drop_prog_fd, &run_ns, &run_cnt);
	prog_stats(f->rst_prog_fds[0], &run_ns, &run_cnt);
	prog_stats(f->rst_prog_fds[1], &run_ns, &run_cnt);
	__u32 listening = 0;
	__u16 port, next_port;
	for (int err = bpf_map_get_next_key(f->listen_fd, NULL, &next_port); !err;
	     err = bpf_map_get_next_key(f->listen_fd, &port, &next_port)) {
		port = next_port;
		listening++;
	}
	__u64 drop_misses = prog_misses(f->drop_prog_fd) + prog_misses(f->rst_prog_fds[0]) +
			    prog_misses(f->rst_prog_fds[1]);
	__u64 flow_misses = prog_misses(s->prog_fd) + prog_misses(s->state_prog_fd) + prog_misses(s->tick_prog_fd) +
			    (s->ct_state == CT_ATTACHED ? prog_misses(s->ct_prog_fd) : 0);
	char ns_buf[24], cnt_buf[24];
	printf("failstats %d %d %llu %s %s %u %u %llu %llu\n", f->drop_link != NULL,
	       f->rst_links[0] && f->rst_links[1], (unsigned long long)lost, measured(s, run_ns, ns_buf, sizeof(ns_buf)),
	       measured(s, run_cnt, cnt_buf, sizeof(cnt_buf)), f->nreasons, listening, (unsigned long long)drop_misses,
	       (unsigned long long)flow_misses);
}

/* An RCU grace period waited for in a thread of its own (collect), or in grace_wait when no thread starts. */
struct grace {
	struct state *s;
	pthread_t tid;
	int started;
	int err; /* errno of the map-in-map update */
};

static void *grace_thread(void *arg)
{
	struct grace *g = arg;
	__u32 zero = 0;
	g->err = bpf_map_update_elem(g->s->sync_fd, &zero, &g->s->sync_inner_fd, BPF_ANY) ? errno : 0;
	return NULL;
}

static void grace_start(struct state *s, struct grace *g)
{
	*g = (struct grace){ .s = s };
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* signals stay with the main thread */
	g->started = pthread_create(&g->tid, NULL, grace_thread, g) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void grace_wait(struct grace *g)
{
	if (g->started)
		pthread_join(g->tid, NULL);
	else
		grace_thread(g);
	if (g->err)
		fail("waiting for running programs: %s", strerror(g->err));
}

static void collect(struct state *s)
{
	__u32 zero = 0;
	__u32 next = s->epoch + 1;
	__u32 set = s->epoch & 1;
	int index_fd = s->index_fds[set], vals_fd = s->vals_fds[set];
	__u32 batch_out;
	__u64 drained = 0;
	__u64 collect_t0 = now_ns(); /* the parts of this answer's time, on its stats line (docs/agent.md "Cost") */

	int ct_state = s->ct_state;
	try_conntrack(s);
	if (s->ct_state != ct_state)
		malloc_trim(0); /* loading conntrack.bpf.o parsed BTF (see main) */
	try_netlink(s);

	/*
	 * One grace period, beside the passes. Point programs at the other (empty) set first, then read every tracked
	 * socket's counters since its last reading into this set (the tick programs count into the epoch before the
	 * current, flowlens.bpf.c tick_epoch) while another thread waits until no program run can still be using
	 * this set: updating a map-in-map returns only after an RCU grace period (programs run under rcu_read_lock).
	 * The set is drained when both are done. A socket closing during the passes counts its change into the new
	 * set or has it counted by its pass into this one, never both (claim() in flush). The `tcp` tick's
	 * namespaces are chosen before the generation moves (see "Which namespaces a tick visits").
	 */
	__u64 t0 = now_ns();
	if (s->tick_mode != TICK_STORAGE) {
		tick_select(s);
		tick_gen_advance(s);
	}
	if (bpf_map_update_elem(s->epoch_fd, &zero, &next, BPF_ANY))
		fail("flipping the flow map epoch: %s", strerror(errno));
	struct grace grace;
	grace_start(s, &grace);
	if (s->tick_mode == TICK_STORAGE) {
		int err = run_iter(s->tick_link);
		if (err)
			fail("running the tick iterator: %s", strerror(-err));
	} else {
		tick_run(s);
	}
	__u64 iter_ns = now_ns() - t0;
	__u64 sync_t0 = now_ns();
	grace_wait(&grace);
	pthread_mutex_lock(&s->fwd_lock);
	s->epoch = next;
	pthread_mutex_unlock(&s->fwd_lock);
	__u64 sync_ns = now_ns() - sync_t0;
	__u64 drain_t0 = now_ns();

	/* Nothing writes this set any more: read it, then empty it for its next turn. Every slot handed out is read
	 * and zeroed (including ones lost in a publishing race, which stay zero); the index is read and emptied in
	 * one lookup-and-delete batch. */
	__u32 used = 0;
	bpf_map_lookup_elem(s->slot_next_fd, &set, &used);
	if (used > s->max_flows)
		used = s->max_flows;
	__u32 n = drain_hash(index_fd, s->keys, sizeof(*s->keys), s->slots, sizeof(*s->slots), s->max_flows, "index");
	__u32 count = used;
	/* an array batch ends with ENOENT when it reaches the last entry, after reading it */
	if (used && bpf_map_lookup_batch(vals_fd, NULL, &batch_out, s->indices, s->vals, &count, NULL) &&
	    errno != ENOENT)
		fail("reading the flow values: %s", strerror(errno));
	for (__u32 i = 0; i < n; i++) {
		if (s->slots[i] >= used)
			continue; /* cannot happen: a slot is handed out before it is published */
		sum_flow(s, &s->keys[i], &s->vals[s->slots[i]], 0, 0);
		drained++;
	}
	count = used;
	if (used && bpf_map_update_batch(vals_fd, s->indices, s->zeros, &count, NULL))
		fail("zeroing the flow values: %s", strerror(errno));
	__u32 reset = 0;
	bpf_map_update_elem(s->slot_next_fd, &set, &reset, BPF_ANY);

	__u32 o = drain_hash(s->overflow_fds[set], s->ovf_keys, sizeof(*s->ovf_keys), s->ovf_vals, sizeof(*s->ovf_vals),
				FL_OVERFLOW_ENTRIES, "overflow");
	for (__u32 i = 0; i < o; i++) {
		sum_flow(s, &s->ovf_keys[i], &s->ovf_vals[i], 0, 0);
		drained++;
	}
	drained += drain_late(s);
	print_sums(s);
	drain_forwards(s, set);
	drain_failures(s, set);
	__u64 drain_ns = now_ns() - drain_t0;

	__u64 run_ns = 0, run_cnt = 0, iter_run_ns = 0, iter_run_cnt = 0, nat_recorded = 0;
	prog_stats(s->prog_fd, &run_ns, &run_cnt);
	prog_stats(s->state_prog_fd, &run_ns, &run_cnt);
	for (int i = 0; i < s->n_rto_progs; i++)
		prog_stats(s->rto_progs[i].fd, &run_ns, &run_cnt);
	if (s->ct_state == CT_ATTACHED) {
		prog_stats(s->ct_prog_fd, &run_ns, &run_cnt);
		bpf_map_lookup_elem(s->ct_count_fd, &zero, &nat_recorded);
	}
	prog_stats(s->tick_prog_fd, &iter_run_ns, &iter_run_cnt);
	int tick_netns = 0;
	unsigned long long netns_walks = 0;
	tick_netns_stats(&tick_netns, &netns_walks);
	char b[4][24];
	__u64 collect_ns = now_ns() - collect_t0; /* all but writing this answer to the pipe */
	printf("stats %s %s %llu %llu %llu %llu %llu %llu %d %llu %s %s %llu %llu %llu %s %llu %llu %llu %d %llu "
	       "%llu %llu %llu %llu %llu\n",
	       measured(s, run_ns, b[0], sizeof(b[0])), measured(s, run_cnt, b[1], sizeof(b[1])),
	       (unsigned long long)counter(s, FL_SOCKETS_TRACKED), (unsigned long long)counter(s, FL_SOCKETS_SAMPLED_OUT),
	       (unsigned long long)counter(s, FL_FLOWS_DROPPED), (unsigned long long)drained,
	       (unsigned long long)counter(s, FL_SOCKETS_ADOPTED), (unsigned long long)(counter(s, FL_NAT_TRANSLATED) + s->late_translated),
	       s->ct_state, (unsigned long long)iter_ns, measured(s, iter_run_ns, b[2], sizeof(b[2])),
	       measured(s, iter_run_cnt, b[3], sizeof(b[3])), (unsigned long long)counter(s, FL_FLOWS_CARRIED),
	       (unsigned long long)counter(s, FL_FLOWS_LOST), (unsigned long long)nat_recorded, nat_source(s),
	       (unsigned long long)__atomic_load_n(&s->nl_recorded, __ATOMIC_RELAXED),
	       (unsigned long long)__atomic_load_n(&s->nl_overruns, __ATOMIC_RELAXED),
	       (unsigned long long)counter(s, FL_LATE_PARKED), tick_netns, netns_walks,
	       (unsigned long long)s->flow_lines, (unsigned long long)s->unsummed, (unsigned long long)sync_ns,
	       (unsigned long long)drain_ns, (unsigned long long)collect_ns);
	s->flow_lines = 0;
	printf("end\n");
	fflush(stdout);

}

/* ---- network namespaces: every one at adoption; the tick fallback visits only those of tracked sockets ---- */

/* Called once per distinct namespace a walk finds (by inode), with a path naming it. */
struct ns_walk;
typedef void (*ns_found_fn)(struct ns_walk *w, const char *path, const struct stat *st);

struct ns_walk {
	ns_found_fn found;
	struct state *s;
	struct bpf_link *link;
	int clear_listeners; /* adoption: listening ports are per namespace */
	int tick;            /* the tcp tick: each namespace's pass goes through tick_pass */
	int self_fd;
	struct ns_seen {
		dev_t dev;
		ino_t ino;
	} *seen;
	size_t nseen, cap;
	int visited;
};

static void walk_one(struct ns_walk *w, const char *path)
{
	struct stat st;
	if (stat(path, &st))
		return;
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st.st_dev && w->seen[i].ino == st.st_ino)
			return;
	if (w->nseen >= w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		void *p = realloc(w->seen, cap * sizeof(*w->seen));
		if (!p)
			return;
		w->seen = p;
		w->cap = cap;
	}
	w->seen[w->nseen].dev = st.st_dev;
	w->seen[w->nseen].ino = st.st_ino;
	w->nseen++;
	w->found(w, path, &st);
}

static void walk_dir(struct ns_walk *w, const char *dir, int pids)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[512];
	while ((e = readdir(d))) {
		if (pids ? (e->d_name[0] < '1' || e->d_name[0] > '9') : e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), pids ? "%s/%s/ns/net" : "%s/%s", dir, e->d_name);
		walk_one(w, path);
	}
	closedir(d);
}

/* Every network namespace: ours, every process's (deduplicated by inode), then the bind-mounted ones (ip netns,
 * docker). The seen list's allocation is kept between walks. */
static void walk_all(struct ns_walk *w)
{
	w->nseen = 0;
	walk_one(w, "/proc/self/ns/net");
	walk_dir(w, "/proc", 1);
	walk_dir(w, "/var/run/netns", 0);
	walk_dir(w, "/run/netns", 0);
	walk_dir(w, "/run/docker/netns", 0);
}

static int tick_pass(struct state *s, struct bpf_link *link, __u32 ino);
static int tick_pass_since(struct state *s, struct bpf_link *link, __u32 ino);

/* Enters the namespace `fd` names, runs the walk's iterator there and returns to ours. */
static void visit_fd(struct ns_walk *w, int fd, const char *path)
{
	struct stat st;
	__u32 ino = w->tick && fstat(fd, &st) == 0 ? (__u32)st.st_ino : 0;
	if (setns(fd, CLONE_NEWNET) == 0) {
		if (w->clear_listeners) {
			__u16 key;
			while (bpf_map_get_next_key(w->s->listeners_fd, NULL, &key) == 0)
				bpf_map_delete_elem(w->s->listeners_fd, &key);
		}
		int err = w->tick ? tick_pass(w->s, w->link, ino) : run_iter(w->link);
		if (err)
			fprintf(stderr, "flowlens-loader: iterating TCP sockets in %s: %s\n", path, strerror(-err));
		__atomic_add_fetch(&w->visited, 1, __ATOMIC_RELAXED); /* tick_worker threads share w */
		if (setns(w->self_fd, CLONE_NEWNET))
			fail("returning to our network namespace: %s", strerror(errno));
	} else if (w->clear_listeners) {
		/* said once, at adoption; the tick fallback meets the same namespaces every tick */
		fprintf(stderr, "flowlens-loader: cannot enter %s (%s): its older connections are not adopted\n", path,
			strerror(errno));
	}
}

static void visit_found(struct ns_walk *w, const char *path, const struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* the process exited meanwhile */
	visit_fd(w, fd, path);
	close(fd);
}

static int self_netns_fd(void)
{
	static int fd = -1; /* our own namespace: holding it keeps nothing alive that we do not live in */
	if (fd < 0)
		fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("opening /proc/self/ns/net: %s", strerror(errno));
	return fd;
}

/* Runs an iter/tcp link once in each network namespace (walk_all). Returns how many namespaces were visited. */
static int for_each_netns(struct state *s, struct bpf_link *link, int clear_listeners)
{
	static struct ns_walk w;
	w.found = visit_found;
	w.s = s;
	w.link = link;
	w.clear_listeners = clear_listeners;
	w.tick = link == s->tick_tcp_link;
	w.visited = 0;
	w.self_fd = self_netns_fd();
	walk_all(&w);
	return w.visited;
}

/*
 * The tick fallback (fl_tick_tcp) runs iter/tcp, which walks the kernel's whole established hash for each
 * namespace it runs in (every bucket, and every socket of every namespace, skipping the others'), so the passes a
 * tick makes are most of its cost. A tracked socket can only live in a namespace scope_netns names, and the tick
 * visits only those that may hold a tracked open socket now.
 *
 * Which namespaces a tick visits. The loader counts ticks in flowlens.bpf.o's tick_gen: tick g chooses its
 * namespaces (tick_select), then the loader sets tick_gen to g + 1 before the tick's epoch flip and the grace
 * period that follows it (collect), and runs the passes (tick_run). A scope_netns value is a generation, raised
 * (never lowered) by netns_live, with the tick_gen it reads: when an in-scope socket connects (sock_ops; fl_state
 * only when the scope is below the cgroup root), listens, establishes or is adopted; and by a tick pass of tick g meeting a tracked open socket there, with g
 * (fl_tick_tcp: tick_gen - 1 during the passes; at least one per pass, idle ones included). Tick g visits a
 * namespace whose value is >= g - 1.
 * Why a socket tracked at any moment is visited at every later tick while it is open: its tracking and the
 * namespace's note are in one program run, which read some generation k (set before the run started) and which
 * ends before the grace period that follows the loader setting k + 1, which tick k waits for before it ends, i.e.
 * before tick k + 1 reads the values. (A pass's own note is written before its iterator read returns.)
 * So tick k + 1 finds the value >= k and visits the namespace, with the socket already tracked: its pass meets it
 * (iter/tcp walks every socket in the hash during the pass) and raises the value to k + 1, so tick k + 2 visits it,
 * and so on while the socket is open. A socket closing is flushed by its close path, not by the tick. Ticks before
 * k + 1 may or may not visit it: it became tracked during or after them. A namespace whose pass met no tracked
 * open socket in ticks g - 1 and g and where nothing was noted since is quiet: no pass until something notes it
 * (the root namespace too). A pass that failed or stopped early is treated as having met one.
 *
 * Finding a namespace by inode needs a path (/proc/PID/ns/net or a bind mount): one is remembered per inode and
 * checked with stat() each tick (a process exits, a pid is reused: the inode no longer matches). A full walk of
 * /proc and the netns directories (walk_all) runs only when a namespace the tick wants has no remembered path. One
 * the walk finds no path for (a deleted namespace stays in the LRU, or one no process and no bind mount names) is
 * remembered as unseen with its value then; it stays wanted, and is looked for again at most every
 * FL_NETNS_RESCAN_TICKS ticks, or at once when its value rises (the kernel reuses the inode numbers of deleted
 * namespaces: the first socket noted in the new one raises it). No namespace fd is held between ticks: an fd would
 * keep a deleted namespace, its devices and the peers of its veths alive. When scope_netns is (nearly) full (its LRU
 * may have evicted a namespace that still has tracked sockets) the tick visits every namespace, as the adoption
 * does.
 */
#define FL_NETNS_RESCAN_TICKS 30

/*
 * One tick pass of iter/tcp in the namespace this thread is in (inode `ino`; 0: unknown, every socket read). The
 * program skips a socket whose tcp_mstamp is older than the start of the namespace's last complete pass (less
 * FL_TICK_SINCE_MARGIN_NS, for tcp_mstamp's microseconds): nothing changed it since that pass read it. A pass is
 * complete when the iterator ran to its end and left no counters in a socket (`deferred`); otherwise the next pass
 * reads every socket. Each namespace is in one thread's hands per tick, so nothing else writes its entry meanwhile.
 */
static int tick_pass(struct state *s, struct bpf_link *link, __u32 ino)
{
	if (!ino)
		return run_iter(link);
	int err = tick_pass_since(s, link, ino);
	if (err) {
		/* the pass may have stopped before a tracked socket: keep the namespace visited, as if it met one (this
		 * generation is the highest any value can hold now, so the write only raises it) */
		__u32 g = __atomic_load_n(s->tick_gen, __ATOMIC_RELAXED);
		bpf_map_update_elem(s->scope_netns_fd, &ino, &g, BPF_EXIST);
	}
	return err;
}

/* The pass itself, with the namespace's idle skip (above). */
static int tick_pass_since(struct state *s, struct bpf_link *link, __u32 ino)
{
	struct fl_tick_since v = { 0 };
	bpf_map_lookup_elem(s->tick_since_fd, &ino, &v);
	__u64 t0 = now_ns();
	v.since_ns = v.last_ns > FL_TICK_SINCE_MARGIN_NS ? v.last_ns - FL_TICK_SINCE_MARGIN_NS : 0;
	v.deferred = 0;
	/* no entry (the update failed): the program finds none and reads every socket */
	int put = bpf_map_update_elem(s->tick_since_fd, &ino, &v, BPF_ANY) == 0;
	int err = run_iter(link);
	if (put) {
		struct fl_tick_since after = v;
		if (bpf_map_lookup_elem(s->tick_since_fd, &ino, &after))
			return err; /* evicted meanwhile (LRU): the next pass finds no entry and reads every socket */
		after.last_ns = err || after.deferred ? 0 : t0;
		bpf_map_update_elem(s->tick_since_fd, &ino, &after, BPF_ANY);
	}
	return err;
}

struct ns_known {
	__u32 ino;
	char path[128];
};

struct ns_want {
	__u32 ino;
	__u32 gen;   /* its scope_netns value: the last generation it was noted or met a tracked open socket */
	int visit;   /* this tick visits it */
	int ticked;  /* its pass ran (trace_tick) */
	__u64 pass_ns; /* wall time of its pass, setns included (trace_tick) */
};

struct ns_unseen {
	__u32 ino;
	__u32 gen; /* its value when the walk found no path */
};

static struct {
	__u32 max;                   /* scope_netns' max_entries */
	struct ns_want *want;        /* its entries this tick, sorted by inode, unique */
	size_t nwant;
	struct ns_known *known;      /* inode -> a path naming it, for wanted inodes */
	size_t nknown;
	struct ns_unseen *unseen;    /* wanted inodes the last walk found no path for, sorted */
	size_t nunseen;
	__u32 gen;                   /* this tick's generation (flowlens.bpf.c tick_gen) */
	int all;                     /* this tick visits every namespace (scope_netns may have lost some) */
	__u64 ticks, walked_at;
	__u64 walks;                 /* full walks so far (stats: netnsWalks) */
	int visited;                 /* namespaces visited by the last tick (stats: tickNetns) */
} tn;

static int cmp_want(const void *a, const void *b)
{
	__u32 x = ((const struct ns_want *)a)->ino, y = ((const struct ns_want *)b)->ino;
	return x < y ? -1 : x > y;
}

static int wanted(__u32 ino)
{
	struct ns_want k = { .ino = ino };
	return bsearch(&k, tn.want, tn.nwant, sizeof(*tn.want), cmp_want) != NULL;
}

static struct ns_known *known(__u32 ino)
{
	for (size_t i = 0; i < tn.nknown; i++)
		if (tn.known[i].ino == ino)
			return &tn.known[i];
	return NULL;
}

static void remember_found(struct ns_walk *w, const char *path, const struct stat *st)
{
	__u32 ino = (__u32)st->st_ino;
	if (!wanted(ino) || known(ino) || tn.nknown >= tn.max || strlen(path) >= sizeof(tn.known[0].path))
		return;
	tn.known[tn.nknown].ino = ino;
	strcpy(tn.known[tn.nknown].path, path);
	tn.nknown++;
}

static int cmp_unseen(const void *a, const void *b)
{
	__u32 x = ((const struct ns_unseen *)a)->ino, y = ((const struct ns_unseen *)b)->ino;
	return x < y ? -1 : x > y;
}

static struct ns_unseen *unseen(__u32 ino)
{
	struct ns_unseen k = { .ino = ino };
	return bsearch(&k, tn.unseen, tn.nunseen, sizeof(*tn.unseen), cmp_unseen);
}

/* Generation `a` is `b` or later (wrap-safe, as gen_raise in flowlens.bpf.c). */
static int gen_at_least(__u32 a, __u32 b)
{
	return (__s32)(a - b) >= 0;
}

/* A full walk: a path for every inode scope_netns names that has one; the visited ones without are unseen. */
static void find_namespaces(struct state *s)
{
	static struct ns_walk w;
	w.found = remember_found;
	tn.nknown = 0;
	walk_all(&w);
	tn.nunseen = 0;
	for (size_t i = 0; i < tn.nwant; i++)
		if (tn.want[i].visit && tn.want[i].ino != s->netns_ino && !known(tn.want[i].ino))
			tn.unseen[tn.nunseen++] = (struct ns_unseen){ .ino = tn.want[i].ino, .gen = tn.want[i].gen };
	/* tn.want is sorted by inode, so tn.unseen is too */
	tn.walked_at = tn.ticks;
	tn.walks++;
}

/*
 * The namespaces of one tick are visited by up to FL_TICK_THREADS threads (setns is per thread), so the tick's wall
 * time is not the sum of the namespaces' passes when CPUs are free; the CPU spent is the same, plus a thread
 * start (tens of microseconds) per helper per tick.
 */
#define FL_TICK_THREADS 4

struct tick_pool {
	struct ns_walk *w;
	size_t next; /* index into tn.want, taken atomically */
};

static void *tick_worker(void *arg)
{
	struct tick_pool *p = arg;
	struct ns_walk *w = p->w;
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (i >= tn.nwant)
			return NULL;
		if (!tn.want[i].visit)
			continue;
		__u32 ino = tn.want[i].ino;
		tn.want[i].ticked = 1; /* entry i is this thread's alone */
		__u64 t0 = now_ns();
		if (ino == w->s->netns_ino) {
			int err = tick_pass(w->s, w->link, ino); /* every thread starts in our namespace */
			if (err)
				fprintf(stderr, "flowlens-loader: iterating TCP sockets: %s\n", strerror(-err));
			__atomic_add_fetch(&w->visited, 1, __ATOMIC_RELAXED);
			tn.want[i].pass_ns = now_ns() - t0;
			continue;
		}
		struct ns_known *k = known(ino);
		if (!k) {
			tn.want[i].ticked = 0;
			continue;
		}
		int fd = open(k->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			tn.want[i].ticked = 0;
			continue; /* gone since tick_select checked: the next tick walks */
		}
		struct stat st;
		if (fstat(fd, &st) == 0 && (__u32)st.st_ino == ino)
			visit_fd(w, fd, k->path);
		else
			tn.want[i].ticked = 0;
		close(fd);
		tn.want[i].pass_ns = now_ns() - t0;
	}
}

/*
 * Tests: with FLOWLENS_LOADER_TICK_TRACE=FILE the loader appends one line per `tcp` tick to FILE,
 * `tick GEN INODE...`: the generation and the namespaces whose pass ran (agent/test/kernel/tick-quiet.test.ts),
 * then one `pass GEN INODE NS` line per pass with its wall time (bench:agent: how the passes share the threads).
 */
static void trace_tick(void)
{
	static const char *path;
	static int checked;
	if (!checked) {
		path = getenv("FLOWLENS_LOADER_TICK_TRACE");
		checked = 1;
	}
	FILE *f = path ? fopen(path, "a") : NULL;
	if (!f)
		return;
	fprintf(f, "tick %u", tn.gen);
	for (size_t i = 0; i < tn.nwant; i++)
		if (tn.want[i].ticked)
			fprintf(f, " %u", tn.want[i].ino);
	fprintf(f, "\n");
	for (size_t i = 0; i < tn.nwant; i++)
		if (tn.want[i].ticked)
			fprintf(f, "pass %u %u %llu\n", tn.gen, tn.want[i].ino, (unsigned long long)tn.want[i].pass_ns);
	fclose(f);
}

/* The namespaces tick tn.gen visits (tn.want[].visit, or tn.all: every one), chosen before the generation moves. */
static void tick_select(struct state *s)
{
	if (!tn.want) {
		tn.want = calloc(tn.max, sizeof(*tn.want));
		tn.known = calloc(tn.max, sizeof(*tn.known));
		tn.unseen = calloc(tn.max, sizeof(*tn.unseen));
		if (!tn.want || !tn.known || !tn.unseen)
			fail("cannot allocate the namespace tables");
	}
	tn.ticks++;
	tn.nwant = 0;
	__u32 key, *prev = NULL;
	/* a key deleted meanwhile (LRU) restarts the walk from the first key: duplicates are removed below */
	while (tn.nwant < tn.max && bpf_map_get_next_key(s->scope_netns_fd, prev, &key) == 0) {
		__u32 gen = tn.gen; /* deleted meanwhile: visited, as if noted now */
		bpf_map_lookup_elem(s->scope_netns_fd, &key, &gen);
		tn.want[tn.nwant] = (struct ns_want){ .ino = key, .gen = gen, .visit = 1, .ticked = 0 };
		prev = &tn.want[tn.nwant++].ino;
	}
	/* The LRU evicts before it is full: each CPU keeps up to 128 free entries of its own (LOCAL_FREE_TARGET) */
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	size_t slack = 128 * (size_t)(cpus > 0 ? cpus : 1);
	if (slack > tn.max / 2)
		slack = tn.max / 2;
	tn.all = tn.nwant + slack >= tn.max; /* the LRU may have lost some: visit every namespace */
	if (tn.all)
		return;
	qsort(tn.want, tn.nwant, sizeof(*tn.want), cmp_want);
	size_t u = 0;
	for (size_t i = 0; i < tn.nwant; i++)
		if (!u || tn.want[i].ino != tn.want[u - 1].ino)
			tn.want[u++] = tn.want[i];
	tn.nwant = u;

	int walk = 0;
	for (size_t i = 0; i < tn.nwant; i++) {
		struct ns_want *x = &tn.want[i];
		struct ns_unseen *un = unseen(x->ino);
		x->visit = gen_at_least(x->gen, tn.gen - 1) || un;
		if (!x->visit || x->ino == s->netns_ino || walk)
			continue;
		struct ns_known *k = known(x->ino);
		struct stat st;
		if (k)
			walk = stat(k->path, &st) || (__u32)st.st_ino != x->ino;
		else if (!un || x->gen != un->gen)
			walk = 1; /* new, or noted since the last walk found no path */
		else
			walk = tn.ticks - tn.walked_at >= FL_NETNS_RESCAN_TICKS;
	}
	if (walk)
		find_namespaces(s);
}

/* The tick's passes over the namespaces tick_select chose, up to FL_TICK_THREADS at once. */
static void tick_run(struct state *s)
{
	if (tn.all) {
		tn.visited = for_each_netns(s, s->tick_tcp_link, 0);
		return;
	}
	size_t nvisit = 0;
	for (size_t i = 0; i < tn.nwant; i++)
		nvisit += tn.want[i].visit;
	struct ns_walk w = { .s = s, .link = s->tick_tcp_link, .self_fd = self_netns_fd(), .tick = 1 };
	struct tick_pool pool = { .w = &w };
	size_t threads = nvisit < FL_TICK_THREADS ? nvisit : FL_TICK_THREADS;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (online > 0 && threads > (size_t)online)
		threads = (size_t)online;
	pthread_t tids[FL_TICK_THREADS];
	size_t started = 0;
	for (; started + 1 < threads; started++)
		if (pthread_create(&tids[started], NULL, tick_worker, &pool))
			break; /* fewer helpers: this thread does the rest */
	tick_worker(&pool);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	tn.visited = __atomic_load_n(&w.visited, __ATOMIC_RELAXED);
	trace_tick();
}

/* Tick tn.gen's namespaces are chosen: programs from now on note the next generation (collect, before the flip). */
static void tick_gen_advance(struct state *s)
{
	tn.gen++;
	__atomic_store_n(s->tick_gen, tn.gen, __ATOMIC_RELEASE);
}

static void tick_netns_stats(int *visited, unsigned long long *walks)
{
	*visited = tn.visited;
	*walks = tn.walks;
}

/* A `__u32` global of a loaded object's .bss, in the kernel's map mapped here (libbpf marks global data maps
 * mmapable; its own copy, bpf_map__initial_value, is the kernel's only in libbpf versions newer than Debian 12's):
 * a write is seen by the programs at once. */
static __u32 *bss_u32(struct bpf_object *obj, const char *var)
{
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);
		size_t len = strlen(name), sz = 0;
		if (!bpf_map__is_internal(map) || len < 4 || strcmp(name + len - 4, ".bss") != 0)
			continue;
		sz = bpf_map__value_size(map);
		long page = sysconf(_SC_PAGESIZE);
		size_t len_map = (sz + (size_t)page - 1) / (size_t)page * (size_t)page;
		char *data = mmap(NULL, len_map, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
		if (data == MAP_FAILED)
			fail("mapping the BPF object's .bss: %s", strerror(errno));
		struct btf *btf = bpf_object__btf(obj);
		int sec_id = btf ? btf__find_by_name_kind(btf, ".bss", BTF_KIND_DATASEC) : -1;
		if (!data || sec_id < 0)
			break;
		const struct btf_type *sec = btf__type_by_id(btf, sec_id);
		const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
		for (int i = 0; i < btf_vlen(sec); i++, vs++) {
			const struct btf_type *v = btf__type_by_id(btf, vs->type);
			if (strcmp(btf__name_by_offset(btf, v->name_off), var) == 0 && vs->size == sizeof(__u32) &&
			    vs->offset + sizeof(__u32) <= sz)
				return (__u32 *)(data + vs->offset);
		}
		break;
	}
	fail("no global %s in the BPF object's .bss", var);
	return NULL;
}

/* Write a `const volatile` global of `size` bytes before load (what a generated skeleton would do). */
static int set_rodata(struct bpf_object *obj, struct bpf_map *map, const char *var, const void *value, size_t size)
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
		if (strcmp(btf__name_by_offset(btf, v->name_off), var) != 0 || vs->size != size ||
		    vs->offset + size > sz)
			continue;
		char *copy = malloc(sz);
		if (!copy)
			return -1;
		memcpy(copy, initial, sz);
		memcpy(copy + vs->offset, value, size);
		int err = bpf_map__set_initial_value(map, copy, sz);
		free(copy);
		return err;
	}
	return -1;
}

static int set_rodata_u32(struct bpf_object *obj, struct bpf_map *map, const char *var, __u32 value)
{
	return set_rodata(obj, map, var, &value, sizeof(value));
}

/* ---- the node scope: the cgroup sock_ops is attached to (scope.bpf.h) ---- */

static struct {
	__u64 id;    /* the scope cgroup's id; 0: the cgroup-v2 root, no filtering */
	__u32 level; /* its depth below the cgroup-v2 root; ~0: unknown (seen through a cgroup namespace) */
} scope = { 0, ~0U };

/* A cgroup-v2 directory's id (its kernfs node id, what bpf_get_current_cgroup_id and kn->id give), or 0. */
static __u64 cgroup_id_of(int dirfd)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;
	if (name_to_handle_at(dirfd, "", &h.fh, &mount_id, AT_EMPTY_PATH) || h.fh.handle_bytes != sizeof(__u64))
		return 0;
	__u64 id;
	memcpy(&id, h.fh.f_handle, sizeof(id));
	return id;
}

/* The scope of `--cgroup DIR`: its id, and its depth when walking up reaches the cgroup-v2 root (id 1); through a
 * cgroup namespace (a pod of a kind node: the mount's root is the node's cgroup) the walk stops at the mount's root
 * first and the programs search the socket's ancestors instead. */
static void scope_init(const char *cgroup)
{
	int fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail("opening cgroup %s: %s", cgroup, strerror(errno));
	__u64 id = cgroup_id_of(fd);
	if (id == 0)
		fail("reading the id of cgroup %s (name_to_handle_at): %s; is it a cgroup-v2 directory?", cgroup,
		     strerror(errno));
	if (id == 1) {
		close(fd); /* the root: every socket of the kernel is the agent's */
		return;
	}
	scope.id = id;
	struct stat st;
	if (fstat(fd, &st))
		fail("stat %s: %s", cgroup, strerror(errno));
	for (__u32 depth = 1; depth <= 64; depth++) {
		struct stat up;
		int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || fstat(parent, &up) || up.st_dev != st.st_dev || up.st_ino == st.st_ino) {
			if (parent >= 0)
				close(parent);
			break; /* left the cgroup-v2 mount before its root: a cgroup namespace */
		}
		close(fd);
		fd = parent;
		st = up;
		if (cgroup_id_of(fd) == 1) {
			scope.level = depth;
			break;
		}
	}
	close(fd);
	if (scope.level == ~0U)
		fprintf(stderr, "flowlens-loader: scope: cgroup %s (id %llu, depth unknown: cgroup namespace)\n", cgroup,
			(unsigned long long)scope.id);
	else
		fprintf(stderr, "flowlens-loader: scope: cgroup %s (id %llu, depth %u)\n", cgroup,
			(unsigned long long)scope.id, scope.level);
}

/* The scope into an object's .rodata (a no-op at the root: the programs' defaults mean "no filtering"). */
static int set_scope_rodata(struct bpf_object *obj, struct bpf_map *rodata)
{
	if (!scope.id)
		return 0;
	return set_rodata(obj, rodata, "scope_cgroup_id", &scope.id, sizeof(scope.id)) ||
	       set_rodata_u32(obj, rodata, "scope_level", scope.level);
}

static void usage(void)
{
	fprintf(stderr, "usage: flowlens-loader --object FILE --cgroup DIR [--conntrack-object FILE] [--max-sockets N] "
			"[--max-flows N] [--sum-flows N] [--no-adopt] [--bpf-stats]\n");
	exit(2);
}

/* Opens the main object and sizes it from the command line. */
static struct bpf_object *open_object(const char *object, struct state *s)
{
	struct bpf_object *obj = bpf_object__open_file(object, NULL);
	if (!obj)
		fail("opening %s: %s", object, strerror(errno));
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
	{
		const char *name = bpf_map__name(map);
		if (strncmp(name, "flow_index_", 11) == 0 || strncmp(name, "flow_vals_", 10) == 0)
			bpf_map__set_max_entries(map, s->max_flows);
		if (strstr(name, ".rodata") && (set_rodata_u32(obj, map, "max_sockets", s->max_sockets) ||
						set_rodata_u32(obj, map, "max_flows", s->max_flows) ||
						set_rodata_u32(obj, map, "conn_by_state", (__u32)s->conn_by_state) ||
						set_scope_rodata(obj, map)))
			fail("cannot set max_sockets/max_flows/conn_by_state/scope in %s", object);
	}
	/* fl_state takes every connection: sock_ops is neither loaded nor attached */
	struct bpf_program *sockops = bpf_object__find_program_by_name(obj, "fl_sockops");
	if (s->conn_by_state && sockops)
		bpf_program__set_autoload(sockops, false);
	return obj;
}

static int map_fd(struct state *s, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(s->obj, name);
	if (fd < 0)
		fail("map %s missing from the BPF object", name);
	return fd;
}

static struct bpf_program *program(struct state *s, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(s->obj, name);
	if (!p)
		fail("program %s missing from the BPF object", name);
	return p;
}

/* conntrack.bpf.o beside the main object unless given. */
static char *sibling(const char *object, const char *name)
{
	const char *slash = strrchr(object, '/');
	size_t dir = slash ? (size_t)(slash - object + 1) : 0;
	char *p = malloc(dir + strlen(name) + 1);
	if (!p)
		fail("out of memory");
	memcpy(p, object, dir);
	strcpy(p + dir, name);
	return p;
}

/* enum skb_drop_reason of the running kernel: the reason names (never a table of our own, which would go stale) and
 * the value of SKB_CONSUMED (a packet consumed, not dropped), or ~0 when the kernel has none. */
static __u32 read_drop_reasons(struct fail_state *f, const struct btf *vmlinux, __u32 *unspecified, __u32 *purge)
{
	static const char prefix[] = "SKB_DROP_REASON_";
	__u32 consumed = ~0U;
	*unspecified = ~0U;
	*purge = ~0U;
	int id = btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM);
	if (id <= 0)
		return consumed;
	const struct btf_type *t = btf__type_by_id(vmlinux, id);
	const struct btf_enum *e = btf_enum(t);
	f->reasons = calloc(btf_vlen(t) + 1, sizeof(*f->reasons));
	if (!f->reasons)
		fail("out of memory");
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *name = btf__name_by_offset(vmlinux, e->name_off);
		if (!name)
			continue;
		if (strcmp(name, "SKB_CONSUMED") == 0)
			consumed = (__u32)e->val;
		if (strcmp(name, "SKB_DROP_REASON_NOT_SPECIFIED") == 0)
			*unspecified = (__u32)e->val;
		if (strcmp(name, "SKB_DROP_REASON_QUEUE_PURGE") == 0)
			*purge = (__u32)e->val;
		if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
			continue;
		name += sizeof(prefix) - 1;
		if (strcmp(name, "MAX") == 0 || strncmp(name, "SUBSYS_", 7) == 0)
			continue;
		struct drop_reason *r = &f->reasons[f->nreasons++];
		r->value = (__u32)e->val;
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	return consumed;
}

/*
 * drops.bpf.o, with flowlens.bpf.o's maps: the drop program and the two reset programs, all of them if the kernel
 * takes them, else the drop program alone, else the reset programs alone. Whatever fails, the agent runs on; the
 * failstats line says what is attached and the stderr log says why not.
 */
static void load_drops(struct state *s, const char *object)
{
	const char *progs[3] = { "fl_drop", "fl_rst_sent", "fl_rst_recv" };
	static const int configs[3][3] = { { 1, 1, 1 }, { 1, 0, 0 }, { 0, 1, 1 } };
	static const char *shared[] = { "flow_epoch", "sock_states", "fail_a", "fail_b", "fail_lost",
					"listen_ports", "scope_netns" };
	struct fail_state *f = &s->fail;
	f->fds[0] = map_fd(s, "fail_a");
	f->fds[1] = map_fd(s, "fail_b");
	f->lost_fd = map_fd(s, "fail_lost");
	f->listen_fd = map_fd(s, "listen_ports");
	f->drop_prog_fd = f->rst_prog_fds[0] = f->rst_prog_fds[1] = -1;
	f->keys = calloc(FL_FAIL_ENTRIES, sizeof(*f->keys));
	f->vals = calloc(FL_FAIL_ENTRIES, sizeof(*f->vals));
	if (!f->keys || !f->vals)
		fail("cannot allocate the failure drain buffers");
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		fprintf(stderr, "flowlens-loader: no kernel BTF (%s): drops and resets are not counted\n", strerror(errno));
		return;
	}
	__u32 unspecified, purge;
	__u32 consumed = read_drop_reasons(f, vmlinux, &unspecified, &purge);
	/* kfree_skb(skb, location, reason, rx_sk) from 6.11: the variant that reads the receiving socket */
	int id = btf__find_by_name_kind(vmlinux, "btf_trace_kfree_skb", BTF_KIND_TYPEDEF);
	const struct btf_type *t = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
	t = t ? btf__type_by_id(vmlinux, t->type) : NULL; /* pointer */
	t = t && btf_is_ptr(t) ? btf__type_by_id(vmlinux, t->type) : NULL;
	if (t && btf_is_func_proto(t) && btf_vlen(t) >= 5)
		progs[0] = "fl_drop_rx";
	btf__free(vmlinux);
	char *path = sibling(object, "drops.bpf.o");
	int last_err = 0;
	for (int c = 0; c < 3 && !f->obj; c++) {
		struct bpf_object *obj = bpf_object__open_file(path, NULL);
		if (!obj) {
			fprintf(stderr, "flowlens-loader: opening %s: %s: drops and resets are not counted\n", path,
				strerror(errno));
			break;
		}
		int ok = 1;
		struct bpf_program *p[3];
		struct bpf_program *unused = bpf_object__find_program_by_name(
			obj, strcmp(progs[0], "fl_drop") == 0 ? "fl_drop_rx" : "fl_drop");
		if (!unused || bpf_program__set_autoload(unused, false))
			ok = 0;
		for (int i = 0; i < 3; i++) {
			p[i] = bpf_object__find_program_by_name(obj, progs[i]);
			if (!p[i] || bpf_program__set_autoload(p[i], configs[c][i]))
				ok = 0;
		}
		for (size_t i = 0; ok && i < sizeof(shared) / sizeof(shared[0]); i++) {
			struct bpf_map *m = bpf_object__find_map_by_name(obj, shared[i]);
			if (!m || bpf_map__reuse_fd(m, map_fd(s, shared[i])))
				ok = 0;
		}
		struct bpf_map *map;
		bpf_object__for_each_map(map, obj)
			if (ok && strstr(bpf_map__name(map), ".rodata") &&
			    (set_rodata_u32(obj, map, "consumed_reason", consumed) ||
			     set_rodata_u32(obj, map, "unspecified_reason", unspecified) ||
			     set_rodata_u32(obj, map, "purge_reason", purge) || set_scope_rodata(obj, map)))
				ok = 0;
		quiet_libbpf = 1;
		if (!ok || bpf_object__load(obj)) {
			last_err = errno;
			quiet_libbpf = 0;
			bpf_object__close(obj);
			continue;
		}
		quiet_libbpf = 0;
		struct bpf_link *links[3] = {};
		for (int i = 0; i < 3; i++) {
			if (!configs[c][i])
				continue;
			links[i] = bpf_program__attach(p[i]);
			if (!links[i]) {
				last_err = errno;
				fprintf(stderr, "flowlens-loader: attaching %s: %s\n", progs[i], strerror(errno));
			}
		}
		if (links[1] && !links[2]) {
			bpf_link__destroy(links[1]);
			links[1] = NULL;
		}
		if (links[2] && !links[1]) {
			bpf_link__destroy(links[2]);
			links[2] = NULL;
		}
		if (!links[0] && !links[1]) {
			bpf_object__close(obj);
			continue;
		}
		f->obj = obj;
		f->drop_link = links[0];
		f->rst_links[0] = links[1];
		f->rst_links[1] = links[2];
		if (links[0])
			f->drop_prog_fd = bpf_program__fd(p[0]);
		if (links[1]) {
			f->rst_prog_fds[0] = bpf_program__fd(p[1]);
			f->rst_prog_fds[1] = bpf_program__fd(p[2]);
			__u32 zero = 0, one = 1;
			bpf_map_update_elem(map_fd(s, "rst_tp_attached"), &zero, &one, BPF_ANY);
		}
	}
	free(path);
	if (!f->drop_link)
		fprintf(stderr, "flowlens-loader: the kfree_skb tracepoint could not be used (%s): drops are not counted\n",
			strerror(last_err));
	if (!f->rst_links[0])
		fprintf(stderr, "flowlens-loader: the tcp reset tracepoints could not be used (%s): resets received are "
				"counted at close from the socket's error, resets sent are not counted\n", strerror(last_err));
}

/* Linux 6.7 added tcp_sock.total_rto; older kernels count RTOs with callbacks (flowlens.bpf.c, read_counters). */
static int kernel_has_total_rto(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int total_rto = 0;
	if (!vmlinux)
		return 0;
	int id = btf__find_by_name_kind(vmlinux, "tcp_sock", BTF_KIND_STRUCT);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(vmlinux, id);
		const struct btf_member *m = btf_members(t);
		for (int i = 0; i < btf_vlen(t); i++, m++)
			if (strcmp(btf__name_by_offset(vmlinux, m->name_off), "total_rto") == 0)
				total_rto = 1;
	}
	btf__free(vmlinux);
	return total_rto;
}

/*
 * Kernels without tcp_sock.total_rto: the RTOs that no RTO callback sees, counted by two programs of flowlens.bpf.o
 * that are not loaded with the others (SEC "?fentry"): fl_synack_timeout (a server's SYN-ACK timeouts, which
 * TCPTimeouts counts on the request socket) and fl_rto_timer (the RTOs of sockets adopted at start, and a Fast Open
 * server's SYN-ACK timeouts). Each is
 * loaded alone from a second copy of the object that uses the loaded object's maps, so a kernel that refuses one
 * costs nothing else. Optional: without it the agent runs on, and says so.
 */
static void load_rto_program(struct state *s, const char *object, const char *name, const char *missing)
{
	struct bpf_object *obj = bpf_object__open_file(object, NULL);
	if (!obj) {
		fprintf(stderr, "flowlens-loader: opening %s: %s: %s\n", object, strerror(errno), missing);
		return;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	int ok = prog != NULL;
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
		if (ok && bpf_program__set_autoload(p, p == prog))
			ok = 0;
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj)
	{
		struct bpf_map *own = ok ? bpf_object__find_map_by_name(s->obj, bpf_map__name(m)) : NULL;
		if (!own || bpf_map__reuse_fd(m, bpf_map__fd(own)))
			ok = 0;
	}
	struct bpf_link *link = NULL;
	if (ok && bpf_object__load(obj) == 0)
		link = bpf_program__attach(prog);
	if (!link) {
		fprintf(stderr, "flowlens-loader: %s unavailable (%s): %s\n", name, strerror(errno), missing);
		bpf_object__close(obj);
		return;
	}
	struct rto_program *r = &s->rto_progs[s->n_rto_progs++];
	r->obj = obj;
	r->link = link;
	r->fd = bpf_program__fd(prog);
}

static void load_rto_programs(struct state *s, const char *object)
{
	load_rto_program(s, object, "fl_synack_timeout",
			 "a server's SYN-ACK timeouts are not counted as RTOs on this kernel");
	load_rto_program(s, object, "fl_rto_timer",
			 "the RTOs of connections adopted at start and Fast Open SYN-ACK timeouts are not counted on this "
			 "kernel");
}

static void unload_drops(struct fail_state *f)
{
	bpf_link__destroy(f->drop_link);
	bpf_link__destroy(f->rst_links[0]);
	bpf_link__destroy(f->rst_links[1]);
	bpf_object__close(f->obj);
}

int main(int argc, char **argv)
{
	const char *object = NULL, *cgroup = NULL, *ct_object = NULL;
	int adopt = 1, bpf_stats = 0;
	__u32 sum_flows = 4096; /* distinct flows a tick sums before printing (flow_sum.h); more are printed alone */
	struct state s = { .max_flows = 16384, .max_sockets = 65536, .ct_prog_fd = -1, .ct_count_fd = -1, .nl_fd = -1,
			 .ct_fwd_lost_fd = -1, .stats_fd = -1, .fwd_lock = PTHREAD_MUTEX_INITIALIZER };
	static const struct option opts[] = {
		{ "object", required_argument, NULL, 'o' },
		{ "conntrack-object", required_argument, NULL, 'n' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "max-sockets", required_argument, NULL, 's' },
		{ "max-flows", required_argument, NULL, 'f' },
		{ "sum-flows", required_argument, NULL, 'S' },
		{ "no-adopt", no_argument, NULL, 'A' },
		{ "bpf-stats", no_argument, NULL, 'B' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': object = optarg; break;
		case 'n': ct_object = optarg; break;
		case 'c': cgroup = optarg; break;
		case 's': s.max_sockets = (__u32)strtoul(optarg, NULL, 10); break;
		case 'f': s.max_flows = (__u32)strtoul(optarg, NULL, 10); break;
		case 'S': sum_flows = (__u32)strtoul(optarg, NULL, 10); break;
		case 'A': adopt = 0; break;
		case 'B': bpf_stats = 1; break;
		default: usage();
		}
	}
	if (!object || !cgroup || s.max_flows == 0 || s.max_sockets == 0 || sum_flows == 0)
		usage();
	/* A fixed mmap threshold: glibc otherwise raises it to the size of the biggest block freed (libbpf's BTF buffers,
	 * megabytes), and the drain buffers allocated after loading would come from the heap, zeroed by calloc and so
	 * resident, instead of untouched zero pages; freed BTF buffers go back to the system at once too. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	s.ct_object = ct_object ? ct_object : sibling(object, "conntrack.bpf.o");
	scope_init(cgroup);
	struct stat self_ns;
	if (stat("/proc/self/ns/net", &self_ns))
		fail("reading /proc/self/ns/net: %s", strerror(errno));
	s.netns_ino = (__u32)self_ns.st_ino;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	libbpf_set_print(print_libbpf);

	/* Kernels with tcp_sock.total_rto (>= 6.7) need no RTO callback, and fl_state sees every state change already:
	 * there no sock_ops program runs at all (flowlens.bpf.c conn_state). Older kernels keep sock_ops. */
	int total_rto = kernel_has_total_rto();
	s.conn_by_state = total_rto;
	s.obj = open_object(object, &s);

	/* Kernel-side run time / count, only when asked (--bpf-stats): the key is kernel-wide, so while this fd is open
	 * every BPF program on the node is timed, not only ours (docs/agent.md "bpf_stats"). */
	if (bpf_stats) {
		s.stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (s.stats_fd < 0)
			fprintf(stderr, "flowlens-loader: bpf_stats unavailable (%s): run time not measured\n",
				strerror(errno));
	}

	/* Map iterators can be refused (EPERM) by a BPF LSM policy that allows iter/tcp: then tick with iter/tcp in
	 * every namespace instead (quietly first; a second failure prints the verifier log). */
	quiet_libbpf = 1;
	struct bpf_program *alt = bpf_object__find_program_by_name(s.obj, "fl_tick_tcp");
	if (alt)
		bpf_program__set_autoload(alt, false);
	int load_err = bpf_object__load(s.obj);
	quiet_libbpf = 0;
	if (load_err) {
		/* Only a refusal (EPERM) selects the fallback; any other failure is loaded again as it was, so the
		 * verifier log of the real problem is printed and the start fails. */
		bpf_object__close(s.obj);
		s.obj = open_object(object, &s);
		alt = bpf_object__find_program_by_name(s.obj, load_err == -EPERM ? "fl_tick" : "fl_tick_tcp");
		if (alt)
			bpf_program__set_autoload(alt, false);
		if (load_err == -EPERM)
			s.tick_mode = TICK_TCP;
		if (bpf_object__load(s.obj)) {
			int err = errno;
			fail("loading BPF programs failed: %s (%s). The verifier log is above on stderr.", strerror(err),
			     err == EPERM ? "need root or CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON+CAP_SYS_ADMIN" : "see log");
		}
	}

	struct bpf_program *prog = s.conn_by_state ? NULL : program(&s, "fl_sockops");
	struct bpf_program *state_prog = program(&s, "fl_state");
	struct bpf_program *tick_prog = program(&s, s.tick_mode == TICK_STORAGE ? "fl_tick" : "fl_tick_tcp");
	struct bpf_program *adopt_prog = program(&s, "fl_adopt");
	s.prog_fd = prog ? bpf_program__fd(prog) : -1;
	s.state_prog_fd = bpf_program__fd(state_prog);
	s.tick_prog_fd = bpf_program__fd(tick_prog);
	s.epoch_fd = map_fd(&s, "flow_epoch");
	s.sync_fd = map_fd(&s, "rcu_sync");
	s.sync_inner_fd = map_fd(&s, "rcu_sync_dummy");
	s.index_fds[0] = map_fd(&s, "flow_index_a");
	s.index_fds[1] = map_fd(&s, "flow_index_b");
	s.vals_fds[0] = map_fd(&s, "flow_vals_a");
	s.vals_fds[1] = map_fd(&s, "flow_vals_b");
	s.overflow_fds[0] = map_fd(&s, "flow_overflow_a");
	s.overflow_fds[1] = map_fd(&s, "flow_overflow_b");
	s.slot_next_fd = map_fd(&s, "slot_next");
	s.counters_fd = map_fd(&s, "counters");
	s.nat_fd = map_fd(&s, "nat_map");
	s.listeners_fd = map_fd(&s, "listeners");
	s.scope_netns_fd = map_fd(&s, "scope_netns");
	s.tick_since_fd = map_fd(&s, "tick_since");
	s.tick_gen = bss_u32(s.obj, "tick_gen");
	s.nat_any = bss_u32(s.obj, "nat_any");
	tn.max = bpf_map__max_entries(bpf_object__find_map_by_name(s.obj, "scope_netns"));
	s.late_mode_fd = map_fd(&s, "nat_late_mode");
	s.late_ring = ring_buffer__new(map_fd(&s, "late_ring"), late_record, &s, NULL);
	if (!s.late_ring)
		fail("cannot map the parked connections' ring: %s", strerror(errno));
	int storage_fd = map_fd(&s, "sock_states");
	s.fwd_fds[0] = map_fd(&s, "fwd_a");
	s.fwd_fds[1] = map_fd(&s, "fwd_b");
	s.fwd_keys = calloc(FL_FWD_ENTRIES, sizeof(*s.fwd_keys));
	s.fwd_vals = calloc(FL_FWD_ENTRIES, sizeof(*s.fwd_vals));
	if (!s.fwd_keys || !s.fwd_vals)
		fail("cannot allocate the forward table buffers");
	s.epoch = 0;
	s.keys = calloc(s.max_flows, sizeof(*s.keys));
	s.slots = calloc(s.max_flows, sizeof(*s.slots));
	s.indices = calloc(s.max_flows, sizeof(*s.indices));
	s.vals = calloc(s.max_flows, sizeof(*s.vals));
	s.zeros = calloc(s.max_flows, sizeof(*s.zeros)); /* untouched zero pages: costs no memory */
	s.ovf_keys = calloc(FL_OVERFLOW_ENTRIES, sizeof(*s.ovf_keys));
	s.ovf_vals = calloc(FL_OVERFLOW_ENTRIES, sizeof(*s.ovf_vals));
	s.late_vals = calloc(FL_LATE_ENTRIES, sizeof(*s.late_vals));
	if (!s.keys || !s.slots || !s.indices || !s.vals || !s.zeros || !s.ovf_keys || !s.ovf_vals || !s.late_vals)
		fail("cannot allocate drain buffers for %u flows", s.max_flows);
	for (__u32 i = 0; i < s.max_flows; i++)
		s.indices[i] = i;
	if (fl_sums_init(&s.sums, sum_flows))
		fail("cannot allocate the table summing %u flows per tick", sum_flows);

	/* The state tracepoint first, so a socket adopted below cannot close unseen (and, without sock_ops, every
	 * connection established from here on is registered before adoption looks for it). */
	s.state_link = bpf_program__attach(state_prog);
	if (!s.state_link)
		fail("attaching tp_btf/inet_sock_set_state: %s", strerror(errno));
	if (s.tick_mode == TICK_STORAGE) {
		union bpf_iter_link_info linfo_iter = { .map = { .map_fd = (__u32)storage_fd } };
		LIBBPF_OPTS(bpf_iter_attach_opts, iter_opts, .link_info = &linfo_iter,
			    .link_info_len = sizeof(linfo_iter));
		s.tick_link = bpf_program__attach_iter(tick_prog, &iter_opts);
		if (!s.tick_link)
			fail("attaching iter/bpf_sk_storage_map: %s", strerror(errno));
	} else {
		s.tick_tcp_link = bpf_program__attach_iter(tick_prog, NULL);
		if (!s.tick_tcp_link)
			fail("attaching iter/tcp (tick): %s", strerror(errno));
	}
	s.adopt_link = bpf_program__attach_iter(adopt_prog, NULL);
	if (!s.adopt_link)
		fail("attaching iter/tcp: %s", strerror(errno));

	if (prog) {
		int cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY);
		if (cg_fd < 0)
			fail("opening cgroup %s: %s", cgroup, strerror(errno));
		s.link = bpf_program__attach_cgroup(prog, cg_fd);
		if (!s.link)
			fail("attaching sock_ops to %s: %s", cgroup, strerror(errno));
		close(cg_fd);
	}
	load_drops(&s, object);
	if (!total_rto)
		load_rto_programs(&s, object);

	/* sock_ops (or fl_state) registers every connection established from now on; adopt the ones established before, with the
	 * translations the node's conntrack holds for them. */
	if (adopt)
		adopt_translations(&s);
	int netns_visited = adopt ? for_each_netns(&s, s.adopt_link, 1) : 0;
	bpf_link__destroy(s.adopt_link);
	s.adopt_link = NULL;

	quiet_libbpf = 1;
	try_conntrack(&s);
	quiet_libbpf = 0;
	try_netlink(&s);

	/* the program that registers connections, and its link: sock_ops on the cgroup, or fl_state */
	struct bpf_prog_info pinfo = {};
	__u32 plen = sizeof(pinfo);
	bpf_obj_get_info_by_fd(s.link ? s.prog_fd : s.state_prog_fd, &pinfo, &plen);
	struct bpf_link_info linfo = {};
	__u32 llen = sizeof(linfo);
	bpf_obj_get_info_by_fd(bpf_link__fd(s.link ? s.link : s.state_link), &linfo, &llen);
	/* Loading parsed the objects' BTF and the kernel's (~15 MB of heap, freed but kept by malloc): give it back,
	 * the loader lives as long as the agent (bench:agent: RSS 15.5 -> 4.3 MB). */
	malloc_trim(0);
	printf("ready %u %u %u %u %d %llu %d %s %s %d %s\n", pinfo.id, linfo.id, s.max_sockets, s.max_flows, total_rto,
	       (unsigned long long)counter(&s, FL_SOCKETS_ADOPTED), netns_visited,
	       s.tick_mode == TICK_STORAGE ? "storage" : "tcp", nat_source(&s), s.stats_fd >= 0,
	       s.link ? "sockops" : "state");
	fflush(stdout);

	char line[256];
	setvbuf(stdin, NULL, _IONBF, 0); /* ppoll() must see every pending line */
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	/* Between commands the loader sleeps until a line (or EOF) arrives: no timeout, so an idle loader never wakes
	 * (it woke every second before, for nothing). SIGTERM/SIGINT stay blocked except inside ppoll, which unblocks
	 * them atomically: one that arrives while a collect runs or just before ppoll is taken there (EINTR), never
	 * lost between the stop_requested check and the wait. Threads started from now on (the tick's workers)
	 * inherit the block; the netlink thread blocks every signal itself. */
	sigset_t stop_signals, wait_mask;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	while (!stop_requested) {
		int r = ppoll(&pfd, 1, NULL, &wait_mask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			continue;
		if (!fgets(line, sizeof(line), stdin))
			break; /* EOF: the agent is gone */
		if (strncmp(line, "collect", 7) == 0) {
			quiet_libbpf = 1;
			collect(&s);
			quiet_libbpf = 0;
		} else if (strncmp(line, "quit", 4) == 0)
			break;
		else {
			printf("error unknown command\n");
			fflush(stdout);
		}
	}

	bpf_link__destroy(s.link);
	bpf_link__destroy(s.state_link);
	bpf_link__destroy(s.tick_link);
	bpf_link__destroy(s.tick_tcp_link);
	bpf_link__destroy(s.ct_link);
	bpf_object__close(s.ct_obj);
	for (int i = 0; i < s.n_rto_progs; i++) {
		bpf_link__destroy(s.rto_progs[i].link);
		bpf_object__close(s.rto_progs[i].obj);
	}
	unload_drops(&s.fail);
	bpf_object__close(s.obj);
	if (s.stats_fd >= 0)
		close(s.stats_fd);
	printf("bye\n");
	fflush(stdout);
	return 0;
}
