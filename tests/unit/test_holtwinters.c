/*
 * test_holtwinters.c — the Holt-Winters forecaster: hw_sse's fitted values
 * against a separate textbook implementation written here (and three steps
 * by hand), hw_fit against a fine grid search, exact forecasts of a linear
 * trend and of a periodic pattern, missing values, one alert per spike with
 * a band that does not blow up, hostile magnitudes, parameter checks and the
 * state size at defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/detector.h"
#include "analyze/holtwinters.h"
#include "tests/lib/splitmix.h"

static double rnd01(void) { return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0; }
static double rnd_normal(void) { return sqrt(-2 * log(rnd01())) * cos(2 * M_PI * rnd01()); }

static _Alignas(8) unsigned char hbuf[(HW_MAX_SEASON + HW_MAX_HISTORY) * 8 + 256];

/*
 * Reference: the textbook additive Holt-Winters recurrences with full arrays
 * l[t], b[t], s[t] (index shifted by one period so t = -1.. fits), no rings
 * or shortcuts, initialised as hw_sse documents: without a season the
 * least-squares line (normal equations on 1, t) through all n values; with
 * one, slope from the first and last full periods' means, seasonal
 * components the per-phase mean deviation from the line.
 */
#define OFF 512
static double ref_hw(const double *y, int n, int S, double a, double be, double g, double *fit)
{
	static double l[1024], b[1024], s[1024];
	double slope, c0; /* line(t) = c0 + slope t */
	if (!S) {
		double st = 0, stt = 0, sy = 0, sty = 0;
		for (int t = 0; t < n; t++) {
			st += t;
			stt += (double)t * t;
			sy += y[t];
			sty += t * y[t];
		}
		slope = (n * sty - st * sy) / (n * stt - st * st);
		c0 = (sy - slope * st) / n;
	} else {
		int P = n / S;
		double first = 0, last = 0, all = 0;
		for (int i = 0; i < S; i++) {
			first += y[i] / S;
			last += y[(P - 1) * S + i] / S;
		}
		for (int t = 0; t < P * S; t++)
			all += y[t] / (P * S);
		slope = (last - first) / ((P - 1) * S);
		c0 = all - slope * (P * S - 1) / 2.0;
		for (int i = 0; i < S; i++) {
			double d = 0;
			for (int q = 0; q < P; q++)
				d += y[q * S + i] - (c0 + slope * (q * S + i));
			s[OFF + i - S] = d / P;
		}
	}
	l[OFF - 1] = c0 - slope;
	b[OFF - 1] = slope;
	double sse = 0;
	for (int t = 0; t < n; t++) {
		int k = OFF + t;
		double sp = S ? s[k - S] : 0;
		fit[t] = l[k - 1] + b[k - 1] + sp;
		sse += (y[t] - fit[t]) * (y[t] - fit[t]);
		l[k] = a * (y[t] - sp) + (1 - a) * (l[k - 1] + b[k - 1]);
		b[k] = be * (l[k] - l[k - 1]) + (1 - be) * b[k - 1];
		s[k] = S ? g * (y[t] - l[k]) + (1 - g) * sp : 0;
	}
	return sse;
}

static void test_hw_sse_by_hand(void **unused)
{
	/* n = 8, no season: mean 37/8 = 4.625, tbar 3.5, Sxy = 43.5, Sxx = 42,
	 * slope 29/28; l_{-1} = 4.625 - 4.5 * 29/28 = -1/28, b_{-1} = 29/28.
	 * alpha 0.5, beta 0.2:
	 * t=0: f = 1 (e = 0), l = 1, b = 0.2 * 29/28 + 0.8 * 29/28 = 29/28
	 * t=1: f = 57/28, e = 27/28, l = 1.5 + 57/56 = 141/56,
	 *      b = 0.2 * 85/56 + 0.8 * 58/56 = 63.4/56
	 * t=2: f = 204.4/56 = 3.65, e = -1.65, l = 1 + 1.825 = 2.825,
	 *      b = 0.2 * (2.825 - 141/56) + 0.8 * 63.4/56 = 0.9671428571428...
	 * t=3: f = 2.825 + 0.96714285714... = 3.79214285714... */
	const double y[] = { 1, 3, 2, 4, 6, 5, 7, 9 };
	double fit[8], rfit[8];
	double sse = hw_sse(y, 8, 0, 0.5, 0.2, 0, fit);
	assert_true(fabs(fit[0] - 1) < 1e-12);
	assert_true(fabs(fit[1] - 57.0 / 28) < 1e-12);
	assert_true(fabs(fit[2] - 3.65) < 1e-12);
	assert_true(fabs(fit[3] - (2.825 + 0.2 * (2.825 - 141.0 / 56) + 0.8 * 63.4 / 56)) < 1e-12);
	assert_true(fabs(fit[3] - 3.7921428571428571) < 1e-12);
	double rsse = ref_hw(y, 8, 0, 0.5, 0.2, 0, rfit);
	assert_true(fabs(rsse - sse) < 1e-10);
	/* the first three squared errors by hand: 0, (27/28)^2, 1.65^2 */
	double part = 0;
	for (int t = 0; t < 3; t++)
		part += (y[t] - fit[t]) * (y[t] - fit[t]);
	assert_true(fabs(part - (27.0 / 28 * 27.0 / 28 + 1.65 * 1.65)) < 1e-12);
	for (int t = 0; t < 8; t++)
		assert_true(fabs(rfit[t] - fit[t]) < 1e-12);
	/* too short */
	assert_true(isnan(hw_sse(y, 2, 0, 0.5, 0.2, 0, NULL)));
	assert_true(isnan(hw_sse(y, 7, 4, 0.5, 0.2, 0.1, NULL)));
}

