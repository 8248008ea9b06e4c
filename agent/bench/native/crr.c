/*
 * crr: a native connect/request/response/close generator (netperf TCP_CRR's pattern; netperf is not in Debian
 * main). Used by `npm run bench:agent` for the new-connection rate with and without the agent.
 *
 *   crr server PORT RESPONSE_BYTES [WORKERS]        accept, read the request, write the response, close (forever)
 *   crr client HOST PORT SECONDS REQUEST_BYTES RESPONSE_BYTES [PROCS]
 *
 * The client prints one JSON line: {"connections":N,"seconds":S,"errors":E}. Each transaction is a new TCP
 * connection: connect, send REQUEST_BYTES, read RESPONSE_BYTES, close. The client closes first after reading the
 * response (as netperf does), so TIME_WAIT stays on the client (the bench sets tcp_tw_reuse in its namespace).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_full(int fd, size_t n) {
	while (n > 0) {
		ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (r <= 0)
			return -1;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (w <= 0)
			return -1;
		n -= (size_t)w;
	}
	return 0;
}

static int serve(int port, size_t resp, int workers) {
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4096)) {
		perror("crr server");
		return 1;
	}
	printf("{\"listening\":%d}\n", port);
	fflush(stdout);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < workers; i++)
		if (fork() == 0)
			break;
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		/* the request is one write from the client; read what arrives, then answer */
		ssize_t r = read(c, buf, sizeof(buf));
		if (r > 0)
			write_full(c, resp);
		close(c);
	}
}

static int client(const char *host, int port, double seconds, size_t req, size_t resp, int procs) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "crr client: bad IPv4 address %s\n", host);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	long *counts = mmap(NULL, 2 * sizeof(long) * procs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0 = now();
	for (int p = 0; p < procs; p++) {
		if (fork() != 0)
			continue;
		long ok = 0, errors = 0;
		double end = t0 + seconds;
		while (now() < end) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) || write_full(s, req) || read_full(s, resp)) {
				errors++;
				if (s >= 0)
					close(s);
				if (errors > 1000000)
					break;
				continue;
			}
			close(s);
			ok++;
		}
		counts[2 * p] = ok;
		counts[2 * p + 1] = errors;
		_exit(0);
	}
	while (wait(NULL) > 0)
		;
	double elapsed = now() - t0;
	long ok = 0, errors = 0;
	for (int p = 0; p < procs; p++) {
		ok += counts[2 * p];
		errors += counts[2 * p + 1];
	}
	printf("{\"connections\":%ld,\"seconds\":%.6f,\"errors\":%ld}\n", ok, elapsed, errors);
	return 0;
}

int main(int argc, char **argv) {
	memset(buf, 'x', sizeof(buf));
	if (argc >= 4 && !strcmp(argv[1], "server"))
		return serve(atoi(argv[2]), strtoul(argv[3], NULL, 10), argc > 4 ? atoi(argv[4]) : 1);
	if (argc >= 7 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atof(argv[4]), strtoul(argv[5], NULL, 10),
			      strtoul(argv[6], NULL, 10), argc > 7 ? atoi(argv[7]) : 1);
	fprintf(stderr, "usage: crr server PORT RESPONSE_BYTES [WORKERS]\n"
			"       crr client HOST PORT SECONDS REQUEST_BYTES RESPONSE_BYTES [PROCS]\n");
	return 2;
}
