/*
 * test_builtin.c — cmocka tests for analyze/builtin.c, the shared driver of
 * the built-in analyzers, run with the real ringflow-zscore: its main file
 * is compiled into this test (main renamed), so the very descriptor and
 * main the executable has are what runs, in every build mode, without
 * looking for the binary on disk.
 *
 * Input is crafted: two series (c=DE, c=FR) whose bytes follow a fixed
 * 5-window pattern (DE: 98 100 102 99 101, FR: 48 50 52 49 51), an integer
 * field n that never changes, and a string field. The pattern's median and
 * MAD are easy by hand (below), so the expected alerts come from zscore's
 * documented rules (warning 6, critical 10, min_history 12, clear after 3
 * calm windows), not from what the program printed. Input goes through a
 * pipe from a writer thread; output into a temporary file read back with
 * lp_parse().
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/builtin.h"
#include "pipeline/lineproto_parse.h"

/* The executable under test, main renamed so it can be called here. */
#define main ringflow_zscore_main
#include "analyze/ringflow_zscore_main.c"
#undef main

#define T0 1700000000000000000LL
#define STEP 60000000000LL

/* ---- input ---- */

struct gen {
	int windows;
	int spike_from, spike_to;  /* DE bytes = 1000 in [from, to] */
	int fr_gone_from;          /* FR absent from this window on (-1: never) */
	int fr_back_at;            /* ... and back from this one (-1: never) */
	int cut_last;              /* the last window has no "# end" */
};

struct text {
	char *s;
	size_t len, cap;
};

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

static double de_bytes(int w) { return 100 + (w * 7) % 5 - 2; }
static double fr_bytes(int w) { return 50 + (w * 3) % 5 - 2; }

static void generate(struct text *t, const struct gen *g)
{
	for (int w = 0; w < g->windows; w++) {
		long long s = T0 + w * STEP;
		put(t, "# window rule=by_country measurement=traffic start=%lld end=%lld\n", s, s + STEP);
		double de = w >= g->spike_from && w <= g->spike_to ? 1000 : de_bytes(w);
		put(t, "traffic,c=DE bytes=%g,n=5i,s=\"x\" %lld\n", de, s);
		int fr = g->fr_gone_from < 0 || w < g->fr_gone_from || (g->fr_back_at >= 0 && w >= g->fr_back_at);
		if (fr)
			put(t, "traffic,c=FR bytes=%g,n=5i,s=\"x\" %lld\n", fr_bytes(w), s);
		if (!(g->cut_last && w == g->windows - 1))
			put(t, "# end\n");
	}
}

struct feeder {
	pthread_t th;
	int fd;
	struct text t;
};

