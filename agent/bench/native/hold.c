/*
 * hold: opens and holds many idle TCP connections, so `npm run bench:agent` can measure what one collection tick
 * costs at 10,000 and 100,000 open sockets.
 *
 *   hold server PORT_BASE NPORTS        listen on PORT_BASE..PORT_BASE+NPORTS-1, accept and keep every connection
 *   hold client HOST PORT_BASE NPORTS N open N connections spread over the ports (fewer if the machine runs out:
 *                                       it stops at the first failure), print {"connected":N}, then keep them
 *                                       until stdin closes (and exit, which closes them all)
 *
 * Both raise RLIMIT_NOFILE as far as they may (to fs.nr_open, or the hard limit without CAP_SYS_RESOURCE) and
 * print the limit they got on stderr; the bench runs several client/server pairs when one process cannot hold
 * them all. One client address reaches one server address and port through at most ~64,000 local ports.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void raise_nofile(void) {
	long max = 1048576;
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 1048576;
		fclose(f);
	}
	struct rlimit r = {.rlim_cur = (rlim_t)max, .rlim_max = (rlim_t)max};
	if (setrlimit(RLIMIT_NOFILE, &r)) {
		getrlimit(RLIMIT_NOFILE, &r);
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	getrlimit(RLIMIT_NOFILE, &r);
	fprintf(stderr, "hold: RLIMIT_NOFILE %lu\n", (unsigned long)r.rlim_cur);
}

static int serve(int base, int nports) {
	int ep = epoll_create1(0);
	for (int i = 0; i < nports; i++) {
		int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int one = 1;
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(base + i), .sin_addr.s_addr = INADDR_ANY};
		if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 65535)) {
			perror("hold server");
			return 1;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
		epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	}
	printf("{\"listening\":%d}\n", nports);
	fflush(stdout);
	long held = 0;
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			for (;;) {
				int c = accept4(evs[i].data.fd, NULL, NULL, SOCK_NONBLOCK);
				if (c < 0) {
					if (errno == EMFILE || errno == ENFILE) {
						fprintf(stderr, "hold server: out of file descriptors at %ld\n", held);
						return 1;
					}
					break;
				}
				held++;
			}
		}
	}
}

static int client(const char *host, int base, int nports, long n) {
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "hold client: bad IPv4 address %s\n", host);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		a.sin_port = htons(base + (int)(i % nports));
		int s = socket(AF_INET, SOCK_STREAM, 0);
		/* close with RST when done: no TIME_WAIT left behind for the next measurement to visit */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		if (s >= 0)
			setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
			/* the most this machine holds: report it and keep what is open */
			fprintf(stderr, "hold client: connection %ld: %s\n", i, strerror(errno));
			n = i;
			break;
		}
	}
	printf("{\"connected\":%ld}\n", n);
	fflush(stdout);
	char c;
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

int main(int argc, char **argv) {
	raise_nofile();
	if (argc >= 4 && !strcmp(argv[1], "server"))
		return serve(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 6 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]), atol(argv[5]));
	fprintf(stderr, "usage: hold server PORT_BASE NPORTS\n       hold client HOST PORT_BASE NPORTS N\n");
	return 2;
}
