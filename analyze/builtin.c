/*
 * builtin.c — the shared driver of the built-in analyzers (see builtin.h):
 * the window loop, the end-of-window sweep, history feeding and alerts.
 * Options are in builtin_args.c, the state table in builtin_table.c. Runs in
 * the analyzer executables, single-threaded.
 */
#include "analyze/builtin.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/builtin_table.h"
#include "common/hash.h"
#include "common/log.h"

#define KEY_CAP (2 * LP_LINE_MAX + 2)  /* escaping at most doubles a line */

struct an_bt {
	const struct an_bt_detector *d;
	const void *params;
	const struct an_bt_opts *o;
	struct bt_table t;
	an_bt_history_fn history;
	void *history_arg;
	struct an_bt_stats st;
	struct rfa_skip_stats skips;
	struct rfa_out *out;
	char *key;                     /* KEY_CAP scratch: a series key */
	char *tagbuf;                  /* KEY_CAP scratch: tags decoded from a key */
	char msg[512];
};

/* ---- the driver ---- */

struct an_bt *an_bt_new(const struct an_bt_detector *d, const void *params, const struct an_bt_opts *o,
			char *err, size_t errlen)
{
	struct an_bt *b = calloc(1, sizeof *b);
	if (!b)
		goto oom;
	b->d = d;
	b->params = params;
	b->o = o;
	b->key = malloc(KEY_CAP);
	b->tagbuf = malloc(KEY_CAP);
	b->history = an_bt_history_none;
	if (bt_table_init(&b->t, d->state_size(params), o->max_series) < 0 || !b->key || !b->tagbuf)
		goto oom;
	return b;
oom:
	an_bt_free(b);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void an_bt_free(struct an_bt *b)
{
	if (!b)
		return;
	bt_table_free(&b->t);
	free(b->key);
	free(b->tagbuf);
	free(b);
}

void an_bt_set_history(struct an_bt *b, an_bt_history_fn fn, void *arg)
{
	b->history = fn ? fn : an_bt_history_none;
	b->history_arg = arg;
}

int an_bt_history_none(struct an_bt *b, void *arg, const struct rfa_window *w, unsigned windows, char *err,
		       size_t errlen)
{
	rf_debug("rule %s: history: none loaded (%u windows wanted)", w->rule, windows);
	return 0;
}

int an_bt_field_wanted(const struct an_bt *b, const char *name)
{
	if (!b->o->nfields)
		return 1;
	for (int i = 0; i < b->o->nfields; i++)
		if (!strcmp(b->o->fields[i], name))
			return 1;
	return 0;
}

void an_bt_get_stats(const struct an_bt *b, struct an_bt_stats *out)
{
	*out = b->st;
	out->states = b->t.count;
}

void an_bt_skip_stats(const struct an_bt *b, struct rfa_skip_stats *out)
{
	*out = b->skips;
}

/* The entry, its state initialised when new; NULL (counted, logged
 * rate-limited) when the table is full. */
static struct bt_entry *lookup(struct an_bt *b, uint32_t rule, const char *key, size_t klen, uint64_t kh,
			       const char *field, size_t flen)
{
	int created;
	struct bt_entry *e = bt_lookup(&b->t, rule, key, klen, kh, field, flen, &created);
	if (!e) {
		b->st.table_full++;
		RF_LOG_RL(RF_LOG_WARN, "state table full (%zu states, --max-series): a new series is not analysed",
			  b->t.count);
		return NULL;
	}
	if (created)
		b->d->init(e->state, b->params);
	return e;
}

/* ---- alerts ---- */

/* The tags of a series key, decoded into b->tagbuf (see rfa_series_key for
 * the escaping). Returns the count. */
static int key_tags(struct an_bt *b, const char *key, size_t klen, const char **keys, const char **vals)
{
	char *o = b->tagbuf;
	int n = 0;
	if (klen == 0)
		return 0;
	keys[n] = o;
	vals[n] = NULL;
	for (size_t i = 0; i < klen; i++) {
		char c = key[i];
		if (c == '\\' && i + 1 < klen) {
			*o++ = key[++i];
		} else if (c == '=' && !vals[n]) {
			*o++ = '\0';
			vals[n] = o;
		} else if (c == ',') {
			*o++ = '\0';
			if (++n == LP_MAX_TAGS)
				return n;
			keys[n] = o;
			vals[n] = NULL;
		} else {
			*o++ = c;
		}
	}
	*o = '\0';
	if (!vals[n])
		vals[n] = o;  /* cannot happen for keys we built; stay safe */
	return n + 1;
}

static void message(struct an_bt *b, const char *field, const struct det_verdict *v)
{
	/* A threshold expects nothing and may have no band: say what is known. */
	if (v->severity == DET_OK && isnan(v->expected))
		snprintf(b->msg, sizeof b->msg, "%s %g back to normal", field, v->value);
	else if (v->severity == DET_OK)
		snprintf(b->msg, sizeof b->msg, "%s %g back to normal (expected %g)", field, v->value, v->expected);
	else if (isnan(v->expected))
		snprintf(b->msg, sizeof b->msg, "%s %g beyond a %s limit (score %.3g)", field, v->value,
			 rfa_severity_name(v->severity), v->score);
	else if (v->value > v->upper)
		snprintf(b->msg, sizeof b->msg, "%s %g above %g (score %.3g)", field, v->value, v->upper, v->score);
	else if (v->value < v->lower)
		snprintf(b->msg, sizeof b->msg, "%s %g below %g (score %.3g)", field, v->value, v->lower, v->score);
	else
		snprintf(b->msg, sizeof b->msg, "%s %g (expected %g, score %.3g)", field, v->value, v->expected,
			 v->score);
}

/* Alert (when due) and the emit hook for one live update. pt: the point
 * the value came from, or NULL for an absent series (tags from its key). */
static void after_update(struct an_bt *b, struct bt_entry *e, const struct rfa_window *w,
			 const struct lp_point *pt, const struct det_verdict *v)
{
	const char *field = e->key + e->klen + 1;
	const char *tk[LP_MAX_TAGS], *tv[LP_MAX_TAGS];  /* filled by key_tags() only when needed */
	int ntags = -1;
	int due = v->changed || (b->o->repeat && v->severity > DET_OK);
	if (due) {
		struct rfa_alert a = {
			.rule = w->rule, .field = field, .severity = v->severity, .series = pt,
			.message = b->msg, .value = v->value, .expected = v->expected, .lower = v->lower,
			.upper = v->upper, .score = v->score, .time_ns = w->start_ns,
		};
		if (!pt) {
			ntags = key_tags(b, e->key, e->klen, tk, tv);
			a.ntags = ntags;
			a.tag_keys = tk;
			a.tag_values = tv;
		}
		message(b, field, v);
		if (rfa_alert(b->out, &a) == 0)
			b->st.alerts++;
	}
	if (b->d->emit) {
		struct an_bt_ctx c = { .w = w, .field = field, .v = v };
		if (ntags < 0)
			ntags = key_tags(b, e->key, e->klen, tk, tv);
		c.ntags = ntags;
		c.tag_keys = tk;
		c.tag_values = tv;
		b->d->emit(e->state, b->params, &c, b->out);
	}
}

/* ---- the loop ---- */

static void one_value(struct an_bt *b, uint32_t rule, const struct rfa_window *w, const struct lp_point *pt,
		      size_t klen, uint64_t kh, const char *field, size_t flen, double value)
{
	struct bt_entry *e = lookup(b, rule, b->key, klen, kh, field, flen);
	if (!e)
		return;
	uint64_t seq = b->t.rules[rule].seq;
	if (e->updated == seq) {
		b->st.duplicates++;
		return;
	}
	e->updated = e->last_seen = seq;
	struct det_verdict v;
	b->d->update(e->state, b->params, value, 0, &v);
	b->st.values++;
	after_update(b, e, w, pt, &v);
}

static void one_point(struct an_bt *b, uint32_t rule, const struct rfa_window *w, const struct lp_point *pt)
{
	int kl = rfa_series_key(pt, b->key, KEY_CAP);
	if (kl < 0)
		return;  /* cannot happen: KEY_CAP holds any escaped line */
	uint64_t kh = rf_hash64(b->key, (size_t)kl, 0);
	double v;
	if (b->o->nfields) {
		for (int i = 0; i < b->o->nfields; i++)
			if (rfa_field_number(pt, b->o->fields[i], &v))
				one_value(b, rule, w, pt, (size_t)kl, kh, b->o->fields[i], strlen(b->o->fields[i]), v);
		return;
	}
	for (int i = 0; i < pt->nfields; i++) {
		const struct lp_point_field *f = &pt->fields[i];
		if (f->type == LP_FLOAT)
			v = f->v.f;
		else if (f->type == LP_INT)
			v = (double)f->v.i;
		else if (f->type == LP_UINT)
			v = (double)f->v.u;
		else
			continue;
		one_value(b, rule, w, pt, (size_t)kl, kh, f->key.p, f->key.len, v);
	}
}

/* After a complete window: the rule's states without a value this window. */
static void sweep(struct an_bt *b, uint32_t rule, const struct rfa_window *w)
{
	struct bt_rule *r = &b->t.rules[rule];
	struct bt_entry *next;
	for (struct bt_entry *e = r->head; e; e = next) {
		next = e->next;
		if (e->updated == r->seq)
			continue;
		if (r->seq - e->last_seen >= b->o->forget) {
			bt_remove(&b->t, e);
			b->st.forgotten++;
			continue;
		}
		e->updated = r->seq;
		struct det_verdict v;
		if (b->o->missing_as_zero) {
			b->d->update(e->state, b->params, 0.0, 0, &v);
			b->st.values++;
		} else {
			b->d->update(e->state, b->params, NAN, 1, &v);
			b->st.missing++;
		}
		after_update(b, e, w, NULL, &v);
	}
}

int an_bt_feed(struct an_bt *b, const char *rule, int ntags, const char *const *keys,
	       const char *const *vals, const char *field, double value)
{
	uint32_t ri;
	if (bt_rule_index(&b->t, rule, &ri) < 0)
		return -1;
	int kl = rfa_series_key_tags(ntags, keys, vals, b->key, KEY_CAP);
	if (kl < 0)
		return -1;
	struct bt_entry *e = lookup(b, ri, b->key, (size_t)kl, rf_hash64(b->key, (size_t)kl, 0), field,
				    strlen(field));
	if (!e)
		return -1;
	struct det_verdict v;
	b->d->update(e->state, b->params, value, !isfinite(value), &v);
	b->st.history_values++;
	return 0;
}

int an_bt_run(struct an_bt *b, int in_fd, int out_fd, char *err, size_t errlen)
{
	int rc = -1;
	struct rfa_reader *r = rfa_reader_new(in_fd);
	b->out = rfa_out_new(out_fd);
	if (!r || !b->out) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	unsigned hist = b->d->history_windows ? b->d->history_windows(b->params) : b->o->history;
	uint64_t skips_seen = 0;
	struct rfa_window w;
	int got;
	while ((got = rfa_next_window(r, &w)) == 1) {
		uint32_t ri;
		if (bt_rule_index(&b->t, w.rule, &ri) < 0) {
			RF_LOG_RL(RF_LOG_WARN, "window of rule %s ignored: more than %d rules", w.rule, BT_MAX_RULES);
			continue;
		}
		struct bt_rule *rl = &b->t.rules[ri];
		if (!rl->history_done) {
			char herr[256] = "";
			rl->history_done = 1;
			if (b->history(b, b->history_arg, &w, hist, herr, sizeof herr) < 0)
				rf_warn("rule %s: history not loaded: %s", w.rule, herr);
		}
		rl->seq++;
		b->st.windows++;
		const struct lp_point *pt;
		while (rfa_next_point(r, &pt) == 1)
			one_point(b, ri, &w, pt);
		if (rfa_block_complete(r))
			sweep(b, ri, &w);
		else
			b->st.partial_windows++;
		if (rfa_skips_total(r) != skips_seen) {
			skips_seen = rfa_skips_total(r);
			RF_LOG_RL(RF_LOG_WARN, "input skipped (%" PRIu64 " lines so far): %s", skips_seen,
				  rfa_last_skip(r));
		}
		if (rfa_out_flush(b->out) < 0) {
			snprintf(err, errlen, "write to fd %d: %s", out_fd, strerror(errno));
			goto out;
		}
	}
	if (got < 0) {
		snprintf(err, errlen, "read from fd %d: %s", in_fd, strerror(errno));
		goto out;
	}
	if (rfa_out_flush(b->out) < 0) {
		snprintf(err, errlen, "write to fd %d: %s", out_fd, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (r)
		rfa_skip_stats(r, &b->skips);
	rfa_reader_free(r);
	rfa_out_free(b->out);
	b->out = NULL;
	return rc;
}

int an_builtin_main(const struct an_bt_detector *d, void *params, int argc, char **argv)
{
	char err[512];
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	rf_log_set_role(d->name);
	int rc = an_bt_parse_args(d, params, &o, argc, argv, err, sizeof err);
	if (rc == 1)
		return 0;
	if (rc < 0 || d->check(params, err, sizeof err) < 0) {
		rf_error("%s", err);
		return 78;  /* EX_CONFIG: the host must not restart us */
	}
	struct an_bt *b = an_bt_new(d, params, &o, err, sizeof err);
	if (!b) {
		rf_error("%s", err);
		return 1;
	}
	static struct an_bt_hist hist;
	an_bt_set_history(b, an_bt_history_influx, &hist);
	rc = an_bt_run(b, 0, 1, err, sizeof err);
	if (rc < 0)
		rf_error("%s", err);
	struct an_bt_stats s;
	struct rfa_skip_stats k;
	an_bt_get_stats(b, &s);
	an_bt_skip_stats(b, &k);
	rf_info("done: %" PRIu64 " windows (%" PRIu64 " partial), %" PRIu64 " values, %" PRIu64
		" alerts, %" PRIu64 " states, %" PRIu64 " forgotten, %" PRIu64 " duplicates, %" PRIu64
		" table full, %" PRIu64 " history values; skipped lines: bad_header %" PRIu64
		" outside_block %" PRIu64 " too_long %" PRIu64 " binary %" PRIu64 " bad_point %" PRIu64 " cut_by_eof %" PRIu64 " header_in_block %" PRIu64,
		s.windows, s.partial_windows, s.values, s.alerts, s.states, s.forgotten, s.duplicates,
		s.table_full, s.history_values, k.bad_header, k.outside_block, k.too_long, k.binary, k.bad_point,
		k.cut_by_eof, k.header_in_block);
	an_bt_free(b);
	return rc < 0 ? 1 : 0;
}