static void *feed_main(void *arg)
{
	struct feeder *f = arg;
	for (size_t off = 0; off < f->t.len;) {
		ssize_t n = write(f->fd, f->t.s + off, f->t.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

/* g's input and a pipe for it; returns the read end. feed_go() starts
 * writing (after any fork: a child must not hold the write end). */
static int feed_prepare(struct feeder *f, const struct gen *g)
{
	int p[2];
	memset(f, 0, sizeof *f);
	generate(&f->t, g);
	assert_int_equal(pipe(p), 0);
	f->fd = p[1];
	return p[0];
}

static void feed_go(struct feeder *f)
{
	assert_int_equal(pthread_create(&f->th, NULL, feed_main, f), 0);
}

static void feed_done(struct feeder *f)
{
	pthread_join(f->th, NULL);
	free(f->t.s);
}

/* ---- output ---- */

struct alert {
	char severity[16], c[8], field[16], rule[32];
	int window;
	double value, expected, lower, upper, score;
};

#define MAX_ALERTS 64

struct result {
	int n, exit_code, others;
	struct alert a[MAX_ALERTS];
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

static void parse_output(int fd, struct result *r)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *s = malloc((size_t)end + 1);
	assert_int_equal(pread(fd, s, (size_t)end, 0), end);
	s[end] = '\0';
	struct lp_point *pt = malloc(sizeof *pt);
	char err[200];
	for (char *line = s, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		int rc = lp_parse(line, (size_t)(nl - line), pt, err, sizeof err);
		if (rc != 0)
			fail_msg("output line %.*s: %s", (int)(nl - line), line, err);
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
		assert_int_equal(pt->has_time, 1);
		assert_int_equal((pt->time_ns - T0) % STEP, 0);
		a->window = (int)((pt->time_ns - T0) / STEP);
		a->value = num(pt, "value");
		a->expected = num(pt, "expected");
		a->lower = num(pt, "lower");
		a->upper = num(pt, "upper");
		a->score = num(pt, "score");
		for (int i = 0; i < pt->nfields; i++)
			if (!strcmp(pt->fields[i].key.p, "message"))
				assert_int_equal(pt->fields[i].type, LP_STRING);
	}
	free(pt);
	free(s);
}

/* ringflow-zscore ARGS... on g's input, in a child process with stdin a
 * pipe and stdout a temporary file, as the host would run it. */
static void run_main(const struct gen *g, struct result *r, const char *const *args)
{
	memset(r, 0, sizeof *r);
	char *argv[32];
	int argc = 0;
	argv[argc++] = "ringflow-zscore";
	for (; args && args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	FILE *out = tmpfile();
	assert_non_null(out);
	struct feeder f;
	int in = feed_prepare(&f, g);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(f.fd);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in, 0) < 0 || dup2(fileno(out), 1) < 0)
			_exit(99);
		_exit(ringflow_zscore_main(argc, argv));
	}
	close(in);
	feed_go(&f);
	feed_done(&f);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	r->exit_code = WEXITSTATUS(st);
	parse_output(fileno(out), r);
	fclose(out);
}

static void near(double got, double want)
{
	if (!(fabs(got - want) <= 1e-9 * fabs(want) + 1e-12))
		fail_msg("got %.17g, want %.17g", got, want);
}

/* ---- tests ---- */

static const struct gen calm_spike = {
	.windows = 40, .spike_from = 30, .spike_to = 30, .fr_gone_from = -1, .fr_back_at = -1,
};

/*
 * 30 calm windows (0..29), a spike of DE at 30, calm again.
 * History at window 30: windows 0..29 of DE, six times 98 100 102 99 101:
 * median 100; deviations |v - 100| are six each of 2 0 2 1 1, i.e. 6 zeros,
 * 12 ones, 12 twos: the 15th and 16th are 1, MAD = 1, scale = 1.4826.
 * 1000: score 900 / 1.4826 = 607.04 >= 10: critical, at window 30;
 * band 100 -+ 6 * 1.4826. Windows 31, 32, 33 have |score| <= 2/1.4826 <
 * 0.6 * 6: calm, so ok at 33. FR and n (constant) never alert. Windows
 * 0..11 are silent (min_history 12).
 */
static void spike_gives_one_alert(void **state)
{
	struct result r;
	run_main(&calm_spike, &r, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.others, 0);
	assert_int_equal(r.n, 2);
	struct alert *a = &r.a[0];
	assert_string_equal(a->severity, "critical");
	assert_string_equal(a->rule, "by_country");
	assert_string_equal(a->c, "DE");
	assert_string_equal(a->field, "bytes");
	assert_int_equal(a->window, 30);
	near(a->value, 1000);
	near(a->expected, 100);
	near(a->lower, 100 - 6 * 1.4826);
	near(a->upper, 100 + 6 * 1.4826);
	near(a->score, 900 / 1.4826);
	a = &r.a[1];
	assert_string_equal(a->severity, "ok");
	assert_string_equal(a->c, "DE");
	assert_string_equal(a->field, "bytes");
	assert_int_equal(a->window, 33);
	near(a->value, de_bytes(33));
}

/* Spike over 30..32: without --repeat one critical and the ok at 35 (calm
 * from 33: 33, 34, 35); with it, every window of the episode (30..34). */
static void repeat_alerts_every_window(void **state)
{
	struct gen g = calm_spike;
	g.spike_to = 32;
	struct result r;
	run_main(&g, &r, NULL);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.a[0].window, 30);
	assert_string_equal(r.a[0].severity, "critical");
	assert_int_equal(r.a[1].window, 35);
	assert_string_equal(r.a[1].severity, "ok");

	static const char *const args[] = { "--repeat", NULL };
	run_main(&g, &r, args);
	assert_int_equal(r.n, 6);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r.a[i].window, 30 + i);
		assert_string_equal(r.a[i].severity, "critical");
		assert_string_equal(r.a[i].c, "DE");
	}
	assert_int_equal(r.a[5].window, 35);
	assert_string_equal(r.a[5].severity, "ok");
}

