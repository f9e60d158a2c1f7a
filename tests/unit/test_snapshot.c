/*
 * test_snapshot.c — checkpoint state of the aggregate engine
 * (agg_engine_snapshot / agg_engine_restore, aggregate/snapshot.c):
 * round trip with every kind of state, hopping windows, top N and the
 * overflow series; re-sharding 2 aggregates into 3 (the union of the points
 * equals one engine that saw everything, and the traffic rule also equals
 * points computed naively); rules matched by name (reordered, gone,
 * changed); late records and watermark hold-back after a restore; garbage,
 * truncated and bit-flipped blobs refused without touching the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/engine.h"
#include "aggregate/row.h"
#include "aggregate/rule.h"

/* snapshot.c's test hook: recomputes a blob's checksum after an edit. */
void agg_snapshot_reseal(void *blob, size_t len);

#define S 1000000000LL
#define NOW (5000 * S)

static const char *const names[] = { "country", "asn", "bytes", "pkt", "name" };
static const enum rf_vtype types[] = { RF_V_STR, RF_V_INT, RF_V_INT, RF_V_INT, RF_V_STR };
#define NOUT 5
static const char *const countries[] = { "DE", "FR", "US", "JP", "BR" };
static const char *const pnames[] = { "alpha", "bravo", "charlie-long-name-over-16", "d" };

static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct rec {
	int c;          /* country index */
	int asn;        /* -1 = missing */
	int64_t bytes;  /* -1 = missing */
	int64_t pkt;
	int name;
	int64_t t;
};

/* ---- rule building (as test_engine.c) ---- */

struct rule_def {
	const char *name;
	int64_t window, every, lateness;
	const char *keys;         /* comma list */
	const char *aggs;         /* "name=expr;name=expr" */
	uint64_t max_keys;
	int top_n;
	const char *top_by;
};

static struct agg_rule *compile_rules(const struct rule_def *defs, int n)
{
	struct rf_config *conf = calloc(1, sizeof *conf);
	static char exprs[8][16][64];
	for (int i = 0; i < n; i++) {
		struct conf_rule *cr = &conf->rules[i];
		snprintf(cr->name, sizeof cr->name, "%s", defs[i].name);
		cr->window_ns = defs[i].window;
		cr->every_ns = defs[i].every ? defs[i].every : defs[i].window;
		cr->lateness_ns = defs[i].lateness;
		cr->max_keys = defs[i].max_keys;
		cr->top_n = defs[i].top_n;
		if (defs[i].top_by)
			snprintf(cr->top_by, sizeof cr->top_by, "%s", defs[i].top_by);
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s", defs[i].keys);
		for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ","))
			snprintf(cr->keys[cr->nkeys++], CONF_NAME_MAX, "%s", tok);
		snprintf(tmp, sizeof tmp, "%s", defs[i].aggs);
		for (char *tok = strtok(tmp, ";"); tok; tok = strtok(NULL, ";")) {
			char *eq = strchr(tok, '=');
			*eq = 0;
			snprintf(cr->aggs[cr->naggs].name, CONF_NAME_MAX, "%s", tok);
			snprintf(exprs[i][cr->naggs], 64, "%s", eq + 1);
			cr->aggs[cr->naggs].expr = exprs[i][cr->naggs];
			cr->naggs++;
		}
	}
	conf->nrules = n;
	struct agg_rule *rules;
	int nr;
	char err[256];
	if (agg_rules_compile(conf, names, types, NOUT, &rules, &nr, err, sizeof err) < 0)
		fail_msg("compile: %s", err);
	free(conf);
	return rules;
}

static const struct rule_def traffic = {
	"traffic", 10 * S, 0, 2 * S, "country,asn",
	"bytes=sum(bytes);flows=count();maxp=max(pkt);who=first(name)", 0, 0, NULL
};
/* Every other kind of state: HLL-promoted count_distinct, a sketch,
 * float avg and stddev, a string last(); hopping windows. */
static const struct rule_def hop = {
	"hop", 10 * S, 5 * S, 2 * S, "country",
	"uniq=count_distinct(pkt);p90=p90(bytes);avgb=avg(bytes);sd=stddev(pkt);last=last(name);lo=min(bytes)",
	0, 0, NULL
};
static const struct rule_def top = {
	"top", 10 * S, 0, 2 * S, "asn", "bytes=sum(bytes);flows=count()", 0, 3, "bytes"
};
static const struct rule_def mk = {
	"mk", 10 * S, 0, 2 * S, "country,asn", "flows=count();bytes=sum(bytes)", 6, 0, NULL
};

