/*
 * test_args_split.c — unit tests of analyze/args_split.c (the `args`
 * splitter) and analyze/exec_resolve.c (where `exec` points), with
 * hand-written expectations and hostile input. Exec cases use fake
 * executables in a mkdtemp() directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyze/args_split.h"
#include "analyze/exec_resolve.h"

/* Splits s and checks it gives exactly the n words of want. */
static void expect_words(const char *s, int n, const char *const *want)
{
	char **argv = (char **)1;
	int argc = -1;
	char err[256] = "";
	if (an_split_args(s, &argv, &argc, err, sizeof err))
		fail_msg("'%s' refused: %s", s, err);
	assert_int_equal(argc, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[n]);
	an_free_args(argv);
}

static void expect_refused(const char *s, const char *want)
{
	char **argv = (char **)1;
	int argc = -1;
	char err[256] = "";
	assert_int_equal(an_split_args(s, &argv, &argc, err, sizeof err), -1);
	assert_null(argv);
	if (!strstr(err, want))
		fail_msg("'%s': message '%s' lacks '%s'", s, err, want);
}

#define W(...) (const char *const[]){ __VA_ARGS__ }

static void test_plain(void **state)
{
	expect_words("", 0, W(NULL));
	expect_words("   \t  ", 0, W(NULL));
	expect_words("--field bytes --percent 200 --windows 1", 6,
		     W("--field", "bytes", "--percent", "200", "--windows", "1"));
	expect_words("\ta\t\tb  c\t", 3, W("a", "b", "c"));
	expect_words("x", 1, W("x"));
}

static void test_quotes(void **state)
{
	expect_words("--x=\"a b\"", 1, W("--x=a b"));
	expect_words("\"a b\"c d", 2, W("a bc", "d"));
	expect_words("\"\"", 1, W(""));
	expect_words("a \"\" b", 3, W("a", "", "b"));
	expect_words("\"\"\"\"", 1, W(""));
	expect_words("\"say \\\"hi\\\"\"", 1, W("say \"hi\""));
	expect_words("\"c:\\\\dir\"", 1, W("c:\\dir"));
	/* Other escapes inside quotes stay as written. */
	expect_words("\"a\\nb\"", 1, W("a\\nb"));
	expect_words("\"\t\"", 1, W("\t"));
}

static void test_literal_outside_quotes(void **state)
{
	expect_words("a\\b 'x y' $HOME;*", 4, W("a\\b", "'x", "y'", "$HOME;*"));
	/* A backslash outside quotes does not escape: this quote opens. */
	expect_words("\\\"x y\"", 1, W("\\x y"));
	expect_words("\\", 1, W("\\"));
	expect_words("'", 1, W("'"));
}

static void test_refused(void **state)
{
	expect_refused("\"abc", "the double quote at byte 1 is never closed");
	expect_refused("a b \"c d", "the double quote at byte 5 is never closed");
	expect_refused("\"", "byte 1 is never closed");
	expect_refused("\"abc\\\"", "the \\\" at byte 5 is an escaped quote");
	expect_refused("\"abc\\", "the backslash at byte 5 ends the value inside the double quote opened at byte 1");
	expect_refused("ok \"\" \"", "byte 7 is never closed");
}

static void test_many_words(void **state)
{
	enum { N = 10000 };
	char *s = malloc(N * 6 + 1);
	assert_non_null(s);
	size_t o = 0;
	for (int i = 0; i < N; i++)
		o += (size_t)sprintf(s + o, "%s%d", i % 2 ? "\t" : " ", i % 1000);
	char **argv;
	int argc;
	char err[128];
	assert_int_equal(an_split_args(s, &argv, &argc, err, sizeof err), 0);
	assert_int_equal(argc, N);
	for (int i = 0; i < N; i++) {
		char want[16];
		snprintf(want, sizeof want, "%d", i % 1000);
		assert_string_equal(argv[i], want);
	}
	assert_null(argv[N]);
	an_free_args(argv);
	free(s);
	an_free_args(NULL);
}

/* Binary-ish bytes: every byte 1..255 at once, never a crash; the count is
 * computed independently (blanks split, one quote pair groups). */
static void test_hostile_bytes(void **state)
{
	char s[256];
	for (int i = 1; i < 256; i++)
		s[i - 1] = (char)i;
	s[255] = '\0';
	char **argv;
	int argc;
	char err[256];
	/* One '"' (34) opens a quote never closed. */
	assert_int_equal(an_split_args(s, &argv, &argc, err, sizeof err), -1);
	assert_non_null(strstr(err, "byte 34 is never closed"));
	s[33] = 'q';
	assert_int_equal(an_split_args(s, &argv, &argc, err, sizeof err), 0);
	/* Blanks are 9 (tab) and 32 (space): words 1..8, 10..31, 33..255. */
	assert_int_equal(argc, 3);
	assert_int_equal(strlen(argv[0]), 8);
	assert_int_equal(strlen(argv[1]), 22);
	assert_int_equal(strlen(argv[2]), 223);
	an_free_args(argv);
}

