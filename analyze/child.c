/*
 * child.c — one analyzer executable as a child of the analyzer host: start,
 * the window queue into its stdin, its stdout lines and stderr log, timeout,
 * restart with backoff, finish. See child.h for the contract.
 *
 * Runs in the analyzer host process.
 */
#include "analyze/child.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const an_child_state_names[AN_CHILD_STATE_COUNT] = { "waiting", "running", "closing", "finished" };

#define LONG_RUN_NS (30LL * 1000000000)   /* a run this long resets the backoff */
#define PIPE_BYTES (1 << 20)              /* stdin pipe size asked for: big writes */
#define READ_CHUNK (128 * 1024)
#define ERR_LINE_MAX 1024
#define MAX_IOV 64
#define FINISH_GIVE_UP_EXITS 5            /* finishing, an analyzer that keeps dying loses its queue */

struct block {
	char *data;
	size_t len;
};

struct an_child {
	struct an_child_spec spec;
	enum an_child_state state;
	int finishing;
	int pid;
	int in_fd, out_fd, err_fd;        /* our ends; -1 when closed */
	int64_t started_ns;
	int64_t due_ns;                   /* WAITING: start time; CLOSING: kill time */
	int64_t backoff_ns;
	int short_runs;                   /* exits in a row of instances that died young */
	int exited;                       /* reaped, stdout and stderr still being drained */
	int killed;                       /* SIGKILL sent to this instance: wait for it */
	int64_t last_progress_ns;         /* last write into stdin (or start) */
	/* the queue: a ring of queue_max blocks; head's first head_off bytes are written */
	struct block *q;
	int qhead, qlen;
	size_t head_off;
	/* stdout line assembly */
	char *obuf;
	size_t olen;
	int oskip;                        /* inside an over-long line */
	char ebuf[ERR_LINE_MAX];
	size_t elen;
	int eskip;
	struct rf_ratelimit err_rl, warn_rl;
	struct an_child_stats st;
};

static void set_error(struct an_child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct an_child *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->st.last_error, sizeof c->st.last_error, fmt, ap);
	va_end(ap);
	rf_log_rl(&c->warn_rl, RF_LOG_WARN, "analyzer %s: %s", c->spec.name, c->st.last_error);
}

struct an_child *an_child_new(const struct an_child_spec *spec)
{
	struct an_child *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->spec = *spec;
	if (c->spec.queue_max < 1)
		c->spec.queue_max = 1;
	c->q = calloc((size_t)c->spec.queue_max, sizeof *c->q);
	c->obuf = malloc(AN_LINE_MAX + 1);
	if (!c->q || !c->obuf) {
		free(c->q);
		free(c->obuf);
		free(c);
		return NULL;
	}
	c->in_fd = c->out_fd = c->err_fd = -1;
	/* A closed 0, 1 or 2 in the host would let pipe2() hand out one of
	 * them and the child's dup2s clobber each other: hold them open. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			break;
	c->backoff_ns = AN_BACKOFF_MIN_NS;
	return c;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void kill_group(struct an_child *c)
{
	if (c->pid > 0 && !c->exited)
		kill(-c->pid, SIGKILL);
	c->killed = 1;
}

void an_child_free(struct an_child *c)
{
	if (!c)
		return;
	if (c->pid > 0 && !c->exited) {
		kill_group(c);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&c->in_fd);
	close_fd(&c->out_fd);
	close_fd(&c->err_fd);
	for (int i = 0; i < c->qlen; i++)
		free(c->q[(c->qhead + i) % c->spec.queue_max].data);
	free(c->q);
	free(c->obuf);
	free(c);
}

int an_child_enqueue(struct an_child *c, const char *text, size_t len)
{
	if (c->finishing || c->qlen >= c->spec.queue_max)
		return -1;
	char *d = malloc(len ? len : 1);
	if (!d)
		return -1;
	memcpy(d, text, len);
	struct block *b = &c->q[(c->qhead + c->qlen) % c->spec.queue_max];
	b->data = d;
	b->len = len;
	if (c->qlen == 0 && c->state == AN_CHILD_RUNNING)
		c->last_progress_ns = 0;  /* the timeout starts now: set by service */
	c->qlen++;
	return 0;
}

int an_child_queue_len(const struct an_child *c)
{
	return c->qlen;
}