/*
 * FR stops at window 35 (no spike). Default: absence is "missing", no
 * alert. --missing-as-zero: FR bytes and n are 0 at 35: bytes history
 * median 50, MAD 1 (same pattern shape) -> score -50/1.4826: critical; n is
 * constant 5 (scale = 1e-9 * 5 + 1e-12): critical too. --field bytes: only
 * the bytes one. The alert's tags come from the stored series (c=FR).
 */
static void missing_as_zero(void **state)
{
	struct gen g = { .windows = 38, .spike_from = -1, .spike_to = -1, .fr_gone_from = 35, .fr_back_at = -1 };
	struct result r;
	run_main(&g, &r, NULL);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.n, 0);

	static const char *const zero[] = { "--missing-as-zero", NULL };
	run_main(&g, &r, zero);
	assert_int_equal(r.n, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(r.a[i].c, "FR");
		assert_string_equal(r.a[i].severity, "critical");
		assert_int_equal(r.a[i].window, 35);
		near(r.a[i].value, 0);
	}
	/* Both fields, in either order. */
	assert_true((!strcmp(r.a[0].field, "bytes") && !strcmp(r.a[1].field, "n")) ||
		    (!strcmp(r.a[0].field, "n") && !strcmp(r.a[1].field, "bytes")));
	int ib = !strcmp(r.a[0].field, "bytes") ? 0 : 1;
	near(r.a[ib].expected, 50);
	near(r.a[ib].score, -50 / 1.4826);

	static const char *const zero_bytes[] = { "--missing-as-zero", "--field", "bytes", NULL };
	run_main(&g, &r, zero_bytes);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.a[0].field, "bytes");
	assert_string_equal(r.a[0].c, "FR");

	/* --forget 1: FR is dropped at its first absent window, before it
	 * could count as 0: nothing to alert. */
	static const char *const forget[] = { "--missing-as-zero", "--forget=1", NULL };
	run_main(&g, &r, forget);
	assert_int_equal(r.n, 0);
}

