/*
 * test_snapshot.c — checkpoint state of the aggregate engine
 * (agg_engine_snapshot / agg_engine_restore, aggregate/snapshot.c):
 * round trip with every kind of state, hopping windows, top N and the
 * overflow series (back to the aggregate that wrote it, tagged with its
 * shard); re-sharding 2 aggregates into 3 (the union of the points
 * equals one engine that saw everything, and the traffic rule also equals
 * points computed naively); rules matched by name (reordered, gone,
 * changed); a version 1 blob of the previous release; late records and
 * watermark hold-back after a restore; garbage,
 * truncated and bit-flipped blobs refused without touching the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/engine.h"
#include "pipeline/row.h"
#include "aggregate/rule.h"
#include "tests/unit/agg_fixture.h"

/* snapshot.c's test hook: recomputes a blob's checksum after an edit. */
void agg_snapshot_reseal(void *blob, size_t len);

#define NOW (5000 * S)

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
			size_t len = rf_row_encode(&p->rules[ri].shape, (uint16_t)ri, o, recs[i].t, INT64_MIN, row, sizeof row, &h);
			assert_true(len > 0);
			struct frame *f = &frames[rf_route_row(&p->rules[ri].shape, (uint16_t)ri, h, (uint32_t)p->n)];
			assert_true(f->len + len <= sizeof f->buf);
			memcpy(f->buf + f->len, row, len);
			f->len += len;
			f->n++;
		}
	}
	for (int a = 0; a < p->n; a++)
		agg_engine_add_rows(p->e[a], source, maxev, 0, frames[a].buf, frames[a].len, frames[a].n, now);
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

/* ---- reading points back ---- */

/* The timestamp of a line, and a numeric field of it (0 when absent). */
static int64_t lp_time(const char *l)
{
	return strtoll(strrchr(l, ' ') + 1, NULL, 10);
}

static double lp_num(const char *l, const char *name)
{
	size_t nl = strlen(name);
	for (const char *f = strchr(l, ' ') + 1; f && *f; f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL)
		if (strncmp(f, name, nl) == 0 && f[nl] == '=')
			return strtod(f + nl + 1, NULL);
	return 0;
}

/* Per-window sums of flows and bytes over the lines starting with prefix. */
struct wsum {
	int n;
	struct { int64_t t, flows, bytes, lines; } w[32];
};

static void wsum_of(const struct lines *l, const char *prefix, struct wsum *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < l->n; i++) {
		if (strncmp(l->v[i], prefix, strlen(prefix)))
			continue;
		int64_t t = lp_time(l->v[i]);
		int k = 0;
		while (k < out->n && out->w[k].t != t)
			k++;
		if (k == out->n) {
			assert_true(out->n < 32);
			out->w[out->n++].t = t;
		}
		out->w[k].flows += (int64_t)lp_num(l->v[i], "flows");
		out->w[k].bytes += (int64_t)lp_num(l->v[i], "bytes");
		out->w[k].lines++;
	}
}

static void assert_same_sums(const struct wsum *a, const struct wsum *b)
{
	assert_true(a->n > 0);
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		int k = 0;
		while (k < b->n && b->w[k].t != a->w[i].t)
			k++;
		assert_true(k < b->n);
		assert_int_equal(a->w[i].flows, b->w[k].flows);
		assert_int_equal(a->w[i].bytes, b->w[k].bytes);
	}
}

static void lines_add(struct lines *l, const char *s)
{
	if (l->n == l->cap)
		l->v = realloc(l->v, (l->cap = l->cap ? 2 * l->cap : 64) * sizeof *l->v);
	l->v[l->n++] = strdup(s);
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
			agg_engine_advance(p->e[a], NOW, NOW, 0, collect, out);
	}
}

