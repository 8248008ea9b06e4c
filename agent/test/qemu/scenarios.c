// SPDX-License-Identifier: Apache-2.0
/*
 * flowlens-vm-scenarios: runs the kernel suite's scenarios inside a qemu VM (agent/test/qemu/init.sh starts it)
 * and prints everything the host needs on stdout (the serial console), one line each, prefixed "FLVM ":
 *
 *   FLVM loader <line>                  a line flowlens-loader printed (ready, flow, stats, end, error), verbatim;
 *                                       the host parses them with agent/src/bpf/protocol.ts
 *   FLVM collect <scenario> <phase>     the loader lines that follow answer one `collect`
 *   FLVM proc <scenario> <client|server> <before|after> <line>
 *                                       one line of /proc/net/snmp or /proc/net/netstat of that namespace
 *   FLVM truth <scenario> <json>        what the generator itself sent and received (bytes, connections)
 *   FLVM error <scenario> <message>     the scenario could not run
 *   FLVM stderr <line>                  the loader's stderr (libbpf, verifier), at the end
 *
 * It is a traffic generator and a counter reader, nothing else: it never interprets the loader's numbers.
 * Client sockets live in the client namespace, servers in the server namespace (each thread enters its own with
 * setns), the loader in the VM's initial namespace. Scenarios run one after another, so each namespace's counter
 * delta belongs to one scenario.
 *
 * usage: flowlens-vm-scenarios --client-ns PATH --server-ns PATH --server-dev DEV --lossy PATH --lossy-object PATH
 *          [--only NAME,...] -- LOADER ARGS...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/tcp.h>

/* Every descriptor is close-on-exec: a socket inherited by the loader or the loss injector would stay open after
 * the scenario closed it, and its FIN would never leave. */
#define CLIENT_V4 "10.77.0.1"
#define SERVER_V4 "10.77.0.2"
#define SERVER_V6 "fd77::2"

static int root_ns, client_ns, server_ns;
static const char *server_dev, *lossy_path, *lossy_object, *only;
static char **loader_argv;
static FILE *loader_in, *loader_out;
static pid_t loader_pid;
static const char *loader_err = "/tmp/loader.stderr";

static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FLVM ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int enter(int ns)
{
	return setns(ns, CLONE_NEWNET);
}

/* ---- counters: /proc/net/snmp and /proc/net/netstat of one namespace, relayed verbatim ---- */

static void relay_file(const char *path, const char *scenario, const char *side, const char *when)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	if (!f) {
		out("error %s cannot read %s: %s", scenario, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		out("proc %s %s %s %s", scenario, side, when, line);
	}
	fclose(f);
}

static void counters(const char *scenario, const char *when)
{
	const struct {
		int *ns;
		const char *side;
	} sides[] = { { &client_ns, "client" }, { &server_ns, "server" } };
	for (unsigned i = 0; i < 2; i++) {
		enter(*sides[i].ns);
		relay_file("/proc/thread-self/net/snmp", scenario, sides[i].side, when);
		relay_file("/proc/thread-self/net/netstat", scenario, sides[i].side, when);
	}
	enter(root_ns);
}

/* A port settle() leaves alone (0: none): a connection held open across scenarios. */
static unsigned skip_port;

/* How many TCP sockets of the calling thread's namespace are still in a state that may send (anything but LISTEN
 * and TIME_WAIT): a FIN retransmitted after the counters were read would be counted by one side only. */
static int busy_sockets(void)
{
	static const char *files[] = { "/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6" };
	int busy = 0;
	for (unsigned i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");
		char line[512];
		if (!f)
			continue;
		while (fgets(line, sizeof line, f)) {
			unsigned state, lport, rport;
			if (sscanf(line, " %*s %*[^:]:%x %*[^:]:%x %x", &lport, &rport, &state) != 3)
				continue;
			/* adoptedrto's connection stays open, idle, from before the loader until its scenario */
			if (skip_port && (lport == skip_port || rport == skip_port))
				continue;
			if (state != 0x0A && state != 0x06)
				busy++;
		}
		fclose(f);
	}
	return busy;
}

/* Waits (up to 20 s) until no socket of either namespace can still send: every scenario's numbers are final. */
static int settle(const char *scenario)
{
	long deadline = now_ms() + 20000;
	int busy;
	do {
		enter(client_ns);
		busy = busy_sockets();
		enter(server_ns);
		busy += busy_sockets();
		enter(root_ns);
		if (busy == 0)
			return 0;
		sleep_ms(20);
	} while (now_ms() < deadline);
	out("error %s %d sockets still closing after 20 s", scenario, busy);
	return -1;
}

