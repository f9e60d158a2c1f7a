/*
 * status.c — see status.h: the data `ringflowctl status` shows, gathered
 * for both its forms, and its JSON form. Runs in the supervisor's loop.
 *
 * The text form stays in control.c beside the other commands; what both
 * forms need and is more than one field access (the problem list, the
 * consumer lag walk, the checkpoint in progress) lives here, so the two
 * cannot drift apart. JSON keys name their unit (_seconds) where there is
 * one; numbers are raw, never the text form's rounded durations.
 */
#include "supervisor/status.h"
#include "common/timeutil.h"
#include "pipeline/analyzers.h"
#include "pipeline/checkpoint.h"
#include "common/log.h"
#include "supervisor/json_out.h"

#include <stdio.h>
#include <unistd.h>

const char *const sup_rate_units[RF_ROLE_COUNT] = { "lines/s", "records/s", "rows/s", "points/s", "windows/s" };

const char *sup_an_state_name(int st)
{
	return st >= 0 && st < RF_AN_STATE_COUNT ? rf_an_state_names[st] : "?";
}

int sup_status_problems(struct sup *s, sup_problem_fn fn, void *arg)
{
	int n = 0;
	char text[SUP_PROBLEM_MAX];
	for (int i = 0; i < s->nchildren; i++) {
		const struct sup_child *c = &s->children[i];
		char note[RF_NOTE_MAX];
		rf_stat_read_note(rf_layout_stats(s->seg, &s->lay, c->role, c->index), note, sizeof note);
		if (!note[0])
			continue;
		snprintf(text, sizeof text, "%s %d: %s", rf_role_names[c->role], c->index, note);
		fn(arg, text);
		n++;
	}
	const struct rf_an_slot *an = rf_an_slots(s->seg, s->lay.analyzers);
	for (int k = 0; k < s->pl->conf.nanalyzers; k++) {
		if (!atomic_load(&an[k].crash_loop))
			continue;
		char e[RF_AN_ERROR_MAX];
		rf_an_read_error(&an[k], e, sizeof e);
		snprintf(text, sizeof text, "analyzer %s: crash loop, restarting with backoff (last error: %s)",
			 s->pl->conf.analyzers[k].name, e);
		fn(arg, text);
		n++;
	}
	return n;
}

int sup_status_lag(struct sup *s, sup_lag_fn fn, void *arg)
{
	int n = 0;
	for (int i = 0; i < s->lay.n[RF_ROLE_INGEST]; i++) {
		struct rf_stats_slot *st = rf_layout_stats(s->seg, &s->lay, RF_ROLE_INGEST, i);
		for (int k = 0; k < RF_LAG_PARTITIONS; k++) {
			/* Acquire: pairs with the ingest's release-store of partition
			 * after it wrote topic. */
			int64_t part = atomic_load_explicit(&st->lag[k].partition, memory_order_acquire);
			if (part < 0)
				continue;
			struct sup_lag l = {
				.topic = st->lag[k].topic,
				.partition = (long long)part,
				.next_offset = (long long)atomic_load_explicit(&st->lag[k].offset, memory_order_relaxed),
				.high = (long long)atomic_load_explicit(&st->lag[k].high, memory_order_relaxed),
				.paused_ahead_ns = atomic_load_explicit(&st->lag[k].paused_ahead_ns, memory_order_relaxed),
			};
			fn(arg, &l);
			n++;
		}
	}
	return n;
}

uint64_t sup_status_ckpt_busy(const struct sup *s, int64_t *for_ns)
{
	const struct sup_ckpt *k = &s->ckpt;
	uint64_t busy = k->inflight ? k->inflight : k->final;
	*for_ns = busy ? rf_mono_ns() - k->started_ns[busy & 1] : 0;
	return busy;
}

static double secs(int64_t ns)
{
	return (double)ns / 1e9;
}

static void json_problem(void *arg, const char *text)
{
	sup_json_str(arg, NULL, text);
}

static void json_lag(void *arg, const struct sup_lag *l)
{
	struct sup_json *j = arg;
	int consumed = l->next_offset >= 0 && l->high >= 0;
	sup_json_obj_begin(j, NULL);
	sup_json_str(j, "topic", l->topic);
	sup_json_int(j, "partition", l->partition);
	/* null: nothing consumed yet (the text says so in words). */
	if (consumed) {
		sup_json_int(j, "next_offset", l->next_offset);
		sup_json_int(j, "high_watermark", l->high);
		sup_json_int(j, "lag", l->high - l->next_offset);
	} else {
		sup_json_null(j, "next_offset");
		sup_json_null(j, "high_watermark");
		sup_json_null(j, "lag");
	}
	sup_json_double(j, "paused_ahead_seconds", l->paused_ahead_ns > 0 ? secs(l->paused_ahead_ns) : 0.0, 3);
	sup_json_obj_end(j);
}

static void json_processes(struct sup *s, struct sup_json *j)
{
	sup_json_arr_begin(j, "processes");
	for (int i = 0; i < s->nchildren; i++) {
		const struct sup_child *c = &s->children[i];
		sup_json_obj_begin(j, NULL);
		sup_json_str(j, "role", rf_role_names[c->role]);
		sup_json_int(j, "index", c->index);
		sup_json_int(j, "pid", (long long)c->pid);
		sup_json_str(j, "state", rf_proc_state_names[c->state]);
		sup_json_uint(j, "restarts", c->restarts);
		sup_json_double(j, "rate", s->rate[i].per_sec, 1);
		sup_json_str(j, "rate_unit", sup_rate_units[c->role]);
		int last, pinned;
		sup_child_cpu(s, i, &last, &pinned);
		sup_json_int(j, "cpu", pinned);        /* -1: not pinned */
		sup_json_int(j, "last_cpu", last);     /* -1: unknown */
		sup_json_obj_end(j);
	}
	sup_json_arr_end(j);
}