static void make_seasonal(double *y, int n, int S, double slope, double noise)
{
	for (int t = 0; t < n; t++)
		y[t] = 50 + slope * t + 10 * sin(2 * M_PI * t / S) + 4 * cos(4 * M_PI * t / S) +
		       noise * rnd_normal();
}

static void test_hw_sse_vs_reference(void **unused)
{
	double y[203], fit[203], rfit[203];
	const double params[][3] = { { 0.3, 0.1, 0.2 }, { 0.9, 0, 0.6 }, { 0.05, 0.5, 0 }, { 1, 1, 1 } };
	rng_state = 11;
	make_seasonal(y, 203, 12, 0.1, 2);  /* 16 full periods and a part */
	for (int k = 0; k < 4; k++) {
		for (int S = 0; S <= 12; S += 12) {
			double sse = hw_sse(y, 203, (unsigned)S, params[k][0], params[k][1], params[k][2], fit);
			double rsse = ref_hw(y, 203, S, params[k][0], params[k][1], params[k][2], rfit);
			assert_true(fabs(sse - rsse) <= 1e-9 * rsse);
			for (int t = 0; t < 203; t++)
				assert_true(fabs(fit[t] - rfit[t]) < 1e-9);
		}
	}
	/* season 1 means none */
	assert_true(hw_sse(y, 200, 1, 0.3, 0.1, 0.2, NULL) == hw_sse(y, 200, 0, 0.3, 0.1, 0.7, NULL));
}

/* hw_fit reaches an SSE no worse than a 0.05-step grid over the same box. */
static void check_fit_vs_grid(const double *y, int n, int S)
{
	double a, b, g, rfit[512];
	double sse = hw_fit(y, (size_t)n, (unsigned)S, &a, &b, &g);
	assert_true(a >= 0.01 && a <= 1 && b >= 0 && b <= 1 && g >= 0 && g <= 1);
	if (!S)
		assert_true(g == 0);
	assert_true(fabs(sse - ref_hw(y, n, S, a, b, g, rfit)) <= 1e-9 * sse);
	double grid = INFINITY;
	for (int i = 1; i <= 20; i++)
		for (int j = 0; j <= 20; j++)
			for (int k = 0; k <= (S ? 20 : 0); k++) {
				double e = ref_hw(y, n, S, i * 0.05, j * 0.05, k * 0.05, rfit);
				if (e < grid)
					grid = e;
			}
	assert_true(sse <= grid * (1 + 1e-12));
}

static void test_hw_fit_beats_grid(void **unused)
{
	double y[200];
	rng_state = 5;
	make_seasonal(y, 96, 12, 0.2, 1.5);
	check_fit_vs_grid(y, 96, 12);
	check_fit_vs_grid(y, 96, 0);
	/* a random walk with drift: no season */
	double w = 0;
	for (int t = 0; t < 64; t++) {
		w += 0.3 + rnd_normal();
		y[t] = 100 + w;
	}
	check_fit_vs_grid(y, 64, 0);
	/* AR-like noisy level: small alpha expected to win */
	for (int t = 0; t < 64; t++)
		y[t] = 10 + 3 * rnd_normal();
	check_fit_vs_grid(y, 64, 0);
}

