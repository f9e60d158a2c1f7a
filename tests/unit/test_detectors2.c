/*
 * test_detectors2.c — the threshold, deviation and average detectors:
 * hand-computed sequences (every row's band and score worked out in its
 * comment), band edges (limits inclusive for threshold, band edges inside
 * for deviation/average), negative values, zero reference, missing and
 * non-finite values, hysteresis, escalation, one alert per episode and the
 * `ok` at recovery; parameter checks and state sizes; average's mean against
 * a naive recomputation over 10000 random values of very different scales.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analyze/average.h"
#include "analyze/detector.h"
#include "analyze/deviation.h"
#include "analyze/threshold.h"
#include "tests/lib/splitmix.h"

static double rnd01(void) { return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0; }

static _Alignas(8) unsigned char buf[4096];

/* One input and the verdict expected for it.  NaN in exp/lo/hi means "must
 * be NaN"; every field is checked on every row. */
struct row {
	double in;
	int miss;
	int sev, chg;
	double exp, lo, hi, score;
};

typedef void (*upd_fn)(void *st, const void *p, double x, int miss, struct det_verdict *v);

static void th_fn(void *st, const void *p, double x, int m, struct det_verdict *v) { th_update(st, p, x, m, v); }
static void dev_fn(void *st, const void *p, double x, int m, struct det_verdict *v) { dev_update(st, p, x, m, v); }
static void avg_fn(void *st, const void *p, double x, int m, struct det_verdict *v) { avg_update(st, p, x, m, v); }

static int same(double got, double want)
{
	if (isnan(want))
		return isnan(got);
	return fabs(got - want) <= 1e-12 * (fabs(want) > 1 ? fabs(want) : 1);
}

static void run_rows(upd_fn fn, void *st, const void *p, const struct row *r, int n)
{
	for (int i = 0; i < n; i++) {
		struct det_verdict v;
		memset(&v, 0x5a, sizeof v); /* garbage: every field must be set */
		fn(st, p, r[i].in, r[i].miss, &v);
		int ok = v.severity == r[i].sev && v.changed == r[i].chg && same(v.expected, r[i].exp) &&
			 same(v.lower, r[i].lo) && same(v.upper, r[i].hi) && same(v.score, r[i].score) &&
			 (r[i].miss || !isfinite(r[i].in) ? isnan(v.value) : v.value == r[i].in);
		if (!ok) {
			print_message("row %d (in %g): got sev %d chg %d exp %g lo %g hi %g score %g; "
				      "want sev %d chg %d exp %g lo %g hi %g score %g\n", i, r[i].in,
				      v.severity, v.changed, v.expected, v.lower, v.upper, v.score, r[i].sev,
				      r[i].chg, r[i].exp, r[i].lo, r[i].hi, r[i].score);
			fail();
		}
	}
}

#define ROWS(r) (int)(sizeof(r) / sizeof(r[0]))
#define N NAN
enum { OK = DET_OK, WA = DET_WARNING, CR = DET_CRITICAL };

/* ---- threshold ---- */

static void test_th_default_dead_link(void **s)
{
	struct th_params p;
	th_params_default(&p);
	th_init(buf, &p);
	/* No limits: implicit critical_low = 0, inclusive; margin 0.05*|0| = 0,
	 * so calm means value > 0.  Score at L = 0 is value - 0, unscaled. */
	const struct row r[] = {
		{ 5, 0, OK, 0, N, N, N, 0 },
		{ 0, 0, CR, 1, N, N, N, 0 },     /* 0 <= 0: at the limit is beyond */
		{ -3, 0, CR, 0, N, N, N, -3 },   /* same episode: no second alert */
		{ 0, 0, CR, 0, N, N, N, 0 },
		{ 1e-9, 0, OK, 1, N, N, N, 0 },  /* > 0 + 0: calm, clear_windows 1 */
		{ 7, 0, OK, 0, N, N, N, 0 },
		{ -0.5, 0, CR, 1, N, N, N, -0.5 }, /* a new episode, a new alert */
	};
	run_rows(th_fn, buf, &p, r, ROWS(r));
}

