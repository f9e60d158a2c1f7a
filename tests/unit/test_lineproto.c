/*
 * test_lineproto.c — unit tests of pipeline/lineproto.c. Every expected line is
 * written out by hand from InfluxDB's line protocol reference (special
 * characters: measurement escapes comma and space; tag keys/values and field
 * keys escape comma, equals sign and space; string fields escape '"' and
 * '\') and from what influxd 1.6 was seen to accept (see lineproto.h);
 * tests/unit/test_influx.c sends the same kinds of points to a real server.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/lineproto.h"

#define S(x) x, strlen(x)

struct fixture {
	struct lp_buf b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	lp_buf_init(&f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	lp_buf_free(&f->b);
	free(f);
	return 0;
}

/* Compares the buffer with the expected text (buffers are not NUL-ended). */
static void assert_buf(const struct lp_buf *b, const char *want)
{
	char *got = strndup(b->data ? b->data : "", b->len);
	assert_string_equal(got, want);
	free(got);
}

static void t_plain(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("cpu"));
	lp_tag(&p, S("host"), S("a"));
	lp_tag(&p, S("region"), S("eu"));
	lp_field_int(&p, S("n"), 42);
	lp_field_float(&p, S("load"), 0.5);
	lp_field_str(&p, S("msg"), S("ok"));
	lp_field_bool(&p, S("up"), 1);
	lp_field_bool(&p, S("down"), 0);
	assert_int_equal(lp_end(&p, 1700000000000000000LL), 0);
	assert_buf(&f->b, "cpu,host=a,region=eu n=42i,load=0.5,msg=\"ok\",up=true,down=false "
		   "1700000000000000000\n");
}

static void t_int_suffix_and_limits(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("m"));
	lp_field_int(&p, S("a"), 0);
	lp_field_int(&p, S("b"), -7);
	lp_field_int(&p, S("c"), INT64_MAX);
	lp_field_int(&p, S("d"), INT64_MIN);
	assert_int_equal(lp_end(&p, -5), 0);
	assert_buf(&f->b, "m a=0i,b=-7i,c=9223372036854775807i,d=-9223372036854775808i -5\n");
}

static void t_measurement_escaping(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	/* comma and space escaped; '=' and '"' are literal in a measurement */
	lp_begin(&p, &f->b, S("my meas,x=\"y\""));
	lp_field_int(&p, S("v"), 1);
	lp_end(&p, 1);
	assert_buf(&f->b, "my\\ meas\\,x=\"y\" v=1i 1\n");
}

static void t_tag_escaping(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("m"));
	lp_tag(&p, S("tag key,=x"), S("a b,c=d"));
	lp_tag(&p, S("q"), S("\"quoted\""));       /* quotes are literal in tags */
	lp_tag(&p, S("bs"), S("a\\b"));             /* lone backslash: as is */
	lp_field_int(&p, S("v"), 1);
	lp_end(&p, 2);
	assert_buf(&f->b, "m,tag\\ key\\,\\=x=a\\ b\\,c\\=d,q=\"quoted\",bs=a\\b v=1i 2\n");
}

static void t_field_key_and_string_escaping(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("m"));
	lp_field_str(&p, S("f k,=1"), S("say \"hi\" \\ path\\, a=b c"));
	lp_end(&p, 3);
	assert_buf(&f->b, "m f\\ k\\,\\=1=\"say \\\"hi\\\" \\\\ path\\\\, a=b c\" 3\n");
}

static void t_newlines_become_spaces(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("a\nb"));
	lp_tag(&p, S("t"), S("x\r\ny"));
	lp_field_str(&p, S("s"), S("line1\nline2"));
	lp_end(&p, 4);
	assert_buf(&f->b, "a\\ b,t=x\\ \\ y s=\"line1 line2\" 4\n");
	/* exactly one line: nothing the server could split into two */
	assert_ptr_equal(memchr(f->b.data, '\n', f->b.len), f->b.data + f->b.len - 1);
}

static void t_unencodable_backslashes(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	/* trailing backslash runs and runs before an escaped char are left out */
	lp_begin(&p, &f->b, S("m\\\\"));
	lp_tag(&p, S("t"), S("end\\"));
	lp_tag(&p, S("u"), S("a\\,b"));
	lp_tag(&p, S("w"), S("\\\\"));          /* nothing left: tag skipped */
	lp_field_int(&p, S("k\\"), 1);
	lp_end(&p, 5);
	assert_buf(&f->b, "m,t=end,u=a\\,b k=1i 5\n");
}

