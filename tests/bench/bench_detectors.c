/*
 * bench_detectors.c — evaluation of the built-in detectors on deterministic
 * synthetic series with labelled anomaly windows (spikes, level shift, drift,
 * dead link to 0, dead link as missing, daily seasonality with spikes):
 * zscore against the prototype's two baselines ("deviation": value vs the
 * value N windows earlier ± percent; "average": value vs the mean of the last
 * N ± percent), scored NAB-like (standard profile: scaled sigmoid inside a
 * window, first alert per window only, A_FP = -0.11 per alert outside,
 * -1 per missed window, normalised so no alerts = 0 and perfect = 100), with
 * precision, recall and mean detection delay; forecast (Holt-Winters) at
 * its defaults, and with the season set to the series' 144; then a MASE
 * evaluation of forecast on seasonal series (see mase_eval); then both
 * detectors' throughput.
 * Run: build/release/bench/bench_detectors [warning [exclude [window]]]
 * [hw.KEY=VALUE ...] (KEY: band critical clip history min_history refit
 * scale_rate clear_ratio clear_windows relearn exclude season, to sweep forecast).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/detector.h"
#include "analyze/holtwinters.h"
#include "analyze/zscore.h"
#include "tests/lib/splitmix.h"

#define LEN 4032          /* 28 days of 144 windows */
#define MAXWIN 8
#define SERIES_KINDS 6

static double rnd01(void) { return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0; }
static double rnd_normal(void) { return sqrt(-2 * log(rnd01())) * cos(2 * M_PI * rnd01()); }

struct series {
	const char *name;
	double v[LEN];
	int missing[LEN];
	int nwin;
	int win_lo[MAXWIN], win_hi[MAXWIN]; /* labelled [lo, hi) */
};

static void label(struct series *s, int lo, int len)
{
	s->win_lo[s->nwin] = lo;
	s->win_hi[s->nwin] = lo + len;
	s->nwin++;
}

static void make_series(struct series *s, int kind, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	rng_state = seed;
	for (int i = 0; i < LEN; i++)
		s->v[i] = 100 + 5 * rnd_normal();
	switch (kind) {
	case 0:
		s->name = "spikes";
		for (int k = 0; k < 4; k++) {
			int at = 800 + k * 800 + (int)(rnd() % 100);
			for (int j = 0; j < 1 + k % 3; j++)
				s->v[at + j] += 45 + 10 * rnd01();
			label(s, at, 20);
		}
		break;
	case 1:
		s->name = "level_shift";
		for (int i = 2500; i < LEN; i++)
			s->v[i] += 40;
		label(s, 2500, 40);
		break;
	case 2:
		s->name = "drift";
		for (int i = 2500; i < LEN; i++)
			s->v[i] += (i - 2500 < 300 ? (i - 2500) : 300) * 0.25;
		label(s, 2500, 300);
		break;
	case 3:
		s->name = "dead_zero";
		for (int i = 2500; i < 2560; i++)
			s->v[i] = 0;
		label(s, 2500, 40);
		break;
	case 4:
		s->name = "dead_missing";
		for (int i = 2500; i < 2560; i++)
			s->missing[i] = 1;
		label(s, 2500, 40);
		break;
	default:
		s->name = "seasonal";
		for (int i = 0; i < LEN; i++)
			s->v[i] = 100 + 40 * sin(2 * M_PI * i / 144) + 3 * rnd_normal();
		for (int k = 0; k < 4; k++) {
			int at = 1000 + k * 700 + (int)(rnd() % 144);
			s->v[at] += 35;
			label(s, at, 20);
		}
		break;
	}
}

/* A detector as the bench sees it: alerts[i] = 1 when it raised an alert
 * (episode start or escalation) at window i. */
typedef void (*run_fn)(const struct series *s, unsigned char *alerts);

/* The zscore settings evaluated: defaults unless given on the command line
 * (bench_detectors [warning [exclude [window]]]), for sweeping them. */