static void test_hw_forecast_linear_trend(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	double pred, lo, hi;
	hw_params_default(&p);
	hw_init(hbuf, &p);
	assert_int_equal(hw_forecast(hbuf, &p, 1, &pred, &lo, &hi), -1); /* not fitted yet */
	for (int t = 0; t < 100; t++) {
		hw_update(hbuf, &p, 5 + 2.5 * t, 0, &v);
		assert_false(v.changed);
		if (t >= 30)
			assert_true(fabs(v.expected - (5 + 2.5 * t)) < 1e-9);
	}
	for (unsigned k = 1; k <= p.horizon; k++) {
		assert_int_equal(hw_forecast(hbuf, &p, k, &pred, &lo, &hi), 0);
		assert_true(fabs(pred - (5 + 2.5 * (99 + k))) < 1e-9);
		assert_true(lo <= pred && pred <= hi);
	}
	assert_int_equal(hw_forecast(hbuf, &p, 0, &pred, &lo, &hi), -1);
	assert_int_equal(hw_forecast(hbuf, &p, p.horizon + 1, &pred, &lo, &hi), -1);
}

static const double pattern[12] = { 3, 8, 15, 22, 30, 26, 20, 12, 9, 4, 1, 2 };

static void test_hw_forecast_seasonal_pattern(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	double pred, lo, hi;
	hw_params_default(&p);
	p.season = 12;
	p.horizon = 14;            /* past one period, to check the index wraps */
	char err[128];
	assert_int_equal(hw_params_check(&p, err, sizeof err), 0);
	hw_init(hbuf, &p);
	for (int t = 0; t < 150; t++) {
		hw_update(hbuf, &p, pattern[t % 12], 0, &v);
		assert_false(v.changed);
	}
	for (unsigned k = 1; k <= p.horizon; k++) {
		assert_int_equal(hw_forecast(hbuf, &p, k, &pred, &lo, &hi), 0);
		assert_true(fabs(pred - pattern[(149 + k) % 12]) < 1e-9);
	}
	/* the same pattern on a trend: still exact */
	hw_init(hbuf, &p);
	for (int t = 0; t < 150; t++)
		hw_update(hbuf, &p, 100 - 0.75 * t + pattern[t % 12], 0, &v);
	for (unsigned k = 1; k <= p.horizon; k++) {
		assert_int_equal(hw_forecast(hbuf, &p, k, &pred, &lo, &hi), 0);
		assert_true(fabs(pred - (100 - 0.75 * (149 + k) + pattern[(149 + k) % 12])) < 1e-9);
	}
}

static void test_hw_missing(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	double pred, lo, hi;
	hw_params_default(&p);
	p.season = 12;
	hw_init(hbuf, &p);
	/* missing after the first fit, as a flag, NaN and -inf: the state
	 * advances by its forecast, so the season stays aligned and the
	 * forecasts stay exact */
	for (int t = 0; t < 300; t++) {
		double x = 100 + 0.5 * t + pattern[t % 12];
		if (t == 150 || t == 151 || t == 170)
			hw_update(hbuf, &p, x, 1, &v);
		else if (t == 200)
			hw_update(hbuf, &p, NAN, 0, &v);
		else if (t == 201)
			hw_update(hbuf, &p, -INFINITY, 0, &v);
		else {
			hw_update(hbuf, &p, x, 0, &v);
			assert_false(v.changed);
			if (t > 100)
				assert_true(fabs(v.expected - x) < 1e-9);
			continue;
		}
		assert_true(isnan(v.value));
		assert_true(isnan(v.expected));
		assert_int_equal(v.changed, 0);
	}
	assert_int_equal(hw_forecast(hbuf, &p, 1, &pred, &lo, &hi), 0);
	assert_true(fabs(pred - (100 + 0.5 * 300 + pattern[300 % 12])) < 1e-9);
	/* missing at the very start is skipped: nothing to impute from */
	hw_params_default(&p);
	hw_init(hbuf, &p);
	hw_update(hbuf, &p, 0, 1, &v);
	for (int t = 0; t < 40; t++)
		hw_update(hbuf, &p, 7 + t, 0, &v);
	assert_int_equal(hw_forecast(hbuf, &p, 1, &pred, &lo, &hi), 0);
	assert_true(fabs(pred - 47) < 1e-9);
}

/* Noise sd 5 around 100; one spike of +80 (16 sd): one alert, then one ok,
 * nothing else; the band after it is as wide as before. */