static void test_th_high_hysteresis_escalation(void **s)
{
	struct th_params p;
	th_params_default(&p);
	p.warning_high = 100;
	p.critical_high = 200;
	p.hysteresis = 0.25;   /* exact in binary: calm below 100 - 25 = 75 (and 200 - 50) */
	p.clear_windows = 2;
	th_init(buf, &p);
	const struct row r[] = {
		{ 99.5, 0, OK, 0, N, N, 100, 0 },
		{ 100, 0, WA, 1, N, N, 100, 0 },         /* inclusive: (100-100)/100 = 0 */
		{ 150, 0, WA, 0, N, N, 100, 0.5 },       /* (150-100)/100 */
		{ 200, 0, CR, 1, N, N, 100, 0 },         /* escalation, (200-200)/200 */
		{ 250, 0, CR, 0, N, N, 100, 0.25 },      /* (250-200)/200 */
		{ 120, 0, CR, 0, N, N, 100, 0.2 },       /* warning level: no de-escalation alert */
		{ 90, 0, CR, 0, N, N, 100, 0 },          /* inside, but not by the margin */
		{ 75, 0, CR, 0, N, N, 100, 0 },          /* exactly 75: not calm (75 >= 75) */
		{ 74, 0, CR, 0, N, N, 100, 0 },          /* calm 1 of 2 */
		{ 80, 0, CR, 0, N, N, 100, 0 },          /* not calm: the count restarts */
		{ 74, 0, CR, 0, N, N, 100, 0 },          /* calm 1 */
		{ 0, 1, CR, 0, N, N, 100, 0 },           /* missing: neither counts nor resets */
		{ NAN, 0, CR, 0, N, N, 100, 0 },
		{ INFINITY, 0, CR, 0, N, N, 100, 0 },
		{ -INFINITY, 0, CR, 0, N, N, 100, 0 },
		{ 60, 0, OK, 1, N, N, 100, 0 },          /* calm 2: recovery, one ok */
		{ 60, 0, OK, 0, N, N, 100, 0 },
		{ -1e9, 0, OK, 0, N, N, 100, 0 },        /* a limit is set: no implicit critical_low */
	};
	run_rows(th_fn, buf, &p, r, ROWS(r));
}

static void test_th_low_limits(void **s)
{
	struct th_params p;
	th_params_default(&p);
	p.warning_low = 10;
	p.critical_low = 5;
	p.hysteresis = 0.5;    /* calm above 10 + 5 = 15 (and 5 + 2.5) */
	th_init(buf, &p);
	const struct row r[] = {
		{ 10.5, 0, OK, 0, N, 10, N, 0 },
		{ 10, 0, WA, 1, N, 10, N, 0 },           /* (10-10)/10 */
		{ 4, 0, CR, 1, N, 10, N, -0.2 },         /* (4-5)/5 */
		{ 5, 0, CR, 0, N, 10, N, 0 },            /* (5-5)/5, inclusive */
		{ 15, 0, CR, 0, N, 10, N, 0 },           /* 15 <= 15: not calm */
		{ 15.5, 0, OK, 1, N, 10, N, 0 },
		{ 8, 0, WA, 1, N, 10, N, -0.2 },         /* (8-10)/10 */
	};
	run_rows(th_fn, buf, &p, r, ROWS(r));
}

static void test_th_negative_limits(void **s)
{
	struct th_params p;
	th_params_default(&p);
	p.warning_high = -10;
	p.critical_low = -100;
	p.hysteresis = 0.5;    /* calm below -10 - 5 = -15 and above -100 + 50 = -50 */
	th_init(buf, &p);
	const struct row r[] = {
		{ -20, 0, OK, 0, N, N, -10, 0 },
		{ -10, 0, WA, 1, N, N, -10, 0 },         /* (-10 - -10)/10 */
		{ -5, 0, WA, 0, N, N, -10, 0.5 },        /* (-5 + 10)/10: above, so > 0 */
		{ -14, 0, WA, 0, N, N, -10, 0 },         /* inside, not by 5 */
		{ -16, 0, OK, 1, N, N, -10, 0 },
		{ -100, 0, CR, 1, N, N, -10, 0 },        /* (-100 + 100)/100 */
		{ -150, 0, CR, 0, N, N, -10, -0.5 },     /* (-150 + 100)/100 */
		{ -50, 0, CR, 0, N, N, -10, 0 },         /* -50 <= -50: not calm */
		{ -49, 0, OK, 1, N, N, -10, 0 },
		{ 0, 0, WA, 1, N, N, -10, 1 },           /* (0 + 10)/10; 0 is not special now */
	};
	run_rows(th_fn, buf, &p, r, ROWS(r));
}

