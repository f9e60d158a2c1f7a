/*
 * test_watermark.c — per-partition watermarks (aggregate/watermark.h): the
 * slowest active partition holds the base, idle partitions stop holding it,
 * an all-idle input advances with the wall clock. The clock is a parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "aggregate/watermark.h"

#define S 1000000000LL

static void test_min_over_partitions(void **state)
{
	(void)state;
	struct agg_watermark *w = malloc(sizeof *w);
	agg_wm_init(w, 30 * S);
	int64_t now = 1000 * S;
	assert_true(agg_wm_base(w, now, now) == INT64_MIN);   /* nothing seen yet */
	/* A batch without events is no progress. */
	assert_int_equal(agg_wm_observe(w, 0, INT64_MIN, now), 0);
	assert_true(agg_wm_base(w, now, now) == INT64_MIN);

	agg_wm_observe(w, 0, 500 * S, now);
	agg_wm_observe(w, 7, 200 * S, now);     /* lagging partition, sparse id */
	assert_true(agg_wm_base(w, now, now) == 200 * S);
	assert_int_equal(agg_wm_active(w, now), 2);
	/* Partition 0 runs far ahead: the base stays at partition 7's time. */
	agg_wm_observe(w, 0, 5000 * S, now + S);
	assert_true(agg_wm_base(w, now + S, now + S) == 200 * S);
	/* Event times never go backwards per partition. */
	agg_wm_observe(w, 7, 100 * S, now + S);
	assert_true(agg_wm_base(w, now + S, now + S) == 200 * S);
	agg_wm_observe(w, 7, 260 * S, now + 2 * S);
	assert_true(agg_wm_base(w, now + 2 * S, now + 2 * S) == 260 * S);
	/* Out-of-range source refused. */
	assert_int_equal(agg_wm_observe(w, AGG_WM_MAX_SOURCES, 1, now), -1);
	free(w);
}

static void test_idle_partition(void **state)
{
	(void)state;
	struct agg_watermark *w = malloc(sizeof *w);
	agg_wm_init(w, 30 * S);
	int64_t t0 = 1000 * S;
	agg_wm_observe(w, 0, 100 * S, t0);
	agg_wm_observe(w, 1, 50 * S, t0);
	/* Partition 1 goes quiet; 0 keeps delivering. */
	for (int64_t k = 1; k <= 40; k++)
		agg_wm_observe(w, 0, (100 + k) * S, t0 + k * S);
	/* 29 s after its last batch partition 1 still holds the base... */
	assert_true(agg_wm_base(w, t0 + 29 * S, t0 + 29 * S) == 50 * S);
	/* ...at 30 s it is idle and partition 0 alone decides. */
	assert_true(agg_wm_base(w, t0 + 30 * S, t0 + 30 * S) == 140 * S);  /* 0 has seen up to 140 s */
	assert_int_equal(agg_wm_active(w, t0 + 30 * S), 1);
	/* It comes back with old data: active again, holds the base again. */
	agg_wm_observe(w, 1, 60 * S, t0 + 41 * S);
	assert_true(agg_wm_base(w, t0 + 41 * S, t0 + 41 * S) == 60 * S);
	free(w);
}

static void test_all_idle_wall_clock(void **state)
{
	(void)state;
	struct agg_watermark *w = malloc(sizeof *w);
	agg_wm_init(w, 10 * S);
	int64_t t0 = 1000 * S;
	agg_wm_observe(w, 0, 990 * S, t0);
	agg_wm_observe(w, 1, 995 * S, t0);
	assert_true(agg_wm_base(w, t0 + 9 * S, t0 + 9 * S) == 990 * S);
	/* Everything quiet for idle_timeout: the wall clock drives the base. */
	assert_true(agg_wm_base(w, t0 + 10 * S, t0 + 10 * S) == t0 + 10 * S);
	assert_true(agg_wm_base(w, t0 + 60 * S, t0 + 60 * S) == t0 + 60 * S);
	assert_int_equal(agg_wm_active(w, t0 + 60 * S), 0);
	/* Event times ahead of the wall clock (replayed future data or a skewed
	 * clock) are not undone by going idle. */
	agg_wm_observe(w, 2, 5000 * S, t0 + 61 * S);
	assert_true(agg_wm_base(w, t0 + 100 * S, t0 + 100 * S) == 5000 * S);
	free(w);
}

/* A partition assigned but not delivering holds the base at INT64_MIN
 * (every window open) until it delivers or is quiet for idle_timeout from
 * its assignment; durations use now_ns only, so a wall-clock step changes
 * nothing but the quiet-stream advance. */
static void test_assigned_holds(void **state)
{
	(void)state;
	struct agg_watermark *w = malloc(sizeof *w);
	agg_wm_init(w, 30 * S);
	int64_t t0 = 100 * S, wall = 1700000000 * S;
	assert_int_equal(agg_wm_assign(w, 3, t0), 0);
	agg_wm_observe(w, 0, 500 * S, t0 + S);
	assert_true(agg_wm_base(w, t0 + S, wall) == INT64_MIN);
	assert_true(agg_wm_others(w, 0, t0 + S) == INT64_MIN);
	assert_true(agg_wm_others(w, 3, t0 + S) == 500 * S);
	assert_true(agg_wm_source_max(w, 3) == INT64_MIN);
	/* The wall clock stepped an hour forward: nothing becomes idle. */
	assert_true(agg_wm_base(w, t0 + 2 * S, wall + 3600 * S) == INT64_MIN);
	/* It delivers: it holds at its own progress. */
	agg_wm_observe(w, 3, 200 * S, t0 + 3 * S);
	assert_true(agg_wm_base(w, t0 + 3 * S, wall) == 200 * S);
	/* An assignment never lowers what a partition delivered. */
	agg_wm_assign(w, 3, t0 + 4 * S);
	assert_true(agg_wm_source_max(w, 3) == 200 * S);
	/* Quiet for idle_timeout after the later of delivery and assignment:
	 * idle, while 0 goes on delivering. */
	agg_wm_observe(w, 0, 500 * S, t0 + 20 * S);
	assert_true(agg_wm_base(w, t0 + 34 * S - 1, wall) == 200 * S);
	assert_true(agg_wm_base(w, t0 + 34 * S, wall) == 500 * S);
	assert_int_equal(agg_wm_active(w, t0 + 34 * S), 1);
	assert_int_equal(agg_wm_assign(w, AGG_WM_MAX_SOURCES, t0), -1);
	/* The alignment floor: the slowest active partition that delivered. */
	assert_true(agg_wm_floor(w, t0 + 34 * S) == 500 * S);
	/* Restored as assigned-without-progress (INT64_MIN): holds again, but
	 * is no floor (it has no event time to be behind by). */
	assert_int_equal(agg_wm_restore_source(w, 9, INT64_MIN, t0 + 40 * S), 0);
	assert_true(agg_wm_base(w, t0 + 40 * S, wall) == INT64_MIN);
	assert_int_equal(agg_wm_active(w, t0 + 40 * S), 2);
	assert_true(agg_wm_floor(w, t0 + 40 * S) == 500 * S);
	assert_true(agg_wm_floor(w, t0 + 100 * S) == INT64_MIN);   /* all idle */
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_min_over_partitions),
		cmocka_unit_test(test_idle_partition),
		cmocka_unit_test(test_all_idle_wall_clock),
		cmocka_unit_test(test_assigned_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