static void test_hw_spike_one_alert(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	hw_params_default(&p);
	hw_init(hbuf, &p);
	rng_state = 42;
	int alerts = 0, oks = 0;
	double width_before = 0, width_after = 0;
	for (int t = 0; t < 600; t++) {
		double x = 100 + 5 * rnd_normal() + (t == 400 ? 80 : 0);
		hw_update(hbuf, &p, x, 0, &v);
		if (v.changed && v.severity > 0) {
			alerts++;
			assert_int_equal(t, 400);
			assert_int_equal(v.severity, DET_CRITICAL);
			assert_true(v.score > p.critical);
			assert_true(v.value > v.upper);
		}
		if (v.changed && v.severity == 0) {
			oks++;
			assert_true(t > 400 && t <= 400 + 10);
		}
		if (t == 399)
			width_before = v.upper - v.lower;
		if (t == 420)
			width_after = v.upper - v.lower;
	}
	assert_int_equal(alerts, 1);
	assert_int_equal(oks, 1);
	/* the band is 2 * band * scale: scale near the noise sd 5 */
	assert_true(width_before > 2 * p.band * 3.5 && width_before < 2 * p.band * 6.5);
	assert_true(width_after < 1.1 * width_before);
}

/* A level shift of 7 sd (some values of it fall under the band, and would
 * feed the scale if it learnt inside episodes): one alert at the shift; inside the episode the
 * state and the scale are frozen (the band does not grow until the shift
 * looks normal), after relearn (100) windows the shift is the new normal,
 * the forecast follows it and an ok follows. */
static void test_hw_level_shift(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	hw_params_default(&p);
	hw_init(hbuf, &p);
	rng_state = 7;
	int alerts = 0, first = -1;
	double w300 = 0;
	for (int t = 0; t < 800; t++) {
		double x = 100 + 2 * rnd_normal() + (t >= 300 ? 14 : 0);
		hw_update(hbuf, &p, x, 0, &v);
		if (t == 300)  /* the scale after the last normal value */
			w300 = v.upper - v.lower;
		if (t > 300 && t < 300 + (int)p.relearn) {
			/* frozen inside the episode: same forecast band, still
			 * expecting the old level */
			assert_true(v.severity > 0);
			assert_true(fabs((v.upper - v.lower) - w300) < 1e-9 * w300);
			assert_true(fabs(v.expected - 100) < 3);
		}
		if (v.changed && v.severity > 0) {
			alerts++;
			if (first < 0)
				first = t;
		}
	}
	assert_int_equal(first, 300);
	assert_true(alerts <= 2);          /* start, perhaps an escalation */
	assert_int_equal(v.severity, 0);   /* adapted by the end */
	assert_true(fabs(v.expected - 114) < 3);
}

/* A dead link (values 0 for 60 windows, 50 sd below normal), then back:
 * one alert at the drop, no alert at the return (the state was frozen, so
 * the old level is still the forecast), one ok shortly after it. */
static void test_hw_outage_and_return(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	hw_params_default(&p);
	hw_init(hbuf, &p);
	rng_state = 9;
	int alerts = 0, oks = 0;
	double before = NAN;
	for (int t = 0; t < 700; t++) {
		double x = (t >= 400 && t < 460) ? 0 : 100 + 2 * rnd_normal();
		hw_update(hbuf, &p, x, 0, &v);
		if (t == 399)
			before = v.expected;
		if (t == 459)  /* still expecting the old level */
			assert_true(fabs(v.expected - before) < 2);
		if (v.changed && v.severity > 0) {
			alerts++;
			assert_int_equal(t, 400);
		}
		if (v.changed && v.severity == 0) {
			oks++;
			assert_true(t >= 460 && t < 460 + (int)p.clear_windows + 2);
		}
	}
	assert_int_equal(alerts, 1);
	assert_int_equal(oks, 1);
}

/* The forecast band widens with the horizon by the error-correction
 * variance factor: half-width(k) / half-width(1) = sqrt(1 + sum_{j<k}
 * (alpha (1 + j beta))^2) without a season. */
