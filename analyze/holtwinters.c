/*
 * holtwinters.c — additive Holt-Winters forecaster and detector (see
 * holtwinters.h).  Run inside ringflow-forecast; never blocks, never
 * allocates.
 *
 * NOTES
 * The state is one fixed block: a header (smoothing parameters, level, trend,
 * residual scale, episode), the S seasonal components indexed by window
 * number mod S, and a ring of the last `history` values as the state took
 * them in (cleaned, see below) used for fitting.  Each fit runs the recurrences with the
 * fitted parameters over the history to get level/trend/season consistent
 * with them; between fits the online state carries on.  A refit costs
 * about (grid + Nelder-Mead evaluations) * history steps and runs every
 * `refit` windows, so its cost per update is a small constant.
 *
 * Robustness follows Gelper, Fried & Croux, "Robust forecasting with
 * exponential and Holt-Winters smoothing" (2010): each value enters the
 * recurrences cleaned, as forecast + residual clipped at clip * scale, so one
 * outlier moves the state no more than an ordinary large residual; the
 * fitting history holds the cleaned values too.  Inside an anomalous episode
 * the state goes further and takes in its own forecast (as for a missing
 * value), so a burst or an outage of any length leaves it where it was and
 * the return to normal is not a second anomaly; a shift that lasts `relearn`
 * windows is then taken as the new normal in one step (level and history
 * move by it), which a frozen state could not learn.  The residual scale is an
 * EWMA of |clipped residual| / E[min(|Z|, clip)] (a standard deviation for
 * normal errors), started from 1.4826 * the median |residual| of the first
 * fit; an EWMA of absolute values costs O(1) and keeps the state small, and
 * anomalous values, which would inflate it, do not enter it.
 */
#include "analyze/holtwinters.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hw_state {
	uint32_t count;      /* values in the history ring (<= history) */
	uint32_t head;       /* ring index of the oldest value once full */
	uint32_t since_fit;  /* windows since the last fit */
	uint32_t pos;        /* season index (window number mod S) of the next window */
	uint32_t ready;      /* 1 once the first fit has run */
	int32_t run;         /* consecutive anomalous values, signed by their side */
	struct det_episode ep;
	double alpha, beta, gamma;
	double level, trend;
	double scale;        /* robust standard deviation of one-step residuals */
	double last;         /* last finite value, imputes missing ones before the first fit */
	double vals[];       /* season[S], then history ring[history] */
};

/* How hw_params_default's values were chosen: tests/bench/bench_detectors
 * (NAB-like score on 6 synthetic kinds x 5 seeds, MASE on seasonal series).
 * From band 6, clip 2, scale_rate 0.02, relearn 40 (NAB 77.1, 13 FP):
 * scale_rate 0.05 removes the FP on the seasonal kind (a slow scale lags the
 * seasonal swings of the residuals), relearn 100 those after the 60-window
 * outage (40 took zero as normal, so the return alerted), clip 3 keeps
 * MASE (0.53) and recall; band 5.5 then catches one more seasonal spike with
 * no FP (NAB 81.7, 0 FP); band 5 gives FP once the season is set.  History
 * 96 instead of 64 was worse (more FP).  Critical 12 rather than 10: an 8 sd
 * shift held for relearn windows otherwise reaches 10 once by noise, and the
 * escalation is a second alert for one anomaly. */
void hw_params_default(struct hw_params *p)
{
	p->season = 0;
	p->horizon = 3;
	p->history = 0;
	p->min_history = 24;
	p->refit = 0;
	p->band = 5.5;
	p->critical = 12.0;
	p->clip = 3.0;
	p->clear_ratio = 0.6;
	p->clear_windows = 3;
	p->scale_rate = 0.05;
	p->relearn = 100;
	p->exclude = 1;
}

static unsigned eff_season(const struct hw_params *p)
{
	return p->season <= 1 ? 0 : p->season;
}

static unsigned eff_history(const struct hw_params *p)
{
	unsigned s = eff_season(p);
	if (p->history)
		return p->history;
	if (!s)
		return 64;
	unsigned h = 4 * s < 64 ? 64 : 4 * s;
	return h > HW_MAX_HISTORY ? HW_MAX_HISTORY : h;
}