static void test_th_params(void **s)
{
	struct th_params p, b;
	char err[160];
	th_params_default(&p);
	assert_int_equal(th_params_check(&p, err, sizeof err), 0);
	assert_true(isnan(p.warning_high) && isnan(p.critical_high) && isnan(p.warning_low) &&
		    isnan(p.critical_low));
	assert_true(p.hysteresis == 0.05 && p.clear_windows == 1);
	assert_true(th_state_size(&p) <= 1024);
	b = p;
	b.warning_high = 100;
	b.critical_high = 99;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	assert_non_null(strstr(err, "critical_high"));
	b = p;
	b.warning_low = 5;
	b.critical_low = 6;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	b = p;
	b.warning_low = b.warning_high = 100; /* equal: every value is beyond one */
	b.hysteresis = 0;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	b = p;
	b.warning_low = 90;
	b.warning_high = 100;
	b.hysteresis = 0.1;   /* calm above 99 and below 90: none */
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	assert_non_null(strstr(err, "no calm"));
	b.hysteresis = 0.01;  /* calm in (90.9, 99) */
	assert_int_equal(th_params_check(&b, err, sizeof err), 0);
	b = p;
	b.warning_high = 1;   /* the implicit critical_low = 0 is gone, so no clash */
	b.hysteresis = 0.5;
	assert_int_equal(th_params_check(&b, err, sizeof err), 0);
	b = p;
	b.warning_high = INFINITY;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	b = p;
	b.hysteresis = 1;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	b.hysteresis = -0.1;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	b.hysteresis = NAN;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
	b = p;
	b.clear_windows = 0;
	assert_int_equal(th_params_check(&b, err, sizeof err), -1);
}

/* ---- deviation ---- */

static void test_dev_edges_escalation(void **s)
{
	struct dev_params p;
	dev_params_default(&p);
	p.windows = 2;
	p.percent = 50;        /* critical_percent NaN: 100 */
	p.clear_windows = 1;
	dev_init(buf, &p);
	const struct row r[] = {
		{ 100, 0, OK, 0, N, N, N, 0 },           /* silent until 2 values seen */
		{ 200, 0, OK, 0, N, N, N, 0 },
		/* ref 100: band [50, 150], critical [0, 200]; 150 on the edge is inside */
		{ 150, 0, OK, 0, 100, 50, 150, 0.5 },
		/* ref 200: band [100, 300], critical [0, 400]; 301 just outside */
		{ 301, 0, WA, 1, 200, 100, 300, 0.505 },
		/* ref 150: band [75, 225], critical [0, 300]; -1 below 0: escalation */
		{ -1, 0, CR, 1, 150, 75, 225, -151.0 / 150 },
		/* ref 301: band [150.5, 451.5]: inside, clear_windows 1: ok */
		{ 301, 0, OK, 1, 301, 150.5, 451.5, 0 },
		/* ref -1: band -1*(1 -/+ .5) = [-1.5, -0.5], critical [-2, 0]; 0 on the critical edge */
		{ 0, 0, WA, 1, -1, -1.5, -0.5, 1 },
	};
	run_rows(dev_fn, buf, &p, r, ROWS(r));
}

static void test_dev_negative(void **s)
{
	struct dev_params p;
	dev_params_default(&p);
	p.percent = 50;
	p.clear_windows = 1;
	dev_init(buf, &p);
	const struct row r[] = {
		{ -100, 0, OK, 0, N, N, N, 0 },
		/* ref -100: -100*(1-.5) = -50, -100*(1+.5) = -150: ordered [-150, -50] */
		{ -150, 0, OK, 0, -100, -150, -50, -0.5 },
		/* ref -150: band [-225, -75], critical [-300, 0] */
		{ -226, 0, WA, 1, -150, -225, -75, -76.0 / 150 },
		/* ref -226: band [-339, -113], critical [-452, 0]; 1 > 0 */
		{ 1, 0, CR, 1, -226, -339, -113, 227.0 / 226 },
	};
	run_rows(dev_fn, buf, &p, r, ROWS(r));
}

