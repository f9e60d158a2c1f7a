/*
 * control.c — the control socket <run_dir>/<name>.sock (mode 0600) and the
 * commands ringflowctl sends. Runs in the supervisor's loop.
 *
 * Protocol: the client sends one command line; the reply is text whose
 * first line is "OK" or "ERR <message>", then the command's output; the
 * server closes the connection. Only the supervisor's own user (or root)
 * may talk to it: the socket mode says so and SO_PEERCRED checks it.
 */
#include "supervisor/supervisor.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "supervisor/checkpoint.h"
#include "supervisor/pipeline.h"
#include "transform/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int sup_control_open(struct sup *s, char *err, size_t errlen)
{
	const struct conf_ringflow *rc = &s->pl->conf.ringflow;
	if (rf_mkdir_p(rc->run_dir, 0755)) {
		snprintf(err, errlen, "[ringflow] run_dir: mkdir(%s) failed: %s", rc->run_dir, strerror(errno));
		return -1;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n = snprintf(s->sock_path, sizeof s->sock_path, "%s/%s.sock", rc->run_dir, rc->name);
	if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
		snprintf(err, errlen, "[ringflow] run_dir: socket path '%s/%s.sock' is too long", rc->run_dir, rc->name);
		return -1;
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket(AF_UNIX) failed: %s", strerror(errno));
		return -1;
	}
	/* A socket file left by a dead instance is removed; a live one is not. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		snprintf(err, errlen, "%s: another ringflow with name '%s' is running", s->sock_path, rc->name);
		close(fd);
		return -1;
	}
	unlink(s->sock_path);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t old = umask(0077);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (b || chmod(s->sock_path, 0600) || listen(fd, 16)) {
		snprintf(err, errlen, "bind/listen(%s) failed: %s", s->sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	s->listen_fd = fd;
	return 0;
}

void sup_control_close(struct sup *s)
{
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->sock_path);
		s->listen_fd = -1;
	}
}

struct out {
	char *buf;
	size_t len, cap;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 16384;
		while (cap < o->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(o->buf, cap);
		if (!p)
			return;
		o->buf = p;
		o->cap = cap;
	}
}

static void fmt_duration(char *b, size_t n, int64_t ns)
{
	long long s = ns / RF_NS_PER_SEC;
	if (s >= 86400)
		snprintf(b, n, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(b, n, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(b, n, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(b, n, "%llds", s);
}

static void status_checkpoint(struct sup *s, struct out *o)
{
	const struct sup_ckpt *k = &s->ckpt;
	if (!k->store) {
		outf(o, "\ncheckpoints: off (file input is read from its start on every run)\n");
		return;
	}
	if (k->last.id) {
		char age[32];
		fmt_duration(age, sizeof age, rf_now_ns() - k->last.completed_ns);
		outf(o, "\nlast checkpoint: %llu, %s ago, took %.1f ms\n", (unsigned long long)k->last.id, age,
		     (double)k->last.duration_ns / 1e6);
	} else {
		outf(o, "\nlast checkpoint: none yet\n");
	}
	uint64_t busy = k->inflight ? k->inflight : k->final;
	if (busy) {
		char t[32];
		fmt_duration(t, sizeof t, rf_mono_ns() - k->started_ns[busy & 1]);
		outf(o, "checkpoint %llu in progress for %s\n", (unsigned long long)busy, t);
	}
	outf(o, "checkpoints completed %llu, failed %llu since start; interval %.1f s\n",
	     (unsigned long long)k->completed, (unsigned long long)k->failed,
	     (double)s->pl->conf.ringflow.checkpoint_interval_ns / 1e9);
}

static void cmd_status(struct sup *s, struct out *o)
{
	char up[32];
	fmt_duration(up, sizeof up, rf_mono_ns() - s->started_ns);
	outf(o, "ringflow %s: pid %d, up %s, state %s, data-plane restarts %u\n", s->pl->conf.ringflow.name,
	     (int)getpid(), up, sup_state_names[s->state], s->restarts);
	outf(o, "config %s\n\n", s->pl->conf.path);
	static const char *unit[RF_ROLE_COUNT] = { "lines/s", "records/s", "rows/s", "points/s" };
	outf(o, "%-14s %8s %-8s %8s %14s\n", "process", "pid", "state", "restarts", "rate");
	for (int i = 0; i < s->nchildren; i++) {
		struct sup_child *c = &s->children[i];
		char name[32];
		snprintf(name, sizeof name, "%s %d", rf_role_names[c->role], c->index);
		outf(o, "%-14s %8d %-8s %8u %9.0f %s\n", name, (int)c->pid, rf_proc_state_names[c->state],
		     c->restarts, s->rate[i].per_sec, unit[c->role]);
	}
	int problems = 0;
	for (int i = 0; i < s->nchildren; i++) {
		struct sup_child *c = &s->children[i];
		char note[160];
		rf_stat_read_note(rf_layout_stats(s->seg, &s->lay, c->role, c->index), note, sizeof note);
		if (note[0])
			outf(o, "%s%s %d: %s\n", problems++ ? "" : "\nproblems\n", rf_role_names[c->role], c->index,
			     note);
	}
	outf(o, "\nring fill (bytes used / capacity)\n");
	for (int r = 0; r + 1 < RF_ROLE_COUNT; r++)
		for (int i = 0; i < s->lay.n[r]; i++)
			for (int j = 0; j < s->lay.n[r + 1]; j++) {
				const struct shm_ring *ring = shm_at(s->seg, s->lay.edge[r][i][j]);
				size_t used = shm_ring_used(ring), cap = shm_ring_capacity(ring);
				outf(o, "  %s %d -> %s %d: %5.1f%% (%zu / %zu)\n", rf_role_names[r], i,
				     rf_role_names[r + 1], j, cap ? 100.0 * (double)used / (double)cap : 0.0, used, cap);
			}
	if (s->pl->conf.input.type == CONF_INPUT_KAFKA) {
		outf(o, "\nconsumer lag (group %s)\n", s->pl->conf.input.group);
		int any = 0;
		for (int i = 0; i < s->lay.n[RF_ROLE_INGEST]; i++) {
			struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, RF_ROLE_INGEST, i);
			for (int k = 0; k < RF_LAG_PARTITIONS; k++) {
				int64_t part = atomic_load_explicit(&st->lag[k].partition, memory_order_acquire);
				if (part < 0)
					continue;
				int64_t off = atomic_load_explicit(&st->lag[k].offset, memory_order_relaxed);
				int64_t hi = atomic_load_explicit(&st->lag[k].high, memory_order_relaxed);
				any = 1;
				if (off >= 0 && hi >= 0)
					outf(o, "  %s[%lld]: next offset %lld, high watermark %lld, lag %lld\n", st->lag[k].topic,
					     (long long)part, (long long)off, (long long)hi, (long long)(hi - off));
				else
					outf(o, "  %s[%lld]: nothing consumed yet\n", st->lag[k].topic, (long long)part);
			}
		}
		if (!any)
			outf(o, "  no partitions assigned yet\n");
	}
	status_checkpoint(s, o);
}

static void cmd_stats(struct sup *s, struct out *o)
{
	outf(o, "# HELP ringflow_up 1 while the data plane runs\n# TYPE ringflow_up gauge\nringflow_up %d\n",
	     s->state == SUP_RUNNING);
	outf(o, "# HELP ringflow_restarts_total Data-plane restarts after a crash\n"
		"# TYPE ringflow_restarts_total counter\nringflow_restarts_total %u\n", s->restarts);
	outf(o, "# HELP ringflow_checkpoints_completed_total Checkpoints completed since start\n"
		"# TYPE ringflow_checkpoints_completed_total counter\nringflow_checkpoints_completed_total %llu\n",
	     (unsigned long long)s->ckpt.completed);
	outf(o, "# HELP ringflow_checkpoints_failed_total Checkpoints abandoned since start (a part could not be stored)\n"
		"# TYPE ringflow_checkpoints_failed_total counter\nringflow_checkpoints_failed_total %llu\n",
	     (unsigned long long)s->ckpt.failed);
	outf(o, "# HELP ringflow_checkpoint_last_id Id of the last complete checkpoint (0: none)\n"
		"# TYPE ringflow_checkpoint_last_id gauge\nringflow_checkpoint_last_id %llu\n",
	     (unsigned long long)s->ckpt.last.id);
	outf(o, "# HELP ringflow_checkpoint_last_duration_seconds Request to completion of the last checkpoint\n"
		"# TYPE ringflow_checkpoint_last_duration_seconds gauge\nringflow_checkpoint_last_duration_seconds %.6f\n",
	     (double)s->ckpt.last.duration_ns / 1e9);
	outf(o, "# HELP ringflow_checkpoint_part_seconds Each participant's own share of the last checkpoint\n"
		"# TYPE ringflow_checkpoint_part_seconds gauge\n");
	for (int i = 0; i < s->nchildren; i++) {
		const struct sup_child *c = &s->children[i];
		if (c->role == RF_ROLE_TRANSFORM)
			continue;
		const struct rf_ckpt_ctl *cc = shm_at(s->seg, s->lay.ckpt);
		outf(o, "ringflow_checkpoint_part_seconds{role=\"%s\",index=\"%d\"} %.6f\n", rf_role_names[c->role],
		     c->index, (double)atomic_load(&cc->took_ns[c->role][c->index]) / 1e9);
	}
	for (int k = 0; k < RF_ST_COUNT; k++) {
		const struct rf_stat_desc *d = &rf_stat_descs[k];
		outf(o, "# HELP ringflow_%s %s\n# TYPE ringflow_%s %s\n", d->name, d->help, d->name,
		     d->gauge ? "gauge" : "counter");
		for (int i = 0; i < s->nchildren; i++) {
			struct sup_child *c = &s->children[i];
			struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, c->role, c->index);
			outf(o, "ringflow_%s{role=\"%s\",index=\"%d\"} %llu\n", d->name, rf_role_names[c->role],
			     c->index, (unsigned long long)rf_stat_get(st, (enum rf_stat)k));
		}
	}
	outf(o, "# HELP ringflow_records_rejected_by_reason_total Records rejected by transform, by reason\n"
		"# TYPE ringflow_records_rejected_by_reason_total counter\n");
	for (int r = 0; r < XF_RESULT_COUNT && r < RF_REJECT_MAX; r++) {
		if (r == XF_OK || r == XF_FILTERED)
			continue;
		uint64_t sum = 0;
		for (int i = 0; i < s->lay.n[RF_ROLE_TRANSFORM]; i++) {
			struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, RF_ROLE_TRANSFORM, i);
			sum += atomic_load_explicit(&st->reject[r], memory_order_relaxed);
		}
		outf(o, "ringflow_records_rejected_by_reason_total{reason=\"%s\"} %llu\n",
		     xf_result_name((enum xf_result)r), (unsigned long long)sum);
	}
	outf(o, "# HELP ringflow_ring_used_bytes Bytes waiting in each ring\n# TYPE ringflow_ring_used_bytes gauge\n");
	for (int r = 0; r + 1 < RF_ROLE_COUNT; r++)
		for (int i = 0; i < s->lay.n[r]; i++)
			for (int j = 0; j < s->lay.n[r + 1]; j++) {
				const struct shm_ring *ring = shm_at(s->seg, s->lay.edge[r][i][j]);
				outf(o, "ringflow_ring_used_bytes{from=\"%s %d\",to=\"%s %d\"} %zu\n", rf_role_names[r], i,
				     rf_role_names[r + 1], j, shm_ring_used(ring));
			}
}

static const char help_text[] =
	"status              processes, rates, ring fill, consumer lag, last checkpoint\n"
	"stats               every counter, Prometheus text format\n"
	"checkpoint          start a checkpoint now (see status for its completion)\n"
	"stop                graceful stop: stop consuming, drain, final checkpoint, flush, exit 0\n"
	"help                this text\n"
	"scale ROLE N, reload: not available in this version\n";

static void handle(struct sup *s, int fd)
{
	char line[256];
	size_t got = 0;
	while (got < sizeof line - 1) {
		ssize_t n = read(fd, line + got, sizeof line - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	struct out o = { 0 };
	char *cmd = line;
	while (*cmd == ' ')
		cmd++;
	if (!strcmp(cmd, "status")) {
		outf(&o, "OK\n");
		cmd_status(s, &o);
	} else if (!strcmp(cmd, "stats")) {
		outf(&o, "OK\n");
		cmd_stats(s, &o);
	} else if (!strcmp(cmd, "stop")) {
		outf(&o, "OK\nstopping\n");
		sup_request_stop(s, "ringflowctl stop");
	} else if (!strcmp(cmd, "help") || !*cmd) {
		outf(&o, "OK\n%s", help_text);
	} else if (!strcmp(cmd, "checkpoint")) {
		char msg[128];
		if (sup_ckpt_request(s, msg, sizeof msg))
			outf(&o, "ERR %s\n", msg);
		else
			outf(&o, "OK\n%s\n", msg);
	} else if (!strncmp(cmd, "scale", 5) || !strcmp(cmd, "reload")) {
		outf(&o, "ERR '%s' is not available in this version\n", cmd);
	} else {
		outf(&o, "ERR unknown command '%.64s' (try help)\n", cmd);
	}
	size_t off = 0;
	while (o.buf && off < o.len) {
		ssize_t n = write(fd, o.buf + off, o.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(o.buf);
}

void sup_control_accept(struct sup *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || (cred.uid != geteuid() && cred.uid != 0)) {
			RF_LOG_RL(RF_LOG_WARN, "control socket: refused a connection from uid %d",
				  len == sizeof cred ? (int)cred.uid : -1);
			const char msg[] = "ERR permission denied\n";
			ssize_t w = write(fd, msg, sizeof msg - 1);
			(void)w;
			close(fd);
			continue;
		}
		/* Bounded wait for the command line: a stuck client cannot hold
		 * the supervisor for more than a second. */
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		handle(s, fd);
		close(fd);
	}
}