/* ------------------------------------------------------------- exec */

static char tmp[256];

static void make_file(const char *rel, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", tmp, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup_exec(void **state)
{
	snprintf(tmp, sizeof tmp, "%s/rf-test-exec-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return -1;
	char p[512];
	snprintf(p, sizeof p, "%s/bin", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/libexec", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/libexec/ringflow", tmp);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/conf", tmp);
	mkdir(p, 0700);
	make_file("bin/ringflow-zscore", 0755);
	make_file("libexec/ringflow/ringflow-zscore", 0755);
	make_file("libexec/ringflow/ringflow-forecast", 0755);
	make_file("libexec/ringflow/ringflow-site_x", 0755);
	make_file("bin/ringflow-average", 0644);
	make_file("conf/mine", 0755);
	make_file("conf/noexec", 0644);
	return 0;
}

static int teardown_exec(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_exec(const char *exec, const char *want_rel)
{
	char bin[512], conf[512], out[1024], want[1024], err[8192] = "";
	snprintf(bin, sizeof bin, "%s/bin", tmp);
	snprintf(conf, sizeof conf, "%s/conf", tmp);
	if (an_resolve_exec(exec, bin, conf, out, sizeof out, err, sizeof err))
		fail_msg("'%s' refused: %s", exec, err);
	snprintf(want, sizeof want, "%s/%s", tmp, want_rel);
	assert_string_equal(out, want);
}

static void expect_exec_refused(const char *exec, const char *want1, const char *want2)
{
	char bin[512], conf[512], out[1024], err[8192] = "";
	snprintf(bin, sizeof bin, "%s/bin", tmp);
	snprintf(conf, sizeof conf, "%s/conf", tmp);
	assert_int_equal(an_resolve_exec(exec, bin, conf, out, sizeof out, err, sizeof err), -1);
	if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
		fail_msg("'%s': message '%s' lacks '%s' / '%s'", exec, err, want1, want2 ? want2 : "");
}

static void test_exec_builtin(void **state)
{
	/* Beside the binary first, then libexec. */
	expect_exec("zscore", "bin/ringflow-zscore");
	expect_exec("forecast", "bin/../libexec/ringflow/ringflow-forecast");
	expect_exec("site_x", "bin/../libexec/ringflow/ringflow-site_x");
	char want[600];
	snprintf(want, sizeof want, "%s/bin/ringflow-deviation", tmp);
	expect_exec_refused("deviation", "built-in analyzer 'deviation' is not installed: looked for", want);
	snprintf(want, sizeof want, "%s/bin/../libexec/ringflow/ringflow-deviation", tmp);
	expect_exec_refused("deviation", want, NULL);
	/* Not executable beside the binary, absent in libexec. */
	expect_exec_refused("average", "is not executable", "ringflow-average");
	expect_exec_refused("nosuch", "'nosuch' is not a built-in analyzer (threshold, deviation", "ringflow-nosuch");
	expect_exec_refused("Zscore", "neither a built-in name", NULL);
	expect_exec_refused("a b", "neither a built-in name", NULL);
	expect_exec_refused("..", "neither a built-in name", NULL);
	expect_exec_refused("", "empty", NULL);
	char out[64], err[256];
	assert_int_equal(an_resolve_exec("zscore", NULL, NULL, out, sizeof out, err, sizeof err), -1);
	assert_non_null(strstr(err, "directory of the ringflow binary is unknown"));
}

static void test_exec_path(void **state)
{
	expect_exec("./mine", "conf/./mine");
	expect_exec("../conf/mine", "conf/../conf/mine");
	char abs[600];
	snprintf(abs, sizeof abs, "%s/conf/mine", tmp);
	expect_exec(abs, "conf/mine");
	expect_exec_refused("./noexec", "is not executable", NULL);
	expect_exec_refused("./absent", "No such file or directory", NULL);
	expect_exec_refused("../conf", "is not a regular file", NULL);
	expect_exec_refused("/", "is not a regular file", NULL);
	char out[16], err[256];
	assert_int_equal(an_resolve_exec(abs, NULL, NULL, out, sizeof out, err, sizeof err), -1);
	assert_non_null(strstr(err, "too long"));
}

static void test_self_dir(void **state)
{
	char d[4096], exe[4096];
	assert_int_equal(an_self_dir(d, sizeof d), 0);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	size_t l = strlen(d);
	assert_memory_equal(exe, d, l);
	assert_int_equal(exe[l], '/');
	assert_null(strchr(exe + l + 1, '/'));
	assert_int_equal(an_self_dir(d, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_literal_outside_quotes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_many_words),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test_setup_teardown(test_exec_builtin, setup_exec, teardown_exec),
		cmocka_unit_test_setup_teardown(test_exec_path, setup_exec, teardown_exec),
		cmocka_unit_test(test_self_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
