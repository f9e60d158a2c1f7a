/*
 * control.c — the control socket <run_dir>/<name>.sock (mode 0600) and the
 * commands ringflowctl sends. Runs in the supervisor's loop.
 *
 * Protocol: the client sends one command line (at most SUP_CTL_MAX_LINE
 * bytes); the reply is text whose first line is "OK" or "ERR <message>",
 * then the command's output; the server closes the connection. Only the
 * supervisor's own user (or root) may talk to it: the socket mode says so
 * and SO_PEERCRED checks it. Connections are served by ctl_server.c without
 * blocking the loop; this file opens the socket and answers the commands.
 */
#include "supervisor/supervisor.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pipeline/analyzers.h"
#include "pipeline/checkpoint.h"
#include "supervisor/ctl_server.h"
#include "supervisor/pipeline.h"
#include "supervisor/status.h"
#include "transform/transform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void handle(void *arg, const char *line, struct sup_out *o);

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
	if (fd < 0) {
		snprintf(err, errlen, "socket(AF_UNIX) failed: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0077);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (b || chmod(s->sock_path, 0600) || listen(fd, SUP_CTL_MAX_CLIENTS)) {
		snprintf(err, errlen, "bind/listen(%s) failed: %s", s->sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	struct sup_ctl_limits lim = {
		.max_clients = SUP_CTL_MAX_CLIENTS,
		.max_line = SUP_CTL_MAX_LINE,
		.request_timeout_ns = SUP_CTL_REQUEST_TIMEOUT_NS,
		.reply_timeout_ns = SUP_CTL_REPLY_TIMEOUT_NS,
		.allow_uid = geteuid(),
	};
	s->ctl = sup_ctl_server_create(fd, &lim, handle, s, err, errlen);
	if (!s->ctl) {
		close(fd);
		unlink(s->sock_path);
		return -1;
	}
	s->listen_fd = fd;
	return 0;
}

void sup_control_close(struct sup *s)
{
	sup_ctl_server_destroy(s->ctl);
	s->ctl = NULL;
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->sock_path);
		s->listen_fd = -1;
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

static void status_checkpoint(struct sup *s, struct sup_out *o)
{
	const struct sup_ckpt *k = &s->ckpt;
	if (!k->store) {
		sup_outf(o, "\ncheckpoints: off (file input is read from its start on every run)\n");
		return;
	}
	if (k->last.id) {
		char age[32];
		fmt_duration(age, sizeof age, rf_now_ns() - k->last.completed_ns);
		sup_outf(o, "\nlast checkpoint: %llu, %s ago, took %.1f ms\n", (unsigned long long)k->last.id, age,
		         (double)k->last.duration_ns / 1e6);
	} else {
		sup_outf(o, "\nlast checkpoint: none yet\n");
	}
	int64_t for_ns;
	uint64_t busy = sup_status_ckpt_busy(s, &for_ns);
	if (busy) {
		char t[32];
		fmt_duration(t, sizeof t, for_ns);
		sup_outf(o, "checkpoint %llu in progress for %s\n", (unsigned long long)busy, t);
	}
	sup_outf(o, "checkpoints completed %llu, failed %llu since start; interval %.1f s\n",
	         (unsigned long long)k->completed, (unsigned long long)k->failed,
	         (double)s->pl->conf.ringflow.checkpoint_interval_ns / 1e9);
}

static void status_analyzers(struct sup *s, struct sup_out *o)
{
	const struct rf_an_slot *an = rf_an_slots(s->seg, s->lay.analyzers);
	sup_outf(o, "\n%-16s %4s %8s %-8s %8s %10s %8s %8s %8s %8s\n", "analyzer", "host", "pid", "state", "restarts",
	         "delivered", "dropped", "rejected", "warning", "critical");
	for (int k = 0; k < s->pl->conf.nanalyzers; k++) {
		const struct rf_an_slot *a = &an[k];
		int st = atomic_load(&a->state);
		sup_outf(o, "%-16s %4d %8d %-8s %8llu %10llu %8llu %8llu %8llu %8llu\n", s->pl->conf.analyzers[k].name,
		         atomic_load(&a->host), atomic_load(&a->pid),
		         sup_an_state_name(st),
		         (unsigned long long)atomic_load(&a->c[RF_AN_RESTARTS]),
		         (unsigned long long)atomic_load(&a->c[RF_AN_WINDOWS_DELIVERED]),
		         (unsigned long long)atomic_load(&a->c[RF_AN_WINDOWS_DROPPED]),
		         (unsigned long long)atomic_load(&a->c[RF_AN_LINES_REJECTED]),
		         (unsigned long long)atomic_load(&a->alerts[RF_AN_WARNING]),
		         (unsigned long long)atomic_load(&a->alerts[RF_AN_CRITICAL]));
		char e[RF_AN_ERROR_MAX];
		rf_an_read_error(a, e, sizeof e);
		if (e[0])
			sup_outf(o, "  last error: %s\n", e);
	}
}

struct text_problems {
	struct sup_out *o;
	int n;
};

static void text_problem(void *arg, const char *text)
{
	struct text_problems *tp = arg;
	sup_outf(tp->o, "%s%s\n", tp->n++ ? "" : "\nproblems\n", text);
}

static void text_lag(void *arg, const struct sup_lag *l)
{
	struct sup_out *o = arg;
	if (l->next_offset >= 0 && l->high >= 0)
		sup_outf(o, "  %s[%lld]: next offset %lld, high watermark %lld, lag %lld\n", l->topic, l->partition,
		         l->next_offset, l->high, l->high - l->next_offset);
	else
		sup_outf(o, "  %s[%lld]: nothing consumed yet\n", l->topic, l->partition);
	if (l->paused_ahead_ns > 0)
		sup_outf(o, "    paused: event time %.1f s ahead of the slowest partition (max_skew)\n",
			 (double)l->paused_ahead_ns / 1e9);
}

/* The status cpu column: "LAST/PINNED", "-" for unknown or not pinned. */
static void fmt_cpu(char *buf, size_t len, int last, int pinned)
{
	char l[12] = "-", p[12] = "-";
	if (last >= 0)
		snprintf(l, sizeof l, "%d", last);
	if (pinned >= 0)
		snprintf(p, sizeof p, "%d", pinned);
	snprintf(buf, len, "%s/%s", l, p);
}

static void cmd_status(struct sup *s, struct sup_out *o)
{
	char up[32];
	fmt_duration(up, sizeof up, rf_mono_ns() - s->started_ns);
	sup_outf(o, "ringflow %s: pid %d, up %s, state %s, data-plane restarts %u\n", s->pl->conf.ringflow.name,
	         (int)getpid(), up, sup_state_names[s->state], s->restarts);
	sup_outf(o, "config %s\n\n", s->pl->conf.path);
	/* cpu: last ran on / pinned to ("-": unknown, not pinned); last, so
	 * that scripts reading the columns before it are unchanged. */
	sup_outf(o, "%-14s %8s %-8s %8s %9s %-9s %s\n", "process", "pid", "state", "restarts", "rate", "", "cpu");
	for (int i = 0; i < s->nchildren; i++) {
		struct sup_child *c = &s->children[i];
		char name[32], cpu[24];
		int last, pinned;
		snprintf(name, sizeof name, "%s %d", rf_role_names[c->role], c->index);
		sup_child_cpu(s, i, &last, &pinned);
		fmt_cpu(cpu, sizeof cpu, last, pinned);
		sup_outf(o, "%-14s %8d %-8s %8u %9.0f %-9s %s\n", name, (int)c->pid, rf_proc_state_names[c->state],
		         c->restarts, s->rate[i].per_sec, sup_rate_units[c->role], cpu);
	}
	struct text_problems tp = { o, 0 };
	sup_status_problems(s, text_problem, &tp);
	if (s->pl->conf.nanalyzers)
		status_analyzers(s, o);
	sup_outf(o, "\nring fill (bytes used / capacity)\n");
	for (int k = 0; k < s->lay.nrings; k++) {
		const struct rf_ring_ref *rr = &s->lay.rings[k];
		const struct shm_ring *ring = shm_at(s->seg, rr->off);
		size_t used = shm_ring_used(ring), cap = shm_ring_capacity(ring);
		sup_outf(o, "  %s %d -> %s %d: %5.1f%% (%zu / %zu)\n", rf_role_names[rr->from_role], rr->from,
		         rf_role_names[rr->to_role], rr->to, cap ? 100.0 * (double)used / (double)cap : 0.0, used, cap);
	}
	if (s->pl->conf.input.type == CONF_INPUT_KAFKA) {
		sup_outf(o, "\nconsumer lag (group %s)\n", s->pl->conf.input.group);
		if (!sup_status_lag(s, text_lag, o))
			sup_outf(o, "  no partitions assigned yet\n");
	}
	status_checkpoint(s, o);
}

static void stats_analyzers(struct sup *s, struct sup_out *o)
{
	const struct rf_an_slot *an = rf_an_slots(s->seg, s->lay.analyzers);
	int n = s->pl->conf.nanalyzers;
	for (int c = 0; c < RF_AN_COUNTER_COUNT; c++) {
		sup_outf(o, "# HELP ringflow_analyzer_%s_total Per analyzer: %s\n# TYPE ringflow_analyzer_%s_total counter\n",
		         rf_an_counter_names[c], rf_an_counter_names[c], rf_an_counter_names[c]);
		for (int k = 0; k < n; k++)
			sup_outf(o, "ringflow_analyzer_%s_total{analyzer=\"%s\"} %llu\n", rf_an_counter_names[c],
			         s->pl->conf.analyzers[k].name, (unsigned long long)atomic_load(&an[k].c[c]));
	}
	sup_outf(o, "# HELP ringflow_analyzer_alerts_total Alerts the analyzer printed, by severity\n"
		"# TYPE ringflow_analyzer_alerts_total counter\n");
	for (int k = 0; k < n; k++)
		for (int v = 0; v < RF_AN_SEVERITY_COUNT; v++)
			sup_outf(o, "ringflow_analyzer_alerts_total{analyzer=\"%s\",severity=\"%s\"} %llu\n",
			         s->pl->conf.analyzers[k].name, rf_an_severity_names[v],
			         (unsigned long long)atomic_load(&an[k].alerts[v]));
	sup_outf(o, "# HELP ringflow_analyzer_up 1 while the analyzer's process runs\n# TYPE ringflow_analyzer_up gauge\n");
	for (int k = 0; k < n; k++)
		sup_outf(o, "ringflow_analyzer_up{analyzer=\"%s\"} %d\n", s->pl->conf.analyzers[k].name,
		         atomic_load(&an[k].pid) > 0);
}

static void cmd_stats(struct sup *s, struct sup_out *o)
{
	sup_outf(o, "# HELP ringflow_up 1 while the data plane runs\n# TYPE ringflow_up gauge\nringflow_up %d\n",
	         s->state == SUP_RUNNING);
	sup_outf(o, "# HELP ringflow_restarts_total Data-plane restarts after a crash\n"
		"# TYPE ringflow_restarts_total counter\nringflow_restarts_total %u\n", s->restarts);
	sup_outf(o, "# HELP ringflow_checkpoints_completed_total Checkpoints completed since start\n"
		"# TYPE ringflow_checkpoints_completed_total counter\nringflow_checkpoints_completed_total %llu\n",
	         (unsigned long long)s->ckpt.completed);
	sup_outf(o, "# HELP ringflow_checkpoints_failed_total Checkpoints abandoned since start (a part could not be stored)\n"
		"# TYPE ringflow_checkpoints_failed_total counter\nringflow_checkpoints_failed_total %llu\n",
	         (unsigned long long)s->ckpt.failed);
	sup_outf(o, "# HELP ringflow_checkpoint_last_id Id of the last complete checkpoint (0: none)\n"
		"# TYPE ringflow_checkpoint_last_id gauge\nringflow_checkpoint_last_id %llu\n",
	         (unsigned long long)s->ckpt.last.id);
	sup_outf(o, "# HELP ringflow_checkpoint_last_duration_seconds Request to completion of the last checkpoint\n"
		"# TYPE ringflow_checkpoint_last_duration_seconds gauge\nringflow_checkpoint_last_duration_seconds %.6f\n",
	         (double)s->ckpt.last.duration_ns / 1e9);
	sup_outf(o, "# HELP ringflow_checkpoint_part_seconds Each participant's own share of the last checkpoint\n"
		"# TYPE ringflow_checkpoint_part_seconds gauge\n");
	for (int i = 0; i < s->nchildren; i++) {
		const struct sup_child *c = &s->children[i];
		if (c->role == RF_ROLE_TRANSFORM)
			continue;
		const struct rf_ckpt_ctl *cc = shm_at(s->seg, s->lay.ckpt);
		sup_outf(o, "ringflow_checkpoint_part_seconds{role=\"%s\",index=\"%d\"} %.6f\n", rf_role_names[c->role],
		         c->index, (double)atomic_load(&cc->took_ns[c->role][c->index]) / 1e9);
	}
	for (int k = 0; k < RF_ST_COUNT; k++) {
		const struct rf_stat_desc *d = &rf_stat_descs[k];
		sup_outf(o, "# HELP ringflow_%s %s\n# TYPE ringflow_%s %s\n", d->name, d->help, d->name,
		         d->gauge ? "gauge" : "counter");
		for (int i = 0; i < s->nchildren; i++) {
			struct sup_child *c = &s->children[i];
			struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, c->role, c->index);
			/* A producer's full waits are counted by its rings (the
			 * slow path of shm_ring_reserve), not in its slot. */
			uint64_t v = k == RF_ST_RING_FULL_WAITS ? sup_ring_full_waits(s, i)
								: rf_stat_get(st, (enum rf_stat)k);
			sup_outf(o, "ringflow_%s{role=\"%s\",index=\"%d\"} %llu\n", d->name, rf_role_names[c->role],
			         c->index, (unsigned long long)v);
		}
	}
	stats_analyzers(s, o);
	sup_outf(o, "# HELP ringflow_records_rejected_by_reason_total Records rejected by transform, by reason\n"
		"# TYPE ringflow_records_rejected_by_reason_total counter\n");
	for (int r = 0; r < XF_RESULT_COUNT && r < RF_REJECT_MAX; r++) {
		if (r == XF_OK || r == XF_FILTERED)
			continue;
		uint64_t sum = 0;
		for (int i = 0; i < s->lay.n[RF_ROLE_TRANSFORM]; i++) {
			struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, RF_ROLE_TRANSFORM, i);
			sum += atomic_load_explicit(&st->reject[r], memory_order_relaxed);
		}
		sup_outf(o, "ringflow_records_rejected_by_reason_total{reason=\"%s\"} %llu\n",
		         xf_result_name((enum xf_result)r), (unsigned long long)sum);
	}
	sup_outf(o, "# HELP ringflow_control_connections_total Control socket connections, by how they ended\n"
		"# TYPE ringflow_control_connections_total counter\n");
	for (int r = 0; r < SUP_CTL_RESULT_COUNT; r++)
		sup_outf(o, "ringflow_control_connections_total{result=\"%s\"} %llu\n", sup_ctl_result_names[r],
			 (unsigned long long)(s->ctl ? sup_ctl_server_count(s->ctl, (enum sup_ctl_result)r) : 0));
	sup_outf(o, "# HELP ringflow_ring_used_bytes Bytes waiting in each ring\n# TYPE ringflow_ring_used_bytes gauge\n");
	for (int k = 0; k < s->lay.nrings; k++) {
		const struct rf_ring_ref *rr = &s->lay.rings[k];
		sup_outf(o, "ringflow_ring_used_bytes{from=\"%s %d\",to=\"%s %d\"} %zu\n", rf_role_names[rr->from_role],
		         rr->from, rf_role_names[rr->to_role], rr->to, shm_ring_used(shm_at(s->seg, rr->off)));
	}
}