static void set_sysctl(int ns, const char *path, const char *value)
{
	enter(ns);
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		out("error setup %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	enter(root_ns);
}

/* Runs a program inside a namespace and waits for it; returns its exit status (or -1). */
static int run_in(int ns, char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		if (enter(ns))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the loader: spawned once, driven with `collect`, every output line relayed ---- */

static int start_loader(void)
{
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC))
		return -1;
	loader_pid = fork();
	if (loader_pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		int err = open(loader_err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (err >= 0)
			dup2(err, 2);
		close(in[1]);
		close(outp[0]);
		execv(loader_argv[0], loader_argv);
		printf("error exec %s: %s\n", loader_argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	loader_in = fdopen(in[1], "w");
	loader_out = fdopen(outp[0], "r");
	char line[4096];
	if (!fgets(line, sizeof line, loader_out)) {
		out("loader error loader closed its output before 'ready'");
		return -1;
	}
	line[strcspn(line, "\n")] = 0;
	out("loader %s", line);
	return strncmp(line, "ready", 5) == 0 ? 0 : -1;
}

/* One `collect`: relays the answer up to and including `end` (or an error). */
static int collect(const char *scenario, const char *phase)
{
	char line[4096];
	if (!loader_in)
		return -1;
	out("collect %s %s", scenario, phase);
	fprintf(loader_in, "collect\n");
	fflush(loader_in);
	while (fgets(line, sizeof line, loader_out)) {
		line[strcspn(line, "\n")] = 0;
		out("loader %s", line);
		if (strcmp(line, "end") == 0)
			return 0;
		if (strncmp(line, "error", 5) == 0)
			return -1;
	}
	out("loader error loader exited during collect");
	return -1;
}

static void stop_loader(void)
{
	char line[4096];
	if (!loader_in)
		return;
	fclose(loader_in);
	loader_in = NULL;
	while (fgets(line, sizeof line, loader_out)) {
		line[strcspn(line, "\n")] = 0;
		out("loader %s", line);
	}
	int status = 0;
	waitpid(loader_pid, &status, 0);
	out("loader-exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	FILE *f = fopen(loader_err, "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			line[strcspn(line, "\n")] = 0;
			out("stderr %s", line);
		}
		fclose(f);
	}
}

/* ---- the loss injector (flowlens-lossy on the server's veth ingress) ---- */

static FILE *lossy_in, *lossy_out;

static int lossy_command(const char *cmd)
{
	char line[256];
	fprintf(lossy_in, "%s\n", cmd);
	fflush(lossy_in);
	if (!fgets(line, sizeof line, lossy_out))
		return -1;
	return strncmp(line, "error", 5) == 0 ? -1 : 0;
}

static int start_lossy(void)
{
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[1]);
		close(outp[0]);
		if (enter(server_ns))
			_exit(126);
		execl(lossy_path, lossy_path, lossy_object, server_dev, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	lossy_in = fdopen(in[1], "w");
	lossy_out = fdopen(outp[0], "r");
	char line[256];
	if (!fgets(line, sizeof line, lossy_out) || strncmp(line, "ready", 5) != 0) {
		out("error lossy flowlens-lossy did not start: %s", line);
		return -1;
	}
	return 0;
}

/* ---- traffic ---- */

static char pattern[1 << 16];

struct peer {
	/* configuration */
	int family;
	int port;
	int count;       /* connections, one after another */
	long bytes;      /* client: bytes to send (connection i sends bytes + i * step); server (source): bytes to send */
	long step;
	long reply;      /* server: bytes answered after reading to EOF */
	long chunk;      /* paced sending: chunk bytes every pace_ms */
	long pace_ms;
	int hold;        /* keep the connection open until `release` */
	int source;      /* server sends `bytes` after accepting, client reads them */
	int fastopen;    /* client: data in the SYN (MSG_FASTOPEN); server: TCP_FASTOPEN on the listener */
	const char *dst_ip; /* client: connect here instead of the server's address and port (a translated address) */
	int dst_port;
	const char *src_ip; /* client: bind this source address first (the node's own address) */
	/* state */
	int listen_fd;
	int fd;          /* the held connection */
	atomic_int arrived; /* hold: all bytes moved */
	atomic_int release;
	atomic_int connected;
	/* results */
	long sent, received, connections;
	char error[200];
	pthread_t thread;
};

static void peer_error(struct peer *p, const char *what)
{
	if (!p->error[0])
		snprintf(p->error, sizeof p->error, "%s: %s", what, strerror(errno));
}

static int write_all(struct peer *p, int fd, long n)
{
	while (n > 0) {
		long len = p->chunk > 0 && p->chunk < (long)sizeof pattern ? p->chunk : (long)sizeof pattern;
		if (len > n)
			len = n;
		ssize_t w = send(fd, pattern, len, MSG_NOSIGNAL);
		if (w <= 0) {
			peer_error(p, "send");
			return -1;
		}
		p->sent += w;
		n -= w;
		if (p->pace_ms > 0)
			sleep_ms(p->pace_ms);
	}
	return 0;
}

/* Reads up to `limit` bytes (or to EOF when limit < 0). */
static long read_some(struct peer *p, int fd, long limit)
{
	char buf[1 << 16];
	long got = 0;
	while (limit < 0 || got < limit) {
		size_t want = sizeof buf;
		if (limit >= 0 && (long)want > limit - got)
			want = limit - got;
		ssize_t r = recv(fd, buf, want, 0);
		if (r == 0)
			break;
		if (r < 0) {
			peer_error(p, "recv");
			return -1;
		}
		got += r;
	}
	p->received += got;
	return got;
}

static __u64 bytes_acked(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return 0;
	return ti.tcpi_bytes_acked;
}

/* Until the peer acknowledged every byte this socket sent: the sender's own counters are final. */
static void wait_acked(int fd, long n)
{
	long deadline = now_ms() + 60000;
	while ((long)bytes_acked(fd) < n && now_ms() < deadline)
		sleep_ms(5);
}

static void wait_release(struct peer *p)
{
	while (!atomic_load(&p->release))
		sleep_ms(5);
}

static void timeouts(int fd)
{
	struct timeval tv = { 60, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static socklen_t address(int family, const char *ip, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		return sizeof *a;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
	return sizeof *a;
}

static void *server_main(void *arg)
{
	struct peer *p = arg;
	enter(server_ns);
	for (int i = 0; i < p->count; i++) {
		int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			peer_error(p, "accept");
			break;
		}
		timeouts(fd);
		p->connections++;
		if (p->source) {
			if (write_all(p, fd, p->bytes) == 0)
				wait_acked(fd, p->bytes);
			atomic_store(&p->arrived, 1);
			if (p->hold)
				wait_release(p);
			shutdown(fd, SHUT_WR);
			read_some(p, fd, -1);
		} else if (p->hold) {
			read_some(p, fd, p->bytes);
			atomic_store(&p->arrived, 1);
			wait_release(p);
			read_some(p, fd, -1);
		} else {
			read_some(p, fd, -1);
			write_all(p, fd, p->reply);
		}
		close(fd);
	}
	close(p->listen_fd);
	return NULL;
}

static int server_start(struct peer *p)
{
	struct sockaddr_storage ss;
	enter(server_ns);
	p->listen_fd = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (p->fastopen) {
		int qlen = 16;
		setsockopt(p->listen_fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen);
	}
	socklen_t len = address(p->family, p->family == AF_INET6 ? "::" : "0.0.0.0", p->port, &ss);
	int err = bind(p->listen_fd, (struct sockaddr *)&ss, len) || listen(p->listen_fd, 64);
	enter(root_ns);
	if (err) {
		peer_error(p, "listen");
		return -1;
	}
	return pthread_create(&p->thread, NULL, server_main, p);
}

static void *client_main(void *arg)
{
	struct peer *p = arg;
	struct sockaddr_storage ss;
	const char *ip = p->dst_ip ? p->dst_ip : p->family == AF_INET6 ? SERVER_V6 : SERVER_V4;
	socklen_t len = address(p->family, ip, p->dst_ip ? p->dst_port : p->port, &ss);
	enter(client_ns);
	for (int i = 0; i < p->count; i++) {
		long n = p->bytes + i * p->step;
		int fd = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		timeouts(fd);
		if (p->src_ip) {
			struct sockaddr_storage src;
			socklen_t slen = address(p->family, p->src_ip, 0, &src);
			if (bind(fd, (struct sockaddr *)&src, slen)) {
				peer_error(p, "bind");
				close(fd);
				break;
			}
		}
		if (p->fastopen) {
			long first = n < 1000 ? n : 1000;
			ssize_t w = sendto(fd, pattern, first, MSG_FASTOPEN | MSG_NOSIGNAL, (struct sockaddr *)&ss, len);
			if (w < 0) {
				peer_error(p, "sendto(MSG_FASTOPEN)");
				close(fd);
				break;
			}
			p->sent += w;
			n -= w;
		} else if (connect(fd, (struct sockaddr *)&ss, len)) {
			peer_error(p, "connect");
			close(fd);
			break;
		}
		p->connections++;
		atomic_store(&p->connected, 1);
		if (write_all(p, fd, n) == 0) {
			shutdown(fd, SHUT_WR);
			read_some(p, fd, -1);
		}
		close(fd);
	}
	return NULL;
}

static int client_start(struct peer *p)
{
	return pthread_create(&p->thread, NULL, client_main, p);
}

/* A connection made by the calling thread, in the client namespace (the socket stays there). */
static int client_connect(struct peer *p)
{
	struct sockaddr_storage ss, src;
	const char *ip = p->dst_ip ? p->dst_ip : p->family == AF_INET6 ? SERVER_V6 : SERVER_V4;
	socklen_t len = address(p->family, ip, p->dst_ip ? p->dst_port : p->port, &ss);
	socklen_t slen = p->src_ip ? address(p->family, p->src_ip, 0, &src) : 0;
	enter(client_ns);
	int fd = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err = fd < 0 || (slen && bind(fd, (struct sockaddr *)&src, slen)) || connect(fd, (struct sockaddr *)&ss, len);
	enter(root_ns);
	if (err) {
		peer_error(p, "connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	timeouts(fd);
	p->connections++;
	return fd;
}

static void truth(const char *scenario, struct peer *c, struct peer *s, const char *extra)
{
	out("truth %s {\"clientSent\":%ld,\"clientReceived\":%ld,\"serverSent\":%ld,\"serverReceived\":%ld,"
	    "\"clientConnections\":%ld,\"serverConnections\":%ld%s}",
	    scenario, c->sent, c->received, s->sent, s->received, c->connections, s->connections, extra);
}

static int errors(const char *scenario, struct peer *c, struct peer *s)
{
	if (!c->error[0] && !s->error[0])
		return 0;
	out("error %s client: %s; server: %s", scenario, c->error[0] ? c->error : "ok", s->error[0] ? s->error : "ok");
	return -1;
}

static int wait_flag(atomic_int *flag, long ms)
{
	long deadline = now_ms() + ms;
	while (!atomic_load(flag)) {
		if (now_ms() > deadline)
			return -1;
		sleep_ms(5);
	}
	return 0;
}

/* Waits for both ends and for every socket to finish closing, prints the generator's numbers and the counters after. */
static int finish(const char *scenario, struct peer *c, struct peer *s)
{
	if (c->thread)
		pthread_join(c->thread, NULL);
	pthread_join(s->thread, NULL);
	int unsettled = settle(scenario);
	truth(scenario, c, s, "");
	counters(scenario, "after");
	collect(scenario, "end");
	return errors(scenario, c, s) | unsettled;
}

/* `count` connections one after another: connection i sends bytes + i * step, the server answers reply. */
static int exchange(const char *name, int family, int port, int count, long bytes, long step, long reply,
		    int fastopen)
{
	struct peer s = { .family = family, .port = port, .count = count, .reply = reply, .fastopen = fastopen };
	struct peer c = {
		.family = family, .port = port, .count = count, .bytes = bytes, .step = step, .fastopen = fastopen
	};
	counters(name, "before");
	if (server_start(&s) || client_start(&c)) {
		out("error %s cannot start: %s", name, s.error);
		return -1;
	}
	return finish(name, &c, &s);
}

/* ---- the scenarios ---- */

/*
 * A connection that carried 1000 bytes before the loader started, then exactly 3,000,000 bytes after the loader's
 * first tick. Starts the loader (every later scenario runs with it).
 */
static int preexisting(void)
{
	const char *name = "preexisting";
	struct peer s = { .family = AF_INET, .port = 5001, .count = 1 };
	struct peer c = { .family = AF_INET, .port = 5001, .count = 1 };
	counters(name, "before");
	if (server_start(&s))
		return errors(name, &c, &s);
	int fd = client_connect(&c);
	if (fd < 0 || write_all(&c, fd, 1000))
		return errors(name, &c, &s);
	wait_acked(fd, 1000);
	if (start_loader()) {
		out("error %s the loader did not start", name);
		return -1;
	}
	collect(name, "adopt");
	c.sent = 0;
	if (write_all(&c, fd, 3000000) == 0) {
		wait_acked(fd, 3001000);
		shutdown(fd, SHUT_WR);
		read_some(&c, fd, -1);
	}
	close(fd);
	pthread_join(s.thread, NULL);
	int unsettled = settle(name);
	truth(name, &c, &s, ",\"clientSentBeforeLoader\":1000");
	counters(name, "after");
	collect(name, "end");
	return errors(name, &c, &s) | unsettled;
}

/*
 * An upload whose server only reads, and a download whose client only reads, both held open: one collect while
 * they are open (phase "open"), then they close (phase "end").
 */
static int held(void)
{
	const char *name = "held";
	const long n = 2000000;
	struct peer us = { .family = AF_INET, .port = 5002, .count = 1, .bytes = n, .hold = 1 };
	struct peer uc = { .family = AF_INET, .port = 5002, .count = 1 };
	struct peer ds = { .family = AF_INET, .port = 5003, .count = 1, .bytes = n, .hold = 1, .source = 1 };
	struct peer dc = { .family = AF_INET, .port = 5003, .count = 1 };
	counters(name, "before");
	if (server_start(&us) || server_start(&ds))
		return errors(name, &uc, &us) | errors(name, &dc, &ds);
	int ufd = client_connect(&uc);
	int dfd = client_connect(&dc);
	if (ufd < 0 || dfd < 0)
		return errors(name, &uc, &us) | errors(name, &dc, &ds);
	write_all(&uc, ufd, n);
	wait_acked(ufd, n);
	read_some(&dc, dfd, n);
	if (wait_flag(&us.arrived, 60000) || wait_flag(&ds.arrived, 60000))
		out("error %s the held transfers did not complete", name);
	out("truth %s-open {\"uploadClientSent\":%ld,\"uploadServerReceived\":%ld,\"downloadServerSent\":%ld,"
	    "\"downloadClientReceived\":%ld}",
	    name, uc.sent, us.received, ds.sent, dc.received);
	collect(name, "open");
	atomic_store(&us.release, 1);
	atomic_store(&ds.release, 1);
	shutdown(ufd, SHUT_WR);
	read_some(&uc, ufd, -1);
	close(ufd);
	shutdown(dfd, SHUT_WR);
	read_some(&dc, dfd, -1);
	close(dfd);
	pthread_join(us.thread, NULL);
	pthread_join(ds.thread, NULL);
	int unsettled = settle(name);
	out("truth %s {\"uploadClientSent\":%ld,\"uploadServerReceived\":%ld,\"downloadServerSent\":%ld,"
	    "\"downloadClientReceived\":%ld}",
	    name, uc.sent, us.received, ds.sent, dc.received);
	counters(name, "after");
	collect(name, "end");
	return errors(name, &uc, &us) | errors(name, &dc, &ds) | unsettled;
}

/* 3% of the TCP packets arriving at the server dropped during a 2,000,000-byte upload. */
static int loss(void)
{
	const char *name = "loss";
	if (!lossy_in || lossy_command("set 0.03 0")) {
		out("error %s the loss injector is not running", name);
		return -1;
	}
	int rc = exchange(name, AF_INET, 5005, 1, 2000000, 0, 500, 0);
	lossy_command("set 0 0");
	return rc;
}

/* A paced upload (20,000 bytes every 20 ms) through a 1.5 s blackhole that starts 300 ms after connecting. */
static int blackhole(void)
{
	const char *name = "blackhole";
	struct peer s = { .family = AF_INET, .port = 5006, .count = 1, .reply = 500 };
	struct peer c = { .family = AF_INET, .port = 5006, .count = 1, .bytes = 1000000, .chunk = 20000, .pace_ms = 20 };
	if (!lossy_in) {
		out("error %s the loss injector is not running", name);
		return -1;
	}
	counters(name, "before");
	if (server_start(&s) || client_start(&c))
		return errors(name, &c, &s);
	wait_flag(&c.connected, 60000);
	sleep_ms(300);
	lossy_command("set 0 1");
	sleep_ms(1500);
	lossy_command("set 0 0");
	return finish(name, &c, &s);
}

/*
 * The handshake's timeouts, which kernels without tcp_sock.total_rto (< 6.7) cannot see with RTO_CB (only an
 * established socket enables it). The 3% loss scenario meets them by chance (a lost SYN; about 1 run in 30).
 *
 * synloss: the client's first SYN is dropped at the server, so the client's SYN timer fires once (1 s) and the SYN
 * is retransmitted; then a 200,000-byte upload.
 */
static int synloss(void)
{
	const char *name = "synloss";
	if (!lossy_in || lossy_command("syn 1 0")) {
		out("error %s the loss injector is not running", name);
		return -1;
	}
	int rc = exchange(name, AF_INET, 5012, 1, 200000, 0, 500, 0);
	lossy_command("syn 0 0");
	return rc;
}

/*
 * synacktimeout: the client's SYN passes, then everything else arriving at the server is dropped for 1.2 s: the
 * handshake's last ACK and the data behind it never arrive, so the server's SYN-ACK timer fires (at 1 s, on the
 * request socket, before the connection's socket exists) and the client's RTO fires on its first data (about 200,
 * 600 ms; its retransmission at about 1.4 s completes the handshake); then a 200,000-byte upload.
 */
static int synacktimeout(void)
{
	const char *name = "synacktimeout";
	if (!lossy_in || lossy_command("syn 0 1200")) {
		out("error %s the loss injector is not running", name);
		return -1;
	}
	int rc = exchange(name, AF_INET, 5013, 1, 200000, 0, 500, 0);
	lossy_command("syn 0 0");
	return rc;
}

/*
 * tfosynack: a Fast Open connection whose handshake's last ACK is lost. The server's socket exists from the SYN
 * (its data is accepted at once, and the server accepts it before the handshake ends), so its own timer retransmits
 * the SYN-ACK, and TCPTimeouts counts that, as on the request socket. A first connection (tfocookie) fetches the
 * cookie; then everything after the Fast Open SYN (which carries 1000 bytes) is dropped for 1.2 s.
 */
static int tfosynack(void)
{
	const char *name = "tfosynack";
	set_sysctl(client_ns, "/proc/sys/net/ipv4/tcp_fastopen", "3");
	set_sysctl(server_ns, "/proc/sys/net/ipv4/tcp_fastopen", "3");
	if (!lossy_in) {
		out("error %s the loss injector is not running", name);
		return -1;
	}
	/* the client caches the cookie per server address: another port keeps this connection out of the flows below */
	if (exchange("tfocookie", AF_INET, 5016, 1, 3000, 0, 500, 1))
		return -1;
	if (lossy_command("syn 0 1200")) {
		out("error %s the loss injector did not take the command", name);
		return -1;
	}
	int rc = exchange(name, AF_INET, 5015, 1, 3000, 0, 500, 1);
	lossy_command("syn 0 0");
	return rc;
}

/*
 * adoptedrto: a connection established before the loader started (adopted, so no RTO callback on kernels without
 * total_rto) carries a paced 600,000-byte upload through a 1.5 s blackhole 300 ms after the scenario starts.
 * adopted_open() opens it before the loader; adoptedrto() runs with the others.
 */
static struct peer adopted_s = { .family = AF_INET, .port = 5014, .count = 1, .reply = 500 };
static struct peer adopted_c = { .family = AF_INET, .port = 5014, .count = 1, .chunk = 20000, .pace_ms = 20 };
static int adopted_fd = -1;

static void adopted_open(void)
{
	if (server_start(&adopted_s))
		return;
	adopted_fd = client_connect(&adopted_c);
	if (adopted_fd >= 0 && write_all(&adopted_c, adopted_fd, 1000) == 0)
		wait_acked(adopted_fd, 1000);
	skip_port = adopted_fd >= 0 ? 5014 : 0;
}

static void *adopted_upload(void *arg)
{
	struct peer *p = arg;
	if (write_all(p, adopted_fd, 600000) == 0) {
		shutdown(adopted_fd, SHUT_WR);
		read_some(p, adopted_fd, -1);
	}
	close(adopted_fd);
	skip_port = 0; /* closing now: settle() waits for it */
	return NULL;
}

static int adoptedrto(void)
{
	const char *name = "adoptedrto";
	struct peer *c = &adopted_c, *s = &adopted_s;
	if (adopted_fd < 0 || !lossy_in) {
		out("error %s no connection opened before the loader, or no loss injector", name);
		return errors(name, c, s) | -1;
	}
	counters(name, "before");
	c->sent = 0;
	if (pthread_create(&c->thread, NULL, adopted_upload, c))
		return -1;
	sleep_ms(300);
	lossy_command("set 0 1");
	sleep_ms(1500);
	lossy_command("set 0 0");
	return finish(name, c, s);
}

static int selected(const char *name)
{
	if (!only)
		return 1;
	size_t n = strlen(name);
	for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
		if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return 1;
	return 0;
}

static void run(const char *name, int (*fn)(void))
{
	if (!selected(name))
		return;
	long t0 = now_ms();
	int rc = fn();
	out("done %s %s %ldms", name, rc ? "error" : "ok", now_ms() - t0);
}

static int ipv6(void)
{
	return exchange("ipv6", AF_INET6, 5004, 1, 1000000, 0, 500, 0);
}

static int shortconns(void)
{
	return exchange("short", AF_INET, 5007, 50, 1000, 1, 500, 0);
}

/* Fast Open: the first connection fetches the cookie, the next two carry their first 1000 bytes in the SYN. */
static int fastopen(void)
{
	set_sysctl(client_ns, "/proc/sys/net/ipv4/tcp_fastopen", "3");
	set_sysctl(server_ns, "/proc/sys/net/ipv4/tcp_fastopen", "3");
	return exchange("tfo", AF_INET, 5008, 3, 3000, 0, 500, 1);
}

/*
 * A Service address translated on the client's node, as kube-proxy does for a ClusterIP: an iptables DNAT rule in
 * the client namespace's OUTPUT chain sends 10.96.0.10:80 to the server at 10.77.0.2:5009. Five connections of
 * 20,000 bytes each, 300 bytes answered. Runs last: the nat table switches conntrack on in the client namespace.
 */
static int dnat(void)
{
	const char *name = "dnat";
	char *rule[] = { "/usr/sbin/iptables-legacy", "-w", "-t", "nat", "-A", "OUTPUT", "-d", "10.96.0.10/32", "-p", "tcp",
			 "--dport", "80", "-j", "DNAT", "--to-destination", SERVER_V4 ":5009", NULL };
	int rc = run_in(client_ns, rule);
	if (rc != 0) {
		out("error %s iptables DNAT rule failed (exit %d)", name, rc);
		return -1;
	}
	struct peer s = { .family = AF_INET, .port = 5009, .count = 5, .reply = 300 };
	struct peer c = {
		.family = AF_INET, .port = 5009, .count = 5, .bytes = 20000, .dst_ip = "10.96.0.10", .dst_port = 80
	};
	counters(name, "before");
	if (server_start(&s) || client_start(&c)) {
		out("error %s cannot start: %s", name, s.error);
		return -1;
	}
	return finish(name, &c, &s);
}

/*
 * A ClusterIP served by IPVS, as kube-proxy's IPVS mode does: ip_vs with net.ipv4.vs.conntrack=1 in the client
 * namespace (the node), the virtual address 10.96.0.20 on a dummy kube-ipvs0, a round-robin virtual service
 * 10.96.0.20:80 with two real servers in NAT (masq) mode: 10.77.0.2:5010 and 10.77.0.2:5011. Six connections of
 * 20,000 bytes each (three reach each backend), 300 bytes answered. With kube-proxy's masquerade rule, as on a node. The client binds the node's address: the VIP is
 * local, so an unbound socket would take the VIP itself as its source (kube-proxy masquerades such connections).
 */
/* Runs each command in the client namespace (the node); 0, or -1 after saying which failed. */
static int run_all(const char *name, char *cmds[][16], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = run_in(client_ns, cmds[i]);
		if (rc != 0) {
			out("error %s %s %s failed (exit %d)", name, cmds[i][0], cmds[i][1], rc);
			return -1;
		}
	}
	return 0;
}

/*
 * The client namespace as a node of kube-proxy's IPVS mode, once (the IPVS scenarios share it): vs.conntrack=1, the
 * dummy kube-ipvs0 that holds the virtual addresses, and kube-proxy's masquerade rule in iptables
 * (KUBE-POSTROUTING), whose MASQUERADE target switches the namespace's conntrack hooks on, without which
 * vs.conntrack=1 finds no conntrack entry.
 */
static int ipvs_node(const char *name)
{
	static int done;
	if (done)
		return 0;
	char *setup[][16] = {
		{ "/usr/sbin/iptables-legacy", "-w", "-t", "nat", "-N", "KUBE-POSTROUTING", NULL },
		{ "/usr/sbin/iptables-legacy", "-w", "-t", "nat", "-A", "POSTROUTING", "-j", "KUBE-POSTROUTING", NULL },
		{ "/usr/sbin/iptables-legacy", "-w", "-t", "nat", "-A", "KUBE-POSTROUTING", "-m", "mark", "!", "--mark",
		  "0x4000/0x4000", "-j", "RETURN", NULL },
		{ "/usr/sbin/iptables-legacy", "-w", "-t", "nat", "-A", "KUBE-POSTROUTING", "-j", "MASQUERADE", NULL },
		{ "/usr/local/sbin/ip", "link", "add", "kube-ipvs0", "type", "dummy", NULL },
	};
	set_sysctl(client_ns, "/proc/sys/net/ipv4/vs/conntrack", "1");
	if (run_all(name, setup, sizeof setup / sizeof setup[0]))
		return -1;
	done = 1;
	return 0;
}

static int ipvs(void)
{
	const char *name = "ipvs";
	char *setup[][16] = {
		{ "/usr/local/sbin/ip", "addr", "add", "10.96.0.20/32", "dev", "kube-ipvs0", NULL },
		{ "/usr/sbin/ipvsadm", "-A", "-t", "10.96.0.20:80", "-s", "rr", NULL },
		{ "/usr/sbin/ipvsadm", "-a", "-t", "10.96.0.20:80", "-r", SERVER_V4 ":5010", "-m", NULL },
		{ "/usr/sbin/ipvsadm", "-a", "-t", "10.96.0.20:80", "-r", SERVER_V4 ":5011", "-m", NULL },
	};
	if (ipvs_node(name) || run_all(name, setup, sizeof setup / sizeof setup[0]))
		return -1;
	struct peer a = { .family = AF_INET, .port = 5010, .count = 3, .reply = 300 };
	struct peer b = { .family = AF_INET, .port = 5011, .count = 3, .reply = 300 };
	struct peer c = { .family = AF_INET, .port = 5010, .count = 6, .bytes = 20000, .dst_ip = "10.96.0.20",
			  .dst_port = 80, .src_ip = CLIENT_V4 };
	counters(name, "before");
	if (server_start(&a) || server_start(&b) || client_start(&c)) {
		out("error %s cannot start: %s %s", name, a.error, b.error);
		return -1;
	}
	pthread_join(c.thread, NULL);
	c.thread = 0;
	pthread_join(b.thread, NULL);
	pthread_join(a.thread, NULL);
	char extra[200];
	snprintf(extra, sizeof extra,
		 ",\"server2Sent\":%ld,\"server2Received\":%ld,\"server2Connections\":%ld", b.sent, b.received,
		 b.connections);
	int unsettled = settle(name);
	truth(name, &c, &a, extra);
	collect(name, "end");
	return errors(name, &c, &a) | errors(name, &c, &b) | unsettled;
}

/*
 * A connection through an IPVS ClusterIP opened before the loader (a pooled connection across an agent restart):
 * the virtual service 10.96.0.30:80 with one real server, 10.77.0.2:5012, in NAT mode, on the ipvs scenario's node
 * set-up. The connection carries 1000 bytes, then the loader starts (its adoption dumps the node's conntrack table
 * first), then exactly 2,000,000 bytes; the server answers 300 at the end. Starts the loader, like preexisting; run
 * instead of it (`--only adoptipvs,...`).
 */
static int adoptipvs(void)
{
	const char *name = "adoptipvs";
	char *setup[][16] = {
		{ "/usr/local/sbin/ip", "addr", "add", "10.96.0.30/32", "dev", "kube-ipvs0", NULL },
		{ "/usr/sbin/ipvsadm", "-A", "-t", "10.96.0.30:80", "-s", "rr", NULL },
		{ "/usr/sbin/ipvsadm", "-a", "-t", "10.96.0.30:80", "-r", SERVER_V4 ":5012", "-m", NULL },
	};
	if (ipvs_node(name) || run_all(name, setup, sizeof setup / sizeof setup[0]))
		return -1;
	struct peer s = { .family = AF_INET, .port = 5012, .count = 1, .reply = 300 };
	struct peer c = { .family = AF_INET, .port = 5012, .count = 1, .dst_ip = "10.96.0.30", .dst_port = 80,
			  .src_ip = CLIENT_V4 };
	counters(name, "before");
	if (server_start(&s))
		return errors(name, &c, &s);
	int fd = client_connect(&c);
	if (fd < 0 || write_all(&c, fd, 1000))
		return errors(name, &c, &s);
	wait_acked(fd, 1000);
	if (start_loader()) {
		out("error %s the loader did not start", name);
		return -1;
	}
	collect(name, "adopt");
	c.sent = 0;
	if (write_all(&c, fd, 2000000) == 0) {
		wait_acked(fd, 2001000);
		shutdown(fd, SHUT_WR);
		read_some(&c, fd, -1);
	}
	close(fd);
	pthread_join(s.thread, NULL);
	int unsettled = settle(name);
	truth(name, &c, &s, ",\"clientSentBeforeLoader\":1000");
	counters(name, "after");
	collect(name, "end");
	return errors(name, &c, &s) | unsettled;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "client-ns", required_argument, NULL, 'c' }, { "server-ns", required_argument, NULL, 's' },
		{ "server-dev", required_argument, NULL, 'd' }, { "lossy", required_argument, NULL, 'l' },
		{ "lossy-object", required_argument, NULL, 'o' }, { "only", required_argument, NULL, 'n' },
		{ 0 },
	};
	const char *cns = NULL, *sns = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cns = optarg; break;
		case 's': sns = optarg; break;
		case 'd': server_dev = optarg; break;
		case 'l': lossy_path = optarg; break;
		case 'o': lossy_object = optarg; break;
		case 'n': only = optarg; break;
		default: return 2;
		}
	}
	if (!cns || !sns || !server_dev || !lossy_path || !lossy_object || optind >= argc) {
		fprintf(stderr, "usage: flowlens-vm-scenarios --client-ns PATH --server-ns PATH --server-dev DEV "
				"--lossy PATH --lossy-object PATH [--only a,b] -- LOADER ARGS...\n");
		return 2;
	}
	loader_argv = argv + optind;
	root_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	client_ns = open(cns, O_RDONLY | O_CLOEXEC);
	server_ns = open(sns, O_RDONLY | O_CLOEXEC);
	if (root_ns < 0 || client_ns < 0 || server_ns < 0) {
		out("error setup cannot open the namespaces: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(pattern, 0x5a, sizeof pattern);
	if (start_lossy())
		lossy_in = NULL;

	/* connections opened before the loader: adoptedrto's, then preexisting's (or adoptipvs's, when preexisting is not
	 * selected), which starts the loader; without them, the loader starts before the other scenarios */
	if (selected("adoptedrto"))
		adopted_open();
	if (selected("preexisting"))
		run("preexisting", preexisting);
	else if (selected("adoptipvs"))
		run("adoptipvs", adoptipvs);
	else if (start_loader())
		out("error setup the loader did not start");
	run("held", held);
	run("ipv6", ipv6);
	run("loss", loss);
	run("blackhole", blackhole);
	run("synloss", synloss);
	run("synacktimeout", synacktimeout);
	run("adoptedrto", adoptedrto);
	run("short", shortconns);
	run("tfo", fastopen);
	run("tfosynack", tfosynack);
	run("dnat", dnat);
	run("ipvs", ipvs);
	collect("final", "end");
	stop_loader();
	if (lossy_in)
		fclose(lossy_in);
	return 0;
}
