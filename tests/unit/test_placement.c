/*
 * test_placement.c — [processes] cpu_affinity's pure parts
 * (supervisor/placement.h): the cpulist syntax, its formatting, and the
 * placement formula. Expected placements are worked out by hand from the
 * formula in placement.h (the working is in the comments); the property
 * test checks the promises (a cpu from the list for every process, one per
 * cpu while there are enough, busy processes never share while there are
 * enough cpus for them) over many counts and lists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "supervisor/placement.h"

#define MAXP (RF_ROLE_COUNT * RF_MAX_PER_ROLE)

static void parse_ok(const char *text, const int *want, int nwant)
{
	int cpus[SUP_MAX_CPUS], n = -1;
	char err[256] = "";
	if (sup_cpulist_parse(text, cpus, SUP_MAX_CPUS, &n, err, sizeof err))
		fail_msg("'%s' refused: %s", text, err);
	assert_int_equal(n, nwant);
	for (int i = 0; i < nwant; i++)
		if (cpus[i] != want[i])
			fail_msg("'%s': cpu [%d] is %d, want %d", text, i, cpus[i], want[i]);
}

static void parse_refused(const char *text, const char *want)
{
	int cpus[SUP_MAX_CPUS], n = -1;
	char err[256] = "";
	assert_int_equal(sup_cpulist_parse(text, cpus, SUP_MAX_CPUS, &n, err, sizeof err), -1);
	if (!strstr(err, want))
		fail_msg("'%s': message \"%s\" lacks \"%s\"", text, err, want);
}

static void test_cpulist_parse(void **state)
{
	(void)state;
	parse_ok("0", (int[]){ 0 }, 1);
	parse_ok("0-3,6", (int[]){ 0, 1, 2, 3, 6 }, 5);
	/* Any order, overlaps and blanks: sorted and distinct. */
	parse_ok(" 6 , 0-1,1 - 2 ", (int[]){ 0, 1, 2, 6 }, 4);
	parse_ok("5-5", (int[]){ 5 }, 1);
	parse_ok("1023", (int[]){ 1023 }, 1);
	parse_refused("", "a cpu number is missing");
	parse_refused("0-", "a cpu number is missing");
	parse_refused("-1", "a cpu number is missing");
	parse_refused("1,,2", "a cpu number is missing");
	parse_refused("1,", "a cpu number is missing");
	parse_refused("3-1", "goes backwards");
	parse_refused("1024", "below 1024");
	parse_refused("0-99999999999999999999", "below 1024");
	parse_refused("0x1", "unexpected 'x'");
	parse_refused("1 2", "unexpected '2'");
	parse_refused("auto", "a cpu number is missing");
	/* More cpus than the caller has room for. */
	int cpus[2], n;
	char err[128];
	assert_int_equal(sup_cpulist_parse("0-2", cpus, 2, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "more than 2"));
}

static void test_cpulist_format(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(sup_cpulist_format((int[]){ 0, 1, 2, 3, 6 }, 5, buf, sizeof buf), "0-3,6");
	assert_string_equal(sup_cpulist_format((int[]){ 0 }, 1, buf, sizeof buf), "0");
	assert_string_equal(sup_cpulist_format((int[]){ 1, 3 }, 2, buf, sizeof buf), "1,3");
	assert_string_equal(sup_cpulist_format((int[]){ 0, 1, 5, 6, 7, 9 }, 6, buf, sizeof buf), "0-1,5-7,9");
	assert_string_equal(sup_cpulist_format(NULL, 0, buf, sizeof buf), "");
	/* Truncated, still a string. */
	char small[4];
	sup_cpulist_format((int[]){ 100, 200, 300 }, 3, small, sizeof small);
	assert_int_equal(strlen(small), 3);
}

/* Places counts n (ingest, transform, aggregate, writer, analyze) on the
 * first ncpus of cpus and compares with want[] (one per process). */