/* ---- a set of aggregate processes, rows routed to them ---- */

struct frame {
	_Alignas(8) uint8_t buf[1 << 20];
	size_t len;
	uint32_t n;
};

#define MAX_AGGS 3
struct pipe {
	struct agg_rule *rules;
	int nrules;
	int n;
	struct agg_engine *e[MAX_AGGS];
};

static struct frame frames[MAX_AGGS];

static void pipe_init(struct pipe *p, const struct rule_def *defs, int nrules, int n)
{
	memset(p, 0, sizeof *p);
	p->rules = compile_rules(defs, nrules);
	p->nrules = nrules;
	p->n = n;
	for (int i = 0; i < n; i++)
		assert_non_null(p->e[i] = agg_engine_create(p->rules, nrules, NULL, i, n));
}

static void pipe_free(struct pipe *p)
{
	for (int i = 0; i < p->n; i++)
		agg_engine_destroy(p->e[i]);
	agg_rules_free(p->rules);
}

static void rec_outs(const struct rec *r, struct rf_value *o)
{
	memset(o, 0, NOUT * sizeof *o);
	o[0] = (struct rf_value){ .type = RF_V_STR, .len = 2, .u.s = countries[r->c] };
	o[1] = r->asn < 0 ? rf_missing() : (struct rf_value){ .type = RF_V_INT, .u.i = r->asn };
	o[2] = r->bytes < 0 ? rf_missing() : (struct rf_value){ .type = RF_V_INT, .u.i = r->bytes };
	o[3] = (struct rf_value){ .type = RF_V_INT, .u.i = r->pkt };
	o[4] = (struct rf_value){ .type = RF_V_STR, .len = (uint32_t)strlen(pnames[r->name]), .u.s = pnames[r->name] };
}

/* One transform batch: every rule's row of every record to its owner;
 * every engine gets the batch's progress, rows or not. */
static void pipe_feed(struct pipe *p, uint32_t source, const struct rec *recs, int n, int64_t now)
{
	int64_t maxev = INT64_MIN;
	for (int a = 0; a < p->n; a++)
		frames[a].len = frames[a].n = 0;
	for (int i = 0; i < n; i++) {
		struct rf_value o[NOUT];
		rec_outs(&recs[i], o);
		if (recs[i].t > maxev)
			maxev = recs[i].t;
		for (int ri = 0; ri < p->nrules; ri++) {
			_Alignas(8) uint8_t row[512];
			uint64_t h;
			size_t len = agg_row_encode(&p->rules[ri], (uint16_t)ri, o, recs[i].t, row, sizeof row, &h);
			assert_true(len > 0);
			struct frame *f = &frames[agg_route_row(&p->rules[ri], (uint16_t)ri, h, (uint32_t)p->n)];
			assert_true(f->len + len <= sizeof f->buf);
			memcpy(f->buf + f->len, row, len);
			f->len += len;
			f->n++;
		}
	}
	for (int a = 0; a < p->n; a++)
		agg_engine_add_rows(p->e[a], source, maxev, frames[a].buf, frames[a].len, frames[a].n, now);
}

/* ---- captured lines ---- */

struct lines {
	char **v;
	size_t n, cap;
};

static void collect(void *arg, int rule, int64_t start, int64_t end, const char *lp, size_t len, uint32_t npoints)
{
	struct lines *l = arg;
	uint32_t got = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(lp + i, '\n', len - i);
		assert_non_null(nl);
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 256;
			l->v = realloc(l->v, l->cap * sizeof *l->v);
		}
		l->v[l->n++] = strndup(lp + i, (size_t)(nl - lp) - i);
		i = (size_t)(nl - lp) + 1;
		got++;
	}
	assert_int_equal(got, npoints);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Same multiset of lines, restricted to lines starting with prefix
 * (NULL: all). */