static void test_dev_zero_ref_missing(void **s)
{
	struct dev_params p;
	dev_params_default(&p);
	p.percent = 50;
	p.clear_windows = 1;
	dev_init(buf, &p);
	const struct row r[] = {
		{ 0, 0, OK, 0, N, N, N, 0 },
		{ 0, 0, OK, 0, 0, N, N, 0 },             /* ref 0: no band, nothing to judge */
		{ 5, 0, OK, 0, 0, N, N, 0 },             /* 0 -> 5 is not an alert */
		/* ref 5: band [2.5, 7.5], critical [0, 10] */
		{ 100, 0, CR, 1, 5, 2.5, 7.5, 19 },
		{ 1, 1, CR, 0, N, N, N, 0 },             /* missing: ref stays 100 */
		{ NAN, 0, CR, 0, N, N, N, 0 },
		{ -INFINITY, 0, CR, 0, N, N, N, 0 },
		/* ref 100: band [50, 150], critical [0, 200]: 0 on the critical edge,
		 * a warning-level value inside a critical episode: not calm */
		{ 0, 0, CR, 0, 100, 50, 150, -1 },
		{ 0, 0, OK, 1, 0, N, N, 0 },             /* ref 0, value 0: calm, ok */
	};
	run_rows(dev_fn, buf, &p, r, ROWS(r));
}

static void test_dev_defaults_one_alert(void **s)
{
	struct dev_params p;
	dev_params_default(&p);   /* N 1, ±100%, critical ±200%, clear_windows 3 */
	dev_init(buf, &p);
	const struct row q[] = {
		{ 100, 0, OK, 0, N, N, N, 0 },
		{ 100, 0, OK, 0, 100, 0, 200, 0 },       /* ref 100: band [0, 200], critical [-100, 300] */
		{ 0, 0, OK, 0, 100, 0, 200, -1 },        /* on the lower edge: inside */
		{ 50, 0, OK, 0, 0, N, N, 0 },            /* ref 0: not judged */
		{ 101, 0, WA, 1, 50, 0, 100, 1.02 },     /* ref 50: band [0, 100], critical [-50, 150] */
		{ 250, 0, WA, 0, 101, 0, 202, 149.0 / 101 }, /* warning again: same episode */
		{ 800, 0, CR, 1, 250, 0, 500, 2.2 },     /* ref 250: critical [-250, 750]: escalation */
		{ 800, 0, CR, 0, 800, 0, 1600, 0 },      /* calm 1 of 3 */
		{ 800, 0, CR, 0, 800, 0, 1600, 0 },      /* calm 2 */
		{ 800, 0, OK, 1, 800, 0, 1600, 0 },      /* calm 3: ok */
		{ 800, 0, OK, 0, 800, 0, 1600, 0 },
	};
	run_rows(dev_fn, buf, &p, q, ROWS(q));
}

static void test_dev_params(void **s)
{
	struct dev_params p, b;
	char err[160];
	dev_params_default(&p);
	assert_int_equal(dev_params_check(&p, err, sizeof err), 0);
	assert_true(p.windows == 1 && p.percent == 100 && isnan(p.critical_percent));
	assert_true(dev_state_size(&p) <= 1024);
	b = p;
	b.windows = DEV_MAX_WINDOWS;
	assert_int_equal(dev_params_check(&b, err, sizeof err), 0);
	assert_true(dev_state_size(&b) <= 1024);
	b.windows = DEV_MAX_WINDOWS + 1;
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
	assert_non_null(strstr(err, "windows"));
	b.windows = 0;
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
	b = p;
	b.percent = -1;
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
	b.percent = NAN;
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
	b.percent = INFINITY;
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
	b = p;
	b.critical_percent = 99;  /* below percent */
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
	b.critical_percent = 100;
	assert_int_equal(dev_params_check(&b, err, sizeof err), 0);
	b = p;
	b.clear_windows = 0;
	assert_int_equal(dev_params_check(&b, err, sizeof err), -1);
}

static void test_dev_critical_percent(void **s)
{
	struct det_verdict v;
	struct dev_params p;
	dev_params_default(&p);
	p.percent = 25;           /* NaN critical: 50 */
	dev_init(buf, &p);
	dev_update(buf, &p, 100, 0, &v);
	dev_update(buf, &p, 151, 0, &v); /* ref 100: critical band [50, 150] */
	assert_int_equal(v.severity, DET_CRITICAL);
	p.critical_percent = 60;  /* explicit: critical band [60.4, 241.6] around 151 */
	dev_init(buf, &p);
	dev_update(buf, &p, 151, 0, &v);
	dev_update(buf, &p, 240, 0, &v); /* warning band [113.25, 188.75] */
	assert_int_equal(v.severity, DET_WARNING);
	assert_int_equal(v.changed, 1);
}

