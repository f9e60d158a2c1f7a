/*
 * zscore.c — robust z-score detector (see zscore.h).  The state is one
 * fixed block: a header, the last N values in arrival order (a ring) and the
 * same values kept sorted, updated incrementally (binary search + memmove of
 * at most N doubles), so the median is an index and the MAD a walk of N/2
 * steps outwards from the median.  Run inside ringflow-zscore; never blocks.
 */
#include "analyze/zscore.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct zs_state {
	uint32_t count;   /* values in the history (<= window) */
	uint32_t head;    /* ring index of the oldest value once full */
	struct det_episode ep;
	double vals[];    /* ring[window], then sorted[window] */
};

void zs_params_default(struct zs_params *p)
{
	p->window = 60;
	p->min_history = 12;
	p->warning = 6.0;   /* bench_detectors sweep: 5 -> 21 FP, 6 -> 2, same recall */
	p->critical = 10.0;
	p->clear_ratio = 0.6;
	p->clear_windows = 3;
	p->exclude = 1;
}

int zs_params_check(const struct zs_params *p, char *err, size_t errlen)
{
	if (p->window < 2 || p->window > ZS_MAX_WINDOW) {
		snprintf(err, errlen, "window %u: must be 2..%u", p->window, ZS_MAX_WINDOW);
		return -1;
	}
	if (p->min_history < 1 || p->min_history > p->window) {
		snprintf(err, errlen, "min_history %u: must be 1..window (%u)", p->min_history, p->window);
		return -1;
	}
	if (!(p->warning > 0) || !isfinite(p->warning) || !(p->critical >= p->warning) ||
	    !isfinite(p->critical)) {
		snprintf(err, errlen, "warning %g / critical %g: need 0 < warning <= critical, finite",
			 p->warning, p->critical);
		return -1;
	}
	if (!(p->clear_ratio > 0 && p->clear_ratio <= 1)) {
		snprintf(err, errlen, "clear_ratio %g: must be in (0, 1]", p->clear_ratio);
		return -1;
	}
	if (p->clear_windows < 1) {
		snprintf(err, errlen, "clear_windows must be >= 1");
		return -1;
	}
	return 0;
}

size_t zs_state_size(const struct zs_params *p)
{
	return sizeof(struct zs_state) + 2 * (size_t)p->window * sizeof(double);
}

void zs_init(void *state, const struct zs_params *p)
{
	memset(state, 0, zs_state_size(p));
}

/* First index in s[0..n) with s[i] >= v. */
static uint32_t lower_bound(const double *s, uint32_t n, double v)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double median_sorted(const double *s, uint32_t n)
{
	return (n & 1) ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* k-th smallest (0-based) of |s[i] - m|: the deviations grow outwards from
 * the median, so merge the two outward runs. */
static double kth_dev(const double *s, uint32_t n, double m, uint32_t k)
{
	uint32_t r = lower_bound(s, n, m);
	int64_t l = (int64_t)r - 1;
	double d = 0;
	for (uint32_t i = 0; i <= k; i++) {
		double dl = l >= 0 ? m - s[l] : INFINITY;
		double dr = r < n ? s[r] - m : INFINITY;
		if (dl <= dr) {
			d = dl;
			l--;
		} else {
			d = dr;
			r++;
		}
	}
	return d;
}

static double mad_sorted(const double *s, uint32_t n, double m)
{
	if (n & 1)
		return kth_dev(s, n, m, n / 2);
	return 0.5 * (kth_dev(s, n, m, n / 2 - 1) + kth_dev(s, n, m, n / 2));
}

static void history_push(struct zs_state *st, const struct zs_params *p, double v)
{
	double *ring = st->vals, *sorted = st->vals + p->window;
	uint32_t n = st->count;
	if (n == p->window) {
		double old = ring[st->head];
		uint32_t i = lower_bound(sorted, n, old);
		memmove(sorted + i, sorted + i + 1, (n - i - 1) * sizeof(double));
		n--;
		ring[st->head] = v;
		st->head = (st->head + 1) % p->window;
	} else {
		ring[n] = v;
	}
	uint32_t j = lower_bound(sorted, n, v);
	memmove(sorted + j + 1, sorted + j, (n - j) * sizeof(double));
	sorted[j] = v;
	st->count = n + 1;
}

void zs_update(void *state, const struct zs_params *p, double value, int missing,
	       struct det_verdict *out)
{
	struct zs_state *st = state;
	const double *sorted = st->vals + p->window;

	out->value = value;
	out->expected = out->lower = out->upper = NAN;
	out->score = 0;
	out->changed = 0;
	out->severity = st->ep.severity;
	if (missing || !isfinite(value)) {
		out->value = NAN;
		return;
	}
	if (st->count < p->min_history) {
		history_push(st, p, value);
		return;
	}
	double m = median_sorted(sorted, st->count);
	double scale = 1.4826 * mad_sorted(sorted, st->count, m);
	if (!(scale > 0)) {
		/* More than half the history equals the median (constant or mostly
		 * constant series): fall back to the mean absolute deviation, and
		 * for a truly constant one to a tiny scale relative to the level,
		 * so any real change is an anomaly but rounding noise is not. */
		double sum = 0;
		for (uint32_t i = 0; i < st->count; i++)
			sum += fabs(sorted[i] - m);
		scale = 1.2533 * sum / st->count;
		double floor = 1e-9 * fabs(m) + 1e-12;
		if (!(scale > floor))
			scale = floor;
	}
	double z = (value - m) / scale;
	double az = fabs(z);
	int level = az >= p->critical ? DET_CRITICAL : az >= p->warning ? DET_WARNING : DET_OK;
	out->expected = m;
	out->lower = m - p->warning * scale;
	out->upper = m + p->warning * scale;
	out->score = z;
	det_episode_step(&st->ep, level, az < p->warning * p->clear_ratio, p->clear_windows, out);

	double v = value;
	if (p->exclude && (level > DET_OK || st->ep.severity > DET_OK)) {
		if (v > out->upper)
			v = out->upper;
		else if (v < out->lower)
			v = out->lower;
	}
	history_push(st, p, v);
}