static void flush_all(struct pipe *p, struct lines *out)
{
	for (int a = 0; a < p->n; a++)
		agg_engine_advance(p->e[a], NOW, NOW, 1, collect, out);
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
		assert_int_equal(agg_engine_watermark(three.e[a], NOW, NOW), agg_engine_watermark(one.e[0], NOW, NOW));

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
 * split of it: the overflow series goes to aggregate 0 whole (its writer),
 * and the keys are re-counted against the new per-aggregate budget. */
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
	feed_all(&ref, recs + N1, N2, &want);
	flush_all(&ref, &want);
	/* b continues with phase 2 like ref. */
	feed_all(&b, recs + N1, N2, &got_b);
	flush_all(&b, &got_b);
	assert_same_lines(&got_b, &want, NULL);
	/* c: flush the restored state only and compare with a flushed a.
	 * max_keys 6 per window is 2 per aggregate now: restored keys beyond
	 * that join the overflow series of the aggregate they route to, so
	 * rule mk's points differ while its per-window totals do not. */
	struct lines ca = { 0 }, cc = { 0 };
	flush_all(&a, &ca);
	uint64_t keys_a = 0, keys_c = 0;
	for (size_t i = 0; i < ca.n; i++)
		keys_a += strncmp(ca.v[i], "mk,country=", 11) == 0;
	struct wsum ov_a, ov_c0;
	wsum_of(&ca, "mk,overflow=true,shard=0 ", &ov_a);
	for (int z = 0; z < 3; z++) {
		struct lines cz = { 0 };
		char tag[64];
		agg_engine_advance(c.e[z], NOW, NOW, 1, collect, &cz);
		snprintf(tag, sizeof tag, "mk,overflow=true,shard=%d ", z);
		for (size_t i = 0; i < cz.n; i++) {
			if (strncmp(cz.v[i], "mk,overflow=", 12) == 0)
				assert_true(strncmp(cz.v[i], tag, strlen(tag)) == 0);
			keys_c += strncmp(cz.v[i], "mk,country=", 11) == 0;
			lines_add(&cc, cz.v[i]);
		}
		struct wsum kz;
		wsum_of(&cz, "mk,country=", &kz);
		for (int k = 0; k < kz.n; k++)
			assert_true(kz.w[k].lines <= 2);
		if (z == 0) {
			/* a's overflow series, whole, plus keys that no longer fit. */
			wsum_of(&cz, tag, &ov_c0);
			assert_int_equal(ov_c0.n, ov_a.n);
			for (int k = 0; k < ov_a.n; k++)
				assert_true(ov_c0.w[k].t == ov_a.w[k].t && ov_c0.w[k].flows >= ov_a.w[k].flows);
		}
		lines_free(&cz);
	}
	assert_same_lines(&cc, &ca, "hop,");
	assert_same_lines(&cc, &ca, "top,");
	struct wsum sa, sc;
	wsum_of(&ca, "mk,", &sa);
	wsum_of(&cc, "mk,", &sc);
	assert_same_sums(&sa, &sc);
	assert_true(st.keys_overflow > 0);
	assert_int_equal(st.keys_overflow, keys_a - keys_c);
	lines_free(&ca);
	lines_free(&cc);
	lines_free(&want);
	lines_free(&got_b);
	pipe_free(&ref);
	pipe_free(&a);
	pipe_free(&b);
	pipe_free(&c);
}

/* Each aggregate's overflow series goes back to it on restore: with the
 * same count, the restored pipeline emits what the original would have,
 * overflow point for overflow point (shard=0 and shard=1, budget 3 each);
 * into one aggregate, the two merge into one shard=0 point per window. */
