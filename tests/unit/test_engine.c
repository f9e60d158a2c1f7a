/*
 * test_engine.c — window store and engine (aggregate/winstore.h,
 * aggregate/engine.h): rows in, line protocol out, compared with points
 * computed naively in the test; tumbling and hopping window assignment,
 * late records, two partitions out of step, idle input, max_keys overflow
 * (split over aggregate processes, overflow series tagged by shard), top N,
 * empty points, bad and misrouted rows.
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
#include "pipeline/row.h"
#include "aggregate/rule.h"
#include "tests/unit/agg_fixture.h"
#include "tests/lib/splitmix.h"
#include "pipeline/frames.h"

#include <math.h>

/* ---- frames ---- */

struct frame {
	_Alignas(8) uint8_t buf[1 << 20];
	size_t len;
	uint32_t n;
	int64_t maxev;
};

static void frame_reset(struct frame *f)
{
	f->len = 0;
	f->n = 0;
	f->maxev = INT64_MIN;
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

static uint64_t frame_add(struct frame *f, const struct agg_rule *rules, int ri, const struct rec *r)
{
	struct rf_value o[NOUT];
	rec_outs(r, o);
	uint64_t h;
	/* As the transform does: each row carries the frame's newest event
	 * time before it. */
	size_t n = rf_row_encode(&rules[ri].shape, (uint16_t)ri, o, r->t, f->maxev, f->buf + f->len,
				 sizeof f->buf - f->len, &h);
	assert_true(n > 0);
	f->len += n;
	f->n++;
	if (r->t > f->maxev)
		f->maxev = r->t;
	return h;
}

/* ---- captured output ---- */

#define MAX_WINDOWS 64
struct captured {
	int n;
	struct {
		int rule;
		int64_t start, end;
		char *lp;
		uint32_t npoints;
	} w[MAX_WINDOWS];
};

static void capture(void *arg, int rule, int64_t start, int64_t end, const char *lp, size_t len, uint32_t npoints)
{
	struct captured *c = arg;
	assert_true(c->n < MAX_WINDOWS);
	c->w[c->n].rule = rule;
	c->w[c->n].start = start;
	c->w[c->n].end = end;
	c->w[c->n].lp = strndup(lp, len);
	c->w[c->n].npoints = npoints;
	/* Every line ends with the window start as its timestamp. */
	uint32_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += lp[i] == '\n';
	assert_int_equal(lines, npoints);
	c->n++;
}

static void captured_free(struct captured *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->w[i].lp);
	c->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares two sets of lines (order-insensitive). */
static void assert_same_lines(const char *got, char **want, int nwant)
{
	char *copy = strdup(got);
	char *lines[4096];
	int n = 0;
	for (char *tok = strtok(copy, "\n"); tok; tok = strtok(NULL, "\n"))
		lines[n++] = tok;
	qsort(lines, (size_t)n, sizeof *lines, cmp_str);
	qsort(want, (size_t)nwant, sizeof *want, cmp_str);
	if (n != nwant)
		fail_msg("got %d lines, want %d:\n%s", n, nwant, got);
	for (int i = 0; i < n; i++)
		if (strcmp(lines[i], want[i]) != 0)
			fail_msg("line %d:\n got  %s\n want %s", i, lines[i], want[i]);
	free(copy);
}

/* ---- naive expected points for rule "traffic":
 * key country,asn; bytes=sum(bytes); flows=count(); maxp=max(pkt); who=first(name) */

static int naive_points(const struct rec *recs, int n, int64_t start, int64_t window, char **out)
{
	int np = 0;
	int done[8][8] = { { 0 } };
	for (int i = 0; i < n; i++) {
		if (recs[i].t < start || recs[i].t >= start + window)
			continue;
		int c = recs[i].c, a = recs[i].asn + 1;  /* asn -1..5 -> 0..6 */
		if (done[c][a])
			continue;
		done[c][a] = 1;
		int64_t sum = 0, flows = 0, maxp = INT64_MIN, first_t = INT64_MAX;
		int have_sum = 0, who = -1;
		for (int j = i; j < n; j++) {
			const struct rec *r = &recs[j];
			if (r->t < start || r->t >= start + window || r->c != c || r->asn + 1 != a)
				continue;
			flows++;
			if (r->bytes >= 0) {
				sum += r->bytes;
				have_sum = 1;
			}
			if (r->pkt > maxp)
				maxp = r->pkt;
			if (r->t < first_t) {
				first_t = r->t;
				who = r->name;
			}
		}
		char line[512], *p = line;
		p += sprintf(p, "traffic,country=%s", countries[c]);
		if (a > 0)
			p += sprintf(p, ",asn=%d", a - 1);
		p += sprintf(p, " ");
		if (have_sum)
			p += sprintf(p, "bytes=%" PRId64 "i,", sum);
		p += sprintf(p, "flows=%" PRId64 "i,maxp=%" PRId64 "i,who=\"%s\" %" PRId64, flows, maxp,
			     pnames[who], start);
		out[np++] = strdup(line);
	}
	return np;
}

static const struct rule_def traffic = {
	"traffic", 10 * S, 0, 2 * S, "country,asn", "bytes=sum(bytes);flows=count();maxp=max(pkt);who=first(name)", 0, 0, NULL
};

static void gen_recs(struct rec *r, int n, int64_t t0, int64_t span)
{
	for (int i = 0; i < n; i++) {
		r[i].c = (int)(rnd() % 5);
		r[i].asn = (int)(rnd() % 7) - 1;
		r[i].bytes = rnd() % 5 == 0 ? -1 : (int64_t)(rnd() % 100000);
		r[i].pkt = (int64_t)(rnd() % 1500);
		r[i].name = (int)(rnd() % 4);
		r[i].t = t0 + (int64_t)(rnd() % (uint64_t)span);
	}
}

static void test_end_to_end_tumbling(void **state)
{
	(void)state;
	struct agg_rule *rules = compile_rules(&traffic, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	assert_non_null(e);
	static struct frame f;
	static struct rec recs[6000];
	struct captured cap = { 0 };
	rng_state = 1;
	const int n = 6000;
	/* Times in [100 s, 130 s): three windows, records out of order by up
	 * to 1 s (a realistic mild disorder). */
	for (int i = 0; i < n; i++) {
		gen_recs(&recs[i], 1, 0, 1);
		recs[i].t = 100 * S + (int64_t)i * (29 * S / n) + (int64_t)(rnd() % (uint64_t)S);
	}
	int64_t now = 5000 * S;
	for (int i = 0; i < n; i += 100) {
		frame_reset(&f);
		for (int j = i; j < i + 100; j++)
			frame_add(&f, rules, 0, &recs[j]);
		agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, now);
		agg_engine_advance(e, now, now, 0, capture, &cap);
	}
	/* Lateness 2 s covers the 1 s disorder: [100,110) and [110,120) are
	 * out, [120,130) still open, nothing late. */
	assert_int_equal(cap.n, 2);
	const struct agg_stats *st = agg_engine_stats(e);
	assert_true(st->live_keys > 0 && st->bytes > 0);
	agg_engine_advance(e, now, now, 1, capture, &cap);
	assert_int_equal(cap.n, 3);
	uint64_t points = 0;
	for (int w = 0; w < 3; w++) {
		int64_t start = (100 + 10 * w) * S;
		assert_true(cap.w[w].start == start && cap.w[w].end == start + 10 * S);
		assert_int_equal(cap.w[w].rule, 0);
		char *want[64];
		int nw = naive_points(recs, n, start, 10 * S, want);
		assert_same_lines(cap.w[w].lp, want, nw);
		assert_int_equal(cap.w[w].npoints, nw);
		points += (uint64_t)nw;
		for (int k = 0; k < nw; k++)
			free(want[k]);
	}
	st = agg_engine_stats(e);
	assert_int_equal(st->rows, n);
	assert_int_equal(st->late, 0);
	assert_int_equal(st->bad_rows, 0);
	assert_int_equal(st->windows_emitted, 3);
	assert_int_equal(st->points_emitted, points);
	assert_int_equal(st->live_keys, 0);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

static void test_hopping(void **state)
{
	(void)state;
	/* Lateness covers the records' spread: every record counts. */
	const struct rule_def d = { "hop", 10 * S, 5 * S, 60 * S, "", "flows=count();total=sum(bytes)", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	static struct rec recs[3000];
	rng_state = 2;
	gen_recs(recs, 3000, 1000 * S - 7 * S, 40 * S);   /* includes times before and after */
	frame_reset(&f);
	for (int i = 0; i < 3000; i++)
		frame_add(&f, rules, 0, &recs[i]);
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	struct captured cap = { 0 };
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	/* Windows start every 5 s; each record is in exactly two of them. */
	int64_t lo = (1000 - 7 - 5) * S, hi = (1000 + 33) * S;
	int expect_windows = 0;
	for (int64_t s0 = lo - lo % (5 * S); s0 < hi; s0 += 5 * S) {
		int64_t cnt = 0, sum = 0;
		int have = 0;
		for (int i = 0; i < 3000; i++)
			if (recs[i].t >= s0 && recs[i].t < s0 + 10 * S) {
				cnt++;
				if (recs[i].bytes >= 0)
					sum += recs[i].bytes, have = 1;
			}
		if (!cnt)
			continue;
		assert_true(expect_windows < cap.n);
		assert_true(cap.w[expect_windows].start == s0);
		char line[256];
		if (have)
			snprintf(line, sizeof line, "hop flows=%" PRId64 "i,total=%" PRId64 "i %" PRId64 "\n", cnt, sum, s0);
		else
			snprintf(line, sizeof line, "hop flows=%" PRId64 "i %" PRId64 "\n", cnt, s0);
		assert_string_equal(cap.w[expect_windows].lp, line);
		expect_windows++;
	}
	assert_int_equal(cap.n, expect_windows);
	assert_int_equal(agg_engine_stats(e)->rows, 3000);
	assert_int_equal(agg_engine_stats(e)->late, 0);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

static struct rec mk(int c, int64_t t, int64_t bytes)
{
	struct rec r = { .c = c, .asn = 1, .bytes = bytes, .pkt = 1, .name = 0, .t = t };
	return r;
}

static void test_late_records(void **state)
{
	(void)state;
	const struct rule_def d = { "late", 10 * S, 0, 2 * S, "country", "flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	struct rec r;
	frame_reset(&f);
	for (int i = 0; i < 5; i++)
		r = mk(0, (1 + i) * S, 1), frame_add(&f, rules, 0, &r);
	r = mk(0, 11 * S, 1), frame_add(&f, rules, 0, &r);
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	agg_engine_advance(e, 0, 0, 0, capture, &cap);
	/* Watermark 11 - 2 = 9 s: [0,10) waits for late records. */
	assert_int_equal(cap.n, 0);
	frame_reset(&f);
	r = mk(0, 9 * S, 1), frame_add(&f, rules, 0, &r);           /* late but within lateness */
	r = mk(0, 12 * S, 1), frame_add(&f, rules, 0, &r);          /* watermark -> 10 s */
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	agg_engine_advance(e, 0, 0, 0, capture, &cap);
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.w[0].lp, "late,country=DE flows=6i 0\n");
	/* Now [0,10) is gone: a record for it is late and dropped. */
	frame_reset(&f);
	r = mk(0, 3 * S, 1), frame_add(&f, rules, 0, &r);
	r = mk(1, 9999999999LL, 1), frame_add(&f, rules, 0, &r);
	r = mk(1, 10 * S, 1), frame_add(&f, rules, 0, &r);
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	const struct agg_stats *st = agg_engine_stats(e);
	assert_int_equal(st->late, 2);
	assert_int_equal(st->rows, 11);   /* received, late ones included */
	assert_int_equal(st->aggregated, 9);
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	assert_int_equal(cap.n, 2);
	char *want[] = { strdup("late,country=DE flows=2i 10000000000"), strdup("late,country=FR flows=1i 10000000000") };
	assert_same_lines(cap.w[1].lp, want, 2);
	free(want[0]);
	free(want[1]);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

static void test_partitions_out_of_step(void **state)
{
	(void)state;
	const struct rule_def d = { "p", 10 * S, 0, 0, "", "flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct rf_config *conf = calloc(1, sizeof *conf);
	conf->input.idle_timeout_ns = 30 * S;
	struct agg_engine *e = agg_engine_create(rules, 1, conf, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	int64_t now = 1000 * S;
	/* Partition 0 delivers minutes of data in one go. */
	frame_reset(&f);
	for (int i = 0; i < 300; i++) {
		struct rec r = mk(0, i * S, 1);
		frame_add(&f, rules, 0, &r);
	}
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, now);
	/* Partition 1 is slow: its first event is at 5 s. */
	frame_reset(&f);
	struct rec r1 = mk(1, 5 * S, 1);
	frame_add(&f, rules, 0, &r1);
	agg_engine_add_rows(e, 1, f.maxev, 0, f.buf, f.len, f.n, now);
	agg_engine_advance(e, now, now, 0, capture, &cap);
	assert_int_equal(cap.n, 0);   /* partition 1 at 5 s holds everything */
	/* Partition 1 catches up second by second; none of its records is late. */
	for (int s = 6; s < 25; s++) {
		frame_reset(&f);
		struct rec r = mk(1, s * S, 1);
		frame_add(&f, rules, 0, &r);
		agg_engine_add_rows(e, 1, f.maxev, 0, f.buf, f.len, f.n, now + s);
		agg_engine_advance(e, now + s, now + s, 0, capture, &cap);
	}
	assert_int_equal(agg_engine_stats(e)->late, 0);
	assert_int_equal(cap.n, 2);   /* [0,10) and [10,20) */
	assert_string_equal(cap.w[0].lp, "p flows=15i 0\n");            /* 10 from p0 + 5 from p1 */
	assert_string_equal(cap.w[1].lp, "p flows=20i 10000000000\n");
	/* A batch with no events from a partition changes nothing. */
	agg_engine_add_rows(e, 2, INT64_MIN, 0, NULL, 0, 0, now + 30);
	agg_engine_advance(e, now + 30, now + 30, 0, capture, &cap);
	assert_int_equal(cap.n, 2);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
	free(conf);
}

static void test_idle_input_wall_clock(void **state)
{
	(void)state;
	const struct rule_def d = { "idle", 10 * S, 0, 5 * S, "", "flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct rf_config *conf = calloc(1, sizeof *conf);
	conf->input.idle_timeout_ns = 10 * S;
	struct agg_engine *e = agg_engine_create(rules, 1, conf, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	int64_t t0 = 1700000000LL * S;       /* event time = wall clock, as live */
	frame_reset(&f);
	struct rec r = mk(0, t0 + 1 * S, 1);
	frame_add(&f, rules, 0, &r);
	r = mk(0, t0 + 3 * S, 1);
	frame_add(&f, rules, 0, &r);
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, t0 + 3 * S);
	int64_t start = t0 - t0 % (10 * S);
	/* The stream goes quiet. Until idle_timeout the last event time holds. */
	agg_engine_advance(e, t0 + 12 * S, t0 + 12 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 0);
	/* Idle: the base follows the wall clock; the window closes once
	 * now - lateness passes its end. */
	int64_t end = start + 10 * S;
	agg_engine_advance(e, end + 5 * S - 1, end + 5 * S - 1, 0, capture, &cap);
	assert_int_equal(cap.n, 0);
	agg_engine_advance(e, end + 5 * S, end + 5 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 1);
	assert_true(cap.w[0].start == start);
	assert_int_equal(cap.w[0].npoints, 1);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
	free(conf);
}

static void test_max_keys_overflow(void **state)
{
	(void)state;
	const struct rule_def d = { "mk", 10 * S, 0, 0, "country,asn", "flows=count();bytes=sum(bytes)", 6, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	frame_reset(&f);
	/* 5 countries x 3 asns = 15 keys, each twice; the first 6 keys seen get
	 * their own series, the other 9 share the overflow series. */
	int order = 0;
	char *want[16];
	int nw = 0;
	for (int rep = 0; rep < 2; rep++)
		for (int c = 0; c < 5; c++)
			for (int a = 0; a < 3; a++) {
				struct rec r = { .c = c, .asn = a, .bytes = 10 * c + a, .pkt = 1, .t = S };
				frame_add(&f, rules, 0, &r);
				if (rep == 0 && order++ < 6) {
					char line[128];
					snprintf(line, sizeof line, "mk,country=%s,asn=%d flows=2i,bytes=%di 0", countries[c], a, 2 * (10 * c + a));
					want[nw++] = strdup(line);
				}
			}
	int64_t ov = 0;
	order = 0;
	for (int c = 0; c < 5; c++)
		for (int a = 0; a < 3; a++)
			if (order++ >= 6)
				ov += 2 * (10 * c + a);
	char line[128];
	snprintf(line, sizeof line, "mk,overflow=true,shard=0 flows=18i,bytes=%" PRId64 "i 0", ov);
	want[nw++] = strdup(line);
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	const struct agg_stats *st = agg_engine_stats(e);
	assert_int_equal(st->overflow, 18);
	assert_int_equal(st->live_keys, 7);   /* 6 keys + the overflow series */
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	assert_int_equal(cap.n, 1);
	assert_same_lines(cap.w[0].lp, want, nw);
	for (int i = 0; i < nw; i++)
		free(want[i]);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

/* Appends "line" to a want list. */
static void want_add(char **want, int *nw, const char *line)
{
	want[(*nw)++] = strdup(line);
}

/* max_keys is per window over all aggregates: with 2 of them each keeps
 * ceil(7 / 2) = 4 keys, and each emits its own overflow series, tagged with
 * its index, so the two overflow points do not overwrite each other in
 * InfluxDB. A top rule lives in one aggregate and keeps the whole budget. */
static void test_max_keys_split(void **state)
{
	(void)state;
	const struct rule_def defs[] = {
		{ "mk", 10 * S, 0, 0, "country,asn", "flows=count();bytes=sum(bytes)", 7, 0, NULL },
		{ "tp", 10 * S, 0, 0, "asn", "bytes=sum(bytes);flows=count()", 4, 2, "bytes" },
	};
	struct agg_rule *rules = compile_rules(defs, 2);
	struct agg_engine *e[2];
	for (int z = 0; z < 2; z++)
		assert_non_null(e[z] = agg_engine_create(rules, 2, NULL, z, 2));
	static struct frame f[2];
	enum { NREC = 400, NC = 5, NA = 6 };
	static struct rec recs[NREC];
	rng_state = 17;
	for (int i = 0; i < NREC; i++)
		recs[i] = (struct rec){ .c = (int)(rnd() % NC), .asn = (int)(rnd() % NA),
					.bytes = (int64_t)(rnd() % 1000), .pkt = 1, .t = 3 * S };
	/* Naive expectation, rule mk: per aggregate (by the key hash, the
	 * contract of row.h), the first 4 keys to arrive get their own point;
	 * the rest sum into that aggregate's overflow point. */
	int64_t flows[NC][NA] = { { 0 } }, bytes[NC][NA] = { { 0 } };
	int owner[NC][NA], kept[NC][NA] = { { 0 } }, nkept[2] = { 0 };
	int64_t ovf[2] = { 0 }, ovb[2] = { 0 }, total = 0;
	for (int c = 0; c < NC; c++)
		for (int a = 0; a < NA; a++) {
			struct rec r = { .c = c, .asn = a, .pkt = 1 };
			struct rf_value o[NOUT];
			rec_outs(&r, o);
			_Alignas(8) uint8_t b[256];
			uint64_t h;
			assert_true(rf_row_encode(&rules[0].shape, 0, o, S, INT64_MIN, b, sizeof b, &h) > 0);
			owner[c][a] = (int)rf_route(h, 2);
		}
	for (int z = 0; z < 2; z++)
		frame_reset(&f[z]);
	for (int i = 0; i < NREC; i++) {
		const struct rec *r = &recs[i];
		int z = owner[r->c][r->asn];
		if (!kept[r->c][r->asn] && flows[r->c][r->asn] == 0 && nkept[z] < 4) {
			kept[r->c][r->asn] = 1;
			nkept[z]++;
		}
		flows[r->c][r->asn]++;
		bytes[r->c][r->asn] += r->bytes;
		if (!kept[r->c][r->asn])
			ovf[z]++, ovb[z] += r->bytes;
		total++;
		frame_add(&f[z], rules, 0, r);
		frame_add(&f[1 % 2], rules, 1, r);    /* tp: top rule 1 lives in aggregate 1 % 2 */
	}
	assert_true(nkept[0] == 4 && nkept[1] == 4 && ovf[0] > 0 && ovf[1] > 0);
	char *want[2][64];
	int nw[2] = { 0 };
	char line[160];
	for (int c = 0; c < NC; c++)
		for (int a = 0; a < NA; a++)
			if (kept[c][a]) {
				snprintf(line, sizeof line, "mk,country=%s,asn=%d flows=%" PRId64 "i,bytes=%" PRId64 "i 0",
					 countries[c], a, flows[c][a], bytes[c][a]);
				want_add(want[owner[c][a]], &nw[owner[c][a]], line);
			}
	for (int z = 0; z < 2; z++) {
		snprintf(line, sizeof line, "mk,overflow=true,shard=%d flows=%" PRId64 "i,bytes=%" PRId64 "i 0",
			 z, ovf[z], ovb[z]);
		want_add(want[z], &nw[z], line);
	}
	/* Rule tp, all in aggregate 1 with the whole budget of 4: the first 4
	 * asns seen are keys, of which the 2 largest by bytes are emitted, then
	 * the overflow point of the other asns. */
	int64_t tb[NA] = { 0 }, tf[NA] = { 0 }, tovb = 0, tovf = 0;
	int tkept[NA] = { 0 }, ntk = 0;
	for (int i = 0; i < NREC; i++) {
		int a = recs[i].asn;
		if (!tkept[a] && tf[a] == 0 && ntk < 4)
			tkept[a] = 1, ntk++;
		tf[a]++;
		tb[a] += recs[i].bytes;
		if (!tkept[a])
			tovf++, tovb += recs[i].bytes;
	}
	char tp_want[512] = "";
	for (int k = 0; k < 2; k++) {
		int best = -1;
		for (int a = 0; a < NA; a++)
			if (tkept[a] == 1 && (best < 0 || tb[a] > tb[best]))
				best = a;
		tkept[best] = 2;
		snprintf(line, sizeof line, "tp,asn=%d bytes=%" PRId64 "i,flows=%" PRId64 "i 0\n", best, tb[best], tf[best]);
		strcat(tp_want, line);
	}
	snprintf(line, sizeof line, "tp,overflow=true,shard=1 bytes=%" PRId64 "i,flows=%" PRId64 "i 0\n", tovb, tovf);
	strcat(tp_want, line);

	for (int z = 0; z < 2; z++)
		agg_engine_add_rows(e[z], 0, 3 * S, 0, f[z].buf, f[z].len, f[z].n, 0);
	int64_t overflowed = 0;
	for (int z = 0; z < 2; z++) {
		const struct agg_stats *st = agg_engine_stats(e[z]);
		assert_int_equal(st->bad_rows, 0);
		overflowed += (int64_t)st->overflow;
	}
	assert_int_equal(overflowed, ovf[0] + ovf[1] + tovf);
	for (int z = 0; z < 2; z++) {
		struct captured cap = { 0 };
		agg_engine_advance(e[z], 0, 0, 1, capture, &cap);
		for (int w = 0; w < cap.n; w++) {
			if (cap.w[w].rule == 0)
				assert_same_lines(cap.w[w].lp, want[z], nw[z]);
			else
				assert_string_equal(cap.w[w].lp, tp_want);
			assert_true(cap.w[w].rule == 0 || z == 1);
		}
		assert_int_equal(cap.n, z == 0 ? 1 : 2);
		captured_free(&cap);
		for (int i = 0; i < nw[z]; i++)
			free(want[z][i]);
	}
	for (int z = 0; z < 2; z++)
		agg_engine_destroy(e[z]);
	agg_rules_free(rules);
}

static void test_top_n(void **state)
{
	(void)state;
	const struct rule_def d = { "top", 10 * S, 0, 0, "asn", "bytes=sum(bytes);flows=count()", 0, 5, "bytes" };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	static int64_t sums[200];
	static int cnts[200];
	memset(sums, 0, sizeof sums);
	memset(cnts, 0, sizeof cnts);
	rng_state = 9;
	frame_reset(&f);
	for (int i = 0; i < 4000; i++) {
		struct rec r = { .c = 0, .pkt = 1, .t = 5 * S };
		r.asn = (int)(rnd() % 200);
		r.bytes = (int64_t)(rnd() % 1000);
		sums[r.asn] += r.bytes;
		cnts[r.asn]++;
		frame_add(&f, rules, 0, &r);
	}
	/* Two extra keys tied with the current maximum: ties go to the smaller
	 * key text, so the choice is deterministic. */
	int64_t best = 0;
	for (int k = 0; k < 200; k++)
		best = sums[k] > best ? sums[k] : best;
	for (int k = 200; k < 202; k++) {
		struct rec r = { .c = 0, .asn = k, .bytes = best, .pkt = 1, .t = 5 * S };
		frame_add(&f, rules, 0, &r);
	}
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.w[0].npoints, 5);
	/* Naive: sort keys by (sum desc, key text asc), take 5, in that order. */
	static int64_t all_sums[202];
	static int all_cnts[202];
	memcpy(all_sums, sums, sizeof sums);
	memcpy(all_cnts, cnts, sizeof cnts);
	all_sums[200] = all_sums[201] = best;
	all_cnts[200] = all_cnts[201] = 1;
	int idx[202];
	for (int k = 0; k < 202; k++)
		idx[k] = k;
	for (int a = 0; a < 202; a++)
		for (int b = a + 1; b < 202; b++) {
			char ka[16], kb[16];
			snprintf(ka, sizeof ka, "%d", idx[a]);
			snprintf(kb, sizeof kb, "%d", idx[b]);
			int swap = all_sums[idx[b]] > all_sums[idx[a]] ||
				   (all_sums[idx[b]] == all_sums[idx[a]] && strcmp(kb, ka) < 0);
			if (swap) {
				int t = idx[a];
				idx[a] = idx[b];
				idx[b] = t;
			}
		}
	char want[1024] = "", line[128];
	for (int k = 0; k < 5; k++) {
		snprintf(line, sizeof line, "top,asn=%d bytes=%" PRId64 "i,flows=%di 0\n", idx[k],
			 all_sums[idx[k]], all_cnts[idx[k]]);
		strcat(want, line);
	}
	assert_string_equal(cap.w[0].lp, want);   /* descending order */
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

static void test_empty_points_and_bad_rows(void **state)
{
	(void)state;
	const struct rule_def defs[] = {
		{ "m", 10 * S, 0, 0, "country", "mx=max(bytes)", 0, 0, NULL },
		{ "c", 10 * S, 0, 0, "country", "flows=count()", 0, 0, NULL },
	};
	struct agg_rule *rules = compile_rules(defs, 2);
	/* Two aggregates; this engine is number 0. */
	struct agg_engine *e = agg_engine_create(rules, 2, NULL, 0, 2);
	static struct frame f;
	struct captured cap = { 0 };
	frame_reset(&f);
	int mine = 0, theirs = 0;
	for (int c = 0; c < 5; c++) {
		struct rec r = { .c = c, .asn = 1, .bytes = c == 2 ? -1 : 100 + c, .pkt = 1, .t = S };
		uint64_t h = frame_add(&f, rules, 0, &r);
		if (rf_route(h, 2) == 0)
			mine++;
		else
			theirs++;
	}
	/* A corrupt row whose header length is still sane: skipped alone. */
	size_t at = f.len;
	struct rec r = { .c = 0, .asn = 1, .bytes = 1, .pkt = 1, .t = S };
	frame_add(&f, rules, 1, &r);
	f.buf[at + sizeof(struct rf_row_hdr) + 2] ^= 0x20;         /* key byte: hash no longer matches */
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	const struct agg_stats *st = agg_engine_stats(e);
	assert_int_equal(st->bad_rows, (uint64_t)theirs + 1);
	assert_int_equal(st->rows, 6);
	assert_int_equal(st->rows - st->bad_rows, mine);
	/* A frame whose first header is broken: the whole frame is lost. */
	frame_reset(&f);
	frame_add(&f, rules, 1, &r);
	frame_add(&f, rules, 1, &r);
	f.buf[0] = 3;
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	assert_int_equal(agg_engine_stats(e)->bad_rows, (uint64_t)theirs + 3);
	/* Claims more rows than bytes: the missing ones are counted bad. */
	frame_reset(&f);
	frame_add(&f, rules, 1, &r);
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, 3, 0);
	assert_int_equal(agg_engine_stats(e)->bad_rows, (uint64_t)theirs + 5);

	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	st = agg_engine_stats(e);
	/* Rule m: the key with only missing bytes has no field -> skipped. */
	int m_points = 0, empty = 0;
	for (int i = 0; i < cap.n; i++)
		if (cap.w[i].rule == 0)
			m_points += (int)cap.w[i].npoints;
	for (int c = 0; c < 5; c++) {
		struct rec rr = { .c = c, .asn = 1, .bytes = 1, .pkt = 1, .t = S };
		struct rf_value o[NOUT];
		rec_outs(&rr, o);
		_Alignas(8) uint8_t b[256];
		uint64_t h;
		rf_row_encode(&rules[0].shape, 0, o, S, INT64_MIN, b, sizeof b, &h);
		if (rf_route(h, 2) == 0 && c == 2)
			empty = 1;
	}
	assert_int_equal(st->points_empty, empty);
	assert_int_equal(m_points, mine - empty);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

static void test_many_keys_memory(void **state)
{
	(void)state;
	const struct rule_def d = { "mem", 10 * S, 0, 0, "asn", "bytes=sum(bytes);flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	const int keys = 100000;
	for (int base = 0; base < keys; base += 10000) {
		frame_reset(&f);
		for (int k = base; k < base + 10000; k++) {
			struct rec r = { .c = 0, .asn = k, .bytes = k, .pkt = 1, .t = S };
			frame_add(&f, rules, 0, &r);
		}
		agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	}
	const struct agg_stats *st = agg_engine_stats(e);
	assert_int_equal(st->live_keys, keys);
	double per_key = (double)st->bytes / keys;
	print_message("    %d keys: %.1f bytes/key\n", keys, per_key);
	assert_true(per_key <= 128);
	struct captured cap = { 0 };
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	assert_int_equal(cap.w[0].npoints, keys);
	assert_int_equal(agg_engine_stats(e)->bytes < 4096, 1);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

/* Keys with a few values keep their percentiles inline: a key costs about
 * what sum + count costs plus the 80-byte state, not kilobytes of sketch
 * buckets; and the answers are exact. */
static void test_percentile_keys_memory(void **state)
{
	(void)state;
	const struct rule_def d = { "pm", 10 * S, 0, 0, "asn", "flows=count();p95=p95(bytes);p50=p50(bytes)", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	const int keys = 100000;
	/* Three values per key over two decades: 10k, 100k + 1, 1000k + 2. */
	for (int rep = 0; rep < 3; rep++)
		for (int base = 0; base < keys; base += 10000) {
			frame_reset(&f);
			for (int k = base; k < base + 10000; k++) {
				int64_t v = (k % 1000 + 1) * (rep == 0 ? 10 : rep == 1 ? 100 : 1000) + rep;
				struct rec r = { .c = 0, .asn = k, .bytes = v, .pkt = 1, .t = S };
				frame_add(&f, rules, 0, &r);
			}
			agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
		}
	const struct agg_stats *st = agg_engine_stats(e);
	assert_int_equal(st->live_keys, keys);
	double per_key = (double)st->bytes / keys;
	print_message("    %d keys with 3 values and p50, p95: %.1f bytes/key\n", keys, per_key);
	assert_true(per_key <= 192);
	struct captured cap = { 0 };
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	assert_int_equal(cap.w[0].npoints, keys);
	/* Spot checks: the middle value and, for p95, rank floor(0.95 * 2) = 1
	 * of the sorted three, i.e. the middle one as well. */
	for (int k = 0; k < keys; k += 9973) {
		char want[128];
		int64_t m = (k % 1000 + 1) * 100 + 1;
		snprintf(want, sizeof want, "pm,asn=%d flows=3i,p95=%" PRId64 ",p50=%" PRId64 " 0\n", k, m, m);
		assert_non_null(strstr(cap.w[0].lp, want));
	}
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

/* ---- lateness per record ---- */

#define LPR_N 3000
#define LPR_WINDOWS 64

/* Appends every captured line to one sorted, newline-joined string. */
static char *captured_sorted(const struct captured *c)
{
	char *lines[8192];
	int n = 0;
	size_t total = 1;
	char *copies[MAX_WINDOWS];
	for (int i = 0; i < c->n; i++) {
		copies[i] = strdup(c->w[i].lp);
		for (char *tok = strtok(copies[i], "\n"); tok; tok = strtok(NULL, "\n")) {
			assert_true(n < 8192);
			lines[n++] = tok;
			total += strlen(tok) + 1;
		}
	}
	qsort(lines, (size_t)n, sizeof *lines, cmp_str);
	char *out = malloc(total), *p = out;
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s\n", lines[i]);
	*p = '\0';
	for (int i = 0; i < c->n; i++)
		free(copies[i]);
	return out;
}

/* One partition with disorder and a clock turned back, fed in frames of
 * `chunk` records (an advance after each, as the process does): the output
 * and the late count must not depend on chunk, and must equal the naive
 * per-record model — a record is late when its window ended at or before
 * the largest earlier event time minus lateness. */
static void test_late_per_record(void **state)
{
	(void)state;
	const struct rule_def d = { "lpr", 10 * S, 0, 2 * S, "country", "flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	static struct rec recs[LPR_N];
	rng_state = 42;
	for (int i = 0; i < LPR_N; i++) {
		/* 10 records per second, up to 5 s back; at 2/3 the clock steps back 60 s. */
		int64_t t = (int64_t)i * S / 10 - (int64_t)(rnd() % (5 * 1000)) * 1000000;
		if (i >= 2 * LPR_N / 3)
			t -= 60 * S;
		recs[i] = mk((int)(rnd() % 5), 1000 * S + t, 1);
	}
	/* The model. */
	static int64_t counts[LPR_WINDOWS][5];
	memset(counts, 0, sizeof counts);
	uint64_t want_late = 0;
	int64_t prior = INT64_MIN;
	for (int i = 0; i < LPR_N; i++) {
		int64_t start = recs[i].t / (10 * S) * (10 * S);
		if (prior != INT64_MIN && start + 10 * S <= prior - 2 * S)
			want_late++;
		else
			counts[(start - 1000 * S + 60 * S) / (10 * S)][recs[i].c]++;
		if (recs[i].t > prior)
			prior = recs[i].t;
	}
	char want[65536], *wp = want;
	char *wl[LPR_WINDOWS * 5];
	int nw = 0;
	for (int w = 0; w < LPR_WINDOWS; w++)
		for (int c = 0; c < 5; c++)
			if (counts[w][c]) {
				wl[nw] = wp;
				wp += sprintf(wp, "lpr,country=%s flows=%" PRId64 "i %" PRId64, countries[c], counts[w][c],
					      (int64_t)(1000 * S - 60 * S + (int64_t)w * 10 * S)) + 1;
				nw++;
			}
	qsort(wl, (size_t)nw, sizeof *wl, cmp_str);
	char joined[65536], *jp = joined;
	for (int i = 0; i < nw; i++)
		jp += sprintf(jp, "%s\n", wl[i]);
	assert_true(want_late > 100);   /* the data does make records late */

	const int chunks[] = { 1, 3, 64, 997, LPR_N };
	for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
		struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
		static struct frame f;
		struct captured cap = { 0 };
		for (int i = 0; i < LPR_N; i += chunks[k]) {
			frame_reset(&f);
			for (int j = i; j < i + chunks[k] && j < LPR_N; j++)
				frame_add(&f, rules, 0, &recs[j]);
			agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
			agg_engine_advance(e, 0, 0, 0, capture, &cap);
		}
		agg_engine_advance(e, 0, 0, 1, capture, &cap);
		char *got = captured_sorted(&cap);
		if (strcmp(got, joined))
			fail_msg("chunk %d:\ngot\n%s\nwant\n%s", chunks[k], got, joined);
		assert_int_equal(agg_engine_stats(e)->late, want_late);
		free(got);
		captured_free(&cap);
		agg_engine_destroy(e);
	}
	agg_rules_free(rules);
}

/* A partition announced as assigned holds every window back until it
 * delivers, or until it has been quiet for idle_timeout — the first
 * partition of a backlog cannot close windows the others still feed. */
static void test_assigned_partition_holds(void **state)
{
	(void)state;
	const struct rule_def d = { "held", 10 * S, 0, 0, "country", "flows=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct rf_config conf = { 0 };
	conf.input.idle_timeout_ns = 30 * S;
	struct agg_engine *e = agg_engine_create(rules, 1, &conf, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	int64_t now = 5000 * S;
	/* Partitions 1 and 2 are assigned; only 0 delivers, far ahead. */
	frame_reset(&f);
	agg_engine_add_rows(e, 1, INT64_MIN, RF_LINES_ASSIGNED, f.buf, 0, 0, now);
	agg_engine_add_rows(e, 2, INT64_MIN, RF_LINES_ASSIGNED, f.buf, 0, 0, now);
	for (int i = 0; i < 100; i++) {
		struct rec r = mk(0, (int64_t)i * S, 1);
		frame_add(&f, rules, 0, &r);
	}
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, now + S);
	agg_engine_advance(e, now + S, now + S, 0, capture, &cap);
	assert_int_equal(cap.n, 0);
	/* Partition 1 delivers from the start of the range: nothing is late,
	 * and 2 still holds. */
	frame_reset(&f);
	for (int i = 0; i < 50; i++) {
		struct rec r = mk(1, (int64_t)i * S, 1);
		frame_add(&f, rules, 0, &r);
	}
	agg_engine_add_rows(e, 1, f.maxev, 0, f.buf, f.len, f.n, now + 2 * S);
	agg_engine_advance(e, now + 2 * S, now + 2 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 0);
	assert_int_equal(agg_engine_stats(e)->late, 0);
	/* 2 never delivers: after idle_timeout from its assignment it stops
	 * holding; the base is then partition 1's 49 s. */
	agg_engine_advance(e, now + 30 * S - 1, now + 30 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 0);
	agg_engine_advance(e, now + 30 * S, now + 30 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 4);   /* [0,10) .. [30,40) */
	/* A re-assignment (rebalance, restart) holds again. */
	agg_engine_add_rows(e, 2, INT64_MIN, RF_LINES_ASSIGNED, f.buf, 0, 0, now + 31 * S);
	agg_engine_advance(e, now + 40 * S, now + 40 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 4);
	/* Once it too is quiet for idle_timeout, the whole input is idle and
	 * the wall clock closes the rest. */
	agg_engine_advance(e, now + 61 * S, now + 61 * S, 0, capture, &cap);
	assert_int_equal(cap.n, 10);
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

/* NaN and infinity are no numbers: skipped as missing and counted. A float
 * where the rule's field is int (an int expression that overflowed) is
 * folded as float, not refused. */
static void test_nonfinite_inputs(void **state)
{
	(void)state;
	const struct rule_def d = { "nf", 10 * S, 0, 0, "country", "b=sum(bytes);n=count()", 0, 0, NULL };
	struct agg_rule *rules = compile_rules(&d, 1);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	static struct frame f;
	struct captured cap = { 0 };
	frame_reset(&f);
	const double vals[] = { NAN, INFINITY, -INFINITY, 1e19, 5 };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct rf_value o[NOUT];
		struct rec r = mk(0, S, 1);
		rec_outs(&r, o);
		o[2] = (struct rf_value){ .type = RF_V_FLOAT, .u.f = vals[i] };
		uint64_t h;
		size_t n = rf_row_encode(&rules[0].shape, 0, o, S, f.maxev, f.buf + f.len, sizeof f.buf - f.len, &h);
		assert_true(n > 0);
		f.len += n;
		f.n++;
		f.maxev = S;
	}
	agg_engine_add_rows(e, 0, f.maxev, 0, f.buf, f.len, f.n, 0);
	const struct agg_stats *st = agg_engine_stats(e);
	assert_int_equal(st->nonfinite, 3);
	assert_int_equal(st->bad_rows, 0);
	agg_engine_advance(e, 0, 0, 1, capture, &cap);
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.w[0].lp, "nf,country=DE b=1e+19,n=5i 0\n");
	captured_free(&cap);
	agg_engine_destroy(e);
	agg_rules_free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_to_end_tumbling),
		cmocka_unit_test(test_hopping),
		cmocka_unit_test(test_late_records),
		cmocka_unit_test(test_late_per_record),
		cmocka_unit_test(test_assigned_partition_holds),
		cmocka_unit_test(test_nonfinite_inputs),
		cmocka_unit_test(test_partitions_out_of_step),
		cmocka_unit_test(test_idle_input_wall_clock),
		cmocka_unit_test(test_max_keys_overflow),
		cmocka_unit_test(test_max_keys_split),
		cmocka_unit_test(test_top_n),
		cmocka_unit_test(test_empty_points_and_bad_rows),
		cmocka_unit_test(test_many_keys_memory),
		cmocka_unit_test(test_percentile_keys_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