static void place_is(const int n[RF_ROLE_COUNT], const int *cpus, int ncpus, const int *want, int nwant)
{
	int out[MAXP];
	char err[128] = "";
	int got = sup_place(n, cpus, ncpus, out, MAXP, err, sizeof err);
	if (got != nwant)
		fail_msg("counts %d,%d,%d,%d,%d on %d cpus: %d processes (%s), want %d", n[0], n[1], n[2], n[3], n[4],
			 ncpus, got, err, nwant);
	for (int p = 0; p < nwant; p++)
		if (out[p] != want[p])
			fail_msg("counts %d,%d,%d,%d,%d on %d cpus: process %d on cpu %d, want %d", n[0], n[1], n[2], n[3],
				 n[4], ncpus, p, out[p], want[p]);
}

static const int seq[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* The integration tests' pipeline: 1 ingest, 2 transforms, 2 aggregates,
 * 1 writer, no analyzer host. B = 5 busy, L = 1 light, 6 processes in the
 * order i0 t0 t1 a0 a1 w0. */
static void test_place_it_pipeline(void **state)
{
	(void)state;
	const int n[RF_ROLE_COUNT] = { 1, 2, 2, 1, 0 };
	/* C = 1: everything on cpu 0. */
	place_is(n, seq, 1, (int[]){ 0, 0, 0, 0, 0, 0 }, 6);
	/* C = 2 <= B: p mod 2. */
	place_is(n, seq, 2, (int[]){ 0, 1, 0, 1, 0, 1 }, 6);
	/* C = 4 <= B: busy 0 1 2 3 0, the writer (p = 5) on 5 mod 4 = 1. */
	place_is(n, seq, 4, (int[]){ 0, 1, 2, 3, 0, 1 }, 6);
	/* C = 16 >= 6: one each, in order. */
	place_is(n, seq, 16, (int[]){ 0, 1, 2, 3, 4, 5 }, 6);
}

/* One of each role: B = 3 (i0 t0 a0), L = 2 (w0, analyze 0). */
static void test_place_one_each(void **state)
{
	(void)state;
	const int n[RF_ROLE_COUNT] = { 1, 1, 1, 1, 1 };
	place_is(n, seq, 1, (int[]){ 0, 0, 0, 0, 0 }, 5);
	/* C = 2 <= B: p mod 2. */
	place_is(n, seq, 2, (int[]){ 0, 1, 0, 1, 0 }, 5);
	/* B < C = 4 < 5: busy on 0 1 2; the light ones share what is left,
	 * cpus[3 + j mod 1] = 3 for both. */
	place_is(n, seq, 4, (int[]){ 0, 1, 2, 3, 3 }, 5);
	place_is(n, seq, 16, (int[]){ 0, 1, 2, 3, 4 }, 5);
}

/* What auto counts give on 16 cores: ingest 16/16 = 1, transform 16/3 = 5,
 * aggregate 16/4 = 4, writer 1, one analyzer host. B = 10, L = 2. */
static void test_place_sixteen_core_auto(void **state)
{
	(void)state;
	const int n[RF_ROLE_COUNT] = { 1, 5, 4, 1, 1 };
	place_is(n, seq, 16, (int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, 12);
	/* C = 4 <= B: p mod 4 all along (the writer p = 10 -> 2, host 11 -> 3). */
	place_is(n, seq, 4, (int[]){ 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3 }, 12);
	/* C = 11, B < C < 12: busy on 0..9, both light ones on cpus[10]. */
	place_is(n, seq, 11, (int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10 }, 12);
	place_is(n, seq, 2, (int[]){ 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 }, 12);
	place_is(n, seq, 1, (int[]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12);
}

/* Many light processes over two leftover cpus, and a list with holes. */
static void test_place_lists(void **state)
{
	(void)state;
	/* B = 3, L = 5, C = 5: busy 0 1 2, light j on cpus[3 + j mod 2]:
	 * w0 3, w1 4, w2 3, an0 4, an1 3. */
	place_is((int[]){ 1, 1, 1, 3, 2 }, seq, 5, (int[]){ 0, 1, 2, 3, 4, 3, 4, 3 }, 8);
	/* cpus 2,5,6,9 and 1 2 1 2 0: B = 4 = C, so p mod 4 over the list:
	 * 2 5 6 9 2 5. */
	const int holes[] = { 2, 5, 6, 9 };
	place_is((int[]){ 1, 2, 1, 2, 0 }, holes, 4, (int[]){ 2, 5, 6, 9, 2, 5 }, 6);
	/* Same list, 1 1 1 1 0: B = 3 < C = 4 = P: one each, 2 5 6 9. */
	place_is((int[]){ 1, 1, 1, 1, 0 }, holes, 4, (int[]){ 2, 5, 6, 9 }, 4);
}

static void test_place_refused(void **state)
{
	(void)state;
	int out[4];
	char err[128] = "";
	assert_int_equal(sup_place((int[]){ 1, 1, 1, 1, 0 }, seq, 0, out, 4, err, sizeof err), -1);
	assert_non_null(strstr(err, "no cpu"));
	assert_int_equal(sup_place((int[]){ 1, 2, 1, 1, 0 }, seq, 4, out, 4, err, sizeof err), -1);
	assert_non_null(strstr(err, "5 processes"));
}

/* The promises over counts 1..4 per busy role, 0..3 per light role, and
 * 1..20 cpus taken from a list with holes (every third number). */
static void test_place_properties(void **state)
{
	(void)state;
	int list[20];
	for (int i = 0; i < 20; i++)
		list[i] = 3 * i + 1;
	int n[RF_ROLE_COUNT];
	for (n[0] = 1; n[0] <= 2; n[0]++)
	for (n[1] = 1; n[1] <= 4; n[1]++)
	for (n[2] = 1; n[2] <= 4; n[2]++)
	for (n[3] = 1; n[3] <= 3; n[3]++)
	for (n[4] = 0; n[4] <= 3; n[4]++)
	for (int c = 1; c <= 20; c++) {
		int out[MAXP];
		char err[128];
		int total = n[0] + n[1] + n[2] + n[3] + n[4], busy = n[0] + n[1] + n[2];
		assert_int_equal(sup_place(n, list, c, out, MAXP, err, sizeof err), total);
		int users[64] = { 0 }, busy_users[64] = { 0 };
		for (int p = 0; p < total; p++) {
			int k = -1;
			for (int i = 0; i < c; i++)
				if (list[i] == out[p])
					k = i;
			if (k < 0)
				fail_msg("process %d on cpu %d, not among the first %d of the list", p, out[p], c);
			users[k]++;
			busy_users[k] += p < busy;
		}
		for (int i = 0; i < c; i++) {
			if (c >= total && users[i] > 1)
				fail_msg("%d cpus for %d processes, yet %d on cpu %d", c, total, users[i], list[i]);
			if (c >= busy && busy_users[i] > 1)
				fail_msg("%d cpus for %d busy processes, yet %d busy on cpu %d", c, busy, busy_users[i],
					 list[i]);
			/* Round robin: no cpu carries two more than another. */
			for (int j = 0; j < c && c <= busy; j++)
				if (users[i] > users[j] + 1)
					fail_msg("%d cpus, %d processes: cpu %d has %d, cpu %d %d", c, total, list[i], users[i],
						 list[j], users[j]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist_parse),
		cmocka_unit_test(test_cpulist_format),
		cmocka_unit_test(test_place_it_pipeline),
		cmocka_unit_test(test_place_one_each),
		cmocka_unit_test(test_place_sixteen_core_auto),
		cmocka_unit_test(test_place_lists),
		cmocka_unit_test(test_place_refused),
		cmocka_unit_test(test_place_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
