/*
 * ctl_server.c — see ctl_server.h. Runs in the supervisor's loop.
 *
 * NOTES
 * The supervisor's loop also reaps children, settles checkpoints and
 * restarts the data plane, so nothing here may wait for a client: every
 * socket is non-blocking, every read and write takes what is there now,
 * and a connection lives only until its deadline. The loop polls the
 * descriptors this file hands it and calls back with what poll saw.
 *
 * A connection's life: accepted (peer uid checked, a free slot or
 * "ERR busy"); reading until a newline, end of stream, max_line bytes or
 * the request deadline; the handler builds the whole reply in memory; the
 * reply is sent as the socket takes it, until the reply deadline; close.
 * Before closing we read away what the client sent beyond its line (a
 * little), so that a close with unread data does not turn into a reset
 * that could cost the client our reply.
 */
#include "supervisor/ctl_server.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_SERVE 64       /* a connect flood cannot starve the loop */
#define DRAIN_MAX (64 * 1024)      /* what we read away before a close */
#define ACCEPT_PAUSE_NS (100 * 1000000LL)

const char *const sup_ctl_result_names[SUP_CTL_RESULT_COUNT] = {
	"ok", "busy", "refused", "timeout", "bad_request", "too_long", "reply_timeout", "aborted"
};

struct conn {
	int fd;                     /* -1: free slot */
	int replying;               /* 0: reading the request */
	int pfd;                    /* index in the last pollfds array, -1: none */
	pid_t peer;                 /* for the log */
	int64_t deadline_ns;
	char *in;                   /* max_line + 2 bytes */
	size_t in_len;
	struct sup_out out;         /* the reply */
	size_t out_off;
	enum sup_ctl_result result; /* counted when the connection ends */
};

struct sup_ctl_server {
	int listen_fd;
	int listen_pfd;             /* -1: not polled */
	int64_t accept_paused_until; /* out of descriptors: 0 when not paused */
	struct sup_ctl_limits lim;
	sup_ctl_handler handler;
	void *arg;
	struct conn *conns;
	int nconns;                 /* connections open */
	uint64_t count[SUP_CTL_RESULT_COUNT];
};

