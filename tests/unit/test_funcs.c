/*
 * test_funcs.c — aggregate functions (aggregate/funcs.h) against naive
 * computations over random data: results (percentiles inline and as a
 * sketch), merge(a, b) == state over a ∪ b, serialisation round trips and
 * malformed serialised input.
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

#include "aggregate/arena.h"
#include "aggregate/funcs.h"
#include "tests/lib/splitmix.h"

#define N 5000

static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

struct fx {
	struct agg_arena arena;
	struct agg_alloc al;
	_Alignas(8) uint8_t a[256], b[256], c[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	agg_arena_init(&f->arena);
	f->al.alloc = agg_arena_alloc_cb;
	f->al.ctx = &f->arena;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	agg_arena_free(&f->arena);
	free(f);
	return 0;
}

static struct rf_value vint(int64_t i) { struct rf_value v = { .type = RF_V_INT, .u.i = i }; return v; }
static struct rf_value vflt(double d) { struct rf_value v = { .type = RF_V_FLOAT, .u.f = d }; return v; }
static struct rf_value vstr(const char *s) { struct rf_value v = { .type = RF_V_STR, .len = (uint32_t)strlen(s), .u.s = s }; return v; }

/* Random values: ~10% missing, ints or floats as asked. */
static void gen(struct rf_value *v, int64_t *t, int n, int floats)
{
	for (int i = 0; i < n; i++) {
		if (rnd() % 10 == 0)
			v[i] = rf_missing();
		else if (floats)
			v[i] = vflt((rnd01() - 0.3) * 1e6);
		else
			v[i] = vint((int64_t)(rnd() % 2000001) - 1000000);
		t[i] = (int64_t)(rnd() % 200);   /* many equal times: tie rules matter */
	}
}

static void feed(struct fx *f, enum agg_fn fn, void *st, const struct rf_value *v, const int64_t *t, int from, int to)
{
	for (int i = from; i < to; i++)
		assert_int_equal(agg_state_update(fn, st, &v[i], t[i], &f->al), 0);
}

static void result(enum agg_fn fn, const void *st, struct rf_value *out)
{
	agg_state_result(fn, st, 0.5, out);
}

/* Checks merge over a random split and a serialisation round trip against
 * the single-state result `whole`. */
static void check_merge_and_serial(struct fx *f, enum agg_fn fn, const struct rf_value *v, const int64_t *t,
				   int n, double rel)
{
	struct rf_value whole, merged, back;
	agg_state_init(fn, f->a);
	feed(f, fn, f->a, v, t, 0, n);
	result(fn, f->a, &whole);

	int cut = (int)(rnd() % (uint64_t)n);
	agg_state_init(fn, f->b);
	agg_state_init(fn, f->c);
	feed(f, fn, f->b, v, t, 0, cut);
	feed(f, fn, f->c, v, t, cut, n);
	assert_int_equal(agg_state_merge(fn, f->b, f->c, &f->al), 0);
	result(fn, f->b, &merged);
	assert_int_equal(merged.type, whole.type);
	if (whole.type == RF_V_FLOAT)
		assert_true(fabs(merged.u.f - whole.u.f) <= rel * fabs(whole.u.f) + 1e-300);
	else if (whole.type == RF_V_STR)
		assert_true(merged.len == whole.len && memcmp(merged.u.s, whole.u.s, whole.len) == 0);
	else
		assert_true(merged.u.i == whole.u.i);

	static uint8_t buf[1 << 16], buf2[1 << 16];
	size_t len = agg_state_serialize(fn, f->a, buf, sizeof buf);
	assert_true(len > 2);
	assert_int_equal(agg_state_serialize(fn, f->a, buf, len - 1), 0);
	size_t used = 0;
	char err[128];
	assert_int_equal(agg_state_deserialize(fn, f->c, buf, len, &used, &f->al, err, sizeof err), 0);
	assert_int_equal(used, len);
	result(fn, f->c, &back);
	assert_int_equal(back.type, whole.type);
	if (whole.type == RF_V_STR)
		assert_memory_equal(back.u.s, whole.u.s, whole.len);
	else
		assert_memory_equal(&back.u, &whole.u, sizeof back.u.i);
	assert_int_equal(agg_state_serialize(fn, f->c, buf2, sizeof buf2), len);
	assert_memory_equal(buf, buf2, len);
	/* Every truncation is refused, none crashes. */
	for (size_t k = 0; k < len; k++)
		assert_int_equal(agg_state_deserialize(fn, f->c, buf, k, &used, &f->al, err, sizeof err), -1);
}

