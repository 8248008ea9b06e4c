// SPDX-License-Identifier: Apache-2.0
/*
 * flowlens-lossy: test helper that attaches lossy.bpf.o to the clsact ingress hook of one interface (run it
 * inside the interface's network namespace) and lets the test steer it over stdin:
 *   set <dropShare 0..1> <blackhole 0|1>   ->  ok
 *   syn <dropSyns> <holdMs>                ->  ok   drop the next dropSyns SYNs; once a SYN passes, drop every
 *                                                   other TCP packet for holdMs (0: off; both one shot)
 *   stats                                  ->  lossy <tcpPacketsSeen> <dropped> <synsDropped> <heldDropped>
 * stdin EOF, SIGTERM or SIGINT: detach the filter and exit 0.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lossy.h"

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: flowlens-lossy OBJECT DEV\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	unsigned ifindex = if_nametoindex(argv[2]);
	if (!ifindex) {
		printf("error no interface %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		printf("error loading %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "fl_lossy"));
	int cfg_fd = bpf_object__find_map_fd_by_name(obj, "lossy_config");

	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1, .prog_fd = prog_fd);
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		printf("error creating clsact on %s: %s\n", argv[2], strerror(-err));
		return 1;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		printf("error attaching to %s: %s\n", argv[2], strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	setvbuf(stdin, NULL, _IONBF, 0);

	char line[128];
	__u32 zero = 0;
	while (!stop_requested && fgets(line, sizeof(line), stdin)) {
		struct lossy_config cfg = {};
		bpf_map_lookup_elem(cfg_fd, &zero, &cfg);
		if (strncmp(line, "set ", 4) == 0) {
			double share = 0;
			unsigned blackhole = 0;
			if (sscanf(line + 4, "%lf %u", &share, &blackhole) != 2 || share < 0 || share > 1) {
				printf("error bad set\n");
			} else {
				cfg.drop_threshold = share >= 1 ? 0xffffffffu : (__u32)(share * 4294967296.0);
				cfg.blackhole = blackhole ? 1 : 0;
				/* counters are updated concurrently by the program; the lost-update window is harmless for a
				 * test knob (only the two settings matter) */
				if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
					printf("error update: %s\n", strerror(errno));
				else
					printf("ok\n");
			}
		} else if (strncmp(line, "syn ", 4) == 0) {
			unsigned syns = 0, hold_ms = 0;
			if (sscanf(line + 4, "%u %u", &syns, &hold_ms) != 2) {
				printf("error bad syn\n");
			} else {
				cfg.drop_syns = syns;
				cfg.hold_ms = hold_ms;
				cfg.hold_until_ns = 0;
				if (bpf_map_update_elem(cfg_fd, &zero, &cfg, BPF_ANY))
					printf("error update: %s\n", strerror(errno));
				else
					printf("ok\n");
			}
		} else if (strncmp(line, "stats", 5) == 0) {
			printf("lossy %llu %llu %llu %llu\n", (unsigned long long)cfg.seen, (unsigned long long)cfg.dropped,
			       (unsigned long long)cfg.syns_dropped, (unsigned long long)cfg.held);
		} else {
			printf("error unknown command\n");
		}
		fflush(stdout);
	}
	opts.flags = opts.prog_fd = opts.prog_id = 0;
	bpf_tc_detach(&hook, &opts);
	hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&hook);
	bpf_object__close(obj);
	return 0;
}