/* ---- average ---- */

static void test_avg_hand(void **s)
{
	struct avg_params p;
	avg_params_default(&p);
	p.windows = 2;
	p.percent = 50;        /* critical 100 */
	p.clear_windows = 1;
	avg_init(buf, &p);
	const struct row r[] = {
		{ 10, 0, OK, 0, N, N, N, 0 },
		{ 30, 0, OK, 0, N, N, N, 0 },            /* silent until 2 values seen */
		/* mean(10, 30) = 20: band [10, 30], critical [0, 40]; upper edge inside */
		{ 30, 0, OK, 0, 20, 10, 30, 0.5 },
		/* mean(30, 30) = 30: band [15, 45], critical [0, 60] */
		{ 45.5, 0, WA, 1, 30, 15, 45, 15.5 / 30 },
		/* mean(30, 45.5) = 37.75: band [18.875, 56.625], critical [0, 75.5] */
		{ -0.5, 0, CR, 1, 37.75, 18.875, 56.625, -38.25 / 37.75 },
		{ 5, 1, CR, 0, N, N, N, 0 },             /* missing: history still 45.5, -0.5 */
		{ INFINITY, 0, CR, 0, N, N, N, 0 },
		/* mean(45.5, -0.5) = 22.5: band [11.25, 33.75]: calm, ok */
		{ 22.5, 0, OK, 1, 22.5, 11.25, 33.75, 0 },
		/* mean(-0.5, 22.5) = 11: band [5.5, 16.5]; 5.5 on the lower edge */
		{ 5.5, 0, OK, 0, 11, 5.5, 16.5, -0.5 },
		/* mean(22.5, 5.5) = 14: band [7, 21], critical [0, 28]; 28.25 above */
		{ 28.25, 0, CR, 1, 14, 7, 21, 14.25 / 14 },
	};
	run_rows(avg_fn, buf, &p, r, ROWS(r));
}

static void test_avg_negative_zero(void **s)
{
	struct avg_params p;
	avg_params_default(&p);
	p.windows = 2;
	p.percent = 50;
	p.clear_windows = 1;
	avg_init(buf, &p);
	const struct row r[] = {
		{ -10, 0, OK, 0, N, N, N, 0 },
		{ -30, 0, OK, 0, N, N, N, 0 },
		/* mean -20: -20*(1-.5) = -10, -20*(1+.5) = -30: ordered [-30, -10] */
		{ -30, 0, OK, 0, -20, -30, -10, -0.5 },
		/* mean -30: band [-45, -15], critical [-60, 0]; 1 > 0 */
		{ 1, 0, CR, 1, -30, -45, -15, 31.0 / 30 },
		/* mean(-30, 1) = -14.5: band [-21.75, -7.25], critical [-29, 0] */
		{ -1, 0, CR, 0, -14.5, -21.75, -7.25, 13.5 / 14.5 }, /* warning level in a critical episode */
		/* mean(1, -1) = 0: not judged; 7 is not calm (not 0) */
		{ 7, 0, CR, 0, 0, N, N, 0 },
	};
	run_rows(avg_fn, buf, &p, r, ROWS(r));
}

static void test_avg_defaults_one_alert(void **s)
{
	/* Defaults: mean of 10, ±100%, critical ±200%, clear after 3 calm.
	 * 100 ten times, then a 3-window burst at 500: the first 500 is critical
	 * (mean 100: critical band [-100, 300]); the second sees mean
	 * (9*100+500)/10 = 140, critical [-140, 420]: still critical, same
	 * episode; the third mean 180, critical [-180, 540], warning band
	 * [0, 360]: warning level, no alert.  Then 100s: mean 220 -> band
	 * [0, 440], calm; 3 calm values later exactly one ok. */
	struct avg_params p;
	struct det_verdict v;
	avg_params_default(&p);
	avg_init(buf, &p);
	int alerts = 0, oks = 0, alert_at = -1, ok_at = -1;
	for (int i = 0; i < 60; i++) {
		double x = i >= 10 && i < 13 ? 500 : 100;
		avg_update(buf, &p, x, 0, &v);
		if (i < 10)
			assert_true(isnan(v.expected));
		if (i == 11)
			assert_true(v.expected == 140 && v.severity == DET_CRITICAL);
		if (i == 12)
			assert_true(v.expected == 180);
		if (v.changed && v.severity > 0) {
			alerts++;
			alert_at = i;
		}
		if (v.changed && v.severity == 0) {
			oks++;
			ok_at = i;
		}
	}
	assert_int_equal(alerts, 1);
	assert_int_equal(alert_at, 10);
	assert_int_equal(oks, 1);
	assert_int_equal(ok_at, 15);   /* calm at 13, 14, 15 */
}