static void test_overflow_shards(void **state)
{
	(void)state;
	const struct rule_def defs[] = { mk, top };
	gen_phases(15);
	struct pipe ref, two, again, one;
	pipe_init(&ref, defs, 2, 2);
	pipe_init(&two, defs, 2, 2);
	pipe_init(&again, defs, 2, 2);
	pipe_init(&one, defs, 2, 1);
	struct lines want = { 0 }, got = { 0 };
	feed_all(&ref, recs, N1, &want);
	feed_all(&two, recs, N1, &got);
	for (int z = 0; z < 2; z++)
		assert_true(agg_engine_stats(two.e[z])->overflow > 0);
	struct agg_restore_stats st = { 0 };
	reshard(&two, &again, &st);
	assert_int_equal(st.keys_overflow, 0);
	assert_int_equal(st.keys_skipped_other_owner, st.keys);
	feed_all(&ref, recs + N1, N2, &want);
	flush_all(&ref, &want);
	feed_all(&again, recs + N1, N2, &got);
	flush_all(&again, &got);
	assert_same_lines(&got, &want, NULL);
	int shard_lines[2] = { 0 };
	for (size_t i = 0; i < got.n; i++)
		for (int z = 0; z < 2; z++) {
			char tag[64];
			snprintf(tag, sizeof tag, "mk,overflow=true,shard=%d ", z);
			shard_lines[z] += strncmp(got.v[i], tag, strlen(tag)) == 0;
		}
	assert_true(shard_lines[0] > 0 && shard_lines[1] > 0);

	/* 2 -> 1, restored state only: all keys fit the budget of 6. */
	memset(&st, 0, sizeof st);
	reshard(&two, &one, &st);
	assert_int_equal(st.keys_overflow, 0);
	struct lines t2 = { 0 }, o1 = { 0 };
	flush_all(&two, &t2);
	flush_all(&one, &o1);
	assert_same_lines(&o1, &t2, "mk,country=");
	assert_same_lines(&o1, &t2, "top,");
	struct wsum s2, s1, s1z;
	wsum_of(&t2, "mk,overflow=true,", &s2);
	wsum_of(&o1, "mk,overflow=true,", &s1);
	wsum_of(&o1, "mk,overflow=true,shard=0 ", &s1z);
	assert_same_sums(&s2, &s1);
	assert_same_sums(&s1z, &s1);
	for (int k = 0; k < s1.n; k++)
		assert_int_equal(s1.w[k].lines, 1);
	lines_free(&t2);
	lines_free(&o1);
	lines_free(&want);
	lines_free(&got);
	pipe_free(&ref);
	pipe_free(&two);
	pipe_free(&again);
	pipe_free(&one);
}

/* A version 1 blob, as the previous release wrote it (its state versions
 * 1, percentiles as bare sketches) for rule
 *   [aggregate.v1] window 10s, lateness 2s, key country, max_keys 3,
 *   flows = count(), bytes = sum(bytes), p50 = p50(bytes)
 * after the 40 records of v1_rec(), all in [100 s, 110 s). */
static const uint8_t v1_blob[300] = {
	0x52, 0x46, 0x41, 0x53, 0x01, 0x00, 0x00, 0x00, 0x14, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x83, 0xf7, 0x91, 0xcd, 0x6d, 0x02, 0x89, 0xa7,
	0x80, 0xe0, 0xe9, 0xd4, 0xa4, 0x06, 0x01, 0x00, 0x80, 0xe0, 0xe9, 0xd4,
	0xa4, 0x06, 0x01, 0x02, 0x76, 0x31, 0xba, 0x42, 0xe1, 0xed, 0x16, 0x4b,
	0xc6, 0x12, 0xf2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x80, 0xa0, 0xb7,
	0x87, 0xe9, 0x05, 0x03, 0x01, 0x01, 0x04, 0x10, 0x01, 0x00, 0x01, 0x9a,
	0x70, 0x01, 0x08, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x61,
	0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x8c, 0x40, 0x05, 0x90, 0x05,
	0x8e, 0x07, 0x0e, 0x00, 0x01, 0x0f, 0x01, 0x0c, 0x02, 0x0a, 0x02, 0x08,
	0x01, 0x07, 0x01, 0x19, 0x01, 0x04, 0x01, 0x03, 0x01, 0x04, 0x01, 0x07,
	0x01, 0x0c, 0x01, 0x05, 0x01, 0x02, 0x01, 0x04, 0x02, 0x00, 0x44, 0x45,
	0x01, 0x04, 0x08, 0x01, 0x00, 0x01, 0xb8, 0x47, 0x01, 0x08, 0x08, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x59, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x90, 0x40, 0x05, 0xe8, 0x04, 0x9e, 0x07, 0x08, 0x00, 0x01,
	0x44, 0x01, 0x0f, 0x01, 0x1a, 0x01, 0x08, 0x01, 0x06, 0x01, 0x15, 0x01,
	0x04, 0x01, 0x04, 0x02, 0x00, 0x55, 0x53, 0x01, 0x04, 0x08, 0x01, 0x00,
	0x01, 0xa4, 0x46, 0x01, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x61, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x90, 0x40, 0x05,
	0x90, 0x05, 0xa2, 0x07, 0x07, 0x00, 0x01, 0x38, 0x01, 0x0d, 0x02, 0x0b,
	0x01, 0x1c, 0x01, 0x13, 0x01, 0x04, 0x01, 0x04, 0x02, 0x00, 0x42, 0x52,
	0x01, 0x04, 0x08, 0x01, 0x00, 0x01, 0x82, 0x48, 0x01, 0x08, 0x08, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x65, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x2c, 0x91, 0x40, 0x05, 0xb0, 0x05, 0xa6, 0x07, 0x07, 0x00, 0x01,
	0x30, 0x01, 0x0b, 0x02, 0x0a, 0x01, 0x1a, 0x01, 0x05, 0x01, 0x11, 0x01,
};

