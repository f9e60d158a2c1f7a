/*
 * test_control.c — the control socket's connection server
 * (supervisor/ctl_server.h), driven like the supervisor's loop drives it
 * (pollfds, poll, serve) against real AF_UNIX clients, with the clock
 * passed in: a request and its reply; end of stream as the end of a line;
 * a client trickling bytes neither blocks others nor outlives its
 * deadline; "busy" beyond max_clients; garbage and over-long requests
 * (up to 1 MB) answered with an error; a client that never reads its
 * reply is dropped at the reply deadline without the server blocking; a
 * peer of another uid is refused. A watchdog alarm turns any blocking
 * call in the server into a failure instead of a hung test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor/ctl_server.h"

#define SEC 1000000000LL
#define MAX_CLIENTS 4
#define MAX_LINE 64

static char dir[64];
static struct sockaddr_un addr;
static int listen_fd = -1;
static struct sup_ctl_server *srv;
static int64_t now;             /* the server's clock, stepped by the tests */
static int handled;             /* handler calls */

static void handler(void *arg, const char *line, struct sup_out *o)
{
	(void)arg;
	handled++;
	if (!strcmp(line, "big")) {
		sup_outf(o, "OK\n");
		for (int i = 0; i < 4096; i++)
			sup_outf(o, "%01023d\n", i);
		return;
	}
	sup_outf(o, "OK\nyou said '%s'\n", line);
}

static struct sup_ctl_server *make_server(uid_t allow)
{
	struct sup_ctl_limits lim = {
		.max_clients = MAX_CLIENTS,
		.max_line = MAX_LINE,
		.request_timeout_ns = 2 * SEC,
		.reply_timeout_ns = 5 * SEC,
		.allow_uid = allow,
	};
	char err[256];
	struct sup_ctl_server *s = sup_ctl_server_create(listen_fd, &lim, handler, NULL, err, sizeof err);
	assert_non_null(s);
	return s;
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rf-ctl-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	chmod(dir, 0755); /* the refused-uid case connects as nobody */
	addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s/s.sock", dir);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) || listen(listen_fd, 64))
		return -1;
	chmod(addr.sun_path, 0777);
	now = 1000 * SEC;
	handled = 0;
	srv = make_server(geteuid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sup_ctl_server_destroy(srv);
	srv = NULL;
	close(listen_fd);
	unlink(addr.sun_path);
	rmdir(dir);
	return 0;
}

/* A few rounds of the supervisor's loop, never waiting. */
static void pump(void)
{
	for (int r = 0; r < 4; r++) {
		struct pollfd pfd[1 + MAX_CLIENTS];
		int n = sup_ctl_server_pollfds(srv, pfd, 1 + MAX_CLIENTS);
		assert_true(n >= 1 && n <= 1 + MAX_CLIENTS);
		int k = poll(pfd, (nfds_t)n, 0);
		assert_true(k >= 0);
		sup_ctl_server_serve(srv, pfd, k > 0 ? n : 0, now);
	}
}

static int client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	return fd;
}

static void say(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads until end of stream (or a reset after data), pumping the server
 * meanwhile; returns the length, the text NUL-terminated in buf. */
static size_t reply(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	for (int spins = 0; spins < 2000; spins++) {
		pump();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5) <= 0)
			continue;
		char tmp[65536];
		ssize_t n = recv(fd, tmp, sizeof tmp, 0);
		if (n <= 0)
			break;
		size_t take = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
		memcpy(buf + len, tmp, take);
		len += take;
	}
	buf[len] = '\0';
	return len;
}

/* The client's end is closed by the server: nothing more to read. */
static int closed_by_server(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) != 1)
		return 0;
	char c;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static void test_request_reply(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "status\n", 7);
	char buf[256];
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "OK\nyou said 'status'\n");
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_OK), 1);
	assert_int_equal(sup_ctl_server_clients(srv), 0);
	close(fd);
	/* \r\n and a line of exactly MAX_LINE bytes are fine. */
	fd = client();
	say(fd, "help\r\n", 6);
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "OK\nyou said 'help'\n");
	close(fd);
	char line[MAX_LINE + 2];
	memset(line, 'x', MAX_LINE);
	line[MAX_LINE] = '\n';
	fd = client();
	say(fd, line, MAX_LINE + 1);
	reply(fd, buf, sizeof buf);
	assert_true(!strncmp(buf, "OK\nyou said 'xxxx", 17));
	close(fd);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_OK), 3);
}

static void test_end_of_stream_ends_the_line(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "stats", 5);
	shutdown(fd, SHUT_WR);
	char buf[256];
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "OK\nyou said 'stats'\n");
	close(fd);
}

static void test_trickler_does_not_block_others(void **state)
{
	(void)state;
	int slow = client();
	say(slow, "st", 2);
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), 1);
	assert_int_equal(sup_ctl_server_next_deadline(srv), now + 2 * SEC);
	/* Others are answered while it dawdles. */
	for (int i = 0; i < 10; i++) {
		int fd = client();
		say(fd, "status\n", 7);
		char buf[256];
		reply(fd, buf, sizeof buf);
		assert_string_equal(buf, "OK\nyou said 'status'\n");
		close(fd);
		now += SEC / 10;
		say(slow, "a", 1);
	}
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), 1);
	assert_false(closed_by_server(slow));
	/* 2 s after it connected, however many bytes it sent meanwhile. */
	now += SEC;
	pump();
	char buf[256];
	reply(slow, buf, sizeof buf);
	assert_string_equal(buf, "ERR no complete request line within 2000 ms\n");
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_TIMEOUT), 1);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_OK), 10);
	assert_int_equal(sup_ctl_server_clients(srv), 0);
	assert_int_equal(sup_ctl_server_next_deadline(srv), INT64_MAX);
	close(slow);
}

