/*
 * threshold.c — static-limit detector (see threshold.h).  The state is only
 * the episode; the limits live in the params.  Run inside
 * ringflow-threshold; never blocks.
 */
#include "analyze/threshold.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct th_state {
	struct det_episode ep;
};

/* The limits in force: the configured ones, or the implicit critical_low = 0
 * when none is configured (see threshold.h). */
struct th_limits {
	double wh, ch, wl, cl;
};

static void th_effective(const struct th_params *p, struct th_limits *l)
{
	l->wh = p->warning_high;
	l->ch = p->critical_high;
	l->wl = p->warning_low;
	l->cl = p->critical_low;
	if (isnan(l->wh) && isnan(l->ch) && isnan(l->wl) && isnan(l->cl))
		l->cl = 0;
}

void th_params_default(struct th_params *p)
{
	p->warning_high = p->critical_high = p->warning_low = p->critical_low = NAN;
	p->hysteresis = 0.05;
	p->clear_windows = 1;
}

/* A limit is either unset (NaN) or finite: +inf as "no limit" would make
 * the hysteresis margin inf - inf = NaN. */
static int limit_bad(double v)
{
	return !isnan(v) && !isfinite(v);
}

int th_params_check(const struct th_params *p, char *err, size_t errlen)
{
	struct th_limits l;
	if (limit_bad(p->warning_high) || limit_bad(p->critical_high) ||
	    limit_bad(p->warning_low) || limit_bad(p->critical_low)) {
		snprintf(err, errlen, "limits must be finite or unset (NaN)");
		return -1;
	}
	if (!(p->hysteresis >= 0 && p->hysteresis < 1)) {
		snprintf(err, errlen, "hysteresis %g: must be in [0, 1)", p->hysteresis);
		return -1;
	}
	if (p->clear_windows < 1) {
		snprintf(err, errlen, "clear_windows must be >= 1");
		return -1;
	}
	th_effective(p, &l);
	/* NaN comparisons are false, so each test only bites when both are set. */
	if (l.ch < l.wh) {
		snprintf(err, errlen, "critical_high %g below warning_high %g", l.ch, l.wh);
		return -1;
	}
	if (l.cl > l.wl) {
		snprintf(err, errlen, "critical_low %g above warning_low %g", l.cl, l.wl);
		return -1;
	}
	/* The calm region is (max low + margin, min high - margin); an empty one
	 * would keep every episode open for ever.  With hysteresis 0 this is
	 * just "lows below highs", as the limits are inclusive. */
	double h = p->hysteresis, lo = -INFINITY, hi = INFINITY;
	const double lows[2] = { l.wl, l.cl }, highs[2] = { l.wh, l.ch };
	for (int i = 0; i < 2; i++) {
		if (!isnan(lows[i]) && lows[i] + h * fabs(lows[i]) > lo)
			lo = lows[i] + h * fabs(lows[i]);
		if (!isnan(highs[i]) && highs[i] - h * fabs(highs[i]) < hi)
			hi = highs[i] - h * fabs(highs[i]);
	}
	if (!(lo < hi)) {
		snprintf(err, errlen, "low limits (calm above %g) and high limits (calm below %g) "
			 "leave no calm value", lo, hi);
		return -1;
	}
	return 0;
}

size_t th_state_size(const struct th_params *p)
{
	return sizeof(struct th_state);
}

void th_init(void *state, const struct th_params *p)
{
	memset(state, 0, th_state_size(p));
}

/* How far v is past limit L, as a fraction of |L| (unscaled for L = 0: a
 * zero limit has no magnitude to scale by). */
static double past(double v, double L)
{
	return L != 0 ? (v - L) / fabs(L) : v - L;
}

void th_update(void *state, const struct th_params *p, double value, int missing,
	       struct det_verdict *out)
{
	struct th_state *st = state;
	struct th_limits l;

	out->value = value;
	out->expected = NAN;
	out->lower = p->warning_low;
	out->upper = p->warning_high;
	out->score = 0;
	out->changed = 0;
	out->severity = st->ep.severity;
	if (missing || !isfinite(value)) {
		out->value = NAN;
		return;
	}
	th_effective(p, &l);

	/* Limits are inclusive; a comparison with an unset (NaN) limit is false. */
	int level = DET_OK;
	if (value >= l.ch) {
		level = DET_CRITICAL;
		out->score = past(value, l.ch);
	} else if (value <= l.cl) {
		level = DET_CRITICAL;
		out->score = past(value, l.cl);
	} else if (value >= l.wh) {
		level = DET_WARNING;
		out->score = past(value, l.wh);
	} else if (value <= l.wl) {
		level = DET_WARNING;
		out->score = past(value, l.wl);
	}

	/* Calm: inside every set limit by its hysteresis margin.  Written as
	 * "not (at or beyond the shifted limit)" so unset limits never block. */
	double h = p->hysteresis;
	int calm = level == DET_OK &&
		   !(value >= l.wh - h * fabs(l.wh)) && !(value >= l.ch - h * fabs(l.ch)) &&
		   !(value <= l.wl + h * fabs(l.wl)) && !(value <= l.cl + h * fabs(l.cl));
	det_episode_step(&st->ep, level, calm, p->clear_windows, out);
}