static void pop_head(struct an_child *c)
{
	free(c->q[c->qhead].data);
	c->q[c->qhead].data = NULL;
	c->qhead = (c->qhead + 1) % c->spec.queue_max;
	c->qlen--;
	c->head_off = 0;
}

/* In the child, between fork and execve: only async-signal-safe calls. */
static void exec_child(const struct an_child *c, int in_r, int out_w, int err_w, int status_w, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);          /* the host died before the prctl */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);  /* fails harmlessly for KILL, STOP and unused numbers */
	/* The pipes were made while 0, 1 and 2 were open (an_child_new checks),
	 * so none of them is below 3 and the dup2s cannot clobber each other. */
	if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		goto fail;
	/* Everything else goes, but the status pipe (close-on-exec: a good
	 * execve closes it, which is how the parent knows). */
	if ((status_w > 3 && close_range(3, (unsigned)status_w - 1, 0)) ||
	    close_range((unsigned)status_w + 1, ~0U, 0))
		goto fail;
	execve(c->spec.path, c->spec.argv, c->spec.envp);
fail:;
	int e = errno;
	ssize_t w = write(status_w, &e, sizeof e);
	(void)w;
	_exit(127);
}

static int start(struct an_child *c, int64_t now)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 }, stp[2] = { -1, -1 };
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC) || pipe2(stp, O_CLOEXEC)) {
		set_error(c, "cannot create pipes: %s", strerror(errno));
		goto fail;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		set_error(c, "cannot fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		exec_child(c, in[0], out[1], er[1], stp[1], parent);
	/* Also here, so a kill of the group cannot miss a child that has not
	 * run its own setpgid yet. */
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	close(er[1]);
	close(stp[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(stp[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(stp[0]);
	if (n == (ssize_t)sizeof e) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(in[1]);
		close(out[0]);
		close(er[0]);
		set_error(c, "cannot execute %s: %s", c->spec.path, strerror(e));
		return -1;
	}
	c->pid = pid;
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = er[0];
	fcntl(c->in_fd, F_SETPIPE_SZ, PIPE_BYTES);  /* a hint: may be refused */
	fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	c->exited = 0;
	c->killed = 0;
	c->started_ns = now;
	c->last_progress_ns = now;
	c->olen = c->elen = 0;
	c->oskip = c->eskip = 0;
	c->state = AN_CHILD_RUNNING;
	c->st.starts++;
	c->st.pid = pid;
	rf_info("analyzer %s: started %s (pid %d)", c->spec.name, c->spec.path, pid);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&er[i]);
		close_fd(&stp[i]);
	}
	return -1;
}

/* Schedules the next start after an instance ended (or failed to start). */
static void schedule_restart(struct an_child *c, int64_t now, int ran_long)
{
	if (ran_long) {
		c->backoff_ns = AN_BACKOFF_MIN_NS;
		c->short_runs = 0;
	} else {
		c->short_runs++;
	}
	c->st.crash_loop = c->short_runs >= AN_CRASH_LOOP_EXITS;
	c->due_ns = now + c->backoff_ns;
	if (!ran_long) {
		c->backoff_ns *= 2;
		if (c->backoff_ns > AN_BACKOFF_MAX_NS)
			c->backoff_ns = AN_BACKOFF_MAX_NS;
	}
	c->state = AN_CHILD_WAITING;
}

static void write_queue(struct an_child *c, int64_t now)
{
	while (c->qlen > 0 && c->in_fd >= 0) {
		struct iovec iov[MAX_IOV];
		int n = 0;
		for (int i = 0; i < c->qlen && n < MAX_IOV; i++) {
			const struct block *b = &c->q[(c->qhead + i) % c->spec.queue_max];
			size_t off = i == 0 ? c->head_off : 0;
			if (b->len > off) {
				iov[n].iov_base = b->data + off;
				iov[n].iov_len = b->len - off;
				n++;
			}
		}
		if (n == 0) {           /* only empty blocks left */
			while (c->qlen > 0 && c->q[c->qhead].len == 0) {
				pop_head(c);
				c->st.windows_delivered++;
			}
			continue;
		}
		ssize_t w = writev(c->in_fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_fd(&c->in_fd);  /* EPIPE: it closed stdin or died; the exit is reaped later */
			return;
		}
		c->st.bytes_in += (uint64_t)w;
		c->last_progress_ns = now;
		size_t left = (size_t)w;
		while (c->qlen > 0) {
			struct block *b = &c->q[c->qhead];
			size_t rest = b->len - c->head_off;
			if (left < rest) {
				c->head_off += left;
				break;
			}
			left -= rest;
			pop_head(c);
			c->st.windows_delivered++;
		}
	}
}

static void out_bytes(struct an_child *c, const char *p, size_t n, an_line_fn fn, void *arg)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (c->oskip) {
			/* over-long: dropped up to its newline */
		} else if (c->olen + take > AN_LINE_MAX) {
			c->oskip = 1;
			c->olen = 0;
			c->st.lines_too_long++;
			fn(arg, NULL, 0, 1);
		} else {
			memcpy(c->obuf + c->olen, p, take);
			c->olen += take;
		}
		if (!nl)
			return;
		if (!c->oskip) {
			c->obuf[c->olen] = '\0';
			c->st.lines_out++;
			fn(arg, c->obuf, c->olen, 0);
		}
		c->olen = 0;
		c->oskip = 0;
		p = nl + 1;
		n -= take + 1;
	}
}

