/*
 * holtwinters.h — additive Holt-Winters forecaster and detector for one
 * (series, field), one value per window: level, trend and an optional season
 * of S windows; alpha/beta/gamma fitted by minimising the one-step-ahead SSE
 * over a bounded recent history kept in the state, refitted periodically.
 * Pure arithmetic on a caller-owned fixed-size state (no allocation, no I/O);
 * run by ringflow-forecast.
 */
#ifndef ANALYZE_HOLTWINTERS_H
#define ANALYZE_HOLTWINTERS_H

#include <stddef.h>

#include "analyze/detector.h"

#define HW_MAX_SEASON  2016   /* a week of 5-minute windows */
#define HW_MAX_HISTORY 8192
#define HW_MAX_HORIZON 64

struct hw_params {
	unsigned season;       /* S: 0 (or 1) = no season, else 2..HW_MAX_SEASON */
	unsigned horizon;      /* forecasts written per window, 1..HW_MAX_HORIZON */
	unsigned history;      /* values kept for fitting; 0 = auto: 64 without a
	                          season, else max(64, 4*S) capped at HW_MAX_HISTORY;
	                          with a season it must be >= 3*S */
	unsigned min_history;  /* values before the first fit, when it starts to
	                          speak (raised to 2*S with a season; <= history) */
	unsigned refit;        /* windows between refits; 0 = auto: history / 2 */
	double band;           /* |residual| / scale that opens a warning episode,
	                          and the half-width of the forecast band */
	double critical;       /* ... that makes it critical (>= band) */
	double clip;           /* with exclude: every value enters the state as
	                          forecast ± at most clip * scale (Huber-type
	                          cleaning), so an outlier moves level, trend and
	                          season no more than a clip-sigma residual would */
	double clear_ratio;    /* episode ends when |score| < band*clear_ratio ... */
	unsigned clear_windows;/* ... for this many consecutive values */
	double scale_rate;     /* EWMA rate of the robust residual scale, (0, 1] */
	unsigned relearn;      /* with exclude: after this many consecutive values
	                          of an episode on the same side and not calm
	                          (|score| >= band*clear_ratio), take the shift as the
	                          new normal (level and history move by it, trend
	                          drops); 0 = never */
	int exclude;           /* 1: values update the state clipped (clip), inside
	                          an episode not at all (the state follows its
	                          forecast) and the residual scale learns only
	                          outside episodes, so a burst stays visible and one
	                          anomaly gives one alert; 0: plain Holt-Winters */
};

/* The defaults (no season, horizon 3, history 64, min_history 24, band 5.5,
 * critical 12, clip 3, scale_rate 0.05, relearn 100; state 600 bytes; see
 * holtwinters.c for how they were chosen). */
void hw_params_default(struct hw_params *p);
/* 0, or -1 with a reason in err. */
int hw_params_check(const struct hw_params *p, char *err, size_t errlen);
/* Bytes of state for p (fixed; 8-byte aligned memory expected). */
size_t hw_state_size(const struct hw_params *p);
void hw_init(void *state, const struct hw_params *p);
/* One window's value.  missing != 0, NaN or ±inf: treated as missing (the
 * state advances by its own forecast so the season stays aligned, the episode
 * state is kept, changed = 0).  Silent (expected NaN) before min_history. */
void hw_update(void *state, const struct hw_params *p, double value, int missing,
	       struct det_verdict *out);
/* Forecast k windows after the last update (k = 1..p->horizon): prediction
 * and band (prediction ± band * scale * sqrt(forecast variance factor of
 * step k)).  0, or -1 before the first fit or for k out of range. */
int hw_forecast(const void *state, const struct hw_params *p, unsigned k, double *pred,
		double *lower, double *upper);
/* Smoothing parameters in use (NaN before the first fit), for diagnostics. */
void hw_fitted_params(const void *state, double *alpha, double *beta, double *gamma);

/*
 * One-step-ahead SSE of additive Holt-Winters on y[0..n) (finite values).
 * Recurrences (season S >= 2; without one drop s and use K below for S):
 *   f_t = l_{t-1} + b_{t-1} + s_{t-S}
 *   l_t = alpha (y_t - s_{t-S}) + (1 - alpha) (l_{t-1} + b_{t-1})
 *   b_t = beta (l_t - l_{t-1}) + (1 - beta) b_{t-1}
 *   s_t = gamma (y_t - l_t) + (1 - gamma) s_{t-S}
 * Initialisation (heuristic, from the whole of y, as in-sample fitting may):
 * a line c + b (t - tbar) — without a season the least-squares line over all
 * n values (tbar = (n-1)/2, c = mean); with one, over the P = n/S full
 * periods: b = (mean of the last period - mean of the first) / ((P-1) S),
 * c = mean of the P*S values, tbar = (P*S-1)/2, and s_i (i < S, used as
 * s_{i-S}) = the mean over the P periods of y[pS+i] - line(pS+i).  Then
 * l_{-1} = line(-1), b_{-1} = b, and the recurrences run for t = 0..n-1; the
 * SSE sums (y_t - f_t)^2 over all of them.  A pure linear trend plus an
 * exactly periodic pattern is fitted without error.
 * fitted[t] (if not NULL, n values): f_t.
 * Returns NAN when n < 2S (n < 3 without a season).
 */
double hw_sse(const double *y, size_t n, unsigned season, double alpha, double beta,
	      double gamma, double *fitted);

/* Parameters minimising hw_sse over alpha in [0.01, 1], beta and gamma in
 * [0, 1] (gamma 0 without a season): a coarse grid, then Nelder-Mead from its
 * best point.  Returns the SSE reached (NAN when n is too short). */
double hw_fit(const double *y, size_t n, unsigned season, double *alpha, double *beta,
	      double *gamma);

#endif