static unsigned eff_min_history(const struct hw_params *p)
{
	unsigned s = eff_season(p);
	return p->min_history < 3 * s ? 3 * s : p->min_history;
}

static unsigned eff_refit(const struct hw_params *p)
{
	return p->refit ? p->refit : eff_history(p) / 2;
}

int hw_params_check(const struct hw_params *p, char *err, size_t errlen)
{
	unsigned s = eff_season(p);
	if (p->season > HW_MAX_SEASON) {
		snprintf(err, errlen, "season %u: must be 0 (none) or 2..%u", p->season, HW_MAX_SEASON);
		return -1;
	}
	if (p->horizon < 1 || p->horizon > HW_MAX_HORIZON) {
		snprintf(err, errlen, "horizon %u: must be 1..%u", p->horizon, HW_MAX_HORIZON);
		return -1;
	}
	unsigned h = eff_history(p);
	if (h < 8 || h > HW_MAX_HISTORY || (s && h < 3 * s)) {
		snprintf(err, errlen, "history %u: must be 8..%u and >= 3*season (%u)", h,
			 HW_MAX_HISTORY, 3 * s);
		return -1;
	}
	if (p->min_history < 4 || eff_min_history(p) > h) {
		snprintf(err, errlen, "min_history %u: must be >= 4 and (raised to 2*season) <= history %u",
			 p->min_history, h);
		return -1;
	}
	if (!(p->band > 0) || !isfinite(p->band) || !(p->critical >= p->band) ||
	    !isfinite(p->critical)) {
		snprintf(err, errlen, "band %g / critical %g: need 0 < band <= critical, finite",
			 p->band, p->critical);
		return -1;
	}
	if (!(p->clip > 0) || !isfinite(p->clip)) {
		snprintf(err, errlen, "clip %g: must be > 0, finite", p->clip);
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
	if (!(p->scale_rate > 0 && p->scale_rate <= 1)) {
		snprintf(err, errlen, "scale_rate %g: must be in (0, 1]", p->scale_rate);
		return -1;
	}
	return 0;
}

size_t hw_state_size(const struct hw_params *p)
{
	return sizeof(struct hw_state) + ((size_t)eff_season(p) + eff_history(p)) * sizeof(double);
}

void hw_init(void *state, const struct hw_params *p)
{
	memset(state, 0, hw_state_size(p));
	struct hw_state *st = state;
	st->alpha = st->beta = st->gamma = NAN;
}

/* The recurrences of hw_sse; also returns the final level, trend and (when
 * season_out is not NULL) the seasonal components indexed by t mod S. */
static double hw_run(const double *y, size_t n, unsigned season, double alpha, double beta,
		     double gamma, double *fitted, double *level_out, double *trend_out,
		     double *season_out)
{
	size_t S = season <= 1 ? 0 : season;
	if ((S && n < 2 * S) || (!S && n < 3))
		return NAN;
	/* Seasonal components live in season_out (or a scratch ring). */
	double scratch[S ? S : 1];
	double *s = season_out ? season_out : scratch;
	double mean = 0, tbar, b;
	if (!S) {
		/* least-squares line over all n values */
		for (size_t t = 0; t < n; t++)
			mean += y[t];
		mean /= (double)n;
		tbar = 0.5 * (double)(n - 1);
		double sxy = 0, sxx = 0;
		for (size_t t = 0; t < n; t++) {
			sxy += ((double)t - tbar) * (y[t] - mean);
			sxx += ((double)t - tbar) * ((double)t - tbar);
		}
		b = sxy / sxx;
	} else {
		/* slope from the first and last full periods' means (exact for a
		 * line plus any periodic pattern), seasonal components the mean
		 * deviation from the line over the P full periods */
		size_t P = n / S;
		double m0 = 0, ml = 0;
		for (size_t i = 0; i < S; i++) {
			m0 += y[i];
			ml += y[(P - 1) * S + i];
		}
		b = (ml - m0) / (double)S / (double)((P - 1) * S);
		for (size_t t = 0; t < P * S; t++)
			mean += y[t];
		mean /= (double)(P * S);
		tbar = 0.5 * (double)(P * S - 1);
		for (size_t i = 0; i < S; i++) {
			double d = 0;
			for (size_t q = 0; q < P; q++)
				d += y[q * S + i] - (mean + b * ((double)(q * S + i) - tbar));
			s[i] = d / (double)P;
		}
	}
	double l = mean + b * (-1 - tbar);   /* the line at t = -1 */
	double sse = 0;
	size_t j = 0; /* t mod S */
	for (size_t t = 0; t < n; t++) {
		double st = S ? s[j] : 0;
		double f = l + b + st;
		if (fitted)
			fitted[t] = f;
		double e = y[t] - f;
		sse += e * e;
		double lp = l;
		l = alpha * (y[t] - st) + (1 - alpha) * (l + b);
		b = beta * (l - lp) + (1 - beta) * b;
		if (S) {
			s[j] = gamma * (y[t] - l) + (1 - gamma) * st;
			if (++j == S)
				j = 0;
		}
	}
	if (level_out)
		*level_out = l;
	if (trend_out)
		*trend_out = b;
	/* The loop started at t mod S = 0, so s[] is indexed by t mod S. */
	return sse;
}

double hw_sse(const double *y, size_t n, unsigned season, double alpha, double beta,
	      double gamma, double *fitted)
{
	return hw_run(y, n, season, alpha, beta, gamma, fitted, NULL, NULL, NULL);
}

/* Fitting: minimise hw_sse over a box.  Non-finite SSEs (overflow on absurd
 * values) count as worse than any finite one. */
struct fit_ctx {
	const double *y;
	size_t n;
	unsigned season;
	int dims;           /* 2 (alpha, beta) or 3 (+ gamma) */
	int evals;
};

static const double lo_[3] = { 0.01, 0, 0 }, hi_[3] = { 1, 1, 1 };

static double fit_eval(struct fit_ctx *c, double *x)
{
	for (int i = 0; i < c->dims; i++)
		x[i] = x[i] < lo_[i] ? lo_[i] : x[i] > hi_[i] ? hi_[i] : x[i];
	c->evals++;
	double f = hw_sse(c->y, c->n, c->season, x[0], x[1], c->dims > 2 ? x[2] : 0, NULL);
	return isfinite(f) ? f : INFINITY;
}

/* Nelder-Mead (reflection 1, expansion 2, contraction 0.5, shrink 0.5) with
 * points projected into the box; stops after `budget` evaluations. */
static void nelder_mead(struct fit_ctx *c, double *x, double *fx, const double *step, int budget)
{
	int d = c->dims;
	double p[4][3], f[4];
	for (int i = 0; i <= d; i++) {
		memcpy(p[i], x, sizeof p[i]);
		if (i > 0) {
			/* step inwards from a bound so the simplex is not flat */
			double v = p[i][i - 1] + step[i - 1];
			p[i][i - 1] = v > hi_[i - 1] ? p[i][i - 1] - step[i - 1] : v;
		}
		f[i] = i == 0 ? *fx : fit_eval(c, p[i]);
	}
	int start = c->evals;
	while (c->evals - start < budget) {
		/* order: best first */
		for (int i = 1; i <= d; i++)
			for (int k = i; k > 0 && f[k] < f[k - 1]; k--) {
				double tf = f[k];
				f[k] = f[k - 1];
				f[k - 1] = tf;
				double tp[3];
				memcpy(tp, p[k], sizeof tp);
				memcpy(p[k], p[k - 1], sizeof tp);
				memcpy(p[k - 1], tp, sizeof tp);
			}
		double cen[3] = { 0, 0, 0 }, xr[3], xe[3], xc[3];
		for (int i = 0; i < d; i++)
			for (int k = 0; k < d; k++)
				cen[k] += p[i][k] / d;
		for (int k = 0; k < d; k++)
			xr[k] = cen[k] + (cen[k] - p[d][k]);
		double fr = fit_eval(c, xr);
		if (fr < f[0]) {
			for (int k = 0; k < d; k++)
				xe[k] = cen[k] + 2 * (cen[k] - p[d][k]);
			double fe = fit_eval(c, xe);
			if (fe < fr) {
				memcpy(p[d], xe, sizeof xe);
				f[d] = fe;
			} else {
				memcpy(p[d], xr, sizeof xr);
				f[d] = fr;
			}
		} else if (fr < f[d - 1]) {
			memcpy(p[d], xr, sizeof xr);
			f[d] = fr;
		} else {
			const double *from = fr < f[d] ? xr : p[d];
			for (int k = 0; k < d; k++)
				xc[k] = cen[k] + 0.5 * (from[k] - cen[k]);
			double fc = fit_eval(c, xc);
			if (fc < (fr < f[d] ? fr : f[d])) {
				memcpy(p[d], xc, sizeof xc);
				f[d] = fc;
			} else {
				for (int i = 1; i <= d; i++) {
					for (int k = 0; k < d; k++)
						p[i][k] = p[0][k] + 0.5 * (p[i][k] - p[0][k]);
					f[i] = fit_eval(c, p[i]);
				}
			}
		}
	}
	int b = 0;
	for (int i = 1; i <= d; i++)
		if (f[i] < f[b])
			b = i;
	if (f[b] < *fx) {
		memcpy(x, p[b], sizeof p[b]);
		*fx = f[b];
	}
}

double hw_fit(const double *y, size_t n, unsigned season, double *alpha, double *beta,
	      double *gamma)
{
	static const double ga[] = { 0.05, 0.15, 0.3, 0.5, 0.8 };
	static const double gb[] = { 0, 0.02, 0.1, 0.3 };
	static const double gg[] = { 0, 0.05, 0.2, 0.5 };
	struct fit_ctx c = { .y = y, .n = n, .season = season <= 1 ? 0 : season };
	c.dims = c.season ? 3 : 2;
	double best[3] = { ga[0], gb[0], 0 }, fbest = INFINITY;
	int ng = c.dims > 2 ? 4 : 1;
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 4; j++)
			for (int k = 0; k < ng; k++) {
				double x[3] = { ga[i], gb[j], c.dims > 2 ? gg[k] : 0 };
				double f = fit_eval(&c, x);
				if (f < fbest) {
					fbest = f;
					memcpy(best, x, sizeof best);
				}
			}
	if (!isfinite(fbest)) {
		/* too short, or absurd values: keep a harmless middle setting */
		*alpha = 0.3;
		*beta = 0;
		*gamma = 0;
		return NAN;
	}
	const double step[3] = { 0.1, 0.05, 0.1 };
	nelder_mead(&c, best, &fbest, step, c.dims > 2 ? 60 : 40);
	*alpha = best[0];
	*beta = best[1];
	*gamma = c.dims > 2 ? best[2] : 0;
	return fbest;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The history ring, oldest first, into out[0..count). */
static void history_copy(const struct hw_state *st, const struct hw_params *p, double *out)
{
	const double *ring = st->vals + eff_season(p);
	unsigned h = eff_history(p);
	for (uint32_t i = 0; i < st->count; i++)
		out[i] = ring[(st->head + i) % h];
}

static void history_push(struct hw_state *st, const struct hw_params *p, double v)
{
	double *ring = st->vals + eff_season(p);
	unsigned h = eff_history(p);
	if (st->count == h) {
		ring[st->head] = v;
		st->head = (st->head + 1) % h;
	} else {
		ring[st->count++] = v;
	}
}

/* First fit: parameters, then level/trend/season and the residual scale from
 * running the recurrences over the history (which starts at window 0, as
 * min_history <= history, so the season indices are window numbers mod S). */
static void first_fit(struct hw_state *st, const struct hw_params *p)
{
	unsigned S = eff_season(p);
	double y[st->count], f[st->count];
	history_copy(st, p, y);
	hw_fit(y, st->count, S, &st->alpha, &st->beta, &st->gamma);
	hw_run(y, st->count, S, st->alpha, st->beta, st->gamma, f, &st->level, &st->trend,
	       S ? st->vals : NULL);
	size_t m = 0;
	for (size_t t = 0; t < st->count; t++)
		f[m++] = fabs(y[t] - f[t]);
	qsort(f, m, sizeof f[0], cmp_double);
	double med = m ? ((m & 1) ? f[m / 2] : 0.5 * (f[m / 2 - 1] + f[m / 2])) : 0;
	st->scale = 1.4826 * med;
	if (S)
		st->pos = st->count % S;
	st->ready = 1;
	st->since_fit = 0;
}

/* A refit re-derives level, trend and season by running the recurrences
 * with the new parameters over the (cleaned) history: the state left by the
 * old parameters need not suit the new ones (a trend learnt under beta > 0
 * would never decay under beta = 0, and with a small alpha the level would
 * drift away on it).  The history is in window order, its newest value is
 * the last window, so the season indices line up when its oldest value's
 * window number mod S is known: the next window's index minus count. */
static void refit(struct hw_state *st, const struct hw_params *p)
{
	unsigned S = eff_season(p);
	double y[st->count];
	history_copy(st, p, y);
	double a, b, g;
	st->since_fit = 0;
	if (!isfinite(hw_fit(y, st->count, S, &a, &b, &g)))
		return;
	double season[S ? S : 1], l, tr;
	hw_run(y, st->count, S, a, b, g, NULL, &l, &tr, S ? season : NULL);
	if (!isfinite(l) || !isfinite(tr))
		return;
	st->alpha = a;
	st->beta = b;
	st->gamma = g;
	st->level = l;
	st->trend = tr;
	if (S) {
		/* season[i] belongs to history position i (mod S); position i is
		 * window (next - count + i) */
		unsigned first = (unsigned)(((uint64_t)st->pos + S - st->count % S) % S);
		for (unsigned i = 0; i < S; i++)
			st->vals[(first + i) % S] = season[i];
	}
}

/* The scale never reaches 0 (a perfectly predictable series): any real
 * change is then an anomaly but rounding noise is not. */
static double scale_floor(const struct hw_state *st)
{
	double f = 1e-9 * fabs(st->level) + 1e-12;
	return st->scale > f ? st->scale : f;
}

/* E[min(|Z|, k)] for a standard normal Z: what the EWMA of clipped absolute
 * residuals converges to per unit of standard deviation (sqrt(2/pi) when
 * k = inf), so dividing by it makes the scale a standard deviation again. */
static double abs_mean_clipped(double k)
{
	if (!(k < 40))
		return 0.7978845608028654;
	return 0.7978845608028654 * (1 - exp(-0.5 * k * k)) + k * erfc(k * 0.7071067811865476);
}

/* A sustained shift is the new normal: move level and the fitting history by
 * it (so the next refit sees a consistent series) and drop the trend the
 * clipped values built up.  The season is kept. */
static void shift_level(struct hw_state *st, const struct hw_params *p, double delta)
{
	double *ring = st->vals + eff_season(p);
	for (uint32_t i = 0; i < st->count; i++)
		ring[i] += delta;
	st->level += st->trend + delta;   /* l + b = the value less its season */
	st->trend = 0;
	st->run = 0;
}

static void reset(struct hw_state *st, const struct hw_params *p)
{
	struct det_episode ep = st->ep;
	hw_init(st, p);
	st->ep = ep;
}

void hw_update(void *state, const struct hw_params *p, double value, int missing,
	       struct det_verdict *out)
{
	struct hw_state *st = state;
	unsigned S = eff_season(p);

	out->value = value;
	out->expected = out->lower = out->upper = NAN;
	out->score = 0;
	out->changed = 0;
	out->severity = st->ep.severity;
	int miss = missing || !isfinite(value);
	if (miss)
		out->value = NAN;

	if (!st->ready) {
		if (miss) {
			if (st->count == 0)
				return;          /* nothing to impute from yet */
			value = st->last;
		}
		st->last = value;
		history_push(st, p, value);
		if (st->count >= eff_min_history(p)) {
			first_fit(st, p);
			if (!isfinite(st->level) || !isfinite(st->trend) || !isfinite(st->scale))
				reset(st, p);   /* absurd magnitudes: see below */
		}
		return;
	}

	double sj = S ? st->vals[st->pos] : 0;
	double f = st->level + st->trend + sj;
	if (!isfinite(f)) {
		reset(st, p);
		return;
	}
	double v = value;
	if (miss) {
		v = f;                           /* advance by the forecast */
	} else {
		double scale = scale_floor(st);
		double e = value - f;
		double z = e / scale, az = fabs(z);
		int level = az >= p->critical ? DET_CRITICAL : az >= p->band ? DET_WARNING : DET_OK;
		out->expected = f;
		out->lower = f - p->band * scale;
		out->upper = f + p->band * scale;
		out->score = z;
		det_episode_step(&st->ep, level, az < p->band * p->clear_ratio, p->clear_windows, out);
		double c = INFINITY;        /* largest residual the state takes in */
		if (p->exclude) {
			c = p->clip * scale;
			/* the residual scale learns from values outside episodes,
			 * clipped like the state's input: inside one (a shift, an
			 * outage) it would grow until the anomaly looked normal */
			int in_episode = level > DET_OK || st->ep.severity > DET_OK;
			if (!in_episode) {
				double ek = fabs(e) < c ? fabs(e) : c;
				st->scale += p->scale_rate * (ek / abs_mean_clipped(p->clip) - st->scale);
			}
			/* inside an episode the state follows its own forecast, as
			 * for a missing value: a burst or an outage of any length
			 * moves nothing, and a shift becomes normal only by relearn */
			if (in_episode)
				c = 0;
		} else {
			st->scale += p->scale_rate * (1.2533141373155001 * fabs(e) - st->scale);
		}
		double ec = e > c ? c : e < -c ? -c : e;
		v = f + ec;
		/* a shift: inside an episode, values away from the forecast
		 * (not calm) on one side, consecutively */
		if (st->ep.severity > DET_OK && az >= p->band * p->clear_ratio)
			st->run = e > 0 ? (st->run > 0 ? st->run + 1 : 1) : (st->run < 0 ? st->run - 1 : -1);
		else
			st->run = 0;
		if (p->exclude && p->relearn && (unsigned)abs(st->run) >= p->relearn) {
			shift_level(st, p, e);
			v = value;
		}
	}

	double lp = st->level;
	st->level = st->alpha * (v - sj) + (1 - st->alpha) * (st->level + st->trend);
	st->trend = st->beta * (st->level - lp) + (1 - st->beta) * st->trend;
	if (S) {
		st->vals[st->pos] = st->gamma * (v - st->level) + (1 - st->gamma) * sj;
		if (++st->pos == S)
			st->pos = 0;
	}
	if (!isfinite(st->level) || !isfinite(st->trend) || !isfinite(st->scale)) {
		/* absurd magnitudes overflowed: start again rather than emit NaN */
		reset(st, p);
		return;
	}
	history_push(st, p, v);
	if (++st->since_fit >= eff_refit(p))
		refit(st, p);
}

int hw_forecast(const void *state, const struct hw_params *p, unsigned k, double *pred,
		double *lower, double *upper)
{
	const struct hw_state *st = state;
	unsigned S = eff_season(p);
	if (!st->ready || k < 1 || k > p->horizon)
		return -1;
	double sj = S ? st->vals[(st->pos + k - 1) % S] : 0;
	*pred = st->level + k * st->trend + sj;
	/* Variance factor of the k-step error, additive HW in error-correction
	 * form: 1 + sum_{j<k} c_j^2, c_j = alpha (1 + j beta) + gamma (1 - alpha)
	 * when j is a multiple of S. */
	double var = 1;
	for (unsigned j = 1; j < k; j++) {
		double cj = st->alpha * (1 + j * st->beta);
		if (S && j % S == 0)
			cj += st->gamma * (1 - st->alpha);
		var += cj * cj;
	}
	double half = p->band * scale_floor(st) * sqrt(var);
	*lower = *pred - half;
	*upper = *pred + half;
	return 0;
}

void hw_fitted_params(const void *state, double *alpha, double *beta, double *gamma)
{
	const struct hw_state *st = state;
	*alpha = st->alpha;
	*beta = st->beta;
	*gamma = st->gamma;
}