static void test_deadlines_run_without_events(void **state)
{
	(void)state;
	int fd = client();
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), 1);
	now += 3 * SEC;
	sup_ctl_server_serve(srv, NULL, 0, now); /* a poll that timed out */
	assert_int_equal(sup_ctl_server_clients(srv), 0);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_TIMEOUT), 1);
	close(fd);
}

static void test_busy_beyond_max_clients(void **state)
{
	(void)state;
	int idle[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++)
		idle[i] = client();
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), MAX_CLIENTS);
	int fd = client();
	say(fd, "status\n", 7);
	char buf[256];
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "ERR busy: 4 clients connected, try again\n");
	close(fd);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_BUSY), 1);
	assert_int_equal(handled, 0);
	/* A slot frees up as soon as one of them is served. */
	say(idle[0], "checkpoint\n", 11);
	reply(idle[0], buf, sizeof buf);
	assert_string_equal(buf, "OK\nyou said 'checkpoint'\n");
	fd = client();
	say(fd, "status\n", 7);
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "OK\nyou said 'status'\n");
	close(fd);
	for (int i = 0; i < MAX_CLIENTS; i++)
		close(idle[i]);
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), 0);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_ABORTED), MAX_CLIENTS - 1);
}

static void test_too_long(void **state)
{
	(void)state;
	char line[MAX_LINE + 2];
	memset(line, 'x', sizeof line);
	int fd = client();
	say(fd, line, sizeof line); /* no newline within MAX_LINE + 1 bytes */
	char buf[256];
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "ERR request longer than 64 bytes\n");
	close(fd);

	/* 1 MB: the client writes what the socket takes, the server answers
	 * after MAX_LINE bytes and closes; the client reads the answer. */
	size_t big = 1 << 20;
	char *mb = malloc(big);
	assert_non_null(mb);
	memset(mb, 'y', big);
	fd = client();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	size_t sent = 0;
	for (int i = 0; i < 1000 && sent < big; i++) {
		ssize_t n = send(fd, mb + sent, big - sent, MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break; /* EPIPE: the server closed */
		pump();
	}
	free(mb);
	fcntl(fd, F_SETFL, 0);
	reply(fd, buf, sizeof buf);
	assert_string_equal(buf, "ERR request longer than 64 bytes\n");
	close(fd);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_TOO_LONG), 2);
	assert_int_equal(handled, 0);
	assert_int_equal(sup_ctl_server_clients(srv), 0);
}

static void test_garbage(void **state)
{
	(void)state;
	static const struct {
		const char *req;
		size_t len;
		const char *want;
	} cases[] = {
		{ "\x01\x02\xff\xfe\n", 5, "ERR malformed request: byte 0x01 at offset 0 (a request is one line of text)\n" },
		{ "st\0atus\n", 8, "ERR malformed request: byte 0x00 at offset 2 (a request is one line of text)\n" },
		{ "stop\x1b[A\n", 8, "ERR malformed request: byte 0x1b at offset 4 (a request is one line of text)\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int fd = client();
		say(fd, cases[i].req, cases[i].len);
		char buf[256];
		reply(fd, buf, sizeof buf);
		assert_string_equal(buf, cases[i].want);
		close(fd);
	}
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_BAD_REQUEST), 3);
	assert_int_equal(handled, 0);
}

static void test_reader_that_never_reads(void **state)
{
	(void)state;
	int fd = client();
	say(fd, "big\n", 4); /* a 4 MB reply, more than a socket buffer */
	pump();
	assert_int_equal(handled, 1);
	assert_int_equal(sup_ctl_server_clients(srv), 1);
	/* Others are served meanwhile. */
	int other = client();
	say(other, "status\n", 7);
	char buf[256];
	reply(other, buf, sizeof buf);
	assert_string_equal(buf, "OK\nyou said 'status'\n");
	close(other);
	now += 5 * SEC;
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), 0);
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_REPLY_TIMEOUT), 1);
	close(fd);
}

static void test_other_uid_refused(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		/* Not root: we are the other uid. */
		sup_ctl_server_destroy(srv);
		srv = make_server(geteuid() + 1);
		int fd = client();
		say(fd, "status\n", 7);
		char buf[256];
		reply(fd, buf, sizeof buf);
		assert_string_equal(buf, "ERR permission denied\n");
		close(fd);
	} else {
		/* Root is always allowed: connect as nobody from a child. */
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(3);
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr))
				_exit(4);
			/* May fail: the server can answer and close first. */
			ssize_t w = send(fd, "status\n", 7, MSG_NOSIGNAL);
			(void)w;
			char buf[64] = "";
			ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_WAITALL);
			_exit(n > 0 && !strcmp(buf, "ERR permission denied\n") ? 0 : 6);
		}
		int status = 0;
		for (int i = 0; i < 2000; i++) {
			pump();
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			usleep(1000);
		}
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(sup_ctl_server_count(srv, SUP_CTL_REFUSED), 1);
	assert_int_equal(handled, 0);
}

static void test_destroy_with_open_connections(void **state)
{
	(void)state;
	int a = client(), b = client();
	say(b, "big\n", 4);
	pump();
	assert_int_equal(sup_ctl_server_clients(srv), 2);
	sup_ctl_server_destroy(srv);
	srv = NULL;
	assert_true(closed_by_server(a));
	close(a);
	close(b);
	srv = make_server(geteuid()); /* for teardown */
}

int main(void)
{
	/* Any blocking call in the server would hang here: fail instead. */
	alarm(60);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_of_stream_ends_the_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trickler_does_not_block_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlines_run_without_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_beyond_max_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_that_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_with_open_connections, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
