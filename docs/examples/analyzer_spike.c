/*
 * analyzer_spike.c — an example ringflow analyzer in C, built on the
 * analyzer library (analyze/rfa.h, libringflow-analyzer.a). docs/ANALYZERS.md
 * explains the protocol it speaks; analyzer_spike.py does the same in Python.
 *
 * For every series (the rule plus the tags of a point) it keeps the mean of
 * one field over the earlier windows, and prints a warning alert when the
 * field's value in a window is more than --factor times that mean, once the
 * series has --min-windows earlier values. A value that alerts stays out of
 * the mean, so one spike does not raise the bar for the next one. After each
 * window it prints one ordinary point, <measurement>_spike_mean, tagged with
 * the rule and field: how many series had the field, how many spiked, and
 * the mean of the field over the window's series.
 *
 *   analyzer-spike [--field NAME] [--factor K] [--min-windows N]
 *   defaults: bytes, 5, 3
 *
 * Every point it prints carries the window start as its timestamp. Memory:
 * one entry per series, allocated the first time the series is seen; nothing
 * is allocated per point. Runs as a child of ringflow's analyzer host: stdin
 * and stdout are the host's pipes, stderr goes to ringflow's log.
 */
#include "analyze/detector.h" /* enum det_severity, header only */
#include "analyze/rfa.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct series {
	char *key;      /* "rule series-key"; NULL: free slot */
	double sum;     /* of the values that did not alert */
	uint64_t n;
};

/* Open addressing with linear probing, at most half full. */
struct table {
	struct series *s;
	size_t cap, used;
};

static uint64_t fnv1a(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static int table_grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct series *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->s[i].key)
			continue;
		size_t j = fnv1a(t->s[i].key, strlen(t->s[i].key)) & (cap - 1);
		while (s[j].key)
			j = (j + 1) & (cap - 1);
		s[j] = t->s[i];
	}
	free(t->s);
	t->s = s;
	t->cap = cap;
	return 0;
}

/* The entry of key[0, len), added when new; NULL when out of memory. */
static struct series *table_get(struct table *t, const char *key, size_t len)
{
	if ((t->used + 1) * 2 > t->cap && table_grow(t) < 0)
		return NULL;
	size_t j = fnv1a(key, len) & (t->cap - 1);
	for (; t->s[j].key; j = (j + 1) & (t->cap - 1))
		if (!strncmp(t->s[j].key, key, len) && !t->s[j].key[len])
			return &t->s[j];
	if (!(t->s[j].key = malloc(len + 1)))
		return NULL;
	memcpy(t->s[j].key, key, len);
	t->s[j].key[len] = '\0';
	t->used++;
	return &t->s[j];
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->s[i].key);
	free(t->s);
}

static int usage(const char *why)
{
	fprintf(stderr, "analyzer-spike: %s\nusage: analyzer-spike [--field NAME] [--factor K] [--min-windows N]\n", why);
	return 2;
}

int main(int argc, char **argv)
{
	const char *field = "bytes";
	double factor = 5;
	long min_windows = 3;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (i + 1 >= argc)
			return usage("an option without its value");
		if (!strcmp(argv[i], "--field")) {
			field = argv[++i];
			if (!*field)
				return usage("--field: empty");
		} else if (!strcmp(argv[i], "--factor")) {
			factor = strtod(argv[++i], &end);
			if (*end || !(factor > 0) || !isfinite(factor))
				return usage("--factor: not a positive number");
		} else if (!strcmp(argv[i], "--min-windows")) {
			min_windows = strtol(argv[++i], &end, 10);
			if (*end || min_windows < 1)
				return usage("--min-windows: not a positive integer");
		} else {
			return usage("unknown option");
		}
	}

	int rc = 1;
	struct table t = { 0 };
	/* A series key escapes some bytes of the tags, so it can be longer than
	 * the line it came from: twice the longest line always fits. */
	size_t keycap = 2 * (size_t)LP_LINE_MAX + 256;
	char *key = malloc(keycap);
	char meas[512], msg[256];
	struct rfa_reader *r = rfa_reader_new(0);
	struct rfa_out *o = rfa_out_new(1);
	if (!key || !r || !o) {
		fprintf(stderr, "analyzer-spike: out of memory\n");
		goto out;
	}

	struct rfa_window w;
	uint64_t skips = 0;
	int got;
	while ((got = rfa_next_window(r, &w)) == 1) {
		uint64_t nseries = 0, nspikes = 0;
		double wsum = 0;
		const struct lp_point *pt;
		while (rfa_next_point(r, &pt) == 1) {
			double v;
			if (!rfa_field_number(pt, field, &v))
				continue;
			/* The rule has no space (ringflow's config refuses one). */
			int off = snprintf(key, keycap, "%s ", w.rule);
			int klen = off > 0 && (size_t)off < keycap ? rfa_series_key(pt, key + off, keycap - off) : -1;
			struct series *s = klen < 0 ? NULL : table_get(&t, key, (size_t)(off + klen));
			if (!s) {
				fprintf(stderr, "analyzer-spike: out of memory\n");
				goto out;
			}
			nseries++;
			wsum += v;
			double mean = s->n ? s->sum / (double)s->n : 0;
			if (s->n >= (uint64_t)min_windows && v > factor * mean) {
				snprintf(msg, sizeof msg, "%s %g above %g x mean %g", field, v, factor, mean);
				/* Every bound must be set: 0 would be printed, NaN is left out. */
				struct rfa_alert a = {
					.rule = w.rule, .field = field, .severity = DET_WARNING,
					.series = pt, .message = msg,
					.value = v, .expected = mean, .lower = NAN, .upper = factor * mean,
					.score = v / mean, .time_ns = w.start_ns,
				};
				if (rfa_alert(o, &a) < 0)
					goto write_failed;
				nspikes++;
			} else {
				s->sum += v;
				s->n++;
			}
		}
		snprintf(meas, sizeof meas, "%s_spike_mean", w.measurement);
		rfa_point_begin(o, meas);
		rfa_point_tag(o, "rule", w.rule);
		rfa_point_tag(o, "field", field);
		rfa_point_field_int(o, "series", (int64_t)nseries);
		rfa_point_field_int(o, "spikes", (int64_t)nspikes);
		if (nseries)
			rfa_point_field(o, "mean", wsum / (double)nseries);
		if (rfa_point_end(o, w.start_ns) < 0 || rfa_out_flush(o) < 0)
			goto write_failed;
		/* Bad input is skipped by the reader; say so once per window. */
		if (rfa_skips_total(r) != skips) {
			skips = rfa_skips_total(r);
			fprintf(stderr, "analyzer-spike: %" PRIu64 " input lines skipped so far, last: %s\n", skips,
				rfa_last_skip(r));
		}
	}
	if (got < 0) {
		fprintf(stderr, "analyzer-spike: reading stdin: %s\n", strerror(errno));
		goto out;
	}
	struct rfa_read_stats st;
	rfa_read_stats(r, &st);
	fprintf(stderr, "analyzer-spike: done: %" PRIu64 " windows, %" PRIu64 " points, %zu series\n", st.windows,
		st.points, t.used);
	rc = 0;
	goto out;
write_failed:
	/* EPIPE: the host has gone (it is stopping); nothing is left to do. */
	if (errno != EPIPE)
		fprintf(stderr, "analyzer-spike: writing stdout: %s\n", strerror(errno));
out:
	rfa_out_free(o);
	rfa_reader_free(r);
	table_free(&t);
	free(key);
	return rc;
}