static void test_sum_min_max_count(void **state)
{
	struct fx *f = *state;
	static struct rf_value v[N];
	static int64_t t[N];
	for (int floats = 0; floats <= 1; floats++) {
		rng_state = 11 + (uint64_t)floats;
		gen(v, t, N, floats);
		int64_t isum = 0, imin = INT64_MAX, imax = INT64_MIN, cnt = 0;
		double fsum = 0, fmin = INFINITY, fmax = -INFINITY;
		for (int i = 0; i < N; i++) {
			if (v[i].type == RF_V_MISSING)
				continue;
			cnt++;
			if (floats) {
				fsum += v[i].u.f;
				fmin = fmin < v[i].u.f ? fmin : v[i].u.f;
				fmax = fmax > v[i].u.f ? fmax : v[i].u.f;
			} else {
				isum += v[i].u.i;
				imin = imin < v[i].u.i ? imin : v[i].u.i;
				imax = imax > v[i].u.i ? imax : v[i].u.i;
			}
		}
		struct rf_value r;
		enum agg_fn fns[] = { AGG_FN_SUM, AGG_FN_MIN, AGG_FN_MAX };
		for (int k = 0; k < 3; k++) {
			agg_state_init(fns[k], f->a);
			feed(f, fns[k], f->a, v, t, 0, N);
			result(fns[k], f->a, &r);
			if (floats) {
				assert_int_equal(r.type, RF_V_FLOAT);
				double want = k == 0 ? fsum : k == 1 ? fmin : fmax;
				assert_true(r.u.f == want);
			} else {
				assert_int_equal(r.type, RF_V_INT);
				int64_t want = k == 0 ? isum : k == 1 ? imin : imax;
				assert_true(r.u.i == want);
			}
			check_merge_and_serial(f, fns[k], v, t, N, 1e-9);
		}
		/* count() counts records, count(x) the present values. */
		agg_state_init(AGG_FN_COUNT, f->a);
		agg_state_init(AGG_FN_COUNT, f->b);
		for (int i = 0; i < N; i++) {
			agg_state_update(AGG_FN_COUNT, f->a, NULL, t[i], &f->al);
			agg_state_update(AGG_FN_COUNT, f->b, &v[i], t[i], &f->al);
		}
		result(AGG_FN_COUNT, f->a, &r);
		assert_true(r.type == RF_V_INT && r.u.i == N);
		result(AGG_FN_COUNT, f->b, &r);
		assert_true(r.type == RF_V_INT && r.u.i == cnt);
		check_merge_and_serial(f, AGG_FN_COUNT, v, t, N, 0);
	}
}

static void test_mult_and_overflow(void **state)
{
	struct fx *f = *state;
	static struct rf_value v[200];
	static int64_t t[200];
	rng_state = 5;
	int64_t prod = 1;
	for (int i = 0; i < 200; i++) {
		int64_t x = (rnd() % 8 == 0) ? ((rnd() & 1) ? -2 : 3) : 1;
		if (i % 7 == 0) {
			v[i] = rf_missing();
		} else {
			v[i] = vint(x);
			prod *= x;
		}
		t[i] = i;
	}
	struct rf_value r;
	agg_state_init(AGG_FN_MULT, f->a);
	feed(f, AGG_FN_MULT, f->a, v, t, 0, 200);
	result(AGG_FN_MULT, f->a, &r);
	assert_int_equal(r.type, RF_V_INT);
	assert_true(r.u.i == prod);
	check_merge_and_serial(f, AGG_FN_MULT, v, t, 200, 0);

	/* int64 overflow switches the state to float. */
	struct rf_value big = vint(INT64_C(1) << 40);
	agg_state_init(AGG_FN_MULT, f->a);
	agg_state_update(AGG_FN_MULT, f->a, &big, 0, &f->al);
	agg_state_update(AGG_FN_MULT, f->a, &big, 0, &f->al);
	result(AGG_FN_MULT, f->a, &r);
	assert_int_equal(r.type, RF_V_FLOAT);
	assert_true(r.u.f == ldexp(1.0, 80));

	struct rf_value mx = vint(INT64_MAX), one = vint(1);
	agg_state_init(AGG_FN_SUM, f->a);
	agg_state_update(AGG_FN_SUM, f->a, &mx, 0, &f->al);
	agg_state_update(AGG_FN_SUM, f->a, &one, 0, &f->al);
	result(AGG_FN_SUM, f->a, &r);
	assert_int_equal(r.type, RF_V_FLOAT);
	assert_true(r.u.f == 9223372036854775808.0);
	/* A float input into an int sum (field of type ANY) turns it float. */
	struct rf_value half = vflt(0.5);
	agg_state_init(AGG_FN_SUM, f->a);
	agg_state_update(AGG_FN_SUM, f->a, &one, 0, &f->al);
	agg_state_update(AGG_FN_SUM, f->a, &half, 0, &f->al);
	result(AGG_FN_SUM, f->a, &r);
	assert_true(r.type == RF_V_FLOAT && r.u.f == 1.5);
	/* Nothing but missing values: no result at all. */
	struct rf_value miss = rf_missing();
	agg_state_init(AGG_FN_SUM, f->a);
	agg_state_update(AGG_FN_SUM, f->a, &miss, 0, &f->al);
	result(AGG_FN_SUM, f->a, &r);
	assert_int_equal(r.type, RF_V_MISSING);
}