static void assert_same_lines(struct lines *got, struct lines *want, const char *prefix)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	qsort(got->v, got->n, sizeof *got->v, cmp_str);
	qsort(want->v, want->n, sizeof *want->v, cmp_str);
	size_t i = 0, j = 0, matched = 0;
	for (;;) {
		while (i < got->n && prefix && strncmp(got->v[i], prefix, pl))
			i++;
		while (j < want->n && prefix && strncmp(want->v[j], prefix, pl))
			j++;
		if (i == got->n || j == want->n)
			break;
		if (strcmp(got->v[i], want->v[j]) != 0)
			fail_msg("line %zu differs:\n got  %s\n want %s", matched, got->v[i], want->v[j]);
		i++, j++, matched++;
	}
	while (i < got->n && prefix && strncmp(got->v[i], prefix, pl))
		i++;
	while (j < want->n && prefix && strncmp(want->v[j], prefix, pl))
		j++;
	if (i != got->n || j != want->n)
		fail_msg("after %zu equal lines: extra %s line: %s", matched, i != got->n ? "got" : "wanted",
			 i != got->n ? got->v[i] : want->v[j]);
	assert_true(matched > 0);
}

/* ---- naive points of rule "traffic" (key country,asn) over recs ---- */

static void naive_traffic(const struct rec *recs, int n, struct lines *out)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (int i = 0; i < n; i++) {
		lo = recs[i].t < lo ? recs[i].t : lo;
		hi = recs[i].t > hi ? recs[i].t : hi;
	}
	for (int64_t start = lo - lo % (10 * S); start <= hi; start += 10 * S)
		for (int c = 0; c < 5; c++)
			for (int a = -1; a < 6; a++) {
				int64_t sum = 0, flows = 0, maxp = INT64_MIN, first_t = INT64_MAX;
				int have_sum = 0, who = -1;
				for (int j = 0; j < n; j++) {
					const struct rec *r = &recs[j];
					if (r->t < start || r->t >= start + 10 * S || r->c != c || r->asn != a)
						continue;
					flows++;
					if (r->bytes >= 0)
						sum += r->bytes, have_sum = 1;
					if (r->pkt > maxp)
						maxp = r->pkt;
					if (r->t < first_t)
						first_t = r->t, who = r->name;
				}
				if (!flows)
					continue;
				char line[512], *p = line;
				p += sprintf(p, "traffic,country=%s", countries[c]);
				if (a >= 0)
					p += sprintf(p, ",asn=%d", a);
				p += sprintf(p, " ");
				if (have_sum)
					p += sprintf(p, "bytes=%" PRId64 "i,", sum);
				sprintf(p, "flows=%" PRId64 "i,maxp=%" PRId64 "i,who=\"%s\" %" PRId64, flows, maxp,
					pnames[who], start);
				if (out->n == out->cap) {
					out->cap = out->cap ? 2 * out->cap : 256;
					out->v = realloc(out->v, out->cap * sizeof *out->v);
				}
				out->v[out->n++] = strdup(line);
			}
}

/* Records with times t0 + i * span / n plus up to 1 s of disorder; times
 * unique, so first() never depends on arrival order. */
static void gen(struct rec *r, int n, int64_t t0, int64_t span)
{
	for (int i = 0; i < n; i++) {
		r[i].c = (int)(rnd() % 5);
		r[i].asn = (int)(rnd() % 7) - 1;
		r[i].bytes = rnd() % 5 == 0 ? -1 : (int64_t)(rnd() % 100000);
		r[i].pkt = (int64_t)(rnd() % 1500);
		r[i].name = (int)(rnd() % 4);
		r[i].t = t0 + (int64_t)i * (span / n) + (int64_t)(rnd() % (uint64_t)(S / 1000)) * 1000 + i % 1000;
	}
}

static void feed_all(struct pipe *p, const struct rec *recs, int n, struct lines *out)
{
	for (int i = 0; i < n; i += 100) {
		pipe_feed(p, 0, recs + i, n - i < 100 ? n - i : 100, NOW);
		for (int a = 0; a < p->n; a++)
			agg_engine_advance(p->e[a], NOW, 0, collect, out);
	}
}

static void flush_all(struct pipe *p, struct lines *out)
{
	for (int a = 0; a < p->n; a++)
		agg_engine_advance(p->e[a], NOW, 1, collect, out);
}

/* Restores every engine of from into every engine of to, as the lead does
 * at start: every blob to every process. */
static void reshard(struct pipe *from, struct pipe *to, struct agg_restore_stats *st)
{
	struct agg_blob b = { 0 };
	char err[256];
	for (int a = 0; a < from->n; a++) {
		assert_int_equal(agg_engine_snapshot(from->e[a], &b), 0);
		for (int z = 0; z < to->n; z++)
			if (agg_engine_restore(to->e[z], b.p, b.len, NOW, st, err, sizeof err) < 0)
				fail_msg("restore: %s", err);
	}
	agg_blob_free(&b);
}

/* ---- tests ---- */

