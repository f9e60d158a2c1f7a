/*
 * bench_detectors.c — evaluation of the built-in detectors on deterministic
 * synthetic series with labelled anomaly windows (spikes, level shift, drift,
 * dead link to 0, dead link as missing, daily seasonality with spikes):
 * zscore against the prototype's two baselines, run as the deviation and
 * average detectors ("deviation": value vs the value N windows earlier ±
 * percent; "average": value vs the mean of the last N ± percent), scored NAB-like (standard profile: scaled sigmoid inside a
 * window, first alert per window only, A_FP = -0.11 per alert outside,
 * -1 per missed window, normalised so no alerts = 0 and perfect = 100), with
 * precision, recall and mean detection delay; then zscore's throughput.
 * Run: build/release/bench/bench_detectors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/average.h"
#include "analyze/detector.h"
#include "analyze/deviation.h"
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

/* The prototype's baselines, as the deviation and average detectors with
 * the prototype's settings (other parameters at their defaults: critical at
 * twice the percent, an episode ends after 3 values inside the band).  The
 * prototype fired on every window where the condition held; the detectors
 * alert once per episode and once per escalation, like zscore. */
static void run_pct(const struct series *s, unsigned char *alerts, int average,
		    unsigned windows, double percent)
{
	static _Alignas(8) unsigned char st[1024];
	struct dev_params dp;
	struct avg_params ap;
	struct det_verdict v;
	dev_params_default(&dp);
	avg_params_default(&ap);
	dp.windows = ap.windows = windows;
	dp.percent = ap.percent = percent;
	if (average ? avg_state_size(&ap) > sizeof st : dev_state_size(&dp) > sizeof st)
		abort();
	if (average)
		avg_init(st, &ap);
	else
		dev_init(st, &dp);
	for (int i = 0; i < LEN; i++) {
		if (average)
			avg_update(st, &ap, s->v[i], s->missing[i], &v);
		else
			dev_update(st, &dp, s->v[i], s->missing[i], &v);
		alerts[i] = v.changed && v.severity > 0;
	}
}

static void run_deviation(const struct series *s, unsigned char *alerts)
{
	run_pct(s, alerts, 0, 1, 200);
}

static void run_average(const struct series *s, unsigned char *alerts)
{
	run_pct(s, alerts, 1, 10, 100);
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
		} else if (!seen[w]) {
			seen[w] = 1;
			sc->raw += sigmoid_tp(i, s->win_lo[w], s->win_hi[w]);
			sc->detected++;
			sc->delay_sum += i - s->win_lo[w];
		}
	}
	for (int k = 0; k < s->nwin; k++) {
		if (!seen[k])
			sc->raw -= 1;
		sc->perfect += sigmoid_tp(s->win_lo[k], s->win_lo[k], s->win_hi[k]);
		sc->null_ -= 1;
		sc->windows++;
	}
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
	if (argc > 1)
		zs_eval.warning = atof(argv[1]);
	if (zs_eval.critical < zs_eval.warning)
		zs_eval.critical = zs_eval.warning;
	if (argc > 2)
		zs_eval.exclude = atoi(argv[2]);
	if (argc > 3)
		zs_eval.window = (unsigned)atoi(argv[3]);
	if (zs_params_check(&zs_eval, err, sizeof err) < 0) {
		fprintf(stderr, "bench_detectors: %s\n", err);
		return 2;
	}

	static struct series s;
	static unsigned char alerts[LEN];
	const char *names[] = { "zscore", "deviation(N=1,200%)", "average(N=10,100%)" };
	run_fn fns[] = { run_zscore, run_deviation, run_average };
	const int seeds = 5;

	printf("%-22s %-13s %7s %5s %5s %6s %7s\n", "detector", "series", "NAB", "prec", "rec", "FP", "delay");
	for (int d = 0; d < 3; d++) {
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
	return 0;
}
