/*
 * test_json_out.c — the JSON writer (supervisor/json_out.h): commas and
 * nesting, string escaping (quote, backslash, every control byte, DEL),
 * invalid UTF-8 replaced by U+FFFD while valid multi-byte text passes,
 * integers at their limits, doubles with fixed decimals whatever the
 * locale says, NaN/infinity as null, and misuse reported. Every expected
 * string is written by hand from RFC 8259.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/json_out.h"

struct fx {
	struct sup_out o;
	struct sup_json j;
	char err[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	sup_json_init(&f->j, &f->o);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->o.buf);
	free(f);
	return 0;
}

/* Finishes the document and compares the whole output. */
static void expect(struct fx *f, const char *want)
{
	assert_int_equal(sup_json_finish(&f->j, f->err, sizeof f->err), 0);
	assert_non_null(f->o.buf);
	assert_string_equal(f->o.buf, want);
}

static void test_nesting(void **state)
{
	struct fx *f = *state;
	struct sup_json *j = &f->j;
	sup_json_obj_begin(j, NULL);
	sup_json_str(j, "a", "x");
	sup_json_arr_begin(j, "list");
	sup_json_int(j, NULL, 1);
	sup_json_obj_begin(j, NULL);
	sup_json_obj_end(j);
	sup_json_arr_begin(j, NULL);
	sup_json_arr_end(j);
	sup_json_null(j, NULL);
	sup_json_arr_end(j);
	sup_json_bool(j, "t", 1);
	sup_json_bool(j, "f", 0);
	sup_json_str(j, "n", NULL);
	sup_json_obj_end(j);
	expect(f, "{\"a\":\"x\",\"list\":[1,{},[],null],\"t\":true,\"f\":false,\"n\":null}\n");
}

static void test_escapes(void **state)
{
	struct fx *f = *state;
	sup_json_arr_begin(&f->j, NULL);
	sup_json_str(&f->j, NULL, "q\"b\\s/");
	sup_json_str(&f->j, NULL, "\b\f\n\r\t");
	sup_json_str(&f->j, NULL, "\x01\x1f\x7f");
	sup_json_str(&f->j, NULL, "");
	sup_json_arr_end(&f->j);
	/* '/' needs no escape; \b \f \n \r \t have short forms; other
	 * control bytes and DEL are \u00XX. */
	expect(f, "[\"q\\\"b\\\\s/\",\"\\b\\f\\n\\r\\t\",\"\\u0001\\u001f\\u007f\",\"\"]\n");
}

static void test_key_escaped(void **state)
{
	struct fx *f = *state;
	sup_json_obj_begin(&f->j, NULL);
	sup_json_int(&f->j, "a\"\n", 0);
	sup_json_obj_end(&f->j);
	expect(f, "{\"a\\\"\\n\":0}\n");
}

