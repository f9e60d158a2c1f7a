/*
 * bench_aggregate.c — aggregate engine throughput and memory per key.
 *
 * Case "1M keys": rule `bytes = sum(bytes), flows = count()` keyed by a
 * string field, 1 M distinct keys (random 8-16 character strings), records
 * spread uniformly over them in one window; rows are pre-encoded into
 * frames of 1024 rows (as the transform sends them) so only the aggregate
 * side is timed: decode, route check, table probe, state updates. Then the
 * window is emitted as line protocol (timed separately).
 * Case "1k keys": the same with 1000 keys (the table stays in cache).
 *
 * Prints: aggregate <case>: N records in S s = X M records/s (Y ns/record), Z bytes/key
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregate/engine.h"
#include "pipeline/row.h"
#include "aggregate/rule.h"
#include "tests/lib/splitmix.h"

#define S 1000000000LL
#define FRAME_ROWS 1024

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t emitted_points;
static size_t emitted_bytes;
static void sink(void *arg, int rule, int64_t start, int64_t end, const char *lp, size_t len, uint32_t npoints)
{
	(void)arg, (void)rule, (void)start, (void)end, (void)lp;
	emitted_points += npoints;
	emitted_bytes += len;
}

static int run_case(const char *name, uint32_t nkeys, uint64_t nrecords)
{
	static const char *const names[] = { "key", "bytes" };
	static const enum rf_vtype types[] = { RF_V_STR, RF_V_INT };
	struct rf_config *conf = calloc(1, sizeof *conf);
	if (!conf) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	struct conf_rule *cr = &conf->rules[0];
	snprintf(cr->name, sizeof cr->name, "bench");
	cr->window_ns = cr->every_ns = 60 * S;
	snprintf(cr->keys[0], CONF_NAME_MAX, "key");
	cr->nkeys = 1;
	snprintf(cr->aggs[0].name, CONF_NAME_MAX, "bytes");
	cr->aggs[0].expr = "sum(bytes)";
	snprintf(cr->aggs[1].name, CONF_NAME_MAX, "flows");
	cr->aggs[1].expr = "count()";
	cr->naggs = 2;
	conf->nrules = 1;
	struct agg_rule *rules;
	int nr;
	char err[256];
	if (agg_rules_compile(conf, names, types, 2, &rules, &nr, err, sizeof err) < 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}

	/* Key strings, then all rows encoded up front. */
	char *keys = malloc((size_t)nkeys * 17);
	uint8_t *klen = malloc(nkeys);
	size_t cap = nrecords * 64 + 4096;  /* rows are 48-56 bytes here */
	uint8_t *rows = aligned_alloc(8, (cap + 7) & ~(size_t)7);
	size_t *frame_off = malloc((nrecords / FRAME_ROWS + 2) * sizeof *frame_off);
	if (!keys || !klen || !rows || !frame_off) {
		fprintf(stderr, "bench: out of memory for %llu records (%zu MB of rows)\n",
			(unsigned long long)nrecords, cap >> 20);
		return 1;
	}
	for (uint32_t k = 0; k < nkeys; k++) {
		klen[k] = (uint8_t)(8 + rnd() % 9);
		for (int i = 0; i < klen[k]; i++)
			keys[(size_t)k * 17 + i] = (char)('a' + rnd() % 26);
	}
	/* Every key at least once, then uniform. */
	size_t len = 0, nframes = 0;
	struct rf_value outs[2];
	for (uint64_t i = 0; i < nrecords; i++) {
		if (i % FRAME_ROWS == 0)
			frame_off[nframes++] = len;
		uint32_t k = i < nkeys ? (uint32_t)i : (uint32_t)(rnd() % nkeys);
		outs[0] = (struct rf_value){ .type = RF_V_STR, .len = klen[k], .u.s = keys + (size_t)k * 17 };
		outs[1] = (struct rf_value){ .type = RF_V_INT, .u.i = (int64_t)(rnd() % 1500) };
		uint64_t h;
		size_t n = rf_row_encode(&rules[0].shape, 0, outs, 960 * S + (int64_t)(i % 50) * S, INT64_MIN, rows + len, cap - len, &h);
		if (!n) {
			fprintf(stderr, "bench: row buffer too small\n");
			return 1;
		}
		len += n;
	}
	frame_off[nframes] = len;

	struct agg_engine *e = agg_engine_create(rules, 1, conf, 0, 1);
	double t0 = mono();
	for (size_t f = 0; f < nframes; f++) {
		uint32_t nrows = (uint32_t)(f + 1 < nframes ? FRAME_ROWS : nrecords - f * FRAME_ROWS);
		agg_engine_add_rows(e, 0, 1000 * S, 0, rows + frame_off[f], frame_off[f + 1] - frame_off[f], nrows, 0);
	}
	double t1 = mono();
	const struct agg_stats *st = agg_engine_stats(e);
	uint64_t live = st->live_keys;
	double per_key = (double)st->bytes / (double)live;
	if (st->bad_rows || live != nkeys) {
		fprintf(stderr, "bench: unexpected: %llu bad rows, %llu live keys\n",
			(unsigned long long)st->bad_rows, (unsigned long long)live);
		return 1;
	}
	double secs = t1 - t0;
	printf("aggregate %s: %llu records in %.3f s = %.2f M records/s (%.1f ns/record), %.1f bytes/key\n",
	       name, (unsigned long long)nrecords, secs, nrecords / secs / 1e6, secs * 1e9 / nrecords, per_key);
	double t2 = mono();
	agg_engine_advance(e, 0, 0, 1, sink, NULL);
	double t3 = mono();
	printf("aggregate %s emit: %llu points, %.1f MB line protocol in %.3f s (%.0f ns/point)\n", name,
	       (unsigned long long)emitted_points, emitted_bytes / 1e6, t3 - t2, (t3 - t2) * 1e9 / emitted_points);
	emitted_points = 0;
	emitted_bytes = 0;
	agg_engine_destroy(e);
	agg_rules_free(rules);
	free(rows);
	free(frame_off);
	free(keys);
	free(klen);
	free(conf);
	return 0;
}

/* The "1M keys" case sends every key once before drawing at random, so it
 * needs at least as many records as keys; each record takes up to 64 bytes
 * of pre-encoded rows, so the cap keeps that buffer's size from overflowing
 * (1e10 records would already be 640 GB). */
#define MIN_RECORDS 1000000ULL
#define MAX_RECORDS 10000000000ULL

static void usage(void)
{
	fprintf(stderr, "usage: bench_aggregate [RECORDS]   records per case, %llu..%llu, default 8000000\n",
		MIN_RECORDS, MAX_RECORDS);
}

int main(int argc, char **argv)
{
	rng_state = 42;
	uint64_t n = 8000000;
	if (argc > 2) {
		usage();
		return 2;
	}
	if (argc == 2) {
		/* strtoull accepts "-5" (as 2^64 - 5), "12abc" and "": refuse them. */
		const char *a = argv[1];
		char *end = NULL;
		errno = 0;
		unsigned long long v = strtoull(a, &end, 10);
		if (*a < '0' || *a > '9' || *end != '\0' || errno == ERANGE || v < MIN_RECORDS || v > MAX_RECORDS) {
			fprintf(stderr, "bench_aggregate: bad record count '%s'\n", a);
			usage();
			return 2;
		}
		n = v;
	}
	if (run_case("1M keys", 1000000, n))
		return 1;
	if (run_case("1k keys", 1000, n))
		return 1;
	return 0;
}