static struct rec v1_rec(int i)
{
	return (struct rec){ .c = (i * 7 + i / 5) % 5, .asn = 1, .bytes = 100 + (i * 37) % 1000,
			     .pkt = 1, .name = 0, .t = 100 * S + i * (S / 5) };
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Checks one restored point against the records of the countries in set
 * (bit c): flows and bytes exact, p50 within 1% of the naive median. */
static void check_v1_point(const char *line, unsigned set)
{
	int64_t v[40];
	int n = 0;
	int64_t sum = 0;
	for (int i = 0; i < 40; i++) {
		struct rec r = v1_rec(i);
		if (set >> r.c & 1) {
			v[n++] = r.bytes;
			sum += r.bytes;
		}
	}
	qsort(v, (size_t)n, sizeof *v, cmp_i64);
	double med = (double)v[(n - 1) / 2];
	assert_int_equal((int64_t)lp_num(line, "flows"), n);
	assert_int_equal((int64_t)lp_num(line, "bytes"), sum);
	double p50 = lp_num(line, "p50");
	if (fabs(p50 - med) > 0.01 * med)
		fail_msg("%s: p50 %g, naive %g", line, p50, med);
	assert_int_equal(lp_time(line), 100 * S);
}

static void test_v1_blob(void **state)
{
	(void)state;
	const struct rule_def d = { "v1", 10 * S, 0, 2 * S, "country",
				    "flows=count();bytes=sum(bytes);p50=p50(bytes)", 3, 0, NULL };
	struct pipe a, b;
	pipe_init(&a, &d, 1, 1);
	pipe_init(&b, &d, 1, 1);
	struct agg_restore_stats st = { 0 };
	char err[256];
	if (agg_engine_restore(a.e[0], v1_blob, sizeof v1_blob, NOW, &st, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_int_equal(st.keys, 4);          /* 3 keys and the overflow series */
	assert_int_equal(st.rules_discarded, 0);
	/* Written again, it is a version 2 blob that restores the same. */
	struct agg_blob blob = { 0 };
	assert_int_equal(agg_engine_snapshot(a.e[0], &blob), 0);
	assert_int_equal(blob.p[4], 2);
	assert_int_equal(agg_engine_restore(b.e[0], blob.p, blob.len, NOW, NULL, err, sizeof err), 0);
	agg_blob_free(&blob);
	for (int k = 0; k < 2; k++) {
		struct lines out = { 0 };
		flush_all(k ? &b : &a, &out);
		assert_int_equal(out.n, 4);
		/* The first 3 countries to arrive have their own points. */
		unsigned kept = 0;
		for (int i = 0, nk = 0; i < 40 && nk < 3; i++)
			if (!(kept >> v1_rec(i).c & 1))
				kept |= 1u << v1_rec(i).c, nk++;
		for (size_t i = 0; i < out.n; i++) {
			const char *l = out.v[i];
			if (strncmp(l, "v1,overflow=true,shard=0 ", 25) == 0) {
				check_v1_point(l, 31u & ~kept);
				continue;
			}
			int c = 0;
			while (c < 5 && strncmp(l + 11, countries[c], 2))
				c++;
			assert_true(strncmp(l, "v1,country=", 11) == 0 && c < 5 && (kept >> c & 1));
			check_v1_point(l, 1u << c);
		}
		lines_free(&out);
	}
	pipe_free(&a);
	pipe_free(&b);
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
	agg_engine_advance(a.e[0], NOW, NOW, 0, collect, &out);
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
	agg_engine_advance(b.e[0], NOW, NOW, 0, collect, &out);
	assert_int_equal(out.n, 1);
	agg_engine_advance(b.e[0], NOW, NOW, 1, collect, &out);
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
	agg_engine_add_rows(a, 1025, 100 * S, 0, NULL, 0, 0, now);
	agg_engine_add_rows(a, 3, 50 * S, 0, NULL, 0, 0, now);
	agg_engine_add_rows(a, 7, INT64_MIN, 0, NULL, 0, 0, now);   /* never saw events */
	assert_int_equal(agg_engine_watermark(a, now, now), 50 * S);
	struct agg_blob blob = { 0 };
	char err[128];
	assert_int_equal(agg_engine_snapshot(a, &blob), 0);
	/* Restored much later: both count as active from the restore on. */
	int64_t later = now + 3600 * S;
	assert_int_equal(agg_engine_restore(b, blob.p, blob.len, later, NULL, err, sizeof err), 0);
	assert_int_equal(agg_engine_watermark(b, later, later), 50 * S);
	assert_int_equal(agg_engine_watermark(b, later + 29 * S, later + 29 * S), 50 * S);
	/* Partition 3 replays and moves on; 1025 still holds at 100 s. */
	agg_engine_add_rows(b, 3, 200 * S, 0, NULL, 0, 0, later + 1 * S);
	assert_int_equal(agg_engine_watermark(b, later + 2 * S, later + 2 * S), 100 * S);
	/* Once 1025 is quiet for idle_timeout it stops holding back. */
	assert_int_equal(agg_engine_watermark(b, later + 30 * S, later + 30 * S), 200 * S);
	/* All idle: wall clock. */
	assert_int_equal(agg_engine_watermark(b, later + 40 * S, later + 40 * S), later + 40 * S);
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
	agg_engine_advance(f->e, NOW, NOW, 1, collect, &out);
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
	m[4] = 3;
	assert_int_equal(agg_engine_restore(f->e, m, len, NOW, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "version 3"));
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
	static struct rec r[12000];
	struct agg_blob good = { 0 };
	rng_state = 14;
	/* Small: every state kind but HyperLogLog (count_distinct stays in its
	 * inline or exact-set mode), overflow included; every truncation and
	 * bit flip. Large: about 2000 distinct pkt per country and window, so
	 * count_distinct holds HyperLogLog registers; sampled mutations. */
	for (int round = 0; round < 2; round++) {
		int nr = round == 0 ? 12 : 12000;
		struct agg_engine *src = agg_engine_create(f.rules, 4, NULL, 0, 1);
		gen(r, nr, 100 * S, 12 * S);
		for (int i = 0; round && i < nr; i++)
			r[i].pkt = (int64_t)(rnd() % 1000000);
		struct pipe p = { .rules = f.rules, .nrules = 4, .n = 1, .e = { src } };
		for (int i = 0; i < nr; i += 100)
			pipe_feed(&p, 0, r + i, nr - i < 100 ? nr - i : 100, NOW);
		agg_engine_add_rows(src, 9, 50 * S, 0, NULL, 0, 0, NOW);
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
	assert_int_equal(agg_engine_watermark(b.e[0], NOW, NOW), INT64_MIN);
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
		cmocka_unit_test(test_overflow_shards),
		cmocka_unit_test(test_v1_blob),
		cmocka_unit_test(test_rules_by_name),
		cmocka_unit_test(test_late_after_restore),
		cmocka_unit_test(test_watermark_restore),
		cmocka_unit_test(test_bad_blobs),
		cmocka_unit_test(test_empty_and_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
