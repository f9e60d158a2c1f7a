/*
 * ctl_server.h — the control socket's connection handling, apart from the
 * commands (control.c): a non-blocking line server driven by the
 * supervisor's poll loop. Runs in the supervisor; never blocks.
 *
 * Each connection carries one request: a line of text of at most
 * SUP_CTL_MAX_LINE bytes, ended by '\n' (or by the client's end of
 * stream). The handler turns it into a reply; the server sends the reply
 * and closes. Every way a client can misbehave ends with an "ERR ..." line
 * where the client can still read one, a close, and a counter:
 *   - no complete line within request_timeout (a client trickling bytes);
 *   - a line longer than max_line, or holding control bytes (garbage);
 *   - more than max_clients connections at once ("ERR busy");
 *   - a reply not read within reply_timeout (the client stops reading);
 *   - a peer whose uid is neither root nor allow_uid (SO_PEERCRED),
 *     refused and logged rate-limited.
 * Time is passed in (monotonic ns) so tests can step it.
 */
#ifndef SUP_CTL_SERVER_H
#define SUP_CTL_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SUP_CTL_MAX_LINE 1024                 /* bytes, newline excluded */
#define SUP_CTL_MAX_CLIENTS 32
#define SUP_CTL_REQUEST_TIMEOUT_NS (2 * 1000000000LL)
#define SUP_CTL_REPLY_TIMEOUT_NS (5 * 1000000000LL)

/* How each connection ended; counted, exported by `stats`. */
enum sup_ctl_result {
	SUP_CTL_OK = 0,         /* request answered (ERR replies of commands too) */
	SUP_CTL_BUSY,           /* max_clients reached: "ERR busy" */
	SUP_CTL_REFUSED,        /* SO_PEERCRED: not root, not allow_uid */
	SUP_CTL_TIMEOUT,        /* no complete line within request_timeout */
	SUP_CTL_BAD_REQUEST,    /* control bytes in the line */
	SUP_CTL_TOO_LONG,       /* no newline within max_line bytes */
	SUP_CTL_REPLY_TIMEOUT,  /* reply not read within reply_timeout */
	SUP_CTL_ABORTED,        /* the client went away (reset, error) */
	SUP_CTL_RESULT_COUNT
};

extern const char *const sup_ctl_result_names[SUP_CTL_RESULT_COUNT];

struct sup_ctl_limits {
	int max_clients;
	size_t max_line;
	int64_t request_timeout_ns;  /* from accept to a complete line */
	int64_t reply_timeout_ns;    /* from the reply being ready to its last byte sent */
	uid_t allow_uid;             /* besides root */
};

/* A growing text buffer for replies. */
struct sup_out {
	char *buf;
	size_t len, cap;
	int oom;        /* an append failed: the reply is incomplete */
};

void sup_outf(struct sup_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the reply for `line` (NUL-terminated, no newline, no control
 * bytes) into `reply`: "OK\n..." or "ERR message\n". Runs in the loop, so
 * it must not block. */
typedef void (*sup_ctl_handler)(void *arg, const char *line, struct sup_out *reply);

struct sup_ctl_server;

/* listen_fd: a listening, non-blocking socket; the server does not own it
 * (the caller closes it after sup_ctl_server_destroy). Returns NULL with
 * err set. Free with sup_ctl_server_destroy. */
struct sup_ctl_server *sup_ctl_server_create(int listen_fd, const struct sup_ctl_limits *lim,
					     sup_ctl_handler handler, void *arg, char *err, size_t errlen);
/* Sends what each pending reply can without blocking, then closes every
 * connection. Accepts NULL. */
void sup_ctl_server_destroy(struct sup_ctl_server *srv);

/* In a child after fork: closes this process's copies of the connections'
 * descriptors (a copy would keep a client from seeing our close) and
 * touches nothing else. */
void sup_ctl_server_close_fds(struct sup_ctl_server *srv);

/* Appends the descriptors to poll (the listening socket, then each
 * connection) to pfd, at most max entries; returns how many it added.
 * max >= 1 + max_clients always suffices. */
int sup_ctl_server_pollfds(struct sup_ctl_server *srv, struct pollfd *pfd, int max);
/* Serves what poll reported in the entries sup_ctl_server_pollfds added
 * (pfd, n as it returned), accepts new connections, and ends connections
 * whose deadline passed at now_ns. pfd may be NULL (n = 0) to run only
 * the deadlines. */
void sup_ctl_server_serve(struct sup_ctl_server *srv, const struct pollfd *pfd, int n, int64_t now_ns);
/* Earliest connection deadline (monotonic ns), INT64_MAX if none: the
 * loop's poll timeout should not run past it. */
int64_t sup_ctl_server_next_deadline(const struct sup_ctl_server *srv);

int sup_ctl_server_clients(const struct sup_ctl_server *srv);
uint64_t sup_ctl_server_count(const struct sup_ctl_server *srv, enum sup_ctl_result r);

#endif
