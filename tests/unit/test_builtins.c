/*
 * test_builtins.c — cmocka tests for the built-in analyzer executables
 * ringflow-threshold, -deviation, -average, -forecast, and the history hook
 * they share with ringflow-zscore (analyze/builtin_history.c). As in
 * test_builtin.c, each main file is compiled in with main renamed, and run
 * in a child process with stdin a pipe (fed by a thread) and stdout/stderr
 * temporary files, as the host runs it.
 *
 * Inputs are crafted multi-series windows; every expected alert and
 * forecast is worked out by hand in the comments from the detectors'
 * documented rules (threshold.h, deviation.h, average.h, pct_band.h,
 * holtwinters.h), not taken from what the programs printed.
 *
 * The history test needs /usr/bin/influxd (Debian package influxdb): it
 * starts a private one through tests/lib/influxd.sh and is skipped, with a
 * message, when the binary is absent.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/builtin.h"
#include "pipeline/lineproto_parse.h"

/* The executables under test, main renamed. */
#define main ringflow_threshold_main
#include "analyze/ringflow_threshold_main.c"
#undef main
#define main ringflow_deviation_main
#include "analyze/ringflow_deviation_main.c"
#undef main
#define main ringflow_average_main
#include "analyze/ringflow_average_main.c"
#undef main
#define main ringflow_forecast_main
#include "analyze/ringflow_forecast_main.c"
#undef main
#define main ringflow_zscore_main
#include "analyze/ringflow_zscore_main.c"
#undef main

typedef int (*main_fn)(int, char **);

#define T0 1700000000000000000LL
#define STEP 60000000000LL

/* ---- input ---- */