static struct zs_params zs_eval;

static void run_zscore(const struct series *s, unsigned char *alerts)
{
	static _Alignas(8) unsigned char st[2 * ZS_MAX_WINDOW * 8 + 64];
	struct zs_params p = zs_eval;
	struct det_verdict v;
	zs_init(st, &p);
	for (int i = 0; i < LEN; i++) {
		zs_update(st, &p, s->v[i], s->missing[i], &v);
		alerts[i] = v.changed && v.severity > 0;
	}
}

/* The forecast settings evaluated: defaults unless hw.KEY=VALUE arguments. */
static struct hw_params hw_eval;
static _Alignas(8) unsigned char hw_st[(HW_MAX_SEASON + HW_MAX_HISTORY) * 8 + 256];

static void run_forecast_p(const struct series *s, unsigned char *alerts, const struct hw_params *p)
{
	struct det_verdict v;
	hw_init(hw_st, p);
	for (int i = 0; i < LEN; i++) {
		hw_update(hw_st, p, s->v[i], s->missing[i], &v);
		alerts[i] = v.changed && v.severity > 0;
	}
}

static void run_forecast(const struct series *s, unsigned char *alerts)
{
	run_forecast_p(s, alerts, &hw_eval);
}

/* The same with the season of the synthetic days (144 windows) on every
 * kind: what a user who knows the period gets. */
static void run_forecast_s144(const struct series *s, unsigned char *alerts)
{
	struct hw_params p = hw_eval;
	p.season = 144;
	p.history = 0;
	run_forecast_p(s, alerts, &p);
}

/* The prototype's baselines fire on every window where the condition holds;
 * counted here as one alert per rising edge (kinder to them than per window). */
static void run_deviation(const struct series *s, unsigned char *alerts)
{
	const int n = 1;
	const double pct = 200;
	int prev = 0;
	for (int i = 0; i < LEN; i++) {
		int fire = 0;
		if (i >= n && !s->missing[i] && !s->missing[i - n] && s->v[i - n] != 0)
			fire = fabs(s->v[i] - s->v[i - n]) / fabs(s->v[i - n]) * 100 > pct;
		alerts[i] = fire && !prev;
		prev = fire;
	}
}

static void run_average(const struct series *s, unsigned char *alerts)
{
	const int n = 10;
	const double pct = 100;
	int prev = 0;
	for (int i = 0; i < LEN; i++) {
		int fire = 0, cnt = 0;
		double sum = 0;
		for (int j = i - n; j < i; j++)
			if (j >= 0 && !s->missing[j]) {
				sum += s->v[j];
				cnt++;
			}
		if (cnt == n && !s->missing[i] && sum != 0)
			fire = fabs(s->v[i] - sum / n) / fabs(sum / n) * 100 > pct;
		alerts[i] = fire && !prev;
		prev = fire;
	}
}

struct score {
	double raw, perfect, null_;
	int windows, detected, fp;
	double delay_sum;
};

static double sigmoid_tp(int i, int lo, int hi)
{
	/* NAB scaled sigmoid: y = relative position, -1 at the window start, 0 at its end. */
	double y = (double)(i - (hi - 1)) / (hi - lo);
	return 2 / (1 + exp(5 * y)) - 1;
}

static void score_series(const struct series *s, const unsigned char *alerts, struct score *sc)
{
	const double a_fp = -0.11;
	int seen[MAXWIN] = { 0 };
	for (int i = 0; i < LEN; i++) {
		if (!alerts[i])
			continue;
		int w = -1;
		for (int k = 0; k < s->nwin; k++)
			if (i >= s->win_lo[k] && i < s->win_hi[k])
				w = k;
		if (w < 0) {
			sc->raw += a_fp;
			sc->fp++;
			if (getenv("BENCH_VERBOSE"))
				printf("  FP %s at %d\n", s->name, i);
		} else if (!seen[w]) {
			seen[w] = 1;
			sc->raw += sigmoid_tp(i, s->win_lo[w], s->win_hi[w]);
			sc->detected++;
			sc->delay_sum += i - s->win_lo[w];
		}
	}
	for (int k = 0; k < s->nwin; k++) {
		if (!seen[k]) {
			sc->raw -= 1;
			if (getenv("BENCH_VERBOSE"))
				printf("  missed %s window at %d\n", s->name, s->win_lo[k]);
		}
		sc->perfect += sigmoid_tp(s->win_lo[k], s->win_lo[k], s->win_hi[k]);
		sc->null_ -= 1;
		sc->windows++;
	}
}