static void test_hw_forecast_band_growth(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	double pred[4], lo[4], hi[4], a, b, g;
	hw_params_default(&p);
	hw_init(hbuf, &p);
	rng_state = 3;
	double w = 0;
	for (int t = 0; t < 200; t++) {
		w += rnd_normal();
		hw_update(hbuf, &p, 50 + w + rnd_normal(), 0, &v);
	}
	hw_fitted_params(hbuf, &a, &b, &g);
	assert_true(a >= 0.01 && a <= 1 && b >= 0 && b <= 1 && g == 0);
	for (unsigned k = 1; k <= 3; k++)
		assert_int_equal(hw_forecast(hbuf, &p, k, &pred[k], &lo[k], &hi[k]), 0);
	double h1 = (hi[1] - lo[1]) / 2;
	double c1 = a * (1 + b), c2 = a * (1 + 2 * b);
	assert_true(fabs((hi[2] - lo[2]) / 2 / h1 - sqrt(1 + c1 * c1)) < 1e-9);
	assert_true(fabs((hi[3] - lo[3]) / 2 / h1 - sqrt(1 + c1 * c1 + c2 * c2)) < 1e-9);
	/* the one-step band is the one the next verdict uses */
	hw_update(hbuf, &p, pred[1], 0, &v);
	assert_true(fabs(v.expected - pred[1]) < 1e-12);
	assert_true(fabs(v.upper - hi[1]) < 1e-9 && fabs(v.lower - lo[1]) < 1e-9);
	assert_true(fabs(v.score) < 1e-9);
}

/* With relearn off, a level shift keeps its one episode open (no further
 * alerts, no ok) as long as it lasts. */
static void test_hw_relearn_off(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	hw_params_default(&p);
	p.relearn = 0;
	hw_init(hbuf, &p);
	rng_state = 21;
	int changes = 0;
	for (int t = 0; t < 900; t++) {
		hw_update(hbuf, &p, 100 + 2 * rnd_normal() + (t >= 300 ? 50 : 0), 0, &v);
		changes += v.changed;
	}
	assert_true(changes >= 1 && changes <= 2);  /* start, perhaps escalation */
	assert_true(v.severity > 0);
}

static void test_hw_hostile_values(void **unused)
{
	struct hw_params p;
	struct det_verdict v;
	double pred, lo, hi;
	hw_params_default(&p);
	hw_init(hbuf, &p);
	for (int t = 0; t < 200; t++) {
		double x = (t & 1) ? 1.7e308 : -1.7e308;
		hw_update(hbuf, &p, x, 0, &v);
		assert_false(isnan(v.score));
	}
	for (int t = 0; t < 100; t++)
		hw_update(hbuf, &p, 10, 0, &v);
	assert_int_equal(hw_forecast(hbuf, &p, 1, &pred, &lo, &hi), 0);
	assert_true(fabs(pred - 10) < 1e-6);
}

static void test_hw_params_and_size(void **unused)
{
	struct hw_params p, q;
	char err[128];
	hw_params_default(&p);
	assert_int_equal(p.season, 0);
	assert_int_equal(p.horizon, 3);
	assert_int_equal(hw_params_check(&p, err, sizeof err), 0);
	assert_true(hw_state_size(&p) <= 1024);
	q = p;
	q.horizon = 0;
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
	assert_non_null(strstr(err, "horizon"));
	q = p;
	q.season = HW_MAX_SEASON + 1;
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
	q = p;
	q.season = 24;
	q.history = 48;            /* < 3 * season */
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
	q.history = 0;             /* auto: 4 * 24 = 96 */
	assert_int_equal(hw_params_check(&q, err, sizeof err), 0);
	assert_true(hw_state_size(&q) >= (24 + 96) * sizeof(double));
	q = p;
	q.critical = q.band / 2;
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
	q = p;
	q.scale_rate = 0;
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
	q = p;
	q.min_history = 100;       /* > history 64 */
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
	q = p;
	q.band = NAN;
	assert_int_equal(hw_params_check(&q, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hw_sse_by_hand),
		cmocka_unit_test(test_hw_sse_vs_reference),
		cmocka_unit_test(test_hw_fit_beats_grid),
		cmocka_unit_test(test_hw_forecast_linear_trend),
		cmocka_unit_test(test_hw_forecast_seasonal_pattern),
		cmocka_unit_test(test_hw_missing),
		cmocka_unit_test(test_hw_spike_one_alert),
		cmocka_unit_test(test_hw_level_shift),
		cmocka_unit_test(test_hw_outage_and_return),
		cmocka_unit_test(test_hw_forecast_band_growth),
		cmocka_unit_test(test_hw_relearn_off),
		cmocka_unit_test(test_hw_hostile_values),
		cmocka_unit_test(test_hw_params_and_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