static void t_comment_and_time_keys(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("#hash"));
	lp_tag(&p, S("time"), S("x"));
	lp_field_int(&p, S("time"), 9);
	lp_field_int(&p, S("v"), 1);
	lp_end(&p, 6);
	assert_buf(&f->b, "_hash v=1i 6\n");
}

static void t_empty_tag_skipped(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("m"));
	lp_tag(&p, S("a"), "", 0);
	lp_tag(&p, "", 0, S("x"));
	lp_tag(&p, S("b"), S("y"));
	lp_field_int(&p, "", 0, 7);
	lp_field_int(&p, S("v"), 1);
	lp_end(&p, 7);
	assert_buf(&f->b, "m,b=y v=1i 7\n");
}

static void t_nan_inf_refused(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("m"));
	assert_int_equal(lp_field_float(&p, S("a"), NAN), -1);
	assert_int_equal(lp_field_float(&p, S("b"), INFINITY), -1);
	assert_int_equal(lp_field_float(&p, S("c"), -INFINITY), -1);
	assert_int_equal(lp_field_float(&p, S("d"), 1.25), 0);
	lp_end(&p, 8);
	assert_buf(&f->b, "m d=1.25 8\n");
}

static void t_no_fields_removed(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	lp_begin(&p, &f->b, S("keep"));
	lp_field_int(&p, S("v"), 1);
	assert_int_equal(lp_end(&p, 1), 0);
	lp_begin(&p, &f->b, S("gone"));
	lp_tag(&p, S("t"), S("x"));
	assert_int_equal(lp_field_float(&p, S("f"), NAN), -1);
	assert_int_equal(lp_end(&p, 2), -1);
	/* an empty measurement is no point either */
	lp_begin(&p, &f->b, "", 0);
	lp_field_int(&p, S("v"), 1);
	assert_int_equal(lp_end(&p, 3), -1);
	assert_buf(&f->b, "keep v=1i 1\n");
}

/* Parses the field value the encoder wrote back with strtod. */
static double float_roundtrip(struct lp_buf *b, double v)
{
	struct lp_enc p;
	lp_buf_reset(b);
	lp_begin(&p, b, S("m"));
	assert_int_equal(lp_field_float(&p, S("f"), v), 0);
	lp_end(&p, 0);
	char *txt = strndup(b->data, b->len);
	char *eq = strstr(txt, " f=");
	assert_non_null(eq);
	char *end;
	double back = strtod(eq + 3, &end);
	assert_true(*end == ' '); /* a plain number, no suffix: a float */
	assert_null(strchr(eq + 3, 'i'));
	free(txt);
	return back;
}

static void t_float_roundtrip(void **state)
{
	struct fixture *f = *state;
	const double vals[] = {
		0.0, -0.0, 1.0, 0.1, 1.0 / 3.0, -2.5e-300, 1.7976931348623157e308,
		4.9406564584124654e-324, 123456789012345678.0, 0.30000000000000004,
	};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		double back = float_roundtrip(&f->b, vals[i]);
		assert_memory_equal(&back, &vals[i], sizeof back);
	}
	/* deterministic pseudo-random bit patterns, finite ones only */
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double v;
		memcpy(&v, &x, sizeof v);
		if (!isfinite(v))
			continue;
		double back = float_roundtrip(&f->b, v);
		assert_memory_equal(&back, &v, sizeof back);
	}
}

static void t_buffer_growth(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	char big[10000];
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 50; i++) {
		lp_begin(&p, &f->b, S("m"));
		lp_field_str(&p, S("s"), big, sizeof big);
		lp_end(&p, i);
	}
	size_t one = strlen("m s=\"\" 0\n") + sizeof big;
	/* timestamps 0..9 take one digit, 10..49 two */
	assert_int_equal(f->b.len, 50 * one + 40);
	assert_int_equal(f->b.data[f->b.len - 1], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(t_int_suffix_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(t_measurement_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tag_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(t_field_key_and_string_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(t_newlines_become_spaces, setup, teardown),
		cmocka_unit_test_setup_teardown(t_unencodable_backslashes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_comment_and_time_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(t_empty_tag_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(t_nan_inf_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(t_no_fields_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(t_float_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(t_buffer_growth, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