#define N1 4000
#define N2 4000
static struct rec recs[N1 + N2];

static void gen_phases(uint64_t seed)
{
	rng_state = seed;
	/* Phase 1 in [100, 128) s, phase 2 in [126, 160) s: after phase 1 the
	 * watermark is about 126 s (lateness 2 s), so early windows are out,
	 * [120, 130) is open and phase 2 adds to keys restored into it. */
	gen(recs, N1, 100 * S, 27 * S);
	gen(recs + N1, N2, 126 * S, 33 * S);
}

static void test_reshard_2_to_3(void **state)
{
	(void)state;
	const struct rule_def defs[] = { traffic, hop, top };
	gen_phases(11);
	struct pipe one, two, three;
	pipe_init(&one, defs, 3, 1);
	pipe_init(&two, defs, 3, 2);
	pipe_init(&three, defs, 3, 3);
	struct lines want = { 0 }, got = { 0 };

	feed_all(&one, recs, N1, &want);
	feed_all(&two, recs, N1, &got);
	size_t before = got.n;
	assert_true(before > 0);             /* windows closed before the checkpoint */
	assert_true(agg_engine_stats(two.e[0])->live_keys > 0);
	assert_true(agg_engine_stats(two.e[1])->live_keys > 0);

	struct agg_restore_stats st = { 0 };
	reshard(&two, &three, &st);
	uint64_t live2 = agg_engine_stats(two.e[0])->live_keys + agg_engine_stats(two.e[1])->live_keys;
	uint64_t live3 = 0;
	for (int a = 0; a < 3; a++)
		live3 += agg_engine_stats(three.e[a])->live_keys;
	/* Every key lands in exactly one of the three; each of the 2 blobs is
	 * read by 3 engines, so each key is skipped twice. */
	assert_int_equal(live3, live2);
	assert_int_equal(st.keys, live2);
	assert_int_equal(st.keys_skipped_other_owner, 2 * live2);
	assert_int_equal(st.rules_discarded, 0);
	assert_true(st.windows > 0);
	for (int a = 0; a < 3; a++)
		assert_int_equal(agg_engine_watermark(three.e[a], NOW), agg_engine_watermark(one.e[0], NOW));

	feed_all(&one, recs + N1, N2, &want);
	feed_all(&three, recs + N1, N2, &got);
	flush_all(&one, &want);
	flush_all(&three, &got);
	assert_same_lines(&got, &want, NULL);
	for (int a = 0; a < 3; a++)
		assert_int_equal(agg_engine_stats(three.e[a])->late, 0);

	/* The engines agree; the traffic rule also agrees with arithmetic. */
	struct lines naive = { 0 };
	naive_traffic(recs, N1 + N2, &naive);
	assert_same_lines(&got, &naive, "traffic,");
	/* and the other rules did emit something */
	int hop_lines = 0, top_lines = 0;
	for (size_t i = 0; i < got.n; i++) {
		hop_lines += strncmp(got.v[i], "hop,", 4) == 0;
		top_lines += strncmp(got.v[i], "top,", 4) == 0;
	}
	assert_true(hop_lines > 20 && top_lines > 5);

	lines_free(&naive);
	lines_free(&want);
	lines_free(&got);
	pipe_free(&one);
	pipe_free(&two);
	pipe_free(&three);
}

/* One engine into one, with the overflow series (max_keys) and a 1 -> 3
 * split of it: overflow goes to aggregate 0 whole. */