/* Mean against a naive recomputation: blocks of 37 values at scale 1e9
 * then 37 at scale 1 (random signs), so a running sum that only ever adds
 * and subtracts would carry ~1e9 * 2^-53 * (updates so far) of error into
 * the small blocks, far above the tolerance there.  The tolerance is the
 * bound of the recompute-every-N scheme: the error comes from at most 2N
 * rounded steps on a sum of up to N values no larger than the largest of
 * the last 2N, so 4N * eps * that largest value is generous for the mean. */
static void test_avg_no_drift(void **s)
{
	struct avg_params p;
	struct det_verdict v;
	avg_params_default(&p);
	const unsigned n = p.windows;
	avg_init(buf, &p);
	static double hist[10000];
	rng_state = 12345;
	int checked = 0;
	for (int i = 0; i < 10000; i++) {
		double scale = (i / 37) % 2 ? 1 : 1e9;
		double x = scale * (rnd01() * 2 - 1);
		avg_update(buf, &p, x, 0, &v);
		if (i >= (int)n) {
			double sum = 0, big = 0;
			for (int j = i - (int)n; j < i; j++)
				sum += hist[j];
			for (int j = i - 2 * (int)n; j < i; j++)
				if (j >= 0 && fabs(hist[j]) > big)
					big = fabs(hist[j]);
			double naive = sum / n;
			if (!(fabs(v.expected - naive) <= 4 * n * DBL_EPSILON * big)) {
				print_message("i %d: mean %.17g naive %.17g (tolerance %g)\n", i, v.expected,
					      naive, 4 * n * DBL_EPSILON * big);
				fail();
			}
			checked++;
		} else {
			assert_true(isnan(v.expected));
		}
		hist[i] = x;
	}
	assert_int_equal(checked, 10000 - (int)n);
}

static void test_avg_params(void **s)
{
	struct avg_params p, b;
	char err[160];
	avg_params_default(&p);
	assert_int_equal(avg_params_check(&p, err, sizeof err), 0);
	assert_true(p.windows == 10 && p.percent == 100 && isnan(p.critical_percent));
	assert_true(avg_state_size(&p) <= 1024);
	b = p;
	b.windows = AVG_MAX_WINDOWS;
	assert_int_equal(avg_params_check(&b, err, sizeof err), 0);
	assert_true(avg_state_size(&b) <= 1024);
	b.windows = AVG_MAX_WINDOWS + 1;
	assert_int_equal(avg_params_check(&b, err, sizeof err), -1);
	b.windows = 0;
	assert_int_equal(avg_params_check(&b, err, sizeof err), -1);
	b = p;
	b.critical_percent = 50;
	assert_int_equal(avg_params_check(&b, err, sizeof err), -1);
	assert_non_null(strstr(err, "critical_percent"));
	b = p;
	b.clear_windows = 0;
	assert_int_equal(avg_params_check(&b, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_th_default_dead_link),
		cmocka_unit_test(test_th_high_hysteresis_escalation),
		cmocka_unit_test(test_th_low_limits),
		cmocka_unit_test(test_th_negative_limits),
		cmocka_unit_test(test_th_params),
		cmocka_unit_test(test_dev_edges_escalation),
		cmocka_unit_test(test_dev_negative),
		cmocka_unit_test(test_dev_zero_ref_missing),
		cmocka_unit_test(test_dev_defaults_one_alert),
		cmocka_unit_test(test_dev_params),
		cmocka_unit_test(test_dev_critical_percent),
		cmocka_unit_test(test_avg_hand),
		cmocka_unit_test(test_avg_negative_zero),
		cmocka_unit_test(test_avg_defaults_one_alert),
		cmocka_unit_test(test_avg_no_drift),
		cmocka_unit_test(test_avg_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
