/*
 * test_detectors.c — the built-in detectors' arithmetic: zscore's median and
 * MAD against hand-computed values (odd and even windows, sliding), the
 * episode logic (one alert per spike, one `ok` after, escalation), constant
 * series, NaN/inf and missing values treated as missing, parameter checks,
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
#include "analyze/zscore.h"
#include "tests/lib/splitmix.h"

static double rnd01(void) { return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0; }
static double rnd_normal(void) { return sqrt(-2 * log(rnd01())) * cos(2 * M_PI * rnd01()); }

static _Alignas(8) unsigned char zbuf[2 * ZS_MAX_WINDOW * 8 + 64];

static void zs_small(struct zs_params *p, unsigned window)
{
	zs_params_default(p);
	p->window = window;
	p->min_history = window;
}

static void test_zs_median_mad_odd(void **s)
{
	struct zs_params p;
	struct det_verdict v;
	zs_small(&p, 5);
	zs_init(zbuf, &p);
	double in[] = { 4, 100, 1, 3, 2 };
	for (int i = 0; i < 5; i++) {
		zs_update(zbuf, &p, in[i], 0, &v);
		assert_int_equal(v.changed, 0);
		assert_true(isnan(v.expected)); /* silent before min_history */
	}
	/* sorted 1 2 3 4 100: median 3; |dev| 2 1 0 1 97 -> sorted 0 1 1 2 97: MAD 1 */
	zs_update(zbuf, &p, 3 + 1.4826 * 6, 0, &v);
	assert_true(fabs(v.expected - 3) < 1e-12);
	assert_true(fabs(v.score - 6) < 1e-9);
	assert_true(fabs(v.upper - (3 + p.warning * 1.4826)) < 1e-9);
	assert_true(fabs(v.lower - (3 - p.warning * 1.4826)) < 1e-9);
	assert_int_equal(v.severity, DET_WARNING);
	assert_int_equal(v.changed, 1);
}

static void test_zs_median_mad_even_sliding(void **s)
{
	struct zs_params p;
	struct det_verdict v;
	zs_small(&p, 4);
	p.exclude = 0;
	zs_init(zbuf, &p);
	double in[] = { 10, 1, 2, 4 };
	for (int i = 0; i < 4; i++)
		zs_update(zbuf, &p, in[i], 0, &v);
	/* 1 2 4 10: median 3; |dev| 2 1 1 7 -> 1 1 2 7: MAD 1.5 */
	zs_update(zbuf, &p, 3, 0, &v);
	assert_true(fabs(v.expected - 3) < 1e-12);
	assert_true(fabs(v.score) < 1e-12);
	/* history now 1 2 4 3 (10 slid out): median 2.5; |dev| 1.5 .5 1.5 .5: MAD 1 */
	zs_update(zbuf, &p, 2.5 + 1.4826, 0, &v);
	assert_true(fabs(v.expected - 2.5) < 1e-12);
	assert_true(fabs(v.score - 1) < 1e-9);
	/* history 2 4 3 3.9826: median 3.4913; |dev| 1.4913 .5087 .4913 .4913: MAD .5 */
	zs_update(zbuf, &p, 0, 0, &v);
	assert_true(fabs(v.expected - (3 + 3.9826) / 2) < 1e-9);
	assert_true(fabs(v.score - (0 - 3.4913) / (1.4826 * 0.5)) < 1e-6);
}

/* Independent check on random data: median/MAD by sorting copies. */
static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void test_zs_random_vs_sort(void **s)
{
	struct zs_params p;
	struct det_verdict v;
	zs_small(&p, 60);
	p.min_history = 12;
	p.exclude = 0;
	zs_init(zbuf, &p);
	double hist[2000];
	rng_state = 42;
	for (int i = 0; i < 2000; i++) {
		double x = (double)(rnd() % 50); /* many ties */
		zs_update(zbuf, &p, x, 0, &v);
		int n = i < 60 ? i : 60;
		if (n >= 12) {
			double a[60], d[60];
			memcpy(a, hist + i - n, n * sizeof(double));
			qsort(a, n, sizeof(double), cmp_d);
			double med = n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
			for (int k = 0; k < n; k++)
				d[k] = fabs(a[k] - med);
			qsort(d, n, sizeof(double), cmp_d);
			double mad = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
			assert_true(v.expected == med);
			if (mad > 0)
				assert_true(fabs(v.score - (x - med) / (1.4826 * mad)) < 1e-9);
		}
		hist[i] = x;
	}
}