static void bad_options_exit_78(void **state)
{
	static const char *const cases[][4] = {
		{ "--window", "1", NULL },            /* below 2 */
		{ "--warning", "abc", NULL },
		{ "--warning", "8", "--critical", "7" }, /* critical < warning: check() */
		{ "--field", NULL },
		{ "--repeat=1", NULL },
		{ "positional", NULL },
		{ "--nope", NULL },
		{ "--forget", "0", NULL },
		{ "--history", "-3", NULL },
		{ "--field", "--repeat", NULL },      /* a missing name, not "--repeat" */
		{ "--window", "--warning", "5", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct result r;
		const char *args[5] = { 0 };
		for (int j = 0; j < 4 && cases[i][j]; j++)
			args[j] = cases[i][j];
		run_main(&calm_spike, &r, args);
		if (r.exit_code != 78)
			fail_msg("case %zu (%s): exit %d", i, args[0], r.exit_code);
		assert_int_equal(r.n, 0);
	}
	static const char *const help[] = { "--help", NULL };
	struct result r;
	run_main(&calm_spike, &r, help);
	assert_int_equal(r.exit_code, 0);
}

/* Options reach the detector's params: --window and --history are the
 * same knob, the last one wins; a short window pulls min_history down. */
static void options_to_params(void **state)
{
	struct zs_params p;
	struct an_bt_opts o;
	char err[256];
	zs_params_default(&p);
	an_bt_opts_default(&o);
	char *a1[] = { "x", "--window", "30", "--history=50", "--warning", "4.5", "--field", "bytes",
		       "--field=pkts", "--missing-as-zero", "--forget", "7", "--max-series", "9", "--no-exclude",
		       NULL };
	assert_int_equal(an_bt_parse_args(&zscore, &p, &o, 15, a1, err, sizeof err), 0);
	assert_int_equal(p.window, 50);
	assert_int_equal(p.min_history, 12);
	assert_true(p.warning == 4.5);
	assert_int_equal(p.exclude, 0);
	assert_int_equal(o.nfields, 2);
	assert_string_equal(o.fields[0], "bytes");
	assert_string_equal(o.fields[1], "pkts");
	assert_int_equal(o.missing_as_zero, 1);
	assert_int_equal(o.repeat, 0);
	assert_int_equal(o.forget, 7);
	assert_int_equal(o.max_series, 9);
	assert_int_equal(o.history, 50);

	zs_params_default(&p);
	an_bt_opts_default(&o);
	assert_int_equal(o.forget, AN_BT_FORGET_DEFAULT);
	char *a2[] = { "x", "--history", "5", "--window", "8", NULL };
	assert_int_equal(an_bt_parse_args(&zscore, &p, &o, 5, a2, err, sizeof err), 0);
	assert_int_equal(p.window, 8);
	assert_int_equal(p.min_history, 5);  /* pulled down by --history 5, kept */
}

/* ---- in-process runs: stats, history hook ---- */

struct run {
	struct result r;
	struct an_bt_stats st;
	struct rfa_skip_stats sk;
};

static void run_inproc(const struct gen *g, const struct an_bt_opts *o, an_bt_history_fn hist, void *arg,
		       struct run *out)
{
	struct zs_params p;
	char err[256];
	zs_params_default(&p);
	memset(out, 0, sizeof *out);
	struct an_bt *b = an_bt_new(&zscore, &p, o, err, sizeof err);
	assert_non_null(b);
	if (hist)
		an_bt_set_history(b, hist, arg);
	FILE *tf = tmpfile();
	struct feeder f;
	int in = feed_prepare(&f, g);
	feed_go(&f);
	assert_int_equal(an_bt_run(b, in, fileno(tf), err, sizeof err), 0);
	close(in);
	feed_done(&f);
	an_bt_get_stats(b, &out->st);
	an_bt_skip_stats(b, &out->sk);
	parse_output(fileno(tf), &out->r);
	fclose(tf);
	an_bt_free(b);
}

/*
 * 40 windows, FR absent 35..37 and back at 38, --forget 2:
 * FR's rule-window numbers (1-based) 36 missing (1 < 2), 37 forgotten.
 * Values: DE 40 x 2 fields (bytes, n) = 80; FR 37 windows x 2 = 74; 154.
 * Missing: FR at window 35, both fields: 2. States at the end: DE 2, FR 2
 * (new since 38). Windows cut: none.
 */
static void forget_and_counts(void **state)
{
	struct gen g = { .windows = 40, .spike_from = -1, .spike_to = -1, .fr_gone_from = 35, .fr_back_at = 38 };
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	o.forget = 2;
	struct run r;
	run_inproc(&g, &o, NULL, NULL, &r);
	assert_int_equal(r.r.n, 0);
	assert_int_equal(r.st.windows, 40);
	assert_int_equal(r.st.partial_windows, 0);
	assert_int_equal(r.st.values, 154);
	assert_int_equal(r.st.missing, 2);
	assert_int_equal(r.st.forgotten, 2);
	assert_int_equal(r.st.states, 4);
	assert_int_equal(r.st.duplicates, 0);
	assert_int_equal(r.st.alerts, 0);
}

/* A last window cut by EOF gets no sweep: FR missing from it is not 0. */
static void partial_window_no_sweep(void **state)
{
	struct gen g = { .windows = 36, .spike_from = -1, .spike_to = -1, .fr_gone_from = 35, .fr_back_at = -1,
			 .cut_last = 1 };
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	o.missing_as_zero = 1;
	struct run r;
	run_inproc(&g, &o, NULL, NULL, &r);
	assert_int_equal(r.r.n, 0);
	assert_int_equal(r.st.partial_windows, 1);
	assert_int_equal(r.sk.cut_by_eof, 1);
	assert_int_equal(r.st.missing, 0);
}

/* --max-series 3: DE bytes, DE n, FR bytes fit; FR n is refused each
 * window (40 times) and never alerts. */
static void table_bound(void **state)
{
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	o.max_series = 3;
	struct run r;
	run_inproc(&calm_spike, &o, NULL, NULL, &r);
	assert_int_equal(r.st.states, 3);
	assert_int_equal(r.st.table_full, 40);
	assert_int_equal(r.st.values, 40 * 3);
	assert_int_equal(r.r.n, 2);  /* DE's spike and ok as before */
}

struct hist_calls {
	int calls;
	unsigned windows;
	char rule[32];
	int64_t start;
};

/* Feeds 30 calm DE bytes values (the pattern of windows -30..-1). */
static int hist_feed(struct an_bt *b, void *arg, const struct rfa_window *w, unsigned windows, char *err,
		     size_t errlen)
{
	struct hist_calls *h = arg;
	h->calls++;
	h->windows = windows;
	snprintf(h->rule, sizeof h->rule, "%s", w->rule);
	h->start = w->start_ns;
	const char *k[] = { "c" }, *v[] = { "DE" };
	for (int i = 0; i < 30; i++)
		if (an_bt_feed(b, w->rule, 1, k, v, "bytes", de_bytes(i)) < 0)
			return -1;
	return 0;
}

/*
 * With 30 values of history, a spike at window 3 is seen at once (without
 * it the detector would still be silent: min_history 12). The hook runs
 * once, at the first window, asking for the zscore window (60).
 */
static void history_hook(void **state)
{
	struct gen g = { .windows = 8, .spike_from = 3, .spike_to = 3, .fr_gone_from = -1, .fr_back_at = -1 };
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	o.nfields = 1;
	o.fields[0] = "bytes";
	struct run r;
	run_inproc(&g, &o, NULL, NULL, &r);
	assert_int_equal(r.r.n, 0);

	struct hist_calls h = { 0 };
	run_inproc(&g, &o, hist_feed, &h, &r);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.windows, 60);
	assert_string_equal(h.rule, "by_country");
	assert_true(h.start == T0);
	assert_int_equal(r.st.history_values, 30);
	assert_int_equal(r.r.n, 2);
	assert_int_equal(r.r.a[0].window, 3);
	assert_string_equal(r.r.a[0].severity, "critical");
	assert_string_equal(r.r.a[0].c, "DE");
	near(r.r.a[0].expected, 100);
	assert_int_equal(r.r.a[1].window, 6);  /* ok after 3 calm windows: 4, 5, 6 */
	assert_string_equal(r.r.a[1].severity, "ok");
}