/* hw.KEY=VALUE on the command line: 0, or -1 for an unknown key. */
static int hw_set(struct hw_params *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return -1;
	size_t n = (size_t)(eq - kv);
	double x = atof(eq + 1);
#define KEY(name) (n == strlen(#name) && strncmp(kv, #name, n) == 0)
	if (KEY(band))
		p->band = x;
	else if (KEY(clip))
		p->clip = x;
	else if (KEY(critical))
		p->critical = x;
	else if (KEY(history))
		p->history = (unsigned)x;
	else if (KEY(min_history))
		p->min_history = (unsigned)x;
	else if (KEY(refit))
		p->refit = (unsigned)x;
	else if (KEY(scale_rate))
		p->scale_rate = x;
	else if (KEY(clear_ratio))
		p->clear_ratio = x;
	else if (KEY(clear_windows))
		p->clear_windows = (unsigned)x;
	else if (KEY(relearn))
		p->relearn = (unsigned)x;
	else if (KEY(exclude))
		p->exclude = (int)x;
	else if (KEY(season))
		p->season = (unsigned)x;
	else
		return -1;
#undef KEY
	return 0;
}

/*
 * MASE: seasonal series (period S = 24 or 144, a two-harmonic daily shape of
 * amplitude ~40, noise sd 3; variants: flat, linear trend, random-walk level)
 * of 28 periods.  Forecast (defaults with season = S) runs over the whole
 * series online; its one-step-ahead forecasts on the held-out last 7 periods
 * are made before each value is seen (refits there use only earlier values),
 * and are compared with seasonal naive (y[t-S]) on the same points:
 * relative MASE = MAE_forecast / MAE_snaive (< 1: forecast is better).  The
 * classic MASE scales MAE_forecast by seasonal naive's in-sample MAE on the
 * first 21 periods.
 */
#define MASE_PERIODS 28
#define MASE_TRAIN 21
static double mase_y[MASE_PERIODS * 144];

static void make_seasonal(double *y, int n, unsigned S, int variant, uint64_t seed)
{
	rng_state = seed;
	double walk = 0, phase = 2 * M_PI * rnd01();
	for (int i = 0; i < n; i++) {
		double x = 2 * M_PI * i / S + phase;
		y[i] = 200 + 40 * sin(x) + 12 * sin(2 * x + 1) + 3 * rnd_normal();
		if (variant == 1)
			y[i] += 5.0 * i / S;               /* +5 a period */
		else if (variant == 2) {
			walk += 0.5 * rnd_normal();
			y[i] += walk;
		}
	}
}

