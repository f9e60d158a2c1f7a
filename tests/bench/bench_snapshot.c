/*
 * bench_snapshot.c — checkpoint cost of one aggregate process
 * (agg_engine_snapshot / agg_engine_restore, aggregate/snapshot.c).
 *
 * An engine is filled with N live keys in one window (random 8-16
 * character string keys, as bench_aggregate), then snapshotted repeatedly
 * into one reused buffer (the steady state of a running process: the first
 * snapshot, which sizes the buffer, is reported apart), then the blob is
 * restored into a fresh engine (the start-up cost). Cases:
 *   "sum,count": bytes = sum(bytes), flows = count(), 1 record per key;
 *   "5 aggs":    sum, count, max, avg and p95 of bytes, 3 records per key
 *                (percentiles held inline, funcs.h);
 * at 100 k and 1 M keys, and
 *   "p95 x20":   count and p95 of bytes, 20 records per key (a sketch
 *                each: values over 2 decades), at 100 k keys;
 *   "distinct":  count and count_distinct of bytes, 5000 keys whose numbers
 *                of distinct values are log-uniform over 1 .. 16384 (most
 *                keys small, a quarter past any exact mode: funcs.h), each
 *                value once, keys interleaved (about 8.5 M records).
 *
 * Prints per case: snapshot min / median / max ms and ns per key, blob
 * bytes per key, first snapshot ms, restore ms, engine memory per key, and
 * the time to feed the records (agg_engine_add_rows only, ns per record).
 * Then the whole checkpoint part of an aggregate process, as
 * aggregate_proc.c does it on a barrier: snapshot + one LMDB write
 * transaction (common/ckpt_store.h, in a temporary directory), p50 / p99
 * wall and CPU ms over REPEATS checkpoints, with the CPU share at the
 * default checkpoint_interval of 5 s; and the supervisor's completion
 * (two fsyncs, carry-forward, pruning).
 * Usage: bench_snapshot [REPEATS [CASE]]   snapshots per case (default 21);
 * CASE runs only the cases whose name starts with it (e.g. "distinct").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregate/engine.h"
#include "pipeline/row.h"
#include "aggregate/rule.h"
#include "tests/lib/splitmix.h"
#include "common/ckpt_store.h"

#include <unistd.h>

#define S 1000000000LL
#define FRAME_ROWS 1024

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

enum { C_LIGHT, C_HEAVY, C_SKETCH, C_DISTINCT };

static struct agg_rule *make_rule(int kind)
{
	static const char *const names[] = { "key", "bytes" };
	static const enum rf_vtype types[] = { RF_V_STR, RF_V_INT };
	static const char *const light[][2] = { { "bytes", "sum(bytes)" }, { "flows", "count()" } };
	static const char *const full[][2] = {
		{ "bytes", "sum(bytes)" }, { "flows", "count()" }, { "mx", "max(bytes)" },
		{ "avgb", "avg(bytes)" }, { "p95b", "p95(bytes)" },
	};
	static const char *const sk[][2] = { { "flows", "count()" }, { "p95b", "p95(bytes)" } };
	static const char *const cd[][2] = { { "flows", "count()" }, { "uniq", "count_distinct(bytes)" } };
	const char *const (*defs)[2] = kind == C_LIGHT ? light : kind == C_HEAVY ? full : kind == C_SKETCH ? sk : cd;
	struct rf_config *conf = calloc(1, sizeof *conf);
	struct conf_rule *cr = &conf->rules[0];
	snprintf(cr->name, sizeof cr->name, "bench");
	cr->window_ns = cr->every_ns = 60 * S;
	snprintf(cr->keys[0], CONF_NAME_MAX, "key");
	cr->nkeys = 1;
	int n = kind == C_HEAVY ? 5 : 2;
	for (int i = 0; i < n; i++) {
		snprintf(cr->aggs[i].name, CONF_NAME_MAX, "%s", defs[i][0]);
		cr->aggs[i].expr = (char *)defs[i][1];
	}
	cr->naggs = n;
	conf->nrules = 1;
	struct agg_rule *rules;
	int nr;
	char err[256];
	if (agg_rules_compile(conf, names, types, 2, &rules, &nr, err, sizeof err) < 0) {
		fprintf(stderr, "bench: %s\n", err);
		exit(1);
	}
	free(conf);
	return rules;
}

static int run_case(const char *name, int kind, uint32_t nkeys, int repeats)
{
	struct agg_rule *rules = make_rule(kind);
	struct agg_engine *e = agg_engine_create(rules, 1, NULL, 0, 1);
	char *keys = malloc((size_t)nkeys * 17);
	uint8_t *klen = malloc(nkeys);
	static _Alignas(8) uint8_t frame[FRAME_ROWS * 64];
	if (!e || !keys || !klen) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	for (uint32_t k = 0; k < nkeys; k++) {
		klen[k] = (uint8_t)(8 + rnd() % 9);
		for (int i = 0; i < klen[k]; i++)
			keys[(size_t)k * 17 + i] = (char)('a' + rnd() % 26);
	}
	/* distinct: key k gets values 0 .. ndist[k] - 1, round-robin over the
	 * keys that still have some; the others: per_key records each. */
	uint16_t *ndist = NULL;
	uint32_t maxd = 0;
	if (kind == C_DISTINCT) {
		ndist = malloc((size_t)nkeys * sizeof *ndist);
		if (!ndist) {
			fprintf(stderr, "bench: out of memory\n");
			return 1;
		}
		for (uint32_t k = 0; k < nkeys; k++) {
			double u = (double)(rnd() >> 11) / 9007199254740992.0;
			ndist[k] = (uint16_t)exp(u * log(16384.0));
			if (ndist[k] > maxd)
				maxd = ndist[k];
		}
	}
	int per_key = kind == C_HEAVY ? 3 : kind == C_SKETCH ? 20 : 1;
	uint64_t nrec = (uint64_t)nkeys * (uint64_t)per_key, fed = 0;
	size_t len = 0;
	uint32_t nrows = 0, k = 0, j = 0;
	double fill = 0;
	for (uint64_t i = 0;; i++) {
		int64_t val;
		if (kind == C_DISTINCT) {
			while (j < maxd && ndist[k] <= j)
				if (++k == nkeys)
					k = 0, j++;
			if (j >= maxd)
				break;
			val = j;
		} else {
			if (i == nrec)
				break;
			k = (uint32_t)(i % nkeys);
			val = kind == C_SKETCH ? (int64_t)(1000 + rnd() % 99000) : (int64_t)(rnd() % 100000);
		}
		struct rf_value outs[2] = {
			{ .type = RF_V_STR, .len = klen[k], .u.s = keys + (size_t)k * 17 },
			{ .type = RF_V_INT, .u.i = val },
		};
		uint64_t h;
		size_t n = rf_row_encode(&rules[0].shape, 0, outs, 960 * S + (int64_t)(i % 50) * S, INT64_MIN,
					 frame + len, sizeof frame - len, &h);
		if (!n) {
			fprintf(stderr, "bench: frame too small\n");
			return 1;
		}
		len += n;
		fed++;
		if (kind == C_DISTINCT && ++k == nkeys)
			k = 0, j++;
		if (++nrows == FRAME_ROWS) {
			double t = mono();
			agg_engine_add_rows(e, 0, 1000 * S, 0, frame, len, nrows, 0);
			fill += mono() - t;
			len = 0;
			nrows = 0;
		}
	}
	if (nrows) {
		double t = mono();
		agg_engine_add_rows(e, 0, 1000 * S, 0, frame, len, nrows, 0);
		fill += mono() - t;
	}
	free(ndist);
	uint64_t live = agg_engine_stats(e)->live_keys;
	double mem_per_key = (double)agg_engine_stats(e)->bytes / (double)nkeys;
	if (live != nkeys) {
		fprintf(stderr, "bench: %llu live keys, expected %u\n", (unsigned long long)live, nkeys);
		return 1;
	}

	struct agg_blob b = { 0 };
	char err_buf[512];
	double t0 = mono();
	if (agg_engine_snapshot(e, &b) < 0) {
		fprintf(stderr, "bench: snapshot: out of memory\n");
		return 1;
	}
	double first = mono() - t0;
	double *ms = malloc((size_t)repeats * sizeof *ms);
	for (int r = 0; r < repeats; r++) {
		t0 = mono();
		agg_engine_snapshot(e, &b);
		ms[r] = (mono() - t0) * 1e3;
	}
	qsort(ms, (size_t)repeats, sizeof *ms, cmp_double);
	double med = ms[repeats / 2];

	/* The aggregate's part of a checkpoint, then the supervisor's. */
	char dir[] = "/tmp/rf-bench-ckpt-XXXXXX";
	struct ckpt_store *store = mkdtemp(dir) ? ckpt_open(dir, "bench", err_buf, sizeof err_buf) : NULL;
	if (!store) {
		fprintf(stderr, "bench: checkpoint store: %s\n", err_buf);
		return 1;
	}
	double *part = malloc((size_t)repeats * sizeof *part), *part_cpu = malloc((size_t)repeats * sizeof *part_cpu);
	double *done = malloc((size_t)repeats * sizeof *done);
	for (int r = 0; r < repeats; r++) {
		uint64_t id = (uint64_t)r + 1;
		double c0 = cpu();
		t0 = mono();
		if (agg_engine_snapshot(e, &b) < 0 ||
		    ckpt_put_state(store, id, 0, b.p, b.len, err_buf, sizeof err_buf)) {
			fprintf(stderr, "bench: checkpoint: %s\n", err_buf);
			return 1;
		}
		part[r] = (mono() - t0) * 1e3;
		part_cpu[r] = (cpu() - c0) * 1e3;
		struct ckpt_info in = { id, 0, 0 };
		t0 = mono();
		if (ckpt_complete(store, id, id - 1, &in, err_buf, sizeof err_buf)) {
			fprintf(stderr, "bench: complete: %s\n", err_buf);
			return 1;
		}
		done[r] = (mono() - t0) * 1e3;
	}
	qsort(part, (size_t)repeats, sizeof *part, cmp_double);
	qsort(part_cpu, (size_t)repeats, sizeof *part_cpu, cmp_double);
	qsort(done, (size_t)repeats, sizeof *done, cmp_double);
	int p99 = repeats * 99 / 100 < repeats ? repeats * 99 / 100 : repeats - 1;
	ckpt_close(store);
	ckpt_remove(dir, "bench", err_buf, sizeof err_buf);
	rmdir(dir);

	struct agg_engine *e2 = agg_engine_create(rules, 1, NULL, 0, 1);
	struct agg_restore_stats st = { 0 };
	t0 = mono();
	if (agg_engine_restore(e2, b.p, b.len, 0, &st, err_buf, sizeof err_buf) < 0) {
		fprintf(stderr, "bench: restore: %s\n", err_buf);
		return 1;
	}
	double rest = (mono() - t0) * 1e3;
	if (st.keys != nkeys) {
		fprintf(stderr, "bench: restored %llu keys\n", (unsigned long long)st.keys);
		return 1;
	}
	printf("snapshot %s, %u keys: min %.2f / median %.2f / max %.2f ms (%.1f ns/key over %d runs), "
	       "blob %.1f bytes/key (%.1f MB); first %.2f ms; restore %.1f ms (%.0f ns/key); "
	       "engine %.0f bytes/key; fed %llu records in %.0f ms (%.1f ns/record)\n",
	       name, nkeys, ms[0], med, ms[repeats - 1], med * 1e6 / nkeys, repeats,
	       (double)b.len / nkeys, b.len / 1e6, first * 1e3, rest, rest * 1e6 / nkeys, mem_per_key,
	       (unsigned long long)fed, fill * 1e3, fill * 1e9 / (double)fed);
	printf("checkpoint %s, %u keys: aggregate part (snapshot + LMDB txn) p50 %.2f / p99 %.2f ms wall, "
	       "p50 %.2f ms CPU = %.3f%% of a 5 s interval; supervisor completion (fsync x2) p50 %.2f / p99 %.2f ms\n",
	       name, nkeys, part[repeats / 2], part[p99], part_cpu[repeats / 2], part_cpu[repeats / 2] / 50.0,
	       done[repeats / 2], done[p99]);
	free(part);
	free(part_cpu);
	free(done);
	free(ms);
	agg_blob_free(&b);
	agg_engine_destroy(e2);
	agg_engine_destroy(e);
	agg_rules_free(rules);
	free(keys);
	free(klen);
	return 0;
}

int main(int argc, char **argv)
{
	rng_state = 42;
	int repeats = 21;
	const char *only = argc == 3 ? argv[2] : "";
	if (argc > 3 || (argc >= 2 && ((repeats = atoi(argv[1])) < 1 || repeats > 100000))) {
		fprintf(stderr, "usage: bench_snapshot [REPEATS [CASE]]   snapshots per case, 1..100000, "
				"default 21; CASE: a prefix of the case names to run\n");
		return 2;
	}
	static const struct {
		const char *name;
		int kind;
		uint32_t keys;
	} cases[] = {
		{ "sum,count", C_LIGHT, 100000 }, { "sum,count", C_LIGHT, 1000000 },
		{ "5 aggs", C_HEAVY, 100000 }, { "5 aggs", C_HEAVY, 1000000 },
		{ "p95 x20", C_SKETCH, 100000 }, { "distinct", C_DISTINCT, 5000 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (strncmp(cases[i].name, only, strlen(only)) == 0 &&
		    run_case(cases[i].name, cases[i].kind, cases[i].keys, repeats))
			return 1;
	return 0;
}