/* ---- the state table under churn, with a counting detector ---- */

/* State: how many values this state has seen. A value that is not the
 * next count is an alert, so a lookup that finds the wrong state, or a
 * state that survived when it should have been dropped (or the reverse),
 * shows as an alert. */
struct cnt_state {
	uint64_t n;
};

static int cnt_check(const void *p, char *err, size_t errlen) { return 0; }
static size_t cnt_size(const void *p) { return sizeof(struct cnt_state); }
static void cnt_init(void *s, const void *p) { ((struct cnt_state *)s)->n = 0; }
static void cnt_update(void *s, const void *p, double v, int missing, struct det_verdict *out)
{
	struct cnt_state *st = s;
	memset(out, 0, sizeof *out);
	out->value = v;
	out->expected = out->lower = out->upper = out->score = NAN;
	if (missing)
		return;
	st->n++;
	if (v != (double)st->n) {
		out->severity = DET_CRITICAL;
		out->changed = 1;
	}
}

static const struct an_bt_detector counting = {
	.name = "count", .check = cnt_check, .state_size = cnt_size, .init = cnt_init, .update = cnt_update,
};

#define CH_SERIES 2000
#define CH_WINDOWS 60

/* Series s is in window w when (7s + w) % 5 < 3: present 3 windows, absent
 * 2. With --forget 2 it is dropped at its second absent window and starts
 * again from 1. The reference model below counts the same way, written
 * plainly over arrays. Each series has two tags, given in both orders on
 * alternate windows (same series key). */