static void test_roundtrip_overflow(void **state)
{
	(void)state;
	const struct rule_def defs[] = { mk, hop, top };
	gen_phases(12);
	struct pipe a, b, c, ref;
	pipe_init(&ref, defs, 3, 1);
	pipe_init(&a, defs, 3, 1);
	pipe_init(&b, defs, 3, 1);
	pipe_init(&c, defs, 3, 3);
	struct lines want = { 0 }, got_b = { 0 };
	feed_all(&ref, recs, N1, &want);
	feed_all(&a, recs, N1, &got_b);
	assert_true(agg_engine_stats(a.e[0])->overflow > 0);

	struct agg_restore_stats st = { 0 };
	reshard(&a, &b, &st);
	assert_int_equal(agg_engine_stats(b.e[0])->live_keys, agg_engine_stats(a.e[0])->live_keys);
	assert_int_equal(st.keys, agg_engine_stats(a.e[0])->live_keys);
	assert_int_equal(st.keys_overflow, 0);
	/* Snapshots of the original and of the restored engine are equal in
	 * size (same states; table order may differ). */
	struct agg_blob b1 = { 0 }, b2 = { 0 };
	assert_int_equal(agg_engine_snapshot(a.e[0], &b1), 0);
	assert_int_equal(agg_engine_snapshot(b.e[0], &b2), 0);
	assert_int_equal(b1.len, b2.len);
	agg_blob_free(&b1);
	agg_blob_free(&b2);

	memset(&st, 0, sizeof st);
	reshard(&a, &c, &st);
	/* Only aggregate 0 holds overflow series of rule mk (index 0). */
	feed_all(&ref, recs + N1, N2, &want);
	flush_all(&ref, &want);
	/* b continues with phase 2 like ref. */
	feed_all(&b, recs + N1, N2, &got_b);
	flush_all(&b, &got_b);
	assert_same_lines(&got_b, &want, NULL);
	/* c: flush the restored state only (phase 2 would hit max_keys
	 * differently in three processes) and compare with a flushed a. */
	struct lines ca = { 0 }, cc = { 0 };
	flush_all(&a, &ca);
	struct lines c_by_agg[3] = { { 0 } };
	for (int z = 0; z < 3; z++) {
		agg_engine_advance(c.e[z], NOW, 1, collect, &c_by_agg[z]);
		for (size_t i = 0; i < c_by_agg[z].n; i++) {
			if (strstr(c_by_agg[z].v[i], "overflow=true"))
				assert_int_equal(z, 0);
			if (cc.n == cc.cap)
				cc.v = realloc(cc.v, (cc.cap = cc.cap ? 2 * cc.cap : 64) * sizeof *cc.v);
			cc.v[cc.n++] = strdup(c_by_agg[z].v[i]);
		}
		lines_free(&c_by_agg[z]);
	}
	assert_same_lines(&cc, &ca, NULL);
	int ov = 0;
	for (size_t i = 0; i < cc.n; i++)
		ov += strstr(cc.v[i], "mk,overflow=true") != NULL;
	assert_true(ov > 0);
	lines_free(&ca);
	lines_free(&cc);
	lines_free(&want);
	lines_free(&got_b);
	pipe_free(&ref);
	pipe_free(&a);
	pipe_free(&b);
	pipe_free(&c);
}

/* Rules are matched by name: traffic moves from index 0 to 1 and keeps its
 * windows (new rows for restored keys merge into them: the hash is
 * recomputed for the new index); hop is gone; cnt has changed. */
static void test_rules_by_name(void **state)
{
	(void)state;
	const struct rule_def cnt = { "cnt", 10 * S, 0, 2 * S, "", "flows=count()", 0, 0, NULL };
	const struct rule_def cnt2 = { "cnt", 20 * S, 0, 2 * S, "", "flows=count()", 0, 0, NULL };
	const struct rule_def fresh = { "fresh", 10 * S, 0, 2 * S, "", "flows=count()", 0, 0, NULL };
	const struct rule_def old_defs[] = { traffic, hop, cnt };
	const struct rule_def new_defs[] = { cnt2, traffic, fresh };
	rng_state = 13;
	gen(recs, N1, 100 * S, 6 * S);          /* all in [100, 106): nothing closes */
	gen(recs + N1, N2, 100 * S, 6 * S);
	struct pipe old, nw;
	pipe_init(&old, old_defs, 3, 1);
	pipe_init(&nw, new_defs, 3, 2);
	struct lines got = { 0 }, naive = { 0 };
	feed_all(&old, recs, N1, &got);
	assert_int_equal(got.n, 0);               /* everything still open */
	struct agg_restore_stats st = { 0 };
	reshard(&old, &nw, &st);
	assert_int_equal(st.rules_discarded, 2 * 2);   /* hop and cnt, in each of 2 engines */
	uint64_t traffic_keys = 0;
	for (int a = 0; a < 2; a++)
		traffic_keys += agg_engine_stats(nw.e[a])->live_keys;
	assert_int_equal(st.keys, traffic_keys);
	feed_all(&nw, recs + N1, N2, &got);
	flush_all(&nw, &got);
	naive_traffic(recs, N1 + N2, &naive);
	assert_same_lines(&got, &naive, "traffic,");
	/* cnt and fresh count phase 2 only: one window [100,110) for fresh;
	 * cnt's window is now 20 s long: [100,120). */
	int seen = 0;
	for (size_t i = 0; i < got.n; i++) {
		char want[64];
		if (strncmp(got.v[i], "fresh ", 6) == 0) {
			snprintf(want, sizeof want, "fresh flows=%di %" PRId64, N2, (int64_t)(100 * S));
			assert_string_equal(got.v[i], want);
			seen |= 1;
		}
		if (strncmp(got.v[i], "cnt ", 4) == 0) {
			snprintf(want, sizeof want, "cnt flows=%di %" PRId64, N2, (int64_t)(100 * S));
			assert_string_equal(got.v[i], want);
			seen |= 2;
		}
		assert_true(strncmp(got.v[i], "hop", 3) != 0);
	}
	assert_int_equal(seen, 3);
	lines_free(&got);
	lines_free(&naive);
	pipe_free(&old);
	pipe_free(&nw);
}

