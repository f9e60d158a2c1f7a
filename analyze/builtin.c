/*
 * builtin.c — the shared driver of the built-in analyzers (see builtin.h):
 * option parsing, the state table, the window loop, alerts. Runs in the
 * analyzer executables, single-threaded.
 *
 * State table: open addressing with linear probing over an array of entry
 * pointers, power-of-two capacity, load kept at most 1/2 (doubling, so
 * rehashes are amortised and stop once the set of series is stable), and
 * backward-shift deletion, so no tombstones pile up as series come and go.
 * Each entry is one allocation: header, key bytes ("series key\0field\0"),
 * then the detector state at an 8-byte-aligned offset. Entries of a rule
 * are also on that rule's list, so the end-of-window sweep walks only them.
 * The hash is rf_hash64 of the series key, mixed with the field's hash and
 * the rule index; the series key of a point is hashed once for all fields.
 */
#include "analyze/builtin.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"

#define MAX_RULES 1024
#define KEY_CAP (2 * LP_LINE_MAX + 2)  /* escaping at most doubles a line */

struct bt_entry {
	struct bt_entry *next, *prev;  /* the rule's list */
	uint64_t hash;
	uint64_t last_seen;            /* rule window number with a value */
	uint64_t updated;              /* rule window number of the last update */
	uint32_t rule;
	uint32_t klen, flen;           /* key = series[klen] '\0' field[flen] '\0' */
	void *state;
	char key[];
};

struct bt_rule {
	char *name;
	uint64_t seq;                  /* windows of this rule so far */
	struct bt_entry *head;
	int history_done;
};

struct an_bt {
	const struct an_bt_detector *d;
	const void *params;
	const struct an_bt_opts *o;
	size_t state_size;
	struct bt_entry **slots;
	size_t cap, count;
	struct bt_rule *rules;
	uint32_t nrules;
	an_bt_history_fn history;
	void *history_arg;
	int feeding;                   /* inside the history hook */
	struct an_bt_stats st;
	struct rfa_skip_stats skips;
	struct rfa_out *out;
	char *key;                     /* KEY_CAP scratch: a series key */
	char *tagbuf;                  /* KEY_CAP scratch: tags decoded from a key */
	char msg[512];
};

/* ---- options ---- */

int an_bt_parse_uint(const char *opt, const char *val, unsigned min, unsigned max, unsigned *out,
		     char *err, size_t errlen)
{
	if (!val || !*val) {
		snprintf(err, errlen, "--%s needs a value", opt);
		return -1;
	}
	errno = 0;
	char *end;
	unsigned long long v = strtoull(val, &end, 10);
	if (*end || errno || val[0] == '-' || val[0] == '+' || val[0] == ' ' || v < min || v > max) {
		snprintf(err, errlen, "--%s %s: must be an integer in %u..%u", opt, val, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return AN_BT_OPT_VALUE;
}

int an_bt_parse_double(const char *opt, const char *val, double *out, char *err, size_t errlen)
{
	if (!val || !*val) {
		snprintf(err, errlen, "--%s needs a value", opt);
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (*end || errno || !isfinite(v) || val[0] == ' ') {
		snprintf(err, errlen, "--%s %s: not a finite number", opt, val);
		return -1;
	}
	*out = v;
	return AN_BT_OPT_VALUE;
}

void an_bt_opts_default(struct an_bt_opts *o)
{
	memset(o, 0, sizeof *o);
	o->forget = AN_BT_FORGET_DEFAULT;
	o->max_series = AN_BT_MAX_SERIES_DEFAULT;
}

void an_bt_usage(const struct an_bt_detector *d, FILE *f)
{
	fprintf(f,
		"usage: ringflow-%s [options] < windows > line-protocol\n"
		"Reads ringflow's window protocol on stdin, writes alerts on stdout.\n"
		"Common options:\n"
		"  --field NAME        analyse this field (repeatable; default every numeric one)\n"
		"  --history N         windows of history the detector keeps\n"
		"  --missing-as-zero   a series seen before but absent from a window counts as 0\n"
		"  --forget N          drop a series absent for N windows of its rule (default %u)\n"
		"  --repeat            alert on every anomalous window, not only on changes\n"
		"  --max-series N      at most N (rule, series, field) states (default %u)\n"
		"  --help              this text\n"
		"%s options:\n%s",
		d->name, AN_BT_FORGET_DEFAULT, AN_BT_MAX_SERIES_DEFAULT, d->name, d->usage ? d->usage : "");
}

/* A common option: AN_BT_OPT_* or -1. */
static int common_opt(const struct an_bt_detector *d, void *params, struct an_bt_opts *o, const char *opt,
		      const char *val, char *err, size_t errlen)
{
	unsigned u;
	if (!strcmp(opt, "missing-as-zero")) {
		o->missing_as_zero = 1;
		return AN_BT_OPT_FLAG;
	}
	if (!strcmp(opt, "repeat")) {
		o->repeat = 1;
		return AN_BT_OPT_FLAG;
	}
	if (!strcmp(opt, "field")) {
		if (!val || !*val) {
			snprintf(err, errlen, "--field needs a name");
			return -1;
		}
		if (o->nfields == AN_BT_MAX_FIELDS) {
			snprintf(err, errlen, "--field: at most %d", AN_BT_MAX_FIELDS);
			return -1;
		}
		o->fields[o->nfields++] = val;
		return AN_BT_OPT_VALUE;
	}
	if (!strcmp(opt, "forget"))
		return an_bt_parse_uint(opt, val, 1, UINT32_MAX, &o->forget, err, errlen);
	if (!strcmp(opt, "max-series")) {
		if (an_bt_parse_uint(opt, val, 1, UINT32_MAX, &u, err, errlen) < 0)
			return -1;
		o->max_series = u;
		return AN_BT_OPT_VALUE;
	}
	if (!strcmp(opt, "history")) {
		if (!d->set_history) {
			snprintf(err, errlen, "--history: %s keeps no history", d->name);
			return -1;
		}
		if (an_bt_parse_uint(opt, val, 1, UINT32_MAX, &o->history, err, errlen) < 0)
			return -1;
		/* Applied now, so with --history and a detector's synonym
		 * (zscore --window) the last one given wins. */
		if (d->set_history(params, o->history, err, errlen) < 0)
			return -1;
		return AN_BT_OPT_VALUE;
	}
	return AN_BT_OPT_UNKNOWN;
}

int an_bt_parse_args(const struct an_bt_detector *d, void *params, struct an_bt_opts *o, int argc,
		     char **argv, char *err, size_t errlen)
{
	char name[64];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			snprintf(err, errlen, "%s: not an option (options start with --)", a);
			return -1;
		}
		if (!strcmp(a, "--help")) {
			an_bt_usage(d, stdout);
			return 1;
		}
		const char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nl >= sizeof name) {
			snprintf(err, errlen, "%.40s...: unknown option", a);
			return -1;
		}
		memcpy(name, a + 2, nl);
		name[nl] = '\0';
		/* The next argument is a value unless it is an option itself:
		 * "--field --repeat" is a missing name, not a field "--repeat".
		 * Negative numbers ("-5") stay values. */
		const char *val = eq ? eq + 1 : NULL;
		if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
			val = argv[i + 1];
		int rc = common_opt(d, params, o, name, val, err, errlen);
		if (rc == AN_BT_OPT_UNKNOWN && d->parse_opt)
			rc = d->parse_opt(params, name, val, err, errlen);
		if (rc < 0)
			return -1;
		if (rc == AN_BT_OPT_UNKNOWN) {
			snprintf(err, errlen, "--%s: unknown option (see --help)", name);
			return -1;
		}
		if (rc == AN_BT_OPT_FLAG && eq) {
			snprintf(err, errlen, "--%s takes no value", name);
			return -1;
		}
		if (rc == AN_BT_OPT_VALUE && !eq)
			i++;
	}
	return 0;
}