static void test_utf8(void **state)
{
	struct fx *f = *state;
	sup_json_arr_begin(&f->j, NULL);
	/* é (C3 A9), € (E2 82 AC), U+1F600 (F0 9F 98 80): kept as they are. */
	sup_json_str(&f->j, NULL, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
	/* A lone continuation byte, a truncated sequence before ASCII, an
	 * overlong '/' (C0 AF), a surrogate (ED A0 80), FF: each invalid
	 * byte becomes EF BF BD; the bytes after a bad lead are looked at
	 * again on their own (so ED A0 80 gives three replacements). */
	sup_json_str(&f->j, NULL, "\x80" "a" "\xE2\x82" "b" "\xC0\xAF" "\xED\xA0\x80" "\xFF");
	/* A sequence cut by the end of the string. */
	sup_json_str(&f->j, NULL, "z\xF0\x9F");
	sup_json_arr_end(&f->j);
	expect(f, "[\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\","
		  "\"\xEF\xBF\xBD" "a" "\xEF\xBF\xBD\xEF\xBF\xBD" "b" "\xEF\xBF\xBD\xEF\xBF\xBD"
		  "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "\xEF\xBF\xBD\","
		  "\"z\xEF\xBF\xBD\xEF\xBF\xBD\"]\n");
}

static void test_long_string(void **state)
{
	/* Longer than the escaper's chunk buffer: nothing lost at the seams. */
	struct fx *f = *state;
	char in[1001], want[2100];
	size_t n = 0;
	want[n++] = '"';
	for (int i = 0; i < 1000; i++) {
		in[i] = i % 10 == 9 ? '"' : (char)('a' + i % 10);
		if (in[i] == '"')
			want[n++] = '\\';
		want[n++] = in[i];
	}
	in[1000] = '\0';
	want[n++] = '"';
	want[n++] = '\n';
	want[n] = '\0';
	sup_json_str(&f->j, NULL, in);
	expect(f, want);
}

static void test_integers(void **state)
{
	struct fx *f = *state;
	sup_json_arr_begin(&f->j, NULL);
	sup_json_int(&f->j, NULL, LLONG_MIN);
	sup_json_int(&f->j, NULL, -1);
	sup_json_uint(&f->j, NULL, ULLONG_MAX);
	sup_json_arr_end(&f->j);
	expect(f, "[-9223372036854775808,-1,18446744073709551615]\n");
}

static void test_doubles(void **state)
{
	struct fx *f = *state;
	sup_json_arr_begin(&f->j, NULL);
	sup_json_double(&f->j, NULL, 1.5, 3);        /* 1.500 */
	sup_json_double(&f->j, NULL, -0.25, 1);      /* -0.25 rounds away from zero: -0.3 */
	sup_json_double(&f->j, NULL, -0.0001, 3);    /* rounds to 0: no "-0.000" */
	sup_json_double(&f->j, NULL, 0.000123, 6);   /* leading zeros of the fraction */
	sup_json_double(&f->j, NULL, 12345.678, 0);  /* 12346 */
	sup_json_double(&f->j, NULL, 1e20, 3);       /* beyond long long: no decimals */
	sup_json_double(&f->j, NULL, NAN, 3);
	sup_json_double(&f->j, NULL, INFINITY, 3);
	sup_json_double(&f->j, NULL, -INFINITY, 0);
	sup_json_arr_end(&f->j);
	expect(f, "[1.500,-0.3,0.000,0.000123,12346,100000000000000000000,null,null,null]\n");
}

static void test_locale(void **state)
{
	/* A locale whose decimal point is ',' must not leak into JSON. The
	 * test needs such a locale installed; without one it checks "C". */
	struct fx *f = *state;
	const char *names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", NULL };
	const char *got = NULL;
	for (int i = 0; names[i] && !got; i++)
		got = setlocale(LC_NUMERIC, names[i]);
	if (!got)
		print_message("no comma-decimal locale installed: checking the C locale only\n");
	sup_json_double(&f->j, NULL, 3.25, 2);
	setlocale(LC_NUMERIC, "C");
	expect(f, "3.25\n");
}

static void test_misuse(void **state)
{
	struct fx *f = *state;
	sup_json_obj_begin(&f->j, NULL);
	sup_json_int(&f->j, NULL, 1); /* no key in an object */
	sup_json_obj_end(&f->j);
	assert_int_equal(sup_json_finish(&f->j, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "mismatch"));
}

static void test_unbalanced(void **state)
{
	struct fx *f = *state;
	sup_json_obj_begin(&f->j, NULL);
	sup_json_arr_begin(&f->j, "a");
	sup_json_obj_end(&f->j); /* closes the wrong kind */
	assert_int_equal(sup_json_finish(&f->j, f->err, sizeof f->err), -1);
}

static void test_left_open(void **state)
{
	struct fx *f = *state;
	sup_json_arr_begin(&f->j, NULL);
	assert_int_equal(sup_json_finish(&f->j, f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "open"));
}

static void test_too_deep(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < SUP_JSON_MAX_DEPTH + 1; i++)
		sup_json_arr_begin(&f->j, NULL);
	for (int i = 0; i < SUP_JSON_MAX_DEPTH + 1; i++)
		sup_json_arr_end(&f->j);
	assert_int_equal(sup_json_finish(&f->j, f->err, sizeof f->err), -1);
}

static void test_two_top_values(void **state)
{
	struct fx *f = *state;
	sup_json_int(&f->j, NULL, 1);
	sup_json_int(&f->j, NULL, 2);
	assert_int_equal(sup_json_finish(&f->j, f->err, sizeof f->err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_string, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doubles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbalanced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_left_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_top_values, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