static struct rec mkrec(int c, int64_t t)
{
	return (struct rec){ .c = c, .asn = 1, .bytes = 1, .pkt = 1, .name = 0, .t = t };
}

/* A record for a window closed before the checkpoint is late after the
 * restore; the open window keeps collecting. */
static void test_late_after_restore(void **state)
{
	(void)state;
	const struct rule_def d = { "late", 10 * S, 0, 2 * S, "country", "flows=count()", 0, 0, NULL };
	struct pipe a, b;
	pipe_init(&a, &d, 1, 1);
	pipe_init(&b, &d, 1, 1);
	struct lines out = { 0 };
	struct rec r[4] = { mkrec(0, 1 * S), mkrec(0, 5 * S), mkrec(0, 11 * S), mkrec(0, 14 * S) };
	pipe_feed(&a, 0, r, 4, NOW);
	agg_engine_advance(a.e[0], NOW, 0, collect, &out);
	/* Watermark 14 - 2 = 12 s: [0,10) emitted, [10,20) open. */
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0], "late,country=DE flows=2i 0");
	reshard(&a, &b, NULL);
	/* 9 s: [0,10) is gone, so late (as in a); 13 s: open window. */
	struct rec r2[2] = { mkrec(0, 9 * S), mkrec(0, 13 * S) };
	pipe_feed(&b, 0, r2, 2, NOW);
	const struct agg_stats *st = agg_engine_stats(b.e[0]);
	assert_int_equal(st->late, 1);
	assert_int_equal(st->aggregated, 1);
	assert_int_equal(st->rows, 2);
	/* The restored watermark (14 s) does not close [10,20) yet. */
	agg_engine_advance(b.e[0], NOW, 0, collect, &out);
	assert_int_equal(out.n, 1);
	agg_engine_advance(b.e[0], NOW, 1, collect, &out);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[1], "late,country=DE flows=3i 10000000000");
	lines_free(&out);
	pipe_free(&a);
	pipe_free(&b);
}

/* Restored partitions hold the watermark back for idle_timeout, as they
 * did before; ids are kept (topic * 1024 + partition). */