static void test_avg_stddev(void **state)
{
	struct fx *f = *state;
	static struct rf_value v[N];
	static int64_t t[N];
	for (int floats = 0; floats <= 1; floats++) {
		rng_state = 21 + (uint64_t)floats;
		gen(v, t, N, floats);
		double sum = 0;
		int n = 0;
		for (int i = 0; i < N; i++)
			if (v[i].type != RF_V_MISSING) {
				sum += floats ? v[i].u.f : (double)v[i].u.i;
				n++;
			}
		double mean = sum / n, ss = 0;
		for (int i = 0; i < N; i++)
			if (v[i].type != RF_V_MISSING) {
				double d = (floats ? v[i].u.f : (double)v[i].u.i) - mean;
				ss += d * d;
			}
		double sd = sqrt(ss / (n - 1));
		struct rf_value r;
		agg_state_init(AGG_FN_AVG, f->a);
		feed(f, AGG_FN_AVG, f->a, v, t, 0, N);
		result(AGG_FN_AVG, f->a, &r);
		assert_int_equal(r.type, RF_V_FLOAT);
		assert_true(r.u.f == sum / n);
		check_merge_and_serial(f, AGG_FN_AVG, v, t, N, 1e-12);

		agg_state_init(AGG_FN_STDDEV, f->a);
		feed(f, AGG_FN_STDDEV, f->a, v, t, 0, N);
		result(AGG_FN_STDDEV, f->a, &r);
		assert_int_equal(r.type, RF_V_FLOAT);
		assert_true(fabs(r.u.f - sd) <= 1e-9 * sd);
		check_merge_and_serial(f, AGG_FN_STDDEV, v, t, N, 1e-9);
	}
	/* One value: no sample standard deviation (InfluxQL gives null). */
	struct rf_value one = vint(7), r;
	agg_state_init(AGG_FN_STDDEV, f->a);
	agg_state_update(AGG_FN_STDDEV, f->a, &one, 0, &f->al);
	result(AGG_FN_STDDEV, f->a, &r);
	assert_int_equal(r.type, RF_V_MISSING);
	agg_state_update(AGG_FN_STDDEV, f->a, &one, 0, &f->al);
	result(AGG_FN_STDDEV, f->a, &r);
	assert_true(r.type == RF_V_FLOAT && r.u.f == 0.0);
}