static void table_churn(void **state)
{
	static int count[CH_SERIES], absent[CH_SERIES], live[CH_SERIES];
	uint64_t forgotten = 0, missing = 0, values = 0;
	struct feeder f;
	memset(&f, 0, sizeof f);
	for (int w = 0; w < CH_WINDOWS; w++) {
		put(&f.t, "# window rule=churn measurement=m start=%d end=%d\n", w, w + 1);
		for (int s = 0; s < CH_SERIES; s++) {
			if ((7 * s + w) % 5 < 3) {
				count[s]++;
				absent[s] = 0;
				live[s] = 1;
				values++;
				if (w & 1)
					put(&f.t, "m,a=%d,b=x%d v=%di\n", s, s % 7, count[s]);
				else
					put(&f.t, "m,b=x%d,a=%d v=%di\n", s % 7, s, count[s]);
			} else if (live[s]) {
				if (++absent[s] >= 2) {
					live[s] = 0;
					count[s] = 0;
					forgotten++;
				} else {
					missing++;
				}
			}
		}
		put(&f.t, "# end\n");
	}
	uint64_t states = 0;
	for (int s = 0; s < CH_SERIES; s++)
		states += (uint64_t)live[s];

	int p[2];
	assert_int_equal(pipe(p), 0);
	f.fd = p[1];
	feed_go(&f);
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	o.forget = 2;
	char err[256];
	struct an_bt *b = an_bt_new(&counting, NULL, &o, err, sizeof err);
	assert_non_null(b);
	FILE *tf = tmpfile();
	assert_int_equal(an_bt_run(b, p[0], fileno(tf), err, sizeof err), 0);
	close(p[0]);
	feed_done(&f);
	struct an_bt_stats st;
	an_bt_get_stats(b, &st);
	assert_int_equal(st.alerts, 0);
	assert_int_equal(st.values, values);
	assert_int_equal(st.missing, missing);
	assert_int_equal(st.forgotten, forgotten);
	assert_int_equal(st.states, states);
	assert_true(forgotten > CH_SERIES);  /* the churn did happen */
	assert_int_equal(lseek(fileno(tf), 0, SEEK_END), 0);
	fclose(tf);
	an_bt_free(b);
}

/* The same series twice in one window: the second value is ignored. */
static void duplicate_in_window(void **state)
{
	struct feeder f;
	memset(&f, 0, sizeof f);
	put(&f.t, "# window rule=r measurement=m start=0 end=1\nm,a=1 v=1i\nm,a=1 v=1i,w=1i\n# end\n");
	put(&f.t, "# window rule=r measurement=m start=1 end=2\nm,a=1 v=2i,w=2i\n# end\n");
	int p[2];
	assert_int_equal(pipe(p), 0);
	f.fd = p[1];
	feed_go(&f);
	struct an_bt_opts o;
	an_bt_opts_default(&o);
	char err[256];
	struct an_bt *b = an_bt_new(&counting, NULL, &o, err, sizeof err);
	FILE *tf = tmpfile();
	assert_int_equal(an_bt_run(b, p[0], fileno(tf), err, sizeof err), 0);
	close(p[0]);
	feed_done(&f);
	struct an_bt_stats st;
	an_bt_get_stats(b, &st);
	/* window 0: v=1 counted, the second v ignored, w=1 (new state) counted;
	 * window 1: v=2 and w=2: the w state saw 1 then 2, no alert. But w=2
	 * would alert if w's first value had been dropped: it was not. */
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.values, 4);
	assert_int_equal(st.alerts, 0);
	assert_int_equal(st.states, 2);
	fclose(tf);
	an_bt_free(b);
}

int main(void)
{
	/* A child that exits before reading (bad options) must not take the
	 * feeder thread, and with it this process, down with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spike_gives_one_alert),
		cmocka_unit_test(repeat_alerts_every_window),
		cmocka_unit_test(missing_as_zero),
		cmocka_unit_test(bad_options_exit_78),
		cmocka_unit_test(options_to_params),
		cmocka_unit_test(forget_and_counts),
		cmocka_unit_test(partial_window_no_sweep),
		cmocka_unit_test(table_bound),
		cmocka_unit_test(history_hook),
		cmocka_unit_test(table_churn),
		cmocka_unit_test(duplicate_in_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