static void log_err_line(struct an_child *c)
{
	for (size_t i = 0; i < c->elen; i++)
		if ((unsigned char)c->ebuf[i] < 0x20 && c->ebuf[i] != '\t')
			c->ebuf[i] = '?';
	c->st.stderr_lines++;
	rf_log_rl(&c->err_rl, RF_LOG_WARN, "analyzer %s: %.*s%s", c->spec.name, (int)c->elen, c->ebuf,
		  c->eskip ? " [cut]" : "");
	c->elen = 0;
	c->eskip = 0;
}

static void err_bytes(struct an_child *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		size_t room = sizeof c->ebuf - c->elen;
		size_t copy = take < room ? take : room;
		memcpy(c->ebuf + c->elen, p, copy);
		c->elen += copy;
		if (copy < take)
			c->eskip = 1;
		if (!nl)
			return;
		log_err_line(c);
		p = nl + 1;
		n -= take + 1;
	}
}

/* Reads what is there; closes the descriptor at EOF. */
static void drain(struct an_child *c, int *fd, int is_out, an_line_fn fn, void *arg)
{
	static char buf[READ_CHUNK];
	/* Bounded per call, so one chatty analyzer cannot starve the host. */
	for (int rounds = 0; *fd >= 0 && rounds < 16; rounds++) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_fd(fd);
			return;
		}
		if (n == 0) {
			close_fd(fd);
			if (is_out && c->olen && !c->oskip) {  /* a last line without '\n' still counts */
				c->obuf[c->olen] = '\0';
				c->st.lines_out++;
				fn(arg, c->obuf, c->olen, 0);
			}
			/* Each stream's own rest only: stderr may end first while a
			 * last stdout line is still partial. */
			if (is_out)
				c->olen = 0;
			else if (c->elen)
				log_err_line(c);
			return;
		}
		if (is_out)
			out_bytes(c, buf, (size_t)n, fn, arg);
		else
			err_bytes(c, buf, (size_t)n);
	}
}

static void describe_exit(struct an_child *c, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && c->finishing)
		rf_info("analyzer %s: finished (pid %d)", c->spec.name, c->pid);
	else if (WIFEXITED(status))
		set_error(c, "exited with status %d (pid %d)", WEXITSTATUS(status), c->pid);
	else if (WIFSIGNALED(status) && !c->killed)
		set_error(c, "killed by signal %d (pid %d)", WTERMSIG(status), c->pid);
	else if (WIFSIGNALED(status))  /* we killed it: last_error already says why */
		rf_log_rl(&c->warn_rl, RF_LOG_WARN, "analyzer %s: killed by signal %d (pid %d)", c->spec.name,
			  WTERMSIG(status), c->pid);
}