static const char help_text[] =
	"status [--json]     processes, rates, ring fill, consumer lag, last checkpoint\n"
	"                    (--json: the same as one JSON object)\n"
	"stats               every counter, Prometheus text format\n"
	"checkpoint          start a checkpoint now (see status for its completion)\n"
	"stop                graceful stop: stop consuming, drain, final checkpoint, flush, exit 0\n"
	"help                this text\n"
	"scale ROLE N, reload: not available in this version\n";

/* "status [--json]": args is what follows the word. */
static void status_command(struct sup *s, const char *args, struct sup_out *o)
{
	int json = 0;
	for (const char *p = args;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, " \t");
		if (n == 6 && !strncmp(p, "--json", 6)) {
			json = 1;
		} else {
			sup_outf(o, "ERR status: unknown argument '%.*s' (status takes --json)\n", (int)(n > 64 ? 64 : n), p);
			return;
		}
		p += n;
	}
	sup_outf(o, "OK\n");
	if (json)
		sup_status_json(s, o);
	else
		cmd_status(s, o);
}

/* The command handler (ctl_server.h): line is one request, without its
 * newline; the reply goes to o. */
static void handle(void *arg, const char *line, struct sup_out *o)
{
	struct sup *s = arg;
	const char *cmd = line;
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	if (!strcmp(cmd, "status") || (!strncmp(cmd, "status", 6) && (cmd[6] == ' ' || cmd[6] == '\t'))) {
		status_command(s, cmd + 6, o);
	} else if (!strcmp(cmd, "stats")) {
		sup_outf(o, "OK\n");
		cmd_stats(s, o);
	} else if (!strcmp(cmd, "stop")) {
		sup_outf(o, "OK\nstopping\n");
		sup_request_stop(s, "ringflowctl stop");
	} else if (!strcmp(cmd, "help") || !*cmd) {
		sup_outf(o, "OK\n%s", help_text);
	} else if (!strcmp(cmd, "checkpoint")) {
		char msg[128];
		if (sup_ckpt_request(s, msg, sizeof msg))
			sup_outf(o, "ERR %s\n", msg);
		else
			sup_outf(o, "OK\n%s\n", msg);
	} else if (!strncmp(cmd, "scale", 5) || !strcmp(cmd, "reload")) {
		sup_outf(o, "ERR '%s' is not available in this version\n", cmd);
	} else {
		sup_outf(o, "ERR unknown command '%.64s' (try help)\n", cmd);
	}
}

int sup_control_pollfds(struct sup *s, struct pollfd *pfd, int max)
{
	return s->ctl ? sup_ctl_server_pollfds(s->ctl, pfd, max) : 0;
}

void sup_control_serve(struct sup *s, const struct pollfd *pfd, int n)
{
	if (s->ctl)
		sup_ctl_server_serve(s->ctl, pfd, n, rf_mono_ns());
}

int sup_control_timeout_ms(const struct sup *s, int ms)
{
	if (!s->ctl)
		return ms;
	int64_t next = sup_ctl_server_next_deadline(s->ctl);
	if (next == INT64_MAX)
		return ms;
	int64_t left = next - rf_mono_ns();
	if (left <= 0)
		return 0;
	int64_t left_ms = (left + RF_NS_PER_MS - 1) / RF_NS_PER_MS;
	return left_ms < ms ? (int)left_ms : ms;
}
