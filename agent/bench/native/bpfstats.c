// SPDX-License-Identifier: Apache-2.0
/*
 * bpfstats: the kernel's bpf_stats switch (BPF_ENABLE_STATS), held, probed and priced. Raw bpf(2) calls, no libbpf,
 * so it builds with the system C compiler like the bench's other tools (bench/lib/native.ts). Needs CAP_SYS_ADMIN.
 *
 *   bpfstats hold             enables run-time stats (fd-scoped BPF_ENABLE_STATS), prints `on`, keeps them on until
 *                             stdin reaches EOF (or the process dies: the kernel drops the fd), then exits 0
 *   bpfstats probe            is the kernel's accounting on right now, for anyone? Loads `r0 = 0; exit` as a socket
 *                             filter, runs it once with BPF_PROG_TEST_RUN (bpf_prog_run: the same accounting every
 *                             program gets) and reads its run_cnt back (BPF_OBJ_GET_INFO_BY_FD): prints
 *                             {"statsOn":true|false}
 *   bpfstats cost PAIRS REPEAT  what the accounting costs per program run: PAIRS pairs of BPF_PROG_TEST_RUN with
 *                             REPEAT runs each of the same trivial program, one with stats off and one with them
 *                             on (this tool holding them), the order alternating; ns per run from the wall clock
 *                             around each batch. One JSON line: the per-pair differences' median is statsNsPerRun.
 *                             offValid false: someone else held stats during an "off" batch (its run_cnt grew), so
 *                             the difference means nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int enable_stats(void)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.enable_stats.type = BPF_STATS_RUN_TIME;
	return (int)sys_bpf(BPF_ENABLE_STATS, &attr);
}

static int load_trivial(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	strncpy(attr.prog_name, "fl_statsprobe", sizeof(attr.prog_name) - 1);
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0) {
		printf("{\"error\":\"loading a trivial program: %s\"}\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* Runs the program `repeat` times in the kernel; ns per run of this thread's CPU time (the syscall's system time:
 * time spent scheduled out on this shared machine does not count; interrupts and steal may). *kernel_ns: the
 * kernel's own figure (test.duration, whole ns per run). */
static double test_run(int fd, uint32_t repeat, uint32_t *kernel_ns)
{
	unsigned char pkt[64] = { 0 };
	pkt[12] = 0x08; /* ETH_P_IP: the skb test run wants at least an Ethernet header */
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = fd;
	attr.test.data_in = (uint64_t)(uintptr_t)pkt;
	attr.test.data_size_in = sizeof(pkt);
	attr.test.repeat = repeat;
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	if (sys_bpf(BPF_PROG_TEST_RUN, &attr)) {
		printf("{\"error\":\"BPF_PROG_TEST_RUN: %s\"}\n", strerror(errno));
		exit(1);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	if (kernel_ns)
		*kernel_ns = attr.test.duration;
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / repeat;
}

static uint64_t run_cnt(int fd)
{
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr)) {
		printf("{\"error\":\"BPF_OBJ_GET_INFO_BY_FD: %s\"}\n", strerror(errno));
		exit(1);
	}
	return info.run_cnt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_list(const char *name, const double *v, int n)
{
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++)
		printf("%s%.2f", i ? "," : "", v[i]);
	printf("]");
}

static int cost(int pairs, uint32_t repeat)
{
	int fd = load_trivial();
	double *off = calloc(pairs, sizeof(double)), *on = calloc(pairs, sizeof(double)),
	       *diff = calloc(pairs, sizeof(double)), *kdiff = calloc(pairs, sizeof(double));
	uint32_t kon = 0, koff = 0;
	int off_valid = 1;
	test_run(fd, repeat / 10 + 1, NULL); /* warm-up */
	for (int i = 0; i < pairs; i++) {
		for (int k = 0; k < 2; k++) {
			int stats_on = (i + k) % 2; /* alternate which side of a pair goes first */
			if (stats_on) {
				int sfd = enable_stats();
				if (sfd < 0) {
					printf("{\"error\":\"BPF_ENABLE_STATS: %s\"}\n", strerror(errno));
					return 1;
				}
				on[i] = test_run(fd, repeat, &kon);
				close(sfd);
			} else {
				uint64_t c0 = run_cnt(fd);
				off[i] = test_run(fd, repeat, &koff);
				if (run_cnt(fd) != c0)
					off_valid = 0;
			}
		}
		diff[i] = on[i] - off[i];
		kdiff[i] = (double)kon - (double)koff;
	}
	printf("{");
	print_list("offNsPerRun", off, pairs);
	printf(",");
	print_list("onNsPerRun", on, pairs);
	double d = median(diff, pairs), mo = median(off, pairs), mn = median(on, pairs), kd = median(kdiff, pairs);
	printf(",\"medianOffNs\":%.2f,\"medianOnNs\":%.2f,\"statsNsPerRun\":%.2f,\"kernelDurationDiffNs\":%.1f,"
	       "\"pairs\":%d,\"repeat\":%u,\"clock\":\"thread CPU time\",\"offValid\":%s}\n",
	       mo, mn, d, kd, pairs, repeat, off_valid ? "true" : "false");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "hold") == 0) {
		int fd = enable_stats();
		if (fd < 0) {
			printf("error BPF_ENABLE_STATS: %s\n", strerror(errno));
			return 1;
		}
		printf("on\n");
		char buf[256];
		while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
			;
		close(fd);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "probe") == 0) {
		int fd = load_trivial();
		uint64_t c0 = run_cnt(fd);
		test_run(fd, 1, NULL);
		printf("{\"statsOn\":%s}\n", run_cnt(fd) > c0 ? "true" : "false");
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "cost") == 0) {
		int pairs = atoi(argv[2]);
		long repeat = atol(argv[3]);
		if (pairs < 1 || pairs > 1000 || repeat < 1 || repeat > 100000000) {
			fprintf(stderr, "bpfstats: cost PAIRS (1-1000) REPEAT (1-100000000)\n");
			return 2;
		}
		return cost(pairs, (uint32_t)repeat);
	}
	fprintf(stderr, "usage: bpfstats hold | probe | cost PAIRS REPEAT\n");
	return 2;
}
