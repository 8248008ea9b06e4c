/*
 * tpcount: counts a kernel tracepoint's hits on every CPU, the way `perf stat -a -e GROUP:NAME` does
 * (perf_event_open, PERF_TYPE_TRACEPOINT), without the perf package. Used by `npm run bench:agent` as the ground
 * truth for the drop hook: the kernel's own count of skb:kfree_skb events in a window.
 *
 *   tpcount GROUP NAME        prints "ready"; then, for every line read on stdin, the running total (one number
 *                             per line); exits at end of input.
 *
 * The tracepoint's id is read from tracefs (/sys/kernel/tracing, or /sys/kernel/debug/tracing).
 */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long tracepoint_id(const char *group, const char *name)
{
	const char *roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	for (unsigned i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/events/%s/%s/id", roots[i], group, name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		long id = -1;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
		if (id >= 0)
			return id;
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: tpcount GROUP NAME\n");
		return 2;
	}
	long id = tracepoint_id(argv[1], argv[2]);
	if (id < 0) {
		fprintf(stderr, "tpcount: no tracepoint %s:%s in tracefs (is tracefs mounted?)\n", argv[1], argv[2]);
		return 1;
	}
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	int *fds = calloc(cpus, sizeof(int));
	int opened = 0;
	for (long cpu = 0; cpu < cpus; cpu++) {
		struct perf_event_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.size = sizeof(attr);
		attr.type = PERF_TYPE_TRACEPOINT;
		attr.config = (uint64_t)id;
		fds[cpu] = (int)syscall(SYS_perf_event_open, &attr, -1, (int)cpu, -1, 0);
		if (fds[cpu] >= 0)
			opened++;
	}
	if (!opened) {
		perror("tpcount: perf_event_open");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof(line), stdin)) {
		uint64_t total = 0;
		for (long cpu = 0; cpu < cpus; cpu++) {
			uint64_t n = 0;
			if (fds[cpu] >= 0 && read(fds[cpu], &n, sizeof(n)) == (ssize_t)sizeof(n))
				total += n;
		}
		printf("%llu\n", (unsigned long long)total);
		fflush(stdout);
	}
	return 0;
}
