/*
 * ringflowctl_main.c — `ringflowctl [-s SOCKET] [-T SECONDS] COMMAND`: sends
 * one command line to the control socket and prints the reply. Exit status
 * 0 when the reply starts with OK, 1 on ERR, 2 when the socket cannot be
 * reached or no reply came within the deadline.
 *
 * The whole exchange has one deadline (-T, default 10 s), so a supervisor
 * that does not answer never hangs a script or a monitoring check. "ERR
 * busy" (the supervisor serves SUP_CTL_MAX_CLIENTS connections at once)
 * and a full listen queue are retried with a growing pause until then: the
 * command was not run, so trying again is safe.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/ringflow/ringflow.sock"
#define DEFAULT_TIMEOUT_S 10

enum { TRY_DONE = 0, TRY_AGAIN, TRY_FAILED };

static void usage(FILE *f)
{
	fprintf(f, "usage: ringflowctl [-s SOCKET] [-T SECONDS] COMMAND [ARGS]\n"
		   "commands: status [--json], stats, checkpoint, stop, help\n"
		   "SOCKET defaults to $RINGFLOW_SOCKET or " DEFAULT_SOCKET "\n"
		   "-T: give up after SECONDS without a complete reply (default %d)\n",
		DEFAULT_TIMEOUT_S);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline_ms: 1 ready, 0 deadline, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

struct reply {
	char *buf;
	size_t len, cap;
};

/* One connection: connect, send, read the reply. */
static int try_once(const struct sockaddr_un *sa, const char *cmd, int64_t deadline_ms, struct reply *r,
		    char *why, size_t whylen)
{
	r->len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, whylen, "socket() failed: %s", strerror(errno));
		return TRY_FAILED;
	}
	int rc = TRY_FAILED;
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa)) {
		/* EAGAIN: the listen queue is full (a busy supervisor). */
		rc = errno == EAGAIN ? TRY_AGAIN : TRY_FAILED;
		snprintf(why, whylen, "cannot connect: %s", strerror(errno));
		goto out;
	}
	size_t off = 0, len = strlen(cmd);
	while (off < len) {
		ssize_t n = send(fd, cmd + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int w = wait_fd(fd, POLLOUT, deadline_ms);
			if (w > 0)
				continue;
			if (w)
				snprintf(why, whylen, "poll() failed: %s", strerror(errno));
			else
				snprintf(why, whylen, "timed out sending the command");
			goto out;
		}
		/* The server may have answered and closed (busy, refused):
		 * its reply is still there to read. */
		break;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		if (r->len + 4096 > r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 65536;
			char *p = realloc(r->buf, cap);
			if (!p) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			r->buf = p;
			r->cap = cap;
		}
		ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int w = wait_fd(fd, POLLIN, deadline_ms);
			if (w > 0)
				continue;
			if (w)
				snprintf(why, whylen, "poll() failed: %s", strerror(errno));
			else
				snprintf(why, whylen, "no complete reply within the deadline (-T)");
			goto out;
		}
		if (r->len)
			break; /* a reset after the reply: the reply stands */
		snprintf(why, whylen, "read failed: %s", strerror(errno));
		goto out;
	}
	if (r->len >= 8 && !memcmp(r->buf, "ERR busy", 8)) {
		const char *nl = memchr(r->buf + 4, '\n', r->len - 4);
		size_t n = nl ? (size_t)(nl - (r->buf + 4)) : r->len - 4;
		snprintf(why, whylen, "%.*s", (int)(n > 200 ? 200 : n), r->buf + 4);
		rc = TRY_AGAIN;
	} else {
		rc = TRY_DONE;
	}
out:
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("RINGFLOW_SOCKET");
	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	double timeout_s = DEFAULT_TIMEOUT_S;
	int opt;
	while ((opt = getopt(argc, argv, "+s:T:h")) != -1) {
		if (opt == 's') {
			sock = optarg;
		} else if (opt == 'T') {
			char *end;
			timeout_s = strtod(optarg, &end);
			if (*end || !(timeout_s > 0) || timeout_s > 86400) {
				fprintf(stderr, "ringflowctl: -T wants seconds, more than 0: '%s'\n", optarg);
				return 64;
			}
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 64;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 64;
	}
	char cmd[512] = "";
	for (int i = optind; i < argc; i++) {
		if (strlen(cmd) + strlen(argv[i]) + 2 >= sizeof cmd) {
			fprintf(stderr, "ringflowctl: command too long\n");
			return 64;
		}
		if (i > optind)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	strcat(cmd, "\n");

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof sa.sun_path) {
		fprintf(stderr, "ringflowctl: socket path too long: %s\n", sock);
		return 2;
	}
	strcpy(sa.sun_path, sock);
	int64_t deadline = mono_ms() + (int64_t)(timeout_s * 1000);
	struct reply r = { 0 };
	char why[256] = "";
	int pause_ms = 20, st;
	while ((st = try_once(&sa, cmd, deadline, &r, why, sizeof why)) == TRY_AGAIN) {
		if (mono_ms() + pause_ms >= deadline)
			break;
		struct timespec ts = { 0, (long)pause_ms * 1000000L };
		nanosleep(&ts, NULL);
		pause_ms = pause_ms * 2 > 500 ? 500 : pause_ms * 2;
	}
	int rc = 2;
	if (st != TRY_DONE) {
		fprintf(stderr, "ringflowctl: %s: %s\n", sock, why);
		rc = st == TRY_AGAIN && r.len ? 1 : 2;
	} else if (r.len >= 3 && !memcmp(r.buf, "OK\n", 3)) {
		fwrite(r.buf + 3, 1, r.len - 3, stdout);
		rc = 0;
	} else if (r.len >= 4 && !memcmp(r.buf, "ERR ", 4)) {
		fprintf(stderr, "ringflowctl: ");
		fwrite(r.buf + 4, 1, r.len - 4, stderr);
		rc = 1;
	} else {
		fprintf(stderr, "ringflowctl: unexpected reply from %s\n", sock);
	}
	free(r.buf);
	return rc;
}