void sup_outf(struct sup_out *o, const char *fmt, ...)
{
	if (o->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->buf && (size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 16384;
		while (cap < o->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(o->buf, cap);
		if (!p) {
			o->oom = 1;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
}

static void out_reset(struct sup_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof *o);
}

struct sup_ctl_server *sup_ctl_server_create(int listen_fd, const struct sup_ctl_limits *lim,
					     sup_ctl_handler handler, void *arg, char *err, size_t errlen)
{
	if (lim->max_clients < 1 || lim->max_line < 1) {
		snprintf(err, errlen, "control socket: max_clients and max_line must be positive");
		return NULL;
	}
	struct sup_ctl_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		goto oom;
	srv->listen_fd = listen_fd;
	srv->listen_pfd = -1;
	srv->lim = *lim;
	srv->handler = handler;
	srv->arg = arg;
	srv->conns = calloc((size_t)lim->max_clients, sizeof *srv->conns);
	if (!srv->conns)
		goto oom;
	for (int i = 0; i < lim->max_clients; i++) {
		struct conn *c = &srv->conns[i];
		c->fd = -1;
		c->pfd = -1;
		c->in = malloc(lim->max_line + 2);
		if (!c->in)
			goto oom;
	}
	return srv;
oom:
	snprintf(err, errlen, "control socket: out of memory for %d connections", lim->max_clients);
	sup_ctl_server_destroy(srv);
	return NULL;
}

/* Reads away (a bounded amount of) what the client sent and we did not
 * use, then closes. */
static void drain_close(int fd)
{
	char buf[4096];
	for (size_t got = 0; got < DRAIN_MAX;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
}

/* One non-blocking attempt: for answers to clients we do not keep. */
static void send_once(int fd, const char *msg, size_t len)
{
	ssize_t n;
	do
		n = send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

static void finish(struct sup_ctl_server *srv, struct conn *c, enum sup_ctl_result r)
{
	srv->count[r]++;
	switch (r) {
	case SUP_CTL_TIMEOUT:
		RF_LOG_RL(RF_LOG_WARN, "control socket: pid %d sent no complete request line within %lld ms; closed",
			  (int)c->peer, (long long)(srv->lim.request_timeout_ns / 1000000));
		break;
	case SUP_CTL_REPLY_TIMEOUT:
		RF_LOG_RL(RF_LOG_WARN, "control socket: pid %d did not read its reply within %lld ms; closed",
			  (int)c->peer, (long long)(srv->lim.reply_timeout_ns / 1000000));
		break;
	case SUP_CTL_BAD_REQUEST:
	case SUP_CTL_TOO_LONG:
		RF_LOG_RL(RF_LOG_WARN, "control socket: pid %d sent a %s request; answered with an error",
			  (int)c->peer, r == SUP_CTL_TOO_LONG ? "too long" : "malformed");
		break;
	case SUP_CTL_ABORTED:
		rf_debug("control socket: pid %d went away before its reply was sent", (int)c->peer);
		break;
	default:
		break;
	}
	drain_close(c->fd);
	c->fd = -1;
	c->pfd = -1;
	c->replying = 0;
	c->in_len = 0;
	c->out_off = 0;
	out_reset(&c->out);
	srv->nconns--;
}

static void conn_write(struct sup_ctl_server *srv, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* POLLOUT brings us back */
		finish(srv, c, SUP_CTL_ABORTED);
		return;
	}
	finish(srv, c, c->result);
}

/* The reply (or error line) in c->out is complete: send it. */
static void start_reply(struct sup_ctl_server *srv, struct conn *c, enum sup_ctl_result r, int64_t now_ns)
{
	if (c->out.oom || !c->out.len) {
		out_reset(&c->out);
		sup_outf(&c->out, "ERR out of memory for the reply\n");
		if (c->out.oom) {
			finish(srv, c, SUP_CTL_ABORTED);
			return;
		}
	}
	c->result = r;
	c->replying = 1;
	c->out_off = 0;
	c->deadline_ns = now_ns + srv->lim.reply_timeout_ns;
	conn_write(srv, c);
}

/* c->in holds the request line (NUL-terminated, no newline). */
static void request(struct sup_ctl_server *srv, struct conn *c, size_t len, int64_t now_ns)
{
	if (len && c->in[len - 1] == '\r')
		c->in[--len] = '\0';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c->in[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			sup_outf(&c->out, "ERR malformed request: byte 0x%02x at offset %zu (a request is one line of text)\n",
				 ch, i);
			start_reply(srv, c, SUP_CTL_BAD_REQUEST, now_ns);
			return;
		}
	}
	srv->handler(srv->arg, c->in, &c->out);
	start_reply(srv, c, SUP_CTL_OK, now_ns);
}

static void conn_read(struct sup_ctl_server *srv, struct conn *c, int64_t now_ns)
{
	size_t max = srv->lim.max_line;
	for (;;) {
		/* max + 1: a line of exactly max bytes and its newline fit. */
		ssize_t n = recv(c->fd, c->in + c->in_len, max + 1 - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			char *nl = memchr(c->in + c->in_len, '\n', (size_t)n);
			c->in_len += (size_t)n;
			if (nl) {
				*nl = '\0';
				request(srv, c, (size_t)(nl - c->in), now_ns);
				return;
			}
			if (c->in_len > max) {
				sup_outf(&c->out, "ERR request longer than %zu bytes\n", max);
				start_reply(srv, c, SUP_CTL_TOO_LONG, now_ns);
				return;
			}
			continue;
		}
		if (n == 0) {
			/* End of stream: what came is the request (printf cmd | socat). */
			c->in[c->in_len] = '\0';
			request(srv, c, c->in_len, now_ns);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			finish(srv, c, SUP_CTL_ABORTED);
		return;
	}
}

static void accept_some(struct sup_ctl_server *srv, int64_t now_ns)
{
	for (int k = 0; k < ACCEPTS_PER_SERVE; k++) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* The connection stays queued and poll would report it
				 * again at once: look again a little later. */
				RF_LOG_RL(RF_LOG_WARN, "control socket: accept() failed: %s", strerror(errno));
				srv->accept_paused_until = now_ns + ACCEPT_PAUSE_NS;
			}
			return;
		}
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred ||
		    (cred.uid != srv->lim.allow_uid && cred.uid != 0)) {
			srv->count[SUP_CTL_REFUSED]++;
			RF_LOG_RL(RF_LOG_WARN, "control socket: refused a connection from uid %d (pid %d)",
				  len == sizeof cred ? (int)cred.uid : -1, len == sizeof cred ? (int)cred.pid : -1);
			static const char msg[] = "ERR permission denied\n";
			send_once(fd, msg, sizeof msg - 1);
			drain_close(fd);
			continue;
		}
		struct conn *c = NULL;
		for (int i = 0; i < srv->lim.max_clients && !c; i++)
			if (srv->conns[i].fd < 0)
				c = &srv->conns[i];
		if (!c) {
			srv->count[SUP_CTL_BUSY]++;
			RF_LOG_RL(RF_LOG_WARN, "control socket: %d clients connected already; answered busy to pid %d",
				  srv->nconns, (int)cred.pid);
			char msg[96];
			int m = snprintf(msg, sizeof msg, "ERR busy: %d clients connected, try again\n", srv->nconns);
			send_once(fd, msg, (size_t)m);
			drain_close(fd);
			continue;
		}
		c->fd = fd;
		c->pfd = -1;
		c->peer = cred.pid;
		c->replying = 0;
		c->in_len = 0;
		c->deadline_ns = now_ns + srv->lim.request_timeout_ns;
		srv->nconns++;
		/* ringflowctl writes its line right after connect: often it is
		 * here already, which saves a round through poll. */
		conn_read(srv, c, now_ns);
	}
}