static void json_analyzers(struct sup *s, struct sup_json *j)
{
	const struct rf_an_slot *an = rf_an_slots(s->seg, s->lay.analyzers);
	sup_json_arr_begin(j, "analyzers");
	for (int k = 0; k < s->pl->conf.nanalyzers; k++) {
		const struct rf_an_slot *a = &an[k];
		sup_json_obj_begin(j, NULL);
		sup_json_str(j, "name", s->pl->conf.analyzers[k].name);
		sup_json_int(j, "host", atomic_load(&a->host));
		sup_json_int(j, "pid", atomic_load(&a->pid));
		sup_json_str(j, "state", sup_an_state_name(atomic_load(&a->state)));
		sup_json_uint(j, "restarts", atomic_load(&a->c[RF_AN_RESTARTS]));
		sup_json_uint(j, "windows_delivered", atomic_load(&a->c[RF_AN_WINDOWS_DELIVERED]));
		sup_json_uint(j, "windows_dropped", atomic_load(&a->c[RF_AN_WINDOWS_DROPPED]));
		sup_json_uint(j, "lines_rejected", atomic_load(&a->c[RF_AN_LINES_REJECTED]));
		sup_json_obj_begin(j, "alerts");
		for (int v = 0; v < RF_AN_SEVERITY_COUNT; v++)
			sup_json_uint(j, rf_an_severity_names[v], atomic_load(&a->alerts[v]));
		sup_json_obj_end(j);
		char e[RF_AN_ERROR_MAX];
		rf_an_read_error(a, e, sizeof e);
		sup_json_str(j, "last_error", e[0] ? e : NULL);
		sup_json_obj_end(j);
	}
	sup_json_arr_end(j);
}

static void json_rings(struct sup *s, struct sup_json *j)
{
	sup_json_arr_begin(j, "rings");
	for (int k = 0; k < s->lay.nrings; k++) {
		const struct rf_ring_ref *rr = &s->lay.rings[k];
		const struct shm_ring *ring = shm_at(s->seg, rr->off);
		/* "role index", as the labels of `stats`' ring metrics. */
		char from[40], to[40];
		snprintf(from, sizeof from, "%s %d", rf_role_names[rr->from_role], rr->from);
		snprintf(to, sizeof to, "%s %d", rf_role_names[rr->to_role], rr->to);
		sup_json_obj_begin(j, NULL);
		sup_json_str(j, "from", from);
		sup_json_str(j, "to", to);
		sup_json_uint(j, "used", shm_ring_used(ring));
		sup_json_uint(j, "capacity", shm_ring_capacity(ring));
		sup_json_obj_end(j);
	}
	sup_json_arr_end(j);
}

static void json_checkpoint(struct sup *s, struct sup_json *j)
{
	const struct sup_ckpt *k = &s->ckpt;
	sup_json_obj_begin(j, "checkpoint");
	/* enabled false: file input, read from its start on every run. */
	sup_json_bool(j, "enabled", k->store != NULL);
	sup_json_uint(j, "id", k->last.id);
	if (k->last.id) {
		sup_json_double(j, "age_seconds", secs(rf_now_ns() - k->last.completed_ns), 3);
		sup_json_double(j, "duration_seconds", secs(k->last.duration_ns), 6);
	} else {
		sup_json_null(j, "age_seconds");
		sup_json_null(j, "duration_seconds");
	}
	sup_json_uint(j, "completed", k->completed);
	sup_json_uint(j, "failed", k->failed);
	sup_json_double(j, "interval_seconds", secs(s->pl->conf.ringflow.checkpoint_interval_ns), 3);
	int64_t for_ns;
	uint64_t busy = sup_status_ckpt_busy(s, &for_ns);
	if (busy) {
		sup_json_obj_begin(j, "in_progress");
		sup_json_uint(j, "id", busy);
		sup_json_double(j, "for_seconds", secs(for_ns), 3);
		sup_json_obj_end(j);
	} else {
		sup_json_null(j, "in_progress");
	}
	sup_json_obj_end(j);
}

void sup_status_json(struct sup *s, struct sup_out *o)
{
	struct sup_json j;
	sup_json_init(&j, o);
	sup_json_obj_begin(&j, NULL);
	sup_json_str(&j, "name", s->pl->conf.ringflow.name);
	sup_json_int(&j, "pid", (long long)getpid());
	sup_json_double(&j, "uptime_seconds", secs(rf_mono_ns() - s->started_ns), 3);
	sup_json_str(&j, "state", sup_state_names[s->state]);
	sup_json_uint(&j, "data_plane_restarts", s->restarts);
	sup_json_str(&j, "config", s->pl->conf.path);
	json_processes(s, &j);
	sup_json_arr_begin(&j, "problems");
	sup_status_problems(s, json_problem, &j);
	sup_json_arr_end(&j);
	json_analyzers(s, &j);
	json_rings(s, &j);
	int kafka = s->pl->conf.input.type == CONF_INPUT_KAFKA;
	/* null group and an empty list: the input is not Kafka. */
	sup_json_str(&j, "consumer_group", kafka ? s->pl->conf.input.group : NULL);
	sup_json_arr_begin(&j, "consumer_lag");
	if (kafka)
		sup_status_lag(s, json_lag, &j);
	sup_json_arr_end(&j);
	json_checkpoint(s, &j);
	sup_json_obj_end(&j);
	char err[128];
	if (sup_json_finish(&j, err, sizeof err))
		rf_warn("status --json: %s", err); /* a bug here, or the reply ran out of memory */
}