static void test_watermark_restore(void **state)
{
	(void)state;
	const struct rule_def d = { "w", 10 * S, 0, 0, "", "flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct rf_config *conf = calloc(1, sizeof *conf);
	conf->input.idle_timeout_ns = 30 * S;
	struct agg_engine *a = agg_engine_create(rules, 1, conf, 0, 1);
	struct agg_engine *b = agg_engine_create(rules, 1, conf, 0, 1);
	int64_t now = 1000 * S;
	agg_engine_add_rows(a, 1025, 100 * S, NULL, 0, 0, now);
	agg_engine_add_rows(a, 3, 50 * S, NULL, 0, 0, now);
	agg_engine_add_rows(a, 7, INT64_MIN, NULL, 0, 0, now);   /* never saw events */
	assert_int_equal(agg_engine_watermark(a, now), 50 * S);
	struct agg_blob blob = { 0 };
	char err[128];
	assert_int_equal(agg_engine_snapshot(a, &blob), 0);
	/* Restored much later: both count as active from the restore on. */
	int64_t later = now + 3600 * S;
	assert_int_equal(agg_engine_restore(b, blob.p, blob.len, later, NULL, err, sizeof err), 0);
	assert_int_equal(agg_engine_watermark(b, later), 50 * S);
	assert_int_equal(agg_engine_watermark(b, later + 29 * S), 50 * S);
	/* Partition 3 replays and moves on; 1025 still holds at 100 s. */
	agg_engine_add_rows(b, 3, 200 * S, NULL, 0, 0, later + 1 * S);
	assert_int_equal(agg_engine_watermark(b, later + 2 * S), 100 * S);
	/* Once 1025 is quiet for idle_timeout it stops holding back. */
	assert_int_equal(agg_engine_watermark(b, later + 30 * S), 200 * S);
	/* All idle: wall clock. */
	assert_int_equal(agg_engine_watermark(b, later + 40 * S), later + 40 * S);
	agg_blob_free(&blob);
	agg_engine_destroy(a);
	agg_engine_destroy(b);
	agg_rules_free(rules);
	free(conf);
}

/* ---- refusing bad blobs ---- */

static void assert_blob_equal(const struct agg_blob *x, const struct agg_blob *y)
{
	assert_int_equal(x->len, y->len);
	assert_memory_equal(x->p, y->p, x->len);
}

struct fuzz {
	struct agg_rule *rules;
	struct agg_engine *e;      /* holds base's state */
	struct agg_blob base;      /* a snapshot of e: "unchanged" means equal to it */
	struct agg_blob scratch;
	uint64_t ok;
};

static void fuzz_reset(struct fuzz *f, const struct agg_blob *seed)
{
	char err[256];
	agg_engine_destroy(f->e);
	assert_non_null(f->e = agg_engine_create(f->rules, 4, NULL, 0, 1));
	assert_int_equal(agg_engine_restore(f->e, seed->p, seed->len, NOW, NULL, err, sizeof err), 0);
	assert_int_equal(agg_engine_snapshot(f->e, &f->base), 0);
}

/* Restores p into f->e: a refusal must leave e unchanged; an acceptance
 * must leave an engine that still emits without crashing. */
static int fuzz_one(struct fuzz *f, const struct agg_blob *seed, const void *p, size_t len)
{
	char err[256] = "";
	int rc = agg_engine_restore(f->e, p, len, NOW, NULL, err, sizeof err);
	if (rc < 0) {
		assert_true(strncmp(err, "checkpoint state: ", 18) == 0);
		assert_int_equal(agg_engine_snapshot(f->e, &f->scratch), 0);
		assert_blob_equal(&f->scratch, &f->base);
		return -1;
	}
	assert_int_equal(rc, 0);
	f->ok++;
	struct lines out = { 0 };
	agg_engine_advance(f->e, NOW, 1, collect, &out);
	lines_free(&out);
	fuzz_reset(f, seed);
	return 0;
}

/* Fuzzes restores of mutations of good into an engine holding good's
 * state. every: each truncation and bit flip, else that many sampled. */
static void fuzz_blob(struct fuzz *f, const struct agg_blob *good, size_t every)
{
	char err[256];
	fuzz_reset(f, good);
	uint8_t *m = malloc(good->len);
	size_t len = good->len;

	/* Wrong version, wrong magic, empty. */
	memcpy(m, good->p, len);
	m[4] = 2;
	assert_int_equal(agg_engine_restore(f->e, m, len, NOW, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "version 2"));
	memcpy(m, good->p, len);
	m[0] = 'X';
	assert_int_equal(agg_engine_restore(f->e, m, len, NOW, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "magic"));
	assert_int_equal(agg_engine_restore(f->e, NULL, 0, NOW, NULL, err, sizeof err), -1);

	/* Truncations: as stored (the header disagrees) and resealed (the
	 * parser itself must find the end). */
	size_t n = every ? every : len;
	for (size_t i = 0; i < n; i++) {
		size_t k = every ? (size_t)(rnd() % len) : i;
		assert_int_equal(fuzz_one(f, good, good->p, k), -1);
		memcpy(m, good->p, k);
		agg_snapshot_reseal(m, k);
		assert_int_equal(fuzz_one(f, good, m, k), -1);
	}
	/* Bit flips: the checksum catches each; resealed, the parser must
	 * refuse cleanly or yield a working engine. */
	uint64_t refused = 0, ok0 = f->ok;
	n = every ? every : len * 8;
	for (size_t i = 0; i < n; i++) {
		size_t k = every ? (size_t)(rnd() % (len * 8)) : i;
		memcpy(m, good->p, len);
		m[k / 8] ^= (uint8_t)(1u << (k % 8));
		if (fuzz_one(f, good, m, len) != -1)
			fail_msg("bit %zu flipped: accepted", k);
		if (k / 8 < 24)
			continue;       /* the header: covered above */
		agg_snapshot_reseal(m, len);
		refused += fuzz_one(f, good, m, len) < 0;
	}
	print_message("    %zu-byte blob, resealed bit flips: %" PRIu64 " refused, %" PRIu64 " accepted\n",
		      len, refused, f->ok - ok0);
	assert_true(refused > 0);
	/* Random bytes, bare and behind a valid header; random bytes spliced
	 * into the good blob. */
	static uint8_t junk[8192];
	for (int it = 0; it < (every ? 1500 : 6000); it++) {
		size_t jl = (size_t)(rnd() % sizeof junk);
		for (size_t i = 0; i < jl; i++)
			junk[i] = (uint8_t)rnd();
		if (it % 3 == 1 && jl >= 24) {
			memcpy(junk, good->p, 8);
			agg_snapshot_reseal(junk, jl);
			fuzz_one(f, good, junk, jl);
		} else if (it % 3 == 2) {
			memcpy(m, good->p, len);
			size_t at = 24 + (size_t)(rnd() % (len - 24)), nb = 1 + (size_t)(rnd() % 8);
			for (size_t i = at; i < at + nb && i < len; i++)
				m[i] = (uint8_t)rnd();
			agg_snapshot_reseal(m, len);
			fuzz_one(f, good, m, len);
		} else {
			assert_int_equal(fuzz_one(f, good, junk, jl), -1);
		}
	}
	/* After all that, the good blob still merges in. */
	if (agg_engine_restore(f->e, good->p, good->len, NOW, NULL, err, sizeof err) < 0)
		fail_msg("%s", err);
	free(m);
}

static void test_bad_blobs(void **state)
{
	(void)state;
	const struct rule_def defs[] = { traffic, hop, top, mk };
	struct fuzz f = { 0 };
	f.rules = compile_rules(defs, 4);
	static struct rec r[60];
	struct agg_blob good = { 0 };
	rng_state = 14;
	/* Small: every state kind but HyperLogLog (no count_distinct above 6
	 * values), overflow included; every truncation and bit flip. Large:
	 * promoted count_distincts (16 KiB of registers each), sampled. */
	for (int round = 0; round < 2; round++) {
		int nr = round == 0 ? 12 : 60;
		struct agg_engine *src = agg_engine_create(f.rules, 4, NULL, 0, 1);
		gen(r, nr, 100 * S, 12 * S);
		struct pipe p = { .rules = f.rules, .nrules = 4, .n = 1, .e = { src } };
		pipe_feed(&p, 0, r, nr, NOW);
		agg_engine_add_rows(src, 9, 50 * S, NULL, 0, 0, NOW);
		assert_true(agg_engine_stats(src)->overflow > 0);
		assert_int_equal(agg_engine_snapshot(src, &good), 0);
		fuzz_blob(&f, &good, round == 0 ? 0 : 1000);
		agg_engine_destroy(src);
	}
	agg_blob_free(&good);
	agg_blob_free(&f.base);
	agg_blob_free(&f.scratch);
	agg_engine_destroy(f.e);
	agg_rules_free(f.rules);
}

/* An empty engine round-trips; a blob buffer is reused without growing. */
static void test_empty_and_reuse(void **state)
{
	(void)state;
	struct pipe a, b;
	const struct rule_def defs[] = { traffic, hop };
	pipe_init(&a, defs, 2, 1);
	pipe_init(&b, defs, 2, 1);
	struct agg_blob blob = { 0 };
	char err[128];
	assert_int_equal(agg_engine_snapshot(a.e[0], &blob), 0);
	assert_int_equal(agg_engine_restore(b.e[0], blob.p, blob.len, NOW, NULL, err, sizeof err), 0);
	assert_int_equal(agg_engine_stats(b.e[0])->live_keys, 0);
	assert_int_equal(agg_engine_watermark(b.e[0], NOW), INT64_MIN);
	rng_state = 16;
	gen(recs, N1, 100 * S, 6 * S);
	struct lines out = { 0 };
	feed_all(&a, recs, N1, &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(agg_engine_snapshot(a.e[0], &blob), 0);
	uint8_t *p = blob.p;
	size_t cap = blob.cap, len = blob.len;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(agg_engine_snapshot(a.e[0], &blob), 0);
		assert_true(blob.p == p && blob.cap == cap && blob.len == len);
	}
	agg_blob_free(&blob);
	pipe_free(&a);
	pipe_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reshard_2_to_3),
		cmocka_unit_test(test_roundtrip_overflow),
		cmocka_unit_test(test_rules_by_name),
		cmocka_unit_test(test_late_after_restore),
		cmocka_unit_test(test_watermark_restore),
		cmocka_unit_test(test_bad_blobs),
		cmocka_unit_test(test_empty_and_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