int sup_ctl_server_pollfds(struct sup_ctl_server *srv, struct pollfd *pfd, int max)
{
	int n = 0;
	srv->listen_pfd = -1;
	if (!srv->accept_paused_until && n < max) {
		srv->listen_pfd = n;
		pfd[n++] = (struct pollfd){ .fd = srv->listen_fd, .events = POLLIN };
	}
	for (int i = 0; i < srv->lim.max_clients; i++) {
		struct conn *c = &srv->conns[i];
		c->pfd = -1;
		if (c->fd < 0 || n >= max)
			continue;
		c->pfd = n;
		pfd[n++] = (struct pollfd){ .fd = c->fd, .events = c->replying ? POLLOUT : POLLIN };
	}
	return n;
}

void sup_ctl_server_serve(struct sup_ctl_server *srv, const struct pollfd *pfd, int n, int64_t now_ns)
{
	for (int i = 0; i < srv->lim.max_clients; i++) {
		struct conn *c = &srv->conns[i];
		int k = c->pfd;
		c->pfd = -1;
		if (c->fd < 0 || k < 0 || k >= n || !pfd || !pfd[k].revents)
			continue;
		/* POLLHUP/POLLERR: the read or write below sees what happened. */
		if (c->replying)
			conn_write(srv, c);
		else
			conn_read(srv, c, now_ns);
	}
	int k = srv->listen_pfd;
	srv->listen_pfd = -1;
	if (srv->accept_paused_until && now_ns >= srv->accept_paused_until)
		srv->accept_paused_until = 0;
	else if (pfd && k >= 0 && k < n && (pfd[k].revents & POLLIN))
		accept_some(srv, now_ns);
	for (int i = 0; i < srv->lim.max_clients; i++) {
		struct conn *c = &srv->conns[i];
		if (c->fd < 0 || now_ns < c->deadline_ns)
			continue;
		if (c->replying) {
			finish(srv, c, SUP_CTL_REPLY_TIMEOUT);
			continue;
		}
		char msg[96];
		int m = snprintf(msg, sizeof msg, "ERR no complete request line within %lld ms\n",
				 (long long)(srv->lim.request_timeout_ns / 1000000));
		send_once(c->fd, msg, (size_t)m);
		finish(srv, c, SUP_CTL_TIMEOUT);
	}
}

int64_t sup_ctl_server_next_deadline(const struct sup_ctl_server *srv)
{
	int64_t next = srv->accept_paused_until ? srv->accept_paused_until : INT64_MAX;
	for (int i = 0; i < srv->lim.max_clients; i++)
		if (srv->conns[i].fd >= 0 && srv->conns[i].deadline_ns < next)
			next = srv->conns[i].deadline_ns;
	return next;
}

int sup_ctl_server_clients(const struct sup_ctl_server *srv)
{
	return srv->nconns;
}

uint64_t sup_ctl_server_count(const struct sup_ctl_server *srv, enum sup_ctl_result r)
{
	return r < SUP_CTL_RESULT_COUNT ? srv->count[r] : 0;
}

void sup_ctl_server_destroy(struct sup_ctl_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; srv->conns && i < srv->lim.max_clients; i++) {
		struct conn *c = &srv->conns[i];
		if (c->fd >= 0) {
			/* Exiting: a last try for a reply such as "stopping". */
			if (c->replying && c->out_off < c->out.len)
				send_once(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off);
			drain_close(c->fd);
		}
		out_reset(&c->out);
		free(c->in);
	}
	free(srv->conns);
	free(srv);
}

void sup_ctl_server_close_fds(struct sup_ctl_server *srv)
{
	for (int i = 0; srv && i < srv->lim.max_clients; i++)
		if (srv->conns[i].fd >= 0) {
			close(srv->conns[i].fd);
			srv->conns[i].fd = -1;
		}
}
