/*
 * builtin_history.c — the history hook of the built-in analyzer executables
 * (see an_bt_history_influx in builtin.h): at a rule's first window, the
 * windows before it are read back from InfluxDB (analyze/rfa_history.h) and
 * fed through the detector, so a restarted analyzer judges its first window
 * against the past instead of starting blind.
 *
 * Runs once per rule in the analyzer process, before that rule's first
 * window is read; blocks in the HTTP query (bounded by a timeout). History
 * is a help, never a condition: whatever goes wrong, the analyzer says so
 * once and starts empty.
 *
 * Bounds: the query covers exactly `windows` window lengths, and rows are
 * counted per series: once a series has given `windows` rows, its later
 * rows are not fed (with hopping windows, or points at odd times, the range
 * can hold more; the oldest ones are kept so each value still enters the
 * state in time order). Memory: one series key, whatever the answer's size.
 */
#include "analyze/builtin.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/rfa_history.h"
#include "common/log.h"

#define SKEY_CAP (2 * LP_LINE_MAX + 2)

struct feed_ctx {
	struct an_bt *b;
	const struct rfa_window *w;
	unsigned windows;
	uint64_t fed, rows_skipped;
	unsigned rows_in_series;
	char *key, *prev;            /* series keys, SKEY_CAP each */
	int have_prev;
};

/* Rows of one series come together (GROUP BY *, time ascending), so a new
 * series is noticed by its key changing. */
static int feed_row(void *arg, const struct rfa_hist_row *row)
{
	struct feed_ctx *c = arg;
	if (strcmp(row->measurement, c->w->measurement) != 0)
		return 0;  /* cannot happen for our query; stay safe */
	if (row->ntags > LP_MAX_TAGS ||
	    rfa_series_key_tags(row->ntags, row->tag_keys, row->tag_values, c->key, SKEY_CAP) < 0) {
		c->rows_skipped++;  /* a series the live input could not carry either */
		return 0;
	}
	if (!c->have_prev || strcmp(c->key, c->prev) != 0) {
		memcpy(c->prev, c->key, strlen(c->key) + 1);
		c->have_prev = 1;
		c->rows_in_series = 0;
	}
	if (c->rows_in_series >= c->windows) {
		c->rows_skipped++;
		return 0;
	}
	c->rows_in_series++;
	for (int i = 0; i < row->ncols; i++) {
		/* null (a field this point lacks) and non-numbers are NaN: not
		 * a value, so not fed (feeding would count as a missing window) */
		if (!isfinite(row->vals[i]) || !an_bt_field_wanted(c->b, row->cols[i]))
			continue;
		if (an_bt_feed(c->b, c->w->rule, row->ntags, row->tag_keys, row->tag_values, row->cols[i],
			       row->vals[i]) == 0)
			c->fed++;
	}
	return 0;
}

/* The one line per process; later failures only at debug level. */
static void starting_empty(struct an_bt_hist *h, const struct rfa_window *w, const char *why)
{
	if (h->said) {
		rf_debug("history: rule %s: %s: starting empty", w->rule, why);
		return;
	}
	h->said = 1;
	rf_warn("history: %s: starting empty", why);
}

int an_bt_history_influx(struct an_bt *b, void *arg, const struct rfa_window *w, unsigned windows,
			 char *err, size_t errlen)
{
	struct an_bt_hist *h = arg;
	struct rfa_influx c;
	char why[600], q[1024];
	if (windows == 0)
		return 0;  /* the detector keeps no history (threshold) */
	if (rfa_influx_from_env(&c) < 0) {
		starting_empty(h, w, "RINGFLOW_INFLUX_URL or RINGFLOW_INFLUX_DB not set");
		return 0;
	}
	c.timeout_ms = h->timeout_ms > 0 ? h->timeout_ms : AN_BT_HIST_TIMEOUT_MS;
	int64_t len = w->end_ns - w->start_ns;
	if (len <= 0) {
		snprintf(why, sizeof why, "rule %s: window of length %" PRId64 " ns", w->rule, len);
		starting_empty(h, w, why);
		return 0;
	}
	/* start - windows * len, clamped instead of overflowing */
	int64_t span, from;
	if (__builtin_mul_overflow(len, (int64_t)windows, &span) ||
	    __builtin_sub_overflow(w->start_ns, span, &from))
		from = INT64_MIN;
	if (rfa_history_window_query(q, sizeof q, w->measurement, from, w->start_ns) < 0) {
		snprintf(why, sizeof why, "rule %s: measurement name too long for a query", w->rule);
		starting_empty(h, w, why);
		return 0;
	}
	struct feed_ctx fc = { .b = b, .w = w, .windows = windows };
	fc.key = malloc(SKEY_CAP);
	fc.prev = malloc(SKEY_CAP);
	char qerr[512] = "";
	int rc = -1;
	if (!fc.key || !fc.prev)
		snprintf(qerr, sizeof qerr, "out of memory");
	else
		rc = rfa_history_query(&c, q, feed_row, &fc, qerr, sizeof qerr);
	free(fc.key);
	free(fc.prev);
	h->loaded += fc.fed;
	if (rc < 0 && fc.fed == 0) {
		snprintf(why, sizeof why, "rule %s: %s db %s: %s", w->rule, c.url, c.db, qerr);
		starting_empty(h, w, why);
		return 0;
	}
	if (rc < 0) {
		/* values fed before the error stay: they are real history */
		rf_warn("history: rule %s: %s db %s: %s: going on with the %" PRIu64 " values read before it",
			w->rule, c.url, c.db, qerr, fc.fed);
		return 0;
	}
	rf_info("history: rule %s: %" PRIu64 " values of %u windows loaded from %s db %s (%" PRIu64
		" rows over the bound skipped)", w->rule, fc.fed, windows, c.url, c.db, fc.rows_skipped);
	(void)err;
	(void)errlen;
	return 0;
}