static void mase_eval(void)
{
	static const unsigned periods[] = { 24, 144 };
	static const char *vname[] = { "flat", "trend", "walk" };
	const int seeds = 5;
	double all_rel = 0, all_cls = 0;
	int cnt = 0;
	printf("MASE (forecast with season = S, held-out last %d of %d periods, %d seeds)\n",
	       MASE_PERIODS - MASE_TRAIN, MASE_PERIODS, seeds);
	printf("%-6s %-7s %9s %9s %9s %9s\n", "S", "variant", "MAE_hw", "MAE_snv", "relMASE", "MASE");
	for (int pi = 0; pi < 2; pi++)
		for (int var = 0; var < 3; var++) {
			unsigned S = periods[pi];
			int n = MASE_PERIODS * (int)S, train = MASE_TRAIN * (int)S;
			double ae_hw = 0, ae_sn = 0, ae_in = 0;
			int nt = 0, ni = 0;
			for (int seed = 0; seed < seeds; seed++) {
				make_seasonal(mase_y, n, S, var, 500 + 31 * pi + 7 * var + seed);
				struct hw_params p = hw_eval;
				p.season = S;
				p.history = 0;
				struct det_verdict v;
				hw_init(hw_st, &p);
				for (int t = 0; t < n; t++) {
					double pred = NAN, lo, hi;
					if (hw_forecast(hw_st, &p, 1, &pred, &lo, &hi) < 0)
						pred = NAN;
					hw_update(hw_st, &p, mase_y[t], 0, &v);
					if (t >= (int)S && t < train) {
						ae_in += fabs(mase_y[t] - mase_y[t - S]);
						ni++;
					}
					if (t >= train) {
						ae_hw += fabs(mase_y[t] - pred);
						ae_sn += fabs(mase_y[t] - mase_y[t - S]);
						nt++;
					}
				}
			}
			double mh = ae_hw / nt, ms = ae_sn / nt, mi = ae_in / ni;
			printf("%-6u %-7s %9.3f %9.3f %9.3f %9.3f\n", S, vname[var], mh, ms, mh / ms, mh / mi);
			all_rel += mh / ms;
			all_cls += mh / mi;
			cnt++;
		}
	printf("%-6s %-7s %9s %9s %9.3f %9.3f  (mean over the rows)\n\n", "ALL", "", "", "",
	       all_rel / cnt, all_cls / cnt);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	char err[128];
	zs_params_default(&zs_eval);
	hw_params_default(&hw_eval);
	int pos = 0;
	for (int a = 1; a < argc; a++) {
		if (strncmp(argv[a], "hw.", 3) == 0) {
			if (hw_set(&hw_eval, argv[a] + 3) < 0) {
				fprintf(stderr, "bench_detectors: unknown %s\n", argv[a]);
				return 2;
			}
			continue;
		}
		pos++;
		if (pos == 1)
			zs_eval.warning = atof(argv[a]);
		else if (pos == 2)
			zs_eval.exclude = atoi(argv[a]);
		else if (pos == 3)
			zs_eval.window = (unsigned)atoi(argv[a]);
	}
	if (zs_eval.critical < zs_eval.warning)
		zs_eval.critical = zs_eval.warning;
	if (hw_eval.critical < hw_eval.band)
		hw_eval.critical = hw_eval.band;
	if (zs_params_check(&zs_eval, err, sizeof err) < 0 ||
	    hw_params_check(&hw_eval, err, sizeof err) < 0) {
		fprintf(stderr, "bench_detectors: %s\n", err);
		return 2;
	}

	static struct series s;
	static unsigned char alerts[LEN];
	const char *names[] = { "zscore", "forecast", "forecast(S=144)", "deviation(N=1,200%)",
				"average(N=10,100%)" };
	run_fn fns[] = { run_zscore, run_forecast, run_forecast_s144, run_deviation, run_average };
	const int ndet = (int)(sizeof fns / sizeof fns[0]);
	const int seeds = 5;

	printf("%-22s %-13s %7s %5s %5s %6s %7s\n", "detector", "series", "NAB", "prec", "rec", "FP", "delay");
	for (int d = 0; d < ndet; d++) {
		struct score all = { 0 };
		for (int kind = 0; kind < SERIES_KINDS; kind++) {
			struct score sc = { 0 };
			for (int seed = 0; seed < seeds; seed++) {
				make_series(&s, kind, 1000 + 17 * kind + seed);
				fns[d](&s, alerts);
				score_series(&s, alerts, &sc);
			}
			double nab = 100 * (sc.raw - sc.null_) / (sc.perfect - sc.null_);
			double prec = sc.detected + sc.fp ? (double)sc.detected / (sc.detected + sc.fp) : 0;
			printf("%-22s %-13s %7.1f %5.2f %5.2f %6d %7.1f\n", names[d], s.name, nab, prec,
			       (double)sc.detected / sc.windows, sc.fp,
			       sc.detected ? sc.delay_sum / sc.detected : NAN);
			all.raw += sc.raw;
			all.perfect += sc.perfect;
			all.null_ += sc.null_;
			all.windows += sc.windows;
			all.detected += sc.detected;
			all.fp += sc.fp;
			all.delay_sum += sc.delay_sum;
		}
		double nab = 100 * (all.raw - all.null_) / (all.perfect - all.null_);
		double prec = all.detected + all.fp ? (double)all.detected / (all.detected + all.fp) : 0;
		printf("%-22s %-13s %7.1f %5.2f %5.2f %6d %7.1f\n\n", names[d], "ALL", nab, prec,
		       (double)all.detected / all.windows, all.fp,
		       all.detected ? all.delay_sum / all.detected : NAN);
	}

	mase_eval();

	/* Throughput: 10000 (series, field) states at defaults, updated round-robin. */
	struct zs_params p;
	zs_params_default(&p);
	size_t sz = zs_state_size(&p);
	const int nstates = 10000, rounds = 300;
	unsigned char *states = aligned_alloc(64, ((sz * nstates + 63) / 64) * 64);
	if (!states)
		return 1;
	for (int k = 0; k < nstates; k++)
		zs_init(states + k * sz, &p);
	rng_state = 3;
	struct det_verdict v;
	double sink = 0, t0 = now_s();
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < nstates; k++) {
			zs_update(states + k * sz, &p, 100 + (double)(rnd() % 1000) * 0.01, 0, &v);
			sink += v.score;
		}
	double dt = now_s() - t0;
	printf("zscore throughput: %.2f M updates/s (state %zu bytes, window %u, %d states; sink %g)\n",
	       (double)nstates * rounds / dt / 1e6, sz, p.window, nstates, sink > 0 ? 1.0 : 0.0);
	free(states);

	struct hw_params hp = hw_eval;
	sz = hw_state_size(&hp);
	states = aligned_alloc(64, ((sz * nstates + 63) / 64) * 64);
	if (!states)
		return 1;
	for (int k = 0; k < nstates; k++)
		hw_init(states + k * sz, &hp);
	rng_state = 3;
	sink = 0;
	t0 = now_s();
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < nstates; k++) {
			hw_update(states + k * sz, &hp, 100 + (double)(rnd() % 1000) * 0.01, 0, &v);
			sink += v.score;
		}
	dt = now_s() - t0;
	printf("forecast throughput: %.2f M updates/s (state %zu bytes, season %u, %d states; sink %g)\n",
	       (double)nstates * rounds / dt / 1e6, sz, hp.season, nstates, sink > 0 ? 1.0 : 0.0);
	free(states);

	hp.season = 144;
	hp.history = 0;
	sz = hw_state_size(&hp);
	const int nst2 = 1000, rounds2 = 3000;
	states = aligned_alloc(64, ((sz * nst2 + 63) / 64) * 64);
	if (!states)
		return 1;
	for (int k = 0; k < nst2; k++)
		hw_init(states + k * sz, &hp);
	sink = 0;
	t0 = now_s();
	for (int r = 0; r < rounds2; r++)
		for (int k = 0; k < nst2; k++) {
			hw_update(states + k * sz, &hp, 100 + 40 * sin(2 * M_PI * r / 144) +
				  (double)(rnd() % 1000) * 0.01, 0, &v);
			sink += v.score;
		}
	dt = now_s() - t0;
	printf("forecast throughput: %.2f M updates/s (state %zu bytes, season %u, %d states; sink %g)\n",
	       (double)nst2 * rounds2 / dt / 1e6, sz, hp.season, nst2, sink > 0 ? 1.0 : 0.0);
	free(states);
	return 0;
}