struct text {
	char *s;
	size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		assert_non_null(t->s);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* Two series, c=DE and c=FR, one field bytes; value(w, s) (s 0 = DE, 1 =
 * FR), NaN = the series is absent from that window. Windows first .. first
 * + n - 1, start T0 + w * STEP, rule r1, measurement traffic. */
typedef double (*value_fn)(int w, int s);

static void gen(struct text *t, int first, int n, value_fn f, const char *rule)
{
	static const char *const names[2] = { "DE", "FR" };
	for (int w = first; w < first + n; w++) {
		long long s = T0 + w * STEP;
		put(t, "# window rule=%s measurement=traffic start=%lld end=%lld\n", rule, s, s + STEP);
		for (int i = 0; i < 2; i++) {
			double v = f(w, i);
			if (!isnan(v))
				put(t, "traffic,c=%s bytes=%.17g %lld\n", names[i], v, s);
		}
		put(t, "# end\n");
	}
}

struct feeder {
	pthread_t th;
	int fd;
	const struct text *t;
};

static void *feed_main(void *arg)
{
	struct feeder *f = arg;
	for (size_t off = 0; off < f->t->len;) {
		ssize_t n = write(f->fd, f->t->s + off, f->t->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

/* ---- output ---- */

struct alert {
	char severity[16], c[8], field[16], rule[32];
	int window;
	double value, expected, lower, upper, score;
};

struct fcpt {
	char c[8], field[16];
	int64_t time_ns;
	double pred, lower, upper;
};

#define MAX_ALERTS 64
#define MAX_FC 4096

struct result {
	int exit_code, n, nfc, others;
	struct alert a[MAX_ALERTS];
	struct fcpt *fc;           /* MAX_FC */
	char *out, *err;           /* stdout and stderr, whole */
};

static double num(const struct lp_point *pt, const char *k)
{
	for (int i = 0; i < pt->nfields; i++)
		if (!strcmp(pt->fields[i].key.p, k)) {
			assert_int_equal(pt->fields[i].type, LP_FLOAT);
			return pt->fields[i].v.f;
		}
	return NAN;
}

static void copy_tag(const struct lp_point *pt, const char *k, char *dst, size_t n)
{
	dst[0] = '\0';
	for (int i = 0; i < pt->ntags; i++)
		if (!strcmp(pt->tags[i].key.p, k))
			snprintf(dst, n, "%s", pt->tags[i].val.p);
}

static char *slurp(FILE *f)
{
	fflush(f);
	off_t end = lseek(fileno(f), 0, SEEK_END);
	char *s = malloc((size_t)end + 1);
	assert_non_null(s);
	assert_int_equal(pread(fileno(f), s, (size_t)end, 0), end);
	s[end] = '\0';
	return s;
}

static void parse_output(struct result *r)
{
	struct lp_point *pt = malloc(sizeof *pt);
	char err[200];
	for (char *line = r->out, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		int rc = lp_parse(line, (size_t)(nl - line), pt, err, sizeof err);
		if (rc != 0)
			fail_msg("output line %.*s: %s", (int)(nl - line), line, err);
		assert_int_equal(pt->has_time, 1);
		if (!strcmp(pt->measurement.p, "traffic_forecast")) {
			assert_true(r->nfc < MAX_FC);
			struct fcpt *f = &r->fc[r->nfc++];
			assert_int_equal(pt->ntags, 2);  /* c field */
			copy_tag(pt, "c", f->c, sizeof f->c);
			copy_tag(pt, "field", f->field, sizeof f->field);
			f->time_ns = pt->time_ns;
			f->pred = num(pt, "prediction");
			f->lower = num(pt, "lower");
			f->upper = num(pt, "upper");
			assert_int_equal(pt->nfields, 3);
			continue;
		}
		if (strcmp(pt->measurement.p, "alert") != 0) {
			r->others++;
			continue;
		}
		assert_true(r->n < MAX_ALERTS);
		struct alert *a = &r->a[r->n++];
		copy_tag(pt, "severity", a->severity, sizeof a->severity);
		copy_tag(pt, "c", a->c, sizeof a->c);
		copy_tag(pt, "field", a->field, sizeof a->field);
		copy_tag(pt, "rule", a->rule, sizeof a->rule);
		assert_int_equal(pt->ntags, 4);  /* rule field severity c */
		assert_int_equal((pt->time_ns - T0) % STEP, 0);
		a->window = (int)((pt->time_ns - T0) / STEP);
		a->value = num(pt, "value");
		a->expected = num(pt, "expected");
		a->lower = num(pt, "lower");
		a->upper = num(pt, "upper");
		a->score = num(pt, "score");
	}
	free(pt);
}

/* How the child's environment is set: history from influx_url/db, or none. */
struct env {
	const char *influx_url, *influx_db;
};

/* fn(NAME, args...) over input t in a child; stdout parsed unless raw. */
static void run(main_fn fn, const char *name, const char *const *args, const struct text *t,
		const struct env *env, int raw, struct result *r)
{
	struct fcpt *keep = r->fc;
	free(r->out);  /* a struct result is reused run after run */
	free(r->err);
	memset(r, 0, sizeof *r);
	r->fc = keep ? keep : malloc(MAX_FC * sizeof *r->fc);
	assert_non_null(r->fc);
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)name;
	for (; args && args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	FILE *out = tmpfile(), *err = tmpfile();
	assert_non_null(out);
	assert_non_null(err);
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		signal(SIGPIPE, SIG_DFL);
		unsetenv("RINGFLOW_INFLUX_URL");
		unsetenv("RINGFLOW_INFLUX_DB");
		unsetenv("RINGFLOW_INFLUX_TOKEN");
		if (env && env->influx_url)
			setenv("RINGFLOW_INFLUX_URL", env->influx_url, 1);
		if (env && env->influx_db)
			setenv("RINGFLOW_INFLUX_DB", env->influx_db, 1);
		if (dup2(p[0], 0) < 0 || dup2(fileno(out), 1) < 0 || dup2(fileno(err), 2) < 0)
			_exit(99);
		int rc = fn(argc, argv);
		fflush(NULL);  /* as exit() would: --help writes through stdio */
		_exit(rc);
	}
	close(p[0]);
	struct feeder f = { .fd = p[1], .t = t };
	assert_int_equal(pthread_create(&f.th, NULL, feed_main, &f), 0);
	pthread_join(f.th, NULL);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r->exit_code = WEXITSTATUS(st);
	r->out = slurp(out);
	r->err = slurp(err);
	fclose(out);
	fclose(err);
	if (!raw)
		parse_output(r);
}

static void result_free(struct result *r)
{
	free(r->fc);
	free(r->out);
	free(r->err);
	r->fc = NULL;
	r->out = r->err = NULL;
}

static void near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static void alert_is(const struct alert *a, const char *sev, const char *c, int window)
{
	if (strcmp(a->severity, sev) != 0 || strcmp(a->c, c) != 0 || a->window != window)
		fail_msg("alert %s c=%s window %d, want %s c=%s window %d", a->severity, a->c, a->window, sev,
			 c, window);
	assert_string_equal(a->field, "bytes");
	assert_string_equal(a->rule, "r1");
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- threshold ---- */

/* DE 100 throughout; FR 50, but 10 at windows 3-4 and 0 (a dead link) at
 * 5-7, 50 again from 8. */
static double th_val(int w, int s)
{
	if (s == 0)
		return 100;
	return w == 3 || w == 4 ? 10 : w >= 5 && w <= 7 ? 0 : 50;
}

/*
 * No args: the implicit limit critical_low = 0 (value <= 0). 10 is above
 * it: nothing at 3-4. 0 at 5: critical (score 0 - 0 = 0, unscaled for a
 * zero limit; no expected, no band). Calm = value > 0 + 0.05 * 0: 50 at 8
 * is calm, clear_windows 1: ok at 8. DE never.
 *
 * --warning-low 20 --critical-low 5: 10 at 3 <= 20: warning, score (10 -
 * 20) / 20 = -0.5, lower = 20 (the warning limit), upper unset; 0 at 5 <=
 * 5: critical (escalation), score (0 - 5) / 5 = -1; 50 at 8 > 20 + 0.05 *
 * 20 = 21: calm, ok at 8.
 */
static void threshold_dead_link(void **state)
{
	struct text t = { 0 };
	gen(&t, 0, 10, th_val, "r1");
	struct result r = { 0 };
	run(ringflow_threshold_main, "ringflow-threshold", NULL, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.others + r.nfc, 0);
	assert_int_equal(r.n, 2);
	alert_is(&r.a[0], "critical", "FR", 5);
	near(r.a[0].value, 0, 0);
	near(r.a[0].score, 0, 0);
	assert_true(isnan(r.a[0].expected) && isnan(r.a[0].lower) && isnan(r.a[0].upper));
	alert_is(&r.a[1], "ok", "FR", 8);
	near(r.a[1].value, 50, 0);
	/* a threshold keeps no history: nothing to load, nothing said */
	assert_int_equal(count(r.err, "starting empty"), 0);

	static const char *const lim[] = { "--warning-low", "20", "--critical-low=5", NULL };
	run(ringflow_threshold_main, "ringflow-threshold", lim, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.n, 3);
	alert_is(&r.a[0], "warning", "FR", 3);
	near(r.a[0].score, -0.5, 1e-12);
	near(r.a[0].lower, 20, 0);
	assert_true(isnan(r.a[0].upper));
	alert_is(&r.a[1], "critical", "FR", 5);
	near(r.a[1].score, -1, 1e-12);
	alert_is(&r.a[2], "ok", "FR", 8);
	result_free(&r);
	free(t.s);
}

/* ---- deviation ---- */

/* DE 100 up to window 5, doubled to 200 from 6; FR 40 throughout. */
static double dev_val(int w, int s)
{
	return s == 1 ? 40 : w < 6 ? 100 : 200;
}

/*
 * --percent 50 --windows 1: window 6 against window 5's 100: band 100 -+
 * 50 = [50, 150], critical band 100 -+ 100 = [0, 200] (edges inside): 200
 * is a warning; expected 100, score (200 - 100) / 100 = 1. From 7 the
 * reference is 200 and the value 200: calm; clear_windows 3: ok at 9
 * (expected 200). FR never changes. Default percent 100: 200 is on the
 * band's edge, inside: nothing.
 */
static void deviation_doubling(void **state)
{
	struct text t = { 0 };
	gen(&t, 0, 12, dev_val, "r1");
	struct result r = { 0 };
	static const char *const args[] = { "--percent", "50", "--windows", "1", NULL };
	run(ringflow_deviation_main, "ringflow-deviation", args, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.others + r.nfc, 0);
	assert_int_equal(r.n, 2);
	alert_is(&r.a[0], "warning", "DE", 6);
	near(r.a[0].value, 200, 0);
	near(r.a[0].expected, 100, 1e-12);
	near(r.a[0].lower, 50, 1e-12);
	near(r.a[0].upper, 150, 1e-12);
	near(r.a[0].score, 1, 1e-12);
	alert_is(&r.a[1], "ok", "DE", 9);
	near(r.a[1].expected, 200, 1e-12);
	/* no InfluxDB in the environment: said once, then it starts empty */
	assert_int_equal(count(r.err, "starting empty"), 1);

	run(ringflow_deviation_main, "ringflow-deviation", NULL, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.n, 0);
	result_free(&r);
	free(t.s);
}

/* ---- average ---- */

/* DE 90, 110, 90, 110, ... (mean 100 over any 4) up to window 7, 200 from
 * 8; FR 40 throughout. */
static double avg_val(int w, int s)
{
	if (s == 1)
		return 40;
	return w >= 8 ? 200 : (w % 2 ? 110 : 90);
}

/*
 * --percent 50 --windows 4 (clear_windows 3):
 *   w8:  mean(w4..w7) = (90+110+90+110)/4 = 100: band [50, 150], critical
 *        [0, 200]: 200 is a warning; expected 100, score 1.
 *   w9:  mean(110, 90, 110, 200) = 127.5: band [63.75, 191.25]: 200 is
 *        outside (still a warning, no alert; not calm).
 *   w10: mean(90, 110, 200, 200) = 150: band [75, 225]: calm 1.
 *   w11: mean(110, 200, 200, 200) = 177.5: calm 2.
 *   w12: mean 200: calm 3 -> ok at 12, expected 200.
 * w0..w3 are silent (fewer than 4 values before them).
 */
static void average_doubling(void **state)
{
	struct text t = { 0 };
	gen(&t, 0, 14, avg_val, "r1");
	struct result r = { 0 };
	static const char *const args[] = { "--percent", "50", "--windows", "4", NULL };
	run(ringflow_average_main, "ringflow-average", args, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.others + r.nfc, 0);
	assert_int_equal(r.n, 2);
	alert_is(&r.a[0], "warning", "DE", 8);
	near(r.a[0].value, 200, 0);
	near(r.a[0].expected, 100, 1e-12);
	near(r.a[0].lower, 50, 1e-12);
	near(r.a[0].upper, 150, 1e-12);
	near(r.a[0].score, 1, 1e-12);
	alert_is(&r.a[1], "ok", "DE", 12);
	near(r.a[1].expected, 200, 1e-12);

	/* --windows 2 (--history is the same knob; the last one wins): at w8
	 * the mean of w6, w7 is 100 as well, the same warning; w9: mean(110,
	 * 200) = 155, band [77.5, 232.5]: calm 1; w10, w11 mean 200: calm 2,
	 * 3 -> ok at 11. */
	static const char *const two[] = { "--percent", "50", "--history", "9", "--windows", "2", NULL };
	run(ringflow_average_main, "ringflow-average", two, &t, NULL, 0, &r);
	assert_int_equal(r.n, 2);
	alert_is(&r.a[0], "warning", "DE", 8);
	alert_is(&r.a[1], "ok", "DE", 11);
	result_free(&r);
	free(t.s);
}

/* ---- forecast ---- */

#define FC_SPIKE 32
#define FC_N 40

static double fc_line(int w, int s) { return s == 0 ? 1000 + 10.0 * w : 500 - 2.5 * w; }

/* DE and FR exact lines; DE 5000 at FC_SPIKE. */
static double fc_val(int w, int s)
{
	return s == 0 && w == FC_SPIKE ? 5000 : fc_line(w, s);
}

/*
 * Defaults (no season, horizon 3, min_history 24, band 5.5, critical 12).
 * The first fit runs in window 23's update (24 values): the least-squares
 * line over an exact line is the line, so every one-step forecast is exact
 * whatever alpha and beta are, and the forecast written after window w for
 * k = 1..3 is the line at w + k, at time T0 + (w + k) * STEP (tumbling
 * windows: the step is end - start = the gap between starts). So windows
 * 23..39 each write 2 series x 3 points, in input order (DE then FR), k
 * ascending: 17 * 6 = 102 points.
 * The residual scale of an exact line is 0, floored at 1e-9 * |level| +
 * 1e-12, so 5000 against 1320 at window 32 is far beyond critical 12: one
 * critical alert, expected 1320. Inside the episode the state follows its
 * own forecast, so the line goes on unchanged (the forecasts after 32 are
 * still the line) and windows 33, 34, 35 are calm: ok at 35.
 */
static void forecast_line_and_spike(void **state)
{
	struct text t = { 0 };
	gen(&t, 0, FC_N, fc_val, "r1");
	struct result r = { 0 };
	run(ringflow_forecast_main, "ringflow-forecast", NULL, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.others, 0);
	assert_int_equal(r.n, 2);
	alert_is(&r.a[0], "critical", "DE", FC_SPIKE);
	near(r.a[0].value, 5000, 0);
	near(r.a[0].expected, 1000 + 10.0 * FC_SPIKE, 1e-6);
	assert_true(r.a[0].lower <= r.a[0].expected && r.a[0].expected <= r.a[0].upper);
	assert_true(r.a[0].score > 12);
	alert_is(&r.a[1], "ok", "DE", FC_SPIKE + 3);

	const int first = 23, H = 3;
	assert_int_equal(r.nfc, (FC_N - first) * 2 * H);
	int i = 0;
	for (int w = first; w < FC_N; w++)
		for (int s = 0; s < 2; s++)
			for (int k = 1; k <= H; k++, i++) {
				const struct fcpt *f = &r.fc[i];
				assert_string_equal(f->c, s ? "FR" : "DE");
				assert_string_equal(f->field, "bytes");
				if (f->time_ns != T0 + (w + k) * STEP)
					fail_msg("forecast %d: time %" PRId64 ", want window %d", i, f->time_ns,
						 w + k);
				near(f->pred, fc_line(w + k, s), 1e-6);
				assert_true(f->lower <= f->pred && f->pred <= f->upper);
				assert_true(f->upper - f->lower < 1e-3);
			}

	/* --horizon 1 --min-history 10: the first fit at window 9, then one
	 * point per series and window: (40 - 9) * 2. */
	static const char *const h1[] = { "--horizon", "1", "--min-history", "10", NULL };
	run(ringflow_forecast_main, "ringflow-forecast", h1, &t, NULL, 0, &r);
	assert_int_equal(r.nfc, (FC_N - 9) * 2);
	near(r.fc[0].pred, fc_line(10, 0), 1e-6);
	assert_true(r.fc[0].time_ns == T0 + 10 * STEP);
	result_free(&r);
	free(t.s);
}

/* Hopping windows (length 2 steps, starting every step): the step is
 * end - start (2) until a second window is seen, then the gap between
 * starts (1). With --min-history 4 the first fit is at window 3, after the
 * gap has been seen: forecasts at T0 + (3 + k) * STEP. */
static void forecast_hopping_step(void **state)
{
	struct text t = { 0 };
	for (int w = 0; w < 5; w++) {
		long long s = T0 + w * STEP;
		put(&t, "# window rule=r1 measurement=traffic start=%lld end=%lld\n", s, s + 2 * STEP);
		put(&t, "traffic,c=DE bytes=%.17g %lld\n# end\n", fc_line(w, 0), s);
	}
	struct result r = { 0 };
	static const char *const args[] = { "--min-history", "4", "--horizon", "2", NULL };
	run(ringflow_forecast_main, "ringflow-forecast", args, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.nfc, 4);  /* windows 3 and 4, 2 each */
	assert_true(r.fc[0].time_ns == T0 + 4 * STEP);
	assert_true(r.fc[1].time_ns == T0 + 5 * STEP);
	assert_true(r.fc[3].time_ns == T0 + 6 * STEP);
	near(r.fc[3].pred, fc_line(6, 0), 1e-6);
	result_free(&r);
	free(t.s);
}

/* ---- --help, bad options ---- */

struct exe {
	main_fn fn;
	const char *name;
	const char *const *opts;       /* each must be in --help */
	const char *const (*bad)[5];   /* each must exit 78 */
	size_t nbad;
};

static const char *const th_opts[] = { "--warning-high", "--critical-high", "--warning-low", "--critical-low",
				       "--hysteresis", "--clear-windows", NULL };
static const char *const pb_opts[] = { "--windows", "--percent", "--critical-percent", "--clear-windows", NULL };
static const char *const fc_opts[] = { "--season", "--horizon", "--band", "--critical", "--history",
				       "--min-history", "--clip", "--relearn", "--no-exclude", NULL };
static const char *const th_bad[][5] = {
	{ "--warning-high", "10", "--critical-high", "5", NULL },  /* critical below warning */
	{ "--hysteresis", "1.5", NULL },
	{ "--history", "5", NULL },                                /* keeps none */
	{ "--clear-windows", "0", NULL },
	{ "--warning-low", "x", NULL },
};
static const char *const pb_bad[][5] = {
	{ "--windows", "0", NULL },
	{ "--windows", "121", NULL },
	{ "--percent", "-1", NULL },
	{ "--percent", "50", "--critical-percent", "10", NULL },
	{ "--history", "500", NULL },
	{ "--percent", NULL },
};
static const char *const fc_bad[][5] = {
	{ "--horizon", "0", NULL },
	{ "--horizon", "65", NULL },
	{ "--band", "0", NULL },
	{ "--critical", "3", NULL },                               /* below band 5.5 */
	{ "--season", "40", "--history", "64", NULL },             /* history < 3 * season */
	{ "--clip", "-1", NULL },
	{ "--no-exclude=1", NULL },
};

static void help_and_bad_options(void **state)
{
	const struct exe exes[] = {
		{ ringflow_threshold_main, "ringflow-threshold", th_opts, th_bad, sizeof th_bad / sizeof th_bad[0] },
		{ ringflow_deviation_main, "ringflow-deviation", pb_opts, pb_bad, sizeof pb_bad / sizeof pb_bad[0] },
		{ ringflow_average_main, "ringflow-average", pb_opts, pb_bad, sizeof pb_bad / sizeof pb_bad[0] },
		{ ringflow_forecast_main, "ringflow-forecast", fc_opts, fc_bad, sizeof fc_bad / sizeof fc_bad[0] },
	};
	struct text t = { 0 };
	gen(&t, 0, 3, dev_val, "r1");
	struct result r = { 0 };
	static const char *const help[] = { "--help", NULL };
	for (size_t e = 0; e < sizeof exes / sizeof exes[0]; e++) {
		run(exes[e].fn, exes[e].name, help, &t, NULL, 1, &r);
		assert_int_equal(r.exit_code, 0);
		assert_non_null(strstr(r.out, exes[e].name));
		assert_non_null(strstr(r.out, "--field"));
		for (int i = 0; exes[e].opts[i]; i++)
			if (!strstr(r.out, exes[e].opts[i]))
				fail_msg("%s --help: no %s", exes[e].name, exes[e].opts[i]);
		for (size_t i = 0; i < exes[e].nbad; i++) {
			run(exes[e].fn, exes[e].name, exes[e].bad[i], &t, NULL, 1, &r);
			if (r.exit_code != 78)
				fail_msg("%s %s: exit %d", exes[e].name, exes[e].bad[i][0], r.exit_code);
			assert_string_equal(r.out, "");
		}
	}
	result_free(&r);
	free(t.s);
}

/* ---- history ---- */

/* zscore's input: DE 98 100 102 99 101 repeating (median 100, MAD 1, see
 * test_builtin.c), FR the same around 50; DE 1000 at window 30. */
static double zs_val(int w, int s)
{
	if (s == 0 && w == 30)
		return 1000;
	return (s ? 50 : 100) + (w * 7) % 5 - 2;
}

/*
 * Without InfluxDB: two rules, one window each with the DE spike. zscore
 * needs 12 values before it speaks, so nothing; "starting empty" once for
 * the process, not once per rule. With an address nobody listens on: the
 * same, the reason being the connection.
 */
static void history_absent(void **state)
{
	struct text t = { 0 };
	gen(&t, 30, 1, zs_val, "r1");
	gen(&t, 30, 1, zs_val, "r2");
	struct result r = { 0 };
	run(ringflow_zscore_main, "ringflow-zscore", NULL, &t, NULL, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(count(r.err, "starting empty"), 1);
	assert_non_null(strstr(r.err, "RINGFLOW_INFLUX_URL"));

	/* port 1 on loopback: refused at once */
	const struct env dead = { .influx_url = "http://127.0.0.1:1", .influx_db = "x" };
	run(ringflow_zscore_main, "ringflow-zscore", NULL, &t, &dead, 0, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(count(r.err, "starting empty"), 1);
	assert_non_null(strstr(r.err, "127.0.0.1:1"));
	result_free(&r);
	free(t.s);
}

static char root[512] = ".";
static int have_influxd;
static struct { char dir[256]; int port, pid; } srv;

/* bash -c CMD with tests/lib/influxd.sh sourced; stdout into out. */
static int sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048], full[3072];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "bash -c 'cd \"%s\" && source tests/lib/influxd.sh && %s'", root, cmd);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	char sink[256];
	if (out && outlen) {
		size_t n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	}
	while (fread(sink, 1, sizeof sink, p) > 0)
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int group_setup(void **state)
{
	/* a child that exits before reading its input (--help, bad options)
	 * must give the feeder EPIPE, not kill the test */
	signal(SIGPIPE, SIG_IGN);
	const char *r = getenv("RINGFLOW_ROOT");
	if (r) {
		snprintf(root, sizeof root, "%s", r);
	} else if (access("tests/lib/influxd.sh", R_OK) != 0) {
		/* the binary lives in build/<mode>/tests/, three below the root */
		char exe[400];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = '\0';
			snprintf(root, sizeof root, "%s/../../..", dirname(exe));
		}
	}
	have_influxd = access("/usr/bin/influxd", X_OK) == 0;
	return 0;
}

static int group_teardown(void **state)
{
	if (srv.pid > 0)
		sh(NULL, 0, "influxd_stop %d", srv.pid);
	if (srv.dir[0])
		sh(NULL, 0, "rm -rf \"%s\"", srv.dir);
	return 0;
}

/* The body goes through a file: no shell quoting involved. */
static void influx_post(const char *path_and_args, const char *data)
{
	char path[300], out[512];
	snprintf(path, sizeof path, "%s/body", srv.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
	int rc = sh(out, sizeof out, "curl -sS -o /dev/null -w %%{http_code} -XPOST "
		    "\"http://127.0.0.1:%d%s\" --data-binary @%s", srv.port, path_and_args, path);
	if (rc != 0 || out[0] != '2')
		fail_msg("POST %s: curl exit %d, status %s", path_and_args, rc, out);
}

/*
 * 30 windows of history (0..29) of c=DE in InfluxDB, and the live input is
 * ONE window (30) with DE at 1000. zscore's history is 60 windows, so the
 * query covers windows -30..29 and gets the 30 stored values: median 100,
 * MAD 1 (test_builtin.c works it out), scale 1.4826, min_history 12 met:
 * 1000 gives score 900 / 1.4826 >= 10, critical at once. FR has no stored
 * history: silent. Without the environment the same input gives nothing
 * (history_absent). Stored as well, and not to be fed: a point at the live
 * window's own start (the query ends before it) and one of another
 * measurement; the log line's count ("30 values") shows both were left out.
 */
static void history_from_influxd(void **state)
{
	if (!have_influxd) {
		fprintf(stderr, "test_builtins: /usr/bin/influxd not found (Debian package influxdb): "
			"skipping the real-server history test\n");
		skip();
	}
	snprintf(srv.dir, sizeof srv.dir, "/tmp/rf-test-builtins-XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	char out[128];
	int rc = sh(out, sizeof out, "influxd_start %s >&2 && echo $INFLUX_PORT $INFLUX_PID", srv.dir);
	if (rc != 0 || sscanf(out, "%d %d", &srv.port, &srv.pid) != 2)
		fail_msg("influxd did not start (see %s/influxd.log)", srv.dir);
	influx_post("/query", "q=CREATE%20DATABASE%20hist");

	/* A recent minute, inside the default retention: window w starts at
	 * base + w * STEP. The test's T0 is replaced by base through gen()'s
	 * first-window offset, so base must be T0 + a whole number of steps. */
	int64_t now = (int64_t)time(NULL) * 1000000000LL;
	int64_t first = (now - 3600 * 1000000000LL - T0) / STEP;  /* window number of an hour ago */
	struct text h = { 0 };
	for (int w = 0; w < 30; w++)
		put(&h, "traffic,c=DE bytes=%g %" PRId64 "\n", zs_val(w, 0),
		    (int64_t)(T0 + (first + w) * STEP));
	put(&h, "traffic,c=DE bytes=1000 %" PRId64 "\n", (int64_t)(T0 + (first + 30) * STEP));
	put(&h, "other,c=DE bytes=1000 %" PRId64 "\n", (int64_t)(T0 + (first + 29) * STEP));
	influx_post("/write?db=hist&precision=ns", h.s);
	free(h.s);

	/* the live window: number first + 30, values of zs_val(30, s) */
	struct text t = { 0 };
	long long s = T0 + (first + 30) * STEP;
	put(&t, "# window rule=r1 measurement=traffic start=%lld end=%lld\n", s, s + STEP);
	put(&t, "traffic,c=DE bytes=1000 %lld\ntraffic,c=FR bytes=%g %lld\n# end\n", s, zs_val(30, 1), s);

	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
	const struct env env = { .influx_url = url, .influx_db = "hist" };
	struct result r = { 0 };
	run(ringflow_zscore_main, "ringflow-zscore", NULL, &t, &env, 1, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(count(r.err, "starting empty"), 0);
	assert_non_null(strstr(r.err, "30 values"));
	/* alerts carry time = the live start, not T0-based window numbers:
	 * parse by hand */
	assert_int_equal(count(r.out, "\n"), 1);
	assert_non_null(strstr(r.out, "alert,rule=r1,field=bytes,severity=critical,c=DE "));
	struct lp_point *pt = malloc(sizeof *pt);
	char err[200];
	assert_int_equal(lp_parse(r.out, strlen(r.out) - 1, pt, err, sizeof err), 0);
	assert_true(pt->time_ns == s);
	near(num(pt, "expected"), 100, 1e-9);
	near(num(pt, "score"), 900 / 1.4826, 1e-6);
	free(pt);

	/* the same window without the environment: no alert */
	run(ringflow_zscore_main, "ringflow-zscore", NULL, &t, NULL, 1, &r);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "");
	assert_int_equal(count(r.err, "starting empty"), 1);

	/* --field pkts: bytes is not looked at, so none of it is loaded */
	static const char *const pk[] = { "--field", "pkts", NULL };
	run(ringflow_zscore_main, "ringflow-zscore", pk, &t, &env, 1, &r);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, " 0 values"));
	result_free(&r);
	free(t.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threshold_dead_link),
		cmocka_unit_test(deviation_doubling),
		cmocka_unit_test(average_doubling),
		cmocka_unit_test(forecast_line_and_spike),
		cmocka_unit_test(forecast_hopping_step),
		cmocka_unit_test(help_and_bad_options),
		cmocka_unit_test(history_absent),
		cmocka_unit_test(history_from_influxd),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