/* ---- state table ---- */

struct an_bt *an_bt_new(const struct an_bt_detector *d, const void *params, const struct an_bt_opts *o,
			char *err, size_t errlen)
{
	struct an_bt *b = calloc(1, sizeof *b);
	if (!b)
		goto oom;
	b->d = d;
	b->params = params;
	b->o = o;
	b->state_size = d->state_size(params);
	b->cap = 1024;
	b->slots = calloc(b->cap, sizeof *b->slots);
	b->rules = calloc(MAX_RULES, sizeof *b->rules);
	b->key = malloc(KEY_CAP);
	b->tagbuf = malloc(KEY_CAP);
	b->history = an_bt_history_none;
	if (!b->slots || !b->rules || !b->key || !b->tagbuf)
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
	if (b->slots)
		for (size_t i = 0; i < b->cap; i++)
			free(b->slots[i]);
	free(b->slots);
	if (b->rules)
		for (uint32_t i = 0; i < b->nrules; i++)
			free(b->rules[i].name);
	free(b->rules);
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

void an_bt_get_stats(const struct an_bt *b, struct an_bt_stats *out)
{
	*out = b->st;
	out->states = b->count;
}

void an_bt_skip_stats(const struct an_bt *b, struct rfa_skip_stats *out)
{
	*out = b->skips;
}

static uint64_t entry_hash(uint64_t series_hash, const char *field, size_t flen, uint32_t rule)
{
	return rf_mix64(series_hash ^ rf_hash64(field, flen, 0x5a17) ^ ((uint64_t)rule * 0x9e3779b97f4a7c15ULL));
}

static int entry_is(const struct bt_entry *e, uint64_t h, uint32_t rule, const char *key, size_t klen,
		    const char *field, size_t flen)
{
	return e->hash == h && e->rule == rule && e->klen == klen && e->flen == flen &&
	       !memcmp(e->key, key, klen) && !memcmp(e->key + klen + 1, field, flen);
}

static int grow(struct an_bt *b)
{
	size_t ncap = b->cap * 2;
	struct bt_entry **ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return -1;
	for (size_t i = 0; i < b->cap; i++) {
		struct bt_entry *e = b->slots[i];
		if (!e)
			continue;
		size_t j = e->hash & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = e;
	}
	free(b->slots);
	b->slots = ns;
	b->cap = ncap;
	return 0;
}

/* The entry, created (and its state initialised) when absent. NULL when
 * the table is full or memory ran out (counted). */
static struct bt_entry *lookup(struct an_bt *b, uint32_t rule, const char *key, size_t klen, uint64_t kh,
			       const char *field, size_t flen)
{
	uint64_t h = entry_hash(kh, field, flen, rule);
	size_t mask = b->cap - 1, i = h & mask;
	for (; b->slots[i]; i = (i + 1) & mask)
		if (entry_is(b->slots[i], h, rule, key, klen, field, flen))
			return b->slots[i];
	if (b->count >= b->o->max_series) {
		b->st.table_full++;
		RF_LOG_RL(RF_LOG_WARN, "state table full (%zu states, --max-series): a new series is not analysed",
			  b->count);
		return NULL;
	}
	size_t off = (sizeof(struct bt_entry) + klen + flen + 2 + 7) & ~(size_t)7;
	struct bt_entry *e = malloc(off + b->state_size);
	if (!e) {
		b->st.table_full++;
		return NULL;
	}
	e->hash = h;
	e->rule = rule;
	e->klen = (uint32_t)klen;
	e->flen = (uint32_t)flen;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	memcpy(e->key + klen + 1, field, flen);
	e->key[klen + 1 + flen] = '\0';
	e->state = (char *)e + off;
	b->d->init(e->state, b->params);
	struct bt_rule *r = &b->rules[rule];
	e->last_seen = e->updated = 0;
	e->prev = NULL;
	e->next = r->head;
	if (r->head)
		r->head->prev = e;
	r->head = e;
	b->slots[i] = e;
	b->count++;
	if (2 * b->count > b->cap && grow(b) < 0)
		RF_LOG_RL(RF_LOG_WARN, "state table: cannot grow past %zu slots (out of memory)", b->cap);
	return e;
}

/* Backward-shift deletion: later entries of the probe run move up so every
 * entry stays reachable from its home slot without tombstones. */
static void remove_entry(struct an_bt *b, struct bt_entry *e)
{
	size_t mask = b->cap - 1, i = e->hash & mask;
	while (b->slots[i] != e)
		i = (i + 1) & mask;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		struct bt_entry *f = b->slots[j];
		if (!f)
			break;
		size_t home = f->hash & mask;
		/* f may fill hole i if its home is not in (i, j] cyclically. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			b->slots[i] = f;
			i = j;
		}
	}
	b->slots[i] = NULL;
	struct bt_rule *r = &b->rules[e->rule];
	if (e->prev)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	b->count--;
	free(e);
}

static int rule_index(struct an_bt *b, const char *name, uint32_t *out)
{
	for (uint32_t i = 0; i < b->nrules; i++)
		if (!strcmp(b->rules[i].name, name)) {
			*out = i;
			return 0;
		}
	if (b->nrules == MAX_RULES)
		return -1;
	char *copy = strdup(name);
	if (!copy)
		return -1;
	b->rules[b->nrules].name = copy;
	*out = b->nrules++;
	return 0;
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
	if (v->severity == DET_OK)
		snprintf(b->msg, sizeof b->msg, "%s %g back to normal (expected %g)", field, v->value, v->expected);
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
	uint64_t seq = b->rules[rule].seq;
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
	struct bt_rule *r = &b->rules[rule];
	struct bt_entry *next;
	for (struct bt_entry *e = r->head; e; e = next) {
		next = e->next;
		if (e->updated == r->seq)
			continue;
		if (r->seq - e->last_seen >= b->o->forget) {
			remove_entry(b, e);
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
	if (rule_index(b, rule, &ri) < 0)
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
		if (rule_index(b, w.rule, &ri) < 0) {
			RF_LOG_RL(RF_LOG_WARN, "window of rule %s ignored: more than %d rules", w.rule, MAX_RULES);
			continue;
		}
		struct bt_rule *rl = &b->rules[ri];
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
	rc = an_bt_run(b, 0, 1, err, sizeof err);
	if (rc < 0)
		rf_error("%s", err);
	struct an_bt_stats s;
	struct rfa_skip_stats k;
	an_bt_get_stats(b, &s);
	an_bt_skip_stats(b, &k);
	rf_info("done: %" PRIu64 " windows (%" PRIu64 " partial), %" PRIu64 " values, %" PRIu64
		" alerts, %" PRIu64 " states, %" PRIu64 " forgotten, %" PRIu64 " duplicates, %" PRIu64
		" table full; skipped lines: bad_header %" PRIu64 " outside_block %" PRIu64 " too_long %" PRIu64
		" binary %" PRIu64 " bad_point %" PRIu64 " cut_by_eof %" PRIu64 " header_in_block %" PRIu64,
		s.windows, s.partial_windows, s.values, s.alerts, s.states, s.forgotten, s.duplicates,
		s.table_full, k.bad_header, k.outside_block, k.too_long, k.binary, k.bad_point, k.cut_by_eof,
		k.header_in_block);
	an_bt_free(b);
	return rc < 0 ? 1 : 0;
}