/* The instance is gone and its output drained: what next. */
static void ended(struct an_child *c, int64_t now)
{
	close_fd(&c->in_fd);
	c->pid = 0;
	c->st.pid = 0;
	c->exited = 0;
	c->st.exits++;
	if (c->head_off) {          /* cut by the death: whole again to the next one */
		c->head_off = 0;
		c->st.windows_resent++;
	}
	int ran_long = now - c->started_ns >= LONG_RUN_NS;
	if (c->finishing && c->qlen == 0) {
		c->state = AN_CHILD_FINISHED;
		return;
	}
	if (c->finishing && c->short_runs + 1 >= FINISH_GIVE_UP_EXITS) {
		set_error(c, "keeps exiting while finishing: %d window(s) it did not take are dropped", c->qlen);
		while (c->qlen)
			pop_head(c);
		c->state = AN_CHILD_FINISHED;
		return;
	}
	schedule_restart(c, now, ran_long);
}

void an_child_service(struct an_child *c, int64_t now, an_line_fn fn, void *arg)
{
	if (c->state == AN_CHILD_FINISHED)
		return;
	if (c->state == AN_CHILD_WAITING) {
		if (now < c->due_ns)
			return;
		if (start(c, now)) {
			schedule_restart(c, now, 0);
			return;
		}
	}
	drain(c, &c->out_fd, 1, fn, arg);
	drain(c, &c->err_fd, 0, fn, arg);
	if (!c->exited) {
		int status;
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid) {
			c->exited = 1;
			describe_exit(c, status);
			/* Its group may still hold the pipes open (a grandchild): gone too. */
			kill(-c->pid, SIGKILL);
			close_fd(&c->in_fd);
		}
	}
	if (c->exited) {
		if (c->out_fd >= 0 || c->err_fd >= 0)
			return;  /* still draining what it wrote before it died */
		ended(c, now);
		return;
	}
	if (c->killed)
		return;  /* dying: reaped by a later call */
	if (c->state == AN_CHILD_RUNNING) {
		if (c->qlen && c->last_progress_ns == 0)
			c->last_progress_ns = now;
		write_queue(c, now);
		if (c->qlen && c->in_fd >= 0 && now - c->last_progress_ns >= c->spec.timeout_ns) {
			c->st.timeouts++;
			set_error(c, "took no input for %lld ms: killed (timeout)",
				  (long long)(c->spec.timeout_ns / 1000000));
			kill_group(c);
			return;
		}
		if (c->finishing && c->qlen == 0) {
			close_fd(&c->in_fd);
			c->state = AN_CHILD_CLOSING;
			c->due_ns = now + c->spec.timeout_ns;
		}
	}
	if (c->state == AN_CHILD_CLOSING && now >= c->due_ns) {
		set_error(c, "did not exit within %lld ms of the end of its input: killed",
			  (long long)(c->spec.timeout_ns / 1000000));
		kill_group(c);
	}
}

int an_child_pollfds(const struct an_child *c, struct pollfd *pfd, int max)
{
	int n = 0;
	if (c->out_fd >= 0 && n < max)
		pfd[n++] = (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
	if (c->err_fd >= 0 && n < max)
		pfd[n++] = (struct pollfd){ .fd = c->err_fd, .events = POLLIN };
	if (c->in_fd >= 0 && c->qlen > 0 && !c->exited && n < max)
		pfd[n++] = (struct pollfd){ .fd = c->in_fd, .events = POLLOUT };
	return n;
}

int64_t an_child_next_due(const struct an_child *c, int64_t now)
{
	switch (c->state) {
	case AN_CHILD_WAITING:
		return c->due_ns;
	case AN_CHILD_RUNNING:
		/* The exit of a child that closed its pipes is seen by waitpid only. */
		if (c->exited || (c->out_fd < 0 && c->err_fd < 0))
			return now + 10 * 1000000LL;
		if (c->qlen)
			return (c->last_progress_ns ? c->last_progress_ns : now) + c->spec.timeout_ns;
		return c->finishing ? now : INT64_MAX;
	case AN_CHILD_CLOSING:
		if (c->out_fd < 0 && c->err_fd < 0)
			return now + 10 * 1000000LL;
		return c->due_ns;
	default:
		return INT64_MAX;
	}
}

/* One that never started still runs once, to see its empty input end. */
void an_child_finish(struct an_child *c)
{
	c->finishing = 1;
}

enum an_child_state an_child_state(const struct an_child *c)
{
	return c->state;
}

const struct an_child_stats *an_child_stats(const struct an_child *c)
{
	return &c->st;
}