static void test_first_last(void **state)
{
	struct fx *f = *state;
	static struct rf_value v[N];
	static int64_t t[N];
	static char strs[N][48];
	for (int kind = 0; kind < 3; kind++) {
		rng_state = 31 + (uint64_t)kind;
		gen(v, t, N, kind == 1);
		if (kind == 2)   /* strings, short and longer than the inline size */
			for (int i = 0; i < N; i++)
				if (v[i].type != RF_V_MISSING) {
					int len = (int)(rnd() % 40);
					for (int k = 0; k < len; k++)
						strs[i][k] = (char)('a' + rnd() % 26);
					strs[i][len] = 0;
					snprintf(strs[i] + len, 8, "#%d", i % 10000);
					v[i] = vstr(strs[i]);
				}
		int fi = -1, la = -1;
		for (int i = 0; i < N; i++) {
			if (v[i].type == RF_V_MISSING)
				continue;
			if (fi < 0 || t[i] < t[fi])
				fi = i;          /* strict: ties keep the earlier-arrived */
			if (la < 0 || t[i] >= t[la])
				la = i;          /* ties take the later-arrived */
		}
		for (int which = 0; which < 2; which++) {
			enum agg_fn fn = which ? AGG_FN_LAST : AGG_FN_FIRST;
			int want = which ? la : fi;
			struct rf_value r;
			agg_state_init(fn, f->a);
			feed(f, fn, f->a, v, t, 0, N);
			result(fn, f->a, &r);
			assert_int_equal(r.type, v[want].type);
			if (kind == 2)
				assert_true(r.len == v[want].len && memcmp(r.u.s, v[want].u.s, r.len) == 0);
			else
				assert_memory_equal(&r.u, &v[want].u, 8);
			check_merge_and_serial(f, fn, v, t, N, 0);
		}
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_count_distinct_exact(void **state)
{
	struct fx *f = *state;
	const char *words[] = { "a", "b", "c", "d", "e", "f" };
	struct rf_value r;
	for (int distinct = 1; distinct <= AGG_CD_EXACT; distinct++) {
		agg_state_init(AGG_FN_COUNT_DISTINCT, f->a);
		for (int i = 0; i < 100; i++) {
			struct rf_value s = vstr(words[i % distinct]);
			agg_state_update(AGG_FN_COUNT_DISTINCT, f->a, &s, 0, &f->al);
			struct rf_value m = rf_missing();
			agg_state_update(AGG_FN_COUNT_DISTINCT, f->a, &m, 0, &f->al);
		}
		result(AGG_FN_COUNT_DISTINCT, f->a, &r);
		assert_true(r.type == RF_V_INT && r.u.i == distinct);
	}
	/* The int 5 and the string "5" are different values; -0.0 == 0.0. */
	struct rf_value i5 = vint(5), s5 = vstr("5"), z = vflt(0.0), nz = vflt(-0.0);
	agg_state_init(AGG_FN_COUNT_DISTINCT, f->a);
	agg_state_update(AGG_FN_COUNT_DISTINCT, f->a, &i5, 0, &f->al);
	agg_state_update(AGG_FN_COUNT_DISTINCT, f->a, &s5, 0, &f->al);
	agg_state_update(AGG_FN_COUNT_DISTINCT, f->a, &z, 0, &f->al);
	agg_state_update(AGG_FN_COUNT_DISTINCT, f->a, &nz, 0, &f->al);
	result(AGG_FN_COUNT_DISTINCT, f->a, &r);
	assert_int_equal(r.u.i, 3);
	/* Exact state round trip and merge of two small sets with overlap. */
	static struct rf_value v[40];
	static int64_t t[40];
	for (int i = 0; i < 40; i++) {
		v[i] = vint(i % 5);
		t[i] = i;
	}
	check_merge_and_serial(f, AGG_FN_COUNT_DISTINCT, v, t, 40, 0);
	/* Empty set: 0. */
	agg_state_init(AGG_FN_COUNT_DISTINCT, f->a);
	result(AGG_FN_COUNT_DISTINCT, f->a, &r);
	assert_true(r.type == RF_V_INT && r.u.i == 0);

	/* Random ints with repeats and missing values, drawn from [0, range):
	 * against a naive count (sort, unique), exact up to AGG_CD_SET_MAX
	 * distinct values, within 2% past it; merges over random cuts and
	 * round trips in every mode (inline, set, HyperLogLog). */
	static struct rf_value rv[N];
	static int64_t rt[N], xs[N];
	static const int ranges[] = { 3, 10, 40, 300, 1200, 2400, 4000, 30000 };
	for (size_t ri = 0; ri < sizeof ranges / sizeof ranges[0]; ri++) {
		rng_state = 90 + ri;
		int m = 0;
		for (int i = 0; i < N; i++) {
			rv[i] = rnd() % 10 == 0 ? rf_missing() : vint((int64_t)(rnd() % (uint64_t)ranges[ri]) - 100);
			rt[i] = i;
			if (rv[i].type == RF_V_INT)
				xs[m++] = rv[i].u.i;
		}
		for (int n = 50; n <= N; n = n < N && n * 4 > N ? N : n * 4) {
			int k = 0, distinct = 0;
			for (int i = 0; i < n; i++)
				if (rv[i].type == RF_V_INT)
					k++;
			qsort(xs, (size_t)k, sizeof *xs, cmp_i64);
			for (int i = 0; i < k; i++)
				distinct += i == 0 || xs[i] != xs[i - 1];
			agg_state_init(AGG_FN_COUNT_DISTINCT, f->a);
			feed(f, AGG_FN_COUNT_DISTINCT, f->a, rv, rt, 0, n);
			result(AGG_FN_COUNT_DISTINCT, f->a, &r);
			assert_int_equal(r.type, RF_V_INT);
			if (distinct <= AGG_CD_SET_MAX ? r.u.i != distinct : fabs((double)(r.u.i - distinct)) > 0.02 * distinct)
				fail_msg("%d values from [0, %d): %lld distinct counted, %d naive", n, ranges[ri],
					 (long long)r.u.i, distinct);
			check_merge_and_serial(f, AGG_FN_COUNT_DISTINCT, rv, rt, n, 0);
			/* xs is sorted now: take the first n again in order. */
			k = 0;
			for (int i = 0; i < N; i++)
				if (rv[i].type == RF_V_INT)
					xs[k++] = rv[i].u.i;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Percentiles against the sorted sample: the value of rank floor(q (n-1)),
 * exactly while the state keeps its values inline (AGG_PCT_INLINE), within
 * the documented 1% after; merge over a random cut (inline + inline,
 * inline + sketch, sketch + sketch as the cut falls) gives the same answer
 * as one state, and so does a round trip. */
static void test_percentile(void **state)
{
	struct fx *f = *state;
	static struct rf_value v[N];
	static int64_t t[N];
	static double xs[N];
	static const int sizes[] = { 1, 2, 3, 5, AGG_PCT_INLINE, AGG_PCT_INLINE + 1, 11, 19, 60, 700, N };
	static const double qs[] = { 0, 0.05, 0.25, 0.5, 0.9, 0.95, 0.99, 1 };
	for (int floats = 0; floats <= 1; floats++)
		for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
			int n = sizes[si];
			rng_state = 41 + (uint64_t)(10 * floats) + si;
			gen(v, t, n, floats);
			int m = 0;
			for (int i = 0; i < n; i++)
				if (v[i].type != RF_V_MISSING)
					xs[m++] = floats ? v[i].u.f : (double)v[i].u.i;
			qsort(xs, (size_t)m, sizeof *xs, cmp_double);
			agg_state_init(AGG_FN_PERCENTILE, f->a);
			feed(f, AGG_FN_PERCENTILE, f->a, v, t, 0, n);
			for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
				struct rf_value r;
				agg_state_result(AGG_FN_PERCENTILE, f->a, qs[k], &r);
				if (m == 0) {
					assert_int_equal(r.type, RF_V_MISSING);
					continue;
				}
				assert_int_equal(r.type, RF_V_FLOAT);
				double want = xs[(int)(qs[k] * (m - 1))];
				double tol = m <= AGG_PCT_INLINE ? 0 : 0.01 * fabs(want);
				if (!(fabs(r.u.f - want) <= tol))
					fail_msg("%d values (%s), q=%g: got %.17g, want %.17g", m,
						 floats ? "floats" : "ints", qs[k], r.u.f, want);
			}
			if (m > 0)
				check_merge_and_serial(f, AGG_FN_PERCENTILE, v, t, n, 0);
		}
}

static void test_deserialize_rejects(void **state)
{
	struct fx *f = *state;
	uint8_t buf[64];
	size_t used;
	char err[128];
	struct rf_value x = vint(42);
	agg_state_init(AGG_FN_SUM, f->a);
	agg_state_update(AGG_FN_SUM, f->a, &x, 0, &f->al);
	size_t len = agg_state_serialize(AGG_FN_SUM, f->a, buf, sizeof buf);
	assert_true(len > 0);
	/* Wrong function, wrong version, bad kind byte. */
	assert_int_equal(agg_state_deserialize(AGG_FN_MAX, f->b, buf, len, &used, &f->al, err, sizeof err), -1);
	assert_non_null(strstr(err, "sum"));
	buf[0] = 99;
	assert_int_equal(agg_state_deserialize(AGG_FN_SUM, f->b, buf, len, &used, &f->al, err, sizeof err), -1);
	assert_non_null(strstr(err, "version"));
	buf[0] = AGG_STATE_VERSION;
	buf[2] = 7;
	assert_int_equal(agg_state_deserialize(AGG_FN_SUM, f->b, buf, len, &used, &f->al, err, sizeof err), -1);
	/* Random garbage never crashes. */
	rng_state = 77;
	for (int k = 0; k < 20000; k++) {
		uint8_t g[40];
		for (size_t i = 0; i < sizeof g; i++)
			g[i] = (uint8_t)rnd();
		enum agg_fn fn = (enum agg_fn)(rnd() % AGG_FN_COUNT_);
		g[0] = AGG_STATE_VERSION;
		g[1] = (uint8_t)fn;
		agg_state_init(fn, f->b);
		(void)agg_state_deserialize(fn, f->b, g, (size_t)(rnd() % sizeof g), &used, &f->al, err, sizeof err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sum_min_max_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mult_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avg_stddev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_distinct_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_percentile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deserialize_rejects, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