static void test_zs_one_alert_per_spike(void **s)
{
	struct zs_params p;
	struct det_verdict v;
	zs_params_default(&p);
	zs_init(zbuf, &p);
	rng_state = 7;
	int alerts = 0, oks = 0, first_alert = -1, ok_at = -1;
	for (int i = 0; i < 400; i++) {
		double x = 100 + rnd_normal();
		if (i >= 200 && i < 204)
			x += 30; /* a 4-window spike */
		zs_update(zbuf, &p, x, 0, &v);
		if (v.changed && v.severity > 0) {
			alerts++;
			if (first_alert < 0)
				first_alert = i;
		}
		if (v.changed && v.severity == 0) {
			oks++;
			ok_at = i;
		}
	}
	assert_int_equal(alerts, 1);
	assert_int_equal(first_alert, 200);
	assert_int_equal(oks, 1);
	assert_true(ok_at >= 204 + 2 && ok_at <= 204 + 10);
}

static void test_zs_escalation(void **s)
{
	struct zs_params p;
	struct det_verdict v;
	zs_params_default(&p);
	zs_init(zbuf, &p);
	for (int i = 0; i < 60; i++)
		zs_update(zbuf, &p, (i % 3) - 1.0, 0, &v); /* -1 0 1: median 0, MAD 1 */
	zs_update(zbuf, &p, 1.4826 * 6, 0, &v);
	assert_int_equal(v.severity, DET_WARNING);
	assert_int_equal(v.changed, 1);
	zs_update(zbuf, &p, 1.4826 * 6.5, 0, &v);
	assert_int_equal(v.changed, 0);
	zs_update(zbuf, &p, 1.4826 * 20, 0, &v);
	assert_int_equal(v.severity, DET_CRITICAL);
	assert_int_equal(v.changed, 1);
	zs_update(zbuf, &p, 1.4826 * 6, 0, &v); /* lower again: no de-escalation alert */
	assert_int_equal(v.severity, DET_CRITICAL);
	assert_int_equal(v.changed, 0);
}

static void test_zs_constant(void **s)
{
	struct zs_params p;
	struct det_verdict v;
	zs_params_default(&p);
	zs_init(zbuf, &p);
	for (int i = 0; i < 200; i++) {
		zs_update(zbuf, &p, 5.0, 0, &v);
		assert_int_equal(v.severity, 0);
		assert_int_equal(v.changed, 0);
		assert_true(isfinite(v.score));
	}
	zs_update(zbuf, &p, 6.0, 0, &v);
	assert_int_equal(v.severity, DET_CRITICAL);
	assert_int_equal(v.changed, 1);
	assert_true(isfinite(v.score));
}

static void test_zs_nonfinite_is_missing(void **s)
{
	struct zs_params p;
	struct det_verdict v, w;
	static _Alignas(8) unsigned char other[2 * 60 * 8 + 64];
	zs_params_default(&p);
	zs_init(zbuf, &p);
	zs_init(other, &p);
	rng_state = 9;
	for (int i = 0; i < 300; i++) {
		double x = rnd_normal();
		if (i % 7 == 3) {
			double bad[] = { NAN, INFINITY, -INFINITY, 1e300 * 1e300 };
			zs_update(zbuf, &p, bad[i % 4], 0, &v);
			assert_int_equal(v.changed, 0);
			assert_true(isnan(v.value));
			zs_update(zbuf, &p, 12345.0, 1, &v); /* flagged missing */
			assert_int_equal(v.changed, 0);
		}
		zs_update(zbuf, &p, x, 0, &v);
		zs_update(other, &p, x, 0, &w);
		assert_true(v.score == w.score && v.severity == w.severity && v.changed == w.changed);
	}
}

static void test_zs_params(void **s)
{
	struct zs_params p;
	char err[128];
	zs_params_default(&p);
	assert_int_equal(zs_params_check(&p, err, sizeof err), 0);
	assert_true(zs_state_size(&p) <= 1024);
	struct zs_params bad = p;
	bad.window = 1;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
	assert_non_null(strstr(err, "window"));
	bad = p;
	bad.window = ZS_MAX_WINDOW + 1;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
	bad = p;
	bad.min_history = 0;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
	bad = p;
	bad.critical = 1;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
	bad = p;
	bad.warning = NAN;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
	bad = p;
	bad.clear_ratio = 0;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
	bad = p;
	bad.clear_windows = 0;
	assert_int_equal(zs_params_check(&bad, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zs_median_mad_odd),
		cmocka_unit_test(test_zs_median_mad_even_sliding),
		cmocka_unit_test(test_zs_random_vs_sort),
		cmocka_unit_test(test_zs_one_alert_per_spike),
		cmocka_unit_test(test_zs_escalation),
		cmocka_unit_test(test_zs_constant),
		cmocka_unit_test(test_zs_nonfinite_is_missing),
		cmocka_unit_test(test_zs_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
