/*
 * test_lineproto_parse.c — unit tests of pipeline/lineproto_parse.c: good
 * lines of every value type, escapes in every part, every rejection reason,
 * the LP_LINE_MAX boundary, truncations at every length, random and
 * every-byte junk, and points written by the encoder (pipeline/lineproto.c)
 * reading back as they were meant.
 *
 * Expected values are written by hand from the line protocol reference and
 * the escaping rules in lineproto.h, or come from independent libc code
 * (strtod); never from the parser itself. Each line is parsed from a heap
 * copy of exactly its length, overwritten right after parsing: ASan sees any
 * read past the end, and the checks prove the point does not point into the
 * line.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/lineproto.h"
#include "pipeline/lineproto_parse.h"

#define S(x) x, strlen(x)

struct fixture {
	struct lp_point pt;
	char err[256];
	struct lp_buf b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
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

/* The line for a failure message, with non-printable bytes as \xNN. */
static const char *show(const char *s, size_t n)
{
	static char out[512];
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < sizeof out; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static void check_str(const struct lp_point *pt, const struct lp_str *s)
{
	assert_non_null(s->p);
	assert_true(s->p >= pt->text);
	assert_true(s->p + s->len < pt->text + sizeof pt->text);
	assert_int_equal(s->p[s->len], '\0');
	assert_int_equal(strlen(s->p), s->len);
}

/* What every parse must give: a well-formed point or a named reason. */
static void check_result(struct fixture *f, int rc)
{
	const struct lp_point *pt = &f->pt;
	if (rc != 0) {
		assert_true(rc < 0 && rc > -LP_ERROR_COUNT);
		const char *name = lp_error_name((enum lp_error)-rc);
		assert_string_not_equal(name, "unknown");
		assert_memory_equal(f->err, name, strlen(name));
		assert_int_equal(pt->ntags, 0);
		assert_int_equal(pt->nfields, 0);
		return;
	}
	check_str(pt, &pt->measurement);
	assert_true(pt->measurement.len > 0);
	assert_in_range(pt->ntags, 0, LP_MAX_TAGS);
	assert_in_range(pt->nfields, 1, LP_MAX_FIELDS);
	for (int i = 0; i < pt->ntags; i++) {
		check_str(pt, &pt->tags[i].key);
		check_str(pt, &pt->tags[i].val);
		assert_true(pt->tags[i].key.len > 0 && pt->tags[i].val.len > 0);
	}
	for (int i = 0; i < pt->nfields; i++) {
		const struct lp_point_field *fl = &pt->fields[i];
		check_str(pt, &fl->key);
		assert_true(fl->key.len > 0);
		if (fl->type == LP_STRING)
			check_str(pt, &fl->v.s);
		else if (fl->type == LP_FLOAT)
			assert_true(isfinite(fl->v.f));
		else if (fl->type == LP_BOOL)
			assert_true(fl->v.b == 0 || fl->v.b == 1);
		else
			assert_true(fl->type == LP_INT || fl->type == LP_UINT);
	}
	if (pt->has_time)
		assert_true(pt->time_ns >= LP_TIME_MIN && pt->time_ns <= LP_TIME_MAX);
	else
		assert_true(pt->time_ns == 0);
}

static int parse_n(struct fixture *f, const char *s, size_t n)
{
	char *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, s, n);
	memset(f->err, 0, sizeof f->err);
	int rc = lp_parse(copy, n, &f->pt, f->err, sizeof f->err);
	memset(copy, 'X', n);
	free(copy);
	check_result(f, rc);
	return rc;
}

static void expect_n(struct fixture *f, const char *s, size_t n, enum lp_error want)
{
	int rc = parse_n(f, s, n);
	if (rc != -(int)want)
		fail_msg("line \"%s\": got %s (%s), want %s", show(s, n),
			 lp_error_name((enum lp_error)-rc), f->err, lp_error_name(want));
}

static void expect(struct fixture *f, const char *s, enum lp_error want)
{
	expect_n(f, s, strlen(s), want);
}

static void assert_lp_str(const struct lp_str *s, const char *want)
{
	if (s->len != strlen(want) || memcmp(s->p, want, s->len) != 0)
		fail_msg("got \"%s\", want \"%s\"", show(s->p, s->len), want);
}

static const struct lp_point_field *field(struct fixture *f, int i, enum lp_type type,
					  const char *key)
{
	assert_true(i < f->pt.nfields);
	const struct lp_point_field *fl = &f->pt.fields[i];
	assert_lp_str(&fl->key, key);
	assert_int_equal(fl->type, type);
	return fl;
}

/* ---- good lines ------------------------------------------------------- */

static void t_every_type(void **state)
{
	struct fixture *f = *state;
	expect(f, "cpu,host=a,region=eu n=42i,load=0.5,u=7u,msg=\"ok\",up=true,down=F "
		  "1700000000000000000", LP_OK);
	struct lp_point *pt = &f->pt;
	assert_lp_str(&pt->measurement, "cpu");
	assert_int_equal(pt->ntags, 2);
	assert_lp_str(&pt->tags[0].key, "host");
	assert_lp_str(&pt->tags[0].val, "a");
	assert_lp_str(&pt->tags[1].key, "region");
	assert_lp_str(&pt->tags[1].val, "eu");
	assert_int_equal(pt->nfields, 6);
	assert_int_equal(field(f, 0, LP_INT, "n")->v.i, 42);
	assert_true(field(f, 1, LP_FLOAT, "load")->v.f == 0.5);
	assert_true(field(f, 2, LP_UINT, "u")->v.u == 7);
	assert_lp_str(&field(f, 3, LP_STRING, "msg")->v.s, "ok");
	assert_int_equal(field(f, 4, LP_BOOL, "up")->v.b, 1);
	assert_int_equal(field(f, 5, LP_BOOL, "down")->v.b, 0);
	assert_int_equal(pt->has_time, 1);
	assert_true(pt->time_ns == 1700000000000000000LL);

	/* no tags, no timestamp, a trailing newline */
	expect(f, "m v=1\n", LP_OK);
	assert_lp_str(&pt->measurement, "m");
	assert_int_equal(pt->ntags, 0);
	assert_true(field(f, 0, LP_FLOAT, "v")->v.f == 1.0);
	assert_int_equal(pt->has_time, 0);
	assert_true(pt->time_ns == 0);
}

static void t_floats(void **state)
{
	struct fixture *f = *state;
	static const char *const good[] = {
		"1.5", "1e3", "-2", "0", "-0", ".5", "5.", "-.5", "1.5E-7", "1e+308",
		"-1.7976931348623157e308", "4.9406564584124654e-324", "1e-400",
		"00012.50", "123456789012345678901234567890",
		"0.30000000000000004",
	};
	char line[128];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(line, sizeof line, "m v=%s", good[i]);
		expect(f, line, LP_OK);
		double want = strtod(good[i], NULL);
		double got = field(f, 0, LP_FLOAT, "v")->v.f;
		assert_memory_equal(&got, &want, sizeof got);
	}
	assert_true(f->pt.fields[0].v.f == 0.30000000000000004);
	expect(f, "m v=-0", LP_OK);
	assert_true(signbit(f->pt.fields[0].v.f));
	expect(f, "m v=1e3", LP_OK);
	assert_true(f->pt.fields[0].v.f == 1000.0);

	static const char *const bad[] = {
		"+1", "1e", "1e+", "e5", "-", ".", "-.", "1.2.3", "1..2", "nan", "NaN",
		"inf", "-Inf", "0x10", "1e309", "-1e309", "1_000", "1f", "--1", "1-",
		"1e5.5", "1\"", "\"", "=", "t1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(line, sizeof line, "m v=%s", bad[i]);
		expect(f, line, bad[i][0] == '"' ? LP_BAD_STRING : LP_BAD_FIELD_VALUE);
	}
}

static void t_integers(void **state)
{
	struct fixture *f = *state;
	expect(f, "m a=12i,b=-7i,c=0i,d=-0i,e=9223372036854775807i,g=-9223372036854775808i,"
		  "h=007i", LP_OK);
	assert_true(field(f, 0, LP_INT, "a")->v.i == 12);
	assert_true(field(f, 1, LP_INT, "b")->v.i == -7);
	assert_true(field(f, 2, LP_INT, "c")->v.i == 0);
	assert_true(field(f, 3, LP_INT, "d")->v.i == 0);
	assert_true(field(f, 4, LP_INT, "e")->v.i == INT64_MAX);
	assert_true(field(f, 5, LP_INT, "g")->v.i == INT64_MIN);
	assert_true(field(f, 6, LP_INT, "h")->v.i == 7);

	expect(f, "m a=0u,b=18446744073709551615u,c=12u", LP_OK);
	assert_true(field(f, 0, LP_UINT, "a")->v.u == 0);
	assert_true(field(f, 1, LP_UINT, "b")->v.u == UINT64_MAX);
	assert_true(field(f, 2, LP_UINT, "c")->v.u == 12);

	static const char *const bad[] = {
		"9223372036854775808i", "-9223372036854775809i", "99999999999999999999999i",
		"1.5i", "1e3i", "i", "-i", "+1i", "1ii", "0x1i", " 1i",
		"18446744073709551616u", "-1u", "u", "1.0u", "+1u", "1iu", "1ui",
	};
	char line[128];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(line, sizeof line, "m v=%s", bad[i]);
		expect(f, line, LP_BAD_FIELD_VALUE);
	}
}

static void t_booleans(void **state)
{
	struct fixture *f = *state;
	expect(f, "m a=t,b=T,c=true,d=True,e=TRUE,g=f,h=F,j=false,k=False,l=FALSE", LP_OK);
	assert_int_equal(f->pt.nfields, 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(f->pt.fields[i].type, LP_BOOL);
		assert_int_equal(f->pt.fields[i].v.b, i < 5);
	}
	static const char *const bad[] = {
		"tRUE", "tru", "truee", "FALSe", "yes", "no", "on", "1b", "tt", "fals",
	};
	char line[64];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(line, sizeof line, "m v=%s", bad[i]);
		expect(f, line, LP_BAD_FIELD_VALUE);
	}
}

static void t_strings(void **state)
{
	struct fixture *f = *state;
	/* "a \"b\" \\ c" on the wire is: a "b" \ c */
	expect(f, "m s=\"a \\\"b\\\" \\\\ c\"", LP_OK);
	assert_lp_str(&field(f, 0, LP_STRING, "s")->v.s, "a \"b\" \\ c");
	expect(f, "m s=\"\",t=\"a,b c=d\" 5", LP_OK);
	assert_lp_str(&field(f, 0, LP_STRING, "s")->v.s, "");
	assert_lp_str(&field(f, 1, LP_STRING, "t")->v.s, "a,b c=d");
	assert_true(f->pt.time_ns == 5);
	/* a backslash before anything but '"' and '\' is itself */
	expect(f, "m s=\"x\\n\\ty\\,\"", LP_OK);
	assert_lp_str(&field(f, 0, LP_STRING, "s")->v.s, "x\\n\\ty\\,");
	/* "a\\" ends after the escaped backslash; "\\\\" is two backslashes */
	expect(f, "m s=\"a\\\\\",t=\"\\\\\\\\\"", LP_OK);
	assert_lp_str(&field(f, 0, LP_STRING, "s")->v.s, "a\\");
	assert_lp_str(&field(f, 1, LP_STRING, "t")->v.s, "\\\\");
	/* tab and UTF-8 are text */
	expect(f, "m s=\"\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", LP_OK);
	assert_lp_str(&field(f, 0, LP_STRING, "s")->v.s, "\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

	expect(f, "m s=\"abc", LP_BAD_STRING);
	expect(f, "m s=\"", LP_BAD_STRING);
	expect(f, "m s=\"abc\\\" 1", LP_BAD_STRING);  /* the quote is escaped */
	expect(f, "m s=\"abc\\\"", LP_BAD_STRING);
	expect(f, "m s=\"a\"b", LP_BAD_FIELD_VALUE);
	expect(f, "m s=\"a\"\"b\"", LP_BAD_FIELD_VALUE);
	expect(f, "m s=\"abc\\", LP_BAD_ESCAPE);      /* the line ends in '\' */
}

static void t_measurement_escapes(void **state)
{
	struct fixture *f = *state;
	/* comma and space escaped; '=' and '"' are literal in a measurement */
	expect(f, "my\\ meas\\,x=\"y\" v=1i 1", LP_OK);
	assert_lp_str(&f->pt.measurement, "my meas,x=\"y\"");
	/* '\=' is no escape in a measurement, '\b' none anywhere */
	expect(f, "a\\=b\\c v=1", LP_OK);
	assert_lp_str(&f->pt.measurement, "a\\=b\\c");
	/* the backslash right before the space escapes it; the one before stays */
	expect(f, "a\\\\ b v=1", LP_OK);
	assert_lp_str(&f->pt.measurement, "a\\ b");
	/* an escaped space does not end the measurement */
	expect(f, "m\\ v=1", LP_NO_FIELDS);
	expect(f, "\\,m v=1", LP_OK);
	assert_lp_str(&f->pt.measurement, ",m");
	/* UTF-8 names */
	expect(f, "\xc3\xa9t\xc3\xa9,r\xc3\xa9gion=\xe2\x82\xac v=1", LP_OK);
	assert_lp_str(&f->pt.measurement, "\xc3\xa9t\xc3\xa9");
	assert_lp_str(&f->pt.tags[0].key, "r\xc3\xa9gion");
	assert_lp_str(&f->pt.tags[0].val, "\xe2\x82\xac");
}

static void t_tag_escapes(void **state)
{
	struct fixture *f = *state;
	expect(f, "m,tag\\ key\\,\\=x=a\\ b\\,c\\=d,q=\"quoted\",bs=a\\b,e=\\\"x v=1i 2", LP_OK);
	struct lp_point *pt = &f->pt;
	assert_int_equal(pt->ntags, 4);
	assert_lp_str(&pt->tags[0].key, "tag key,=x");
	assert_lp_str(&pt->tags[0].val, "a b,c=d");
	assert_lp_str(&pt->tags[1].key, "q");
	assert_lp_str(&pt->tags[1].val, "\"quoted\"");
	assert_lp_str(&pt->tags[2].val, "a\\b");
	assert_lp_str(&pt->tags[3].val, "\\\"x"); /* influxd keeps '\"' in tags too */
	/* an escaped space does not end a tag value: "a v" then meets '=' */
	expect(f, "m,t=a\\ v=1", LP_BAD_TAG);
	expect(f, "m,t=a\\ b v=1", LP_OK);
	assert_lp_str(&pt->tags[0].val, "a b");
	expect(f, "m,t=a\\ v", LP_NO_FIELDS);
	/* '\\,' is a backslash and an escaped comma */
	expect(f, "m,t=a\\\\,b v=1", LP_OK);
	assert_lp_str(&pt->tags[0].val, "a\\,b");
	assert_int_equal(pt->ntags, 1);
}

static void t_field_key_escapes(void **state)
{
	struct fixture *f = *state;
	expect(f, "m f\\ k\\,\\=1=\"s\",a\\\"b=1i,c\\d=t", LP_OK);
	assert_lp_str(&field(f, 0, LP_STRING, "f k,=1")->v.s, "s");
	/* kept as written, as the encoder writes them (influxd 1.6 stores the
	 * first key as a"b: see lineproto_parse.h) */
	assert_true(field(f, 1, LP_INT, "a\\\"b")->v.i == 1);
	assert_int_equal(field(f, 2, LP_BOOL, "c\\d")->v.b, 1);
	/* an unescaped '"' in a key is an ordinary byte */
	expect(f, "m a\"b=1", LP_OK);
	field(f, 0, LP_FLOAT, "a\"b");
}

static void t_timestamps(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *t; int64_t want; } good[] = {
		{ "0", 0 }, { "-5", -5 }, { "1", 1 }, { "007", 7 },
		{ "9223372036854775806", INT64_MAX - 1 },
		{ "-9223372036854775806", INT64_MIN + 2 },
	};
	char line[128];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(line, sizeof line, "m v=1 %s", good[i].t);
		expect(f, line, LP_OK);
		assert_int_equal(f->pt.has_time, 1);
		assert_true(f->pt.time_ns == good[i].want);
	}
	static const char *const bad[] = {
		"9223372036854775807", "-9223372036854775807", "-9223372036854775808",
		"99999999999999999999", "12a", "1.5", "+1", "-", "1e9", "0x10", "",
		" 1", "t",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(line, sizeof line, "m v=1 %s", bad[i]);
		expect(f, line, LP_BAD_TIMESTAMP);
	}
	expect(f, "m v=1 1 ", LP_TRAILING_GARBAGE);
	expect(f, "m v=1 1 2", LP_TRAILING_GARBAGE);
	expect(f, "m v=1 1 x=2", LP_TRAILING_GARBAGE);
}

/* ---- hostile lines ---------------------------------------------------- */

static void t_rejections(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *line; enum lp_error why; } cases[] = {
		{ "", LP_EMPTY }, { " ", LP_EMPTY }, { "\t \t", LP_EMPTY }, { "\n", LP_EMPTY },
		{ "#", LP_COMMENT }, { "# a comment", LP_COMMENT }, { "#m v=1 1", LP_COMMENT },
		{ "m", LP_NO_FIELDS }, { "m ", LP_NO_FIELDS }, { "m,t=a", LP_NO_FIELDS },
		{ "m,t=a ", LP_NO_FIELDS },
		{ ",t=a v=1", LP_NO_MEASUREMENT }, { " v=1", LP_NO_MEASUREMENT },
		{ " m v=1", LP_NO_MEASUREMENT },
		{ "m,t v=1", LP_BAD_TAG }, { "m,t= v=1", LP_BAD_TAG }, { "m,=a v=1", LP_BAD_TAG },
		{ "m, v=1", LP_BAD_TAG }, { "m,t=a, v=1", LP_BAD_TAG }, { "m,t=a=b v=1", LP_BAD_TAG },
		{ "m,t=a,,u=b v=1", LP_BAD_TAG }, { "m,t", LP_BAD_TAG }, { "m,", LP_BAD_TAG },
		{ "m,t=a,t=b v=1", LP_DUPLICATE_TAG },
		{ "m,t=a,u=b,t=a v=1", LP_DUPLICATE_TAG },
		{ "m v", LP_BAD_FIELD_KEY }, { "m =1", LP_BAD_FIELD_KEY }, { "m v=1,", LP_BAD_FIELD_KEY },
		{ "m v=1,,w=2", LP_BAD_FIELD_KEY }, { "m  v=1", LP_BAD_FIELD_KEY },
		{ "m v=1,w", LP_BAD_FIELD_KEY }, { "m v,w=1", LP_BAD_FIELD_KEY },
		{ "m v=", LP_BAD_FIELD_VALUE }, { "m v=,w=1", LP_BAD_FIELD_VALUE },
		{ "m v= 1", LP_BAD_FIELD_VALUE }, { "m v=abc", LP_BAD_FIELD_VALUE },
		{ "m v=1=2", LP_BAD_FIELD_VALUE }, { "m v=1\\ 2", LP_BAD_FIELD_VALUE },
		{ "m v=1,v=2", LP_DUPLICATE_FIELD }, { "m v=1,w=2,v=\"x\"", LP_DUPLICATE_FIELD },
		{ "m\\", LP_BAD_ESCAPE }, { "m v=1\\", LP_BAD_ESCAPE }, { "m,t=a\\", LP_BAD_ESCAPE },
		{ "m v=1 1\\", LP_BAD_ESCAPE }, { "\\", LP_BAD_ESCAPE }, { "m v=1\\\n", LP_BAD_ESCAPE },
		{ "m v=\"abc", LP_BAD_STRING },
		{ "\x01m v=1", LP_BINARY }, { "m v=1\r", LP_BINARY }, { "m v=1\r\n", LP_BINARY },
		{ "m v=1\n\n", LP_BINARY }, { "m\nv=1", LP_BINARY }, { "m v=\"a\x7f\"", LP_BINARY },
		{ "m v=\"\x1b[31m\"", LP_BINARY }, { "#\x07", LP_BINARY },
		{ "\xc3 v=1", LP_BAD_UTF8 }, { "\xc0\xaf v=1", LP_BAD_UTF8 },
		{ "\xc1\xbf v=1", LP_BAD_UTF8 }, { "\xe0\x80\xaf v=1", LP_BAD_UTF8 },
		{ "\xed\xa0\x80 v=1", LP_BAD_UTF8 }, { "\xf0\x80\x80\xaf v=1", LP_BAD_UTF8 },
		{ "\xf4\x90\x80\x80 v=1", LP_BAD_UTF8 }, { "\xf5\x80\x80\x80 v=1", LP_BAD_UTF8 },
		{ "\xff v=1", LP_BAD_UTF8 }, { "\x80 v=1", LP_BAD_UTF8 },
		{ "m v=\"\xe2\x82\"", LP_BAD_UTF8 }, { "m v=1 \xe2\x82", LP_BAD_UTF8 },
		{ "m v=1 \xe2", LP_BAD_UTF8 }, { "#\xff", LP_BAD_UTF8 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect(f, cases[i].line, cases[i].why);
	/* valid UTF-8 at its edges */
	expect(f, "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80"
		  "\xf4\x8f\xbf\xbf v=1", LP_OK);

	/* a NUL anywhere */
	expect_n(f, "m v=1\0", 6, LP_BINARY);
	expect_n(f, "\0", 1, LP_BINARY);
	expect_n(f, "m v=\"a\0b\"", 9, LP_BINARY);
	/* NULL is an empty line */
	memset(f->err, 0, sizeof f->err);
	assert_int_equal(lp_parse(NULL, 0, &f->pt, f->err, sizeof f->err), -LP_EMPTY);
	assert_true(lp_is_skip(-LP_EMPTY) && lp_is_skip(-LP_COMMENT));
	assert_false(lp_is_skip(0) || lp_is_skip(-LP_BINARY) || lp_is_skip(-LP_BAD_TAG));
}

static void t_messages_and_names(void **state)
{
	struct fixture *f = *state;
	expect(f, "m,t v=1", LP_BAD_TAG);
	assert_string_equal(f->err, "bad_tag at byte 2: tag without '='");
	expect(f, "m v=1,v=2", LP_DUPLICATE_FIELD);
	assert_string_equal(f->err, "duplicate_field at byte 6: field key \"v\" again");
	expect_n(f, "m v=1\x01", 6, LP_BINARY);
	assert_string_equal(f->err, "binary at byte 5: control byte 0x01");
	/* err may be absent, or too small */
	assert_int_equal(lp_parse(S("m"), &f->pt, NULL, 0), -LP_NO_FIELDS);
	char tiny[4];
	assert_int_equal(lp_parse(S("m"), &f->pt, tiny, sizeof tiny), -LP_NO_FIELDS);
	assert_string_equal(tiny, "no_");

	/* one snake_case name per reason, none twice */
	for (int i = 0; i < LP_ERROR_COUNT; i++) {
		const char *n = lp_error_name((enum lp_error)i);
		assert_string_not_equal(n, "unknown");
		assert_true(strlen(n) > 0);
		for (const char *c = n; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9' && c != n) ||
				    (*c == '_' && c != n));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, lp_error_name((enum lp_error)j));
	}
	assert_string_equal(lp_error_name(LP_OK), "ok");
	assert_string_equal(lp_error_name(LP_COMMENT), "comment");
	assert_string_equal(lp_error_name(LP_ERROR_COUNT), "unknown");
	assert_string_equal(lp_error_name((enum lp_error)-1), "unknown");
}

static void t_tag_and_field_limits(void **state)
{
	struct fixture *f = *state;
	char line[8192];
	size_t n = (size_t)snprintf(line, sizeof line, "m");
	for (int i = 0; i < LP_MAX_TAGS; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, ",t%d=v%d", i, i);
	size_t tags_end = n;
	n += (size_t)snprintf(line + n, sizeof line - n, " v=1");
	expect(f, line, LP_OK);
	assert_int_equal(f->pt.ntags, LP_MAX_TAGS);
	assert_lp_str(&f->pt.tags[LP_MAX_TAGS - 1].key, "t63");
	assert_lp_str(&f->pt.tags[LP_MAX_TAGS - 1].val, "v63");
	snprintf(line + tags_end, sizeof line - tags_end, ",x=y v=1");
	expect(f, line, LP_TOO_MANY_TAGS);

	n = (size_t)snprintf(line, sizeof line, "m ");
	for (int i = 0; i < LP_MAX_FIELDS; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "%sf%d=%di", i ? "," : "", i, i);
	size_t fields_end = n;
	snprintf(line + n, sizeof line - n, " 9");
	expect(f, line, LP_OK);
	assert_int_equal(f->pt.nfields, LP_MAX_FIELDS);
	assert_true(field(f, LP_MAX_FIELDS - 1, LP_INT, "f255")->v.i == 255);
	assert_true(f->pt.time_ns == 9);
	snprintf(line + fields_end, sizeof line - fields_end, ",x=1 9");
	expect(f, line, LP_TOO_MANY_FIELDS);
}

static void t_line_max_boundary(void **state)
{
	struct fixture *f = *state;
	char *line = malloc(LP_LINE_MAX + 2);
	assert_non_null(line);
	/* m s="xxx...x": exactly LP_LINE_MAX bytes */
	memcpy(line, "m s=\"", 5);
	memset(line + 5, 'x', LP_LINE_MAX - 6);
	line[LP_LINE_MAX - 1] = '"';
	expect_n(f, line, LP_LINE_MAX, LP_OK);
	assert_int_equal(f->pt.fields[0].v.s.len, LP_LINE_MAX - 6);
	line[LP_LINE_MAX] = '\n';   /* the newline does not count */
	expect_n(f, line, LP_LINE_MAX + 1, LP_OK);
	/* one byte more */
	memcpy(line, "m s=\"x", 6);
	memset(line + 6, 'x', LP_LINE_MAX - 6);
	line[LP_LINE_MAX] = '"';
	expect_n(f, line, LP_LINE_MAX + 1, LP_TOO_LONG);
	line[LP_LINE_MAX + 1] = '\n';
	expect_n(f, line, LP_LINE_MAX + 2, LP_TOO_LONG);
	/* the whole line a measurement, then a one-byte float: text[] is used to
	 * its last byte (see the NOTES in lineproto_parse.c) */
	memset(line, 'm', LP_LINE_MAX - 4);
	memcpy(line + LP_LINE_MAX - 4, " v=1", 4);
	expect_n(f, line, LP_LINE_MAX, LP_OK);
	assert_int_equal(f->pt.measurement.len, LP_LINE_MAX - 4);
	assert_true(f->pt.fields[0].v.f == 1.0);
	/* the same with tags: many short pieces */
	size_t n = 1;
	line[0] = 'm';
	for (int i = 0; i < LP_MAX_TAGS; i++)
		n += (size_t)snprintf(line + n, 16, ",%c%c=v", 'a' + i % 26, 'a' + i / 26);
	memset(line + n, 'w', LP_LINE_MAX - n - 4);
	memcpy(line + LP_LINE_MAX - 4, " v=1", 4);
	expect_n(f, line, LP_LINE_MAX, LP_OK);
	assert_int_equal(f->pt.ntags, LP_MAX_TAGS);
	assert_int_equal(f->pt.tags[LP_MAX_TAGS - 1].val.len, LP_LINE_MAX - n - 4 + 1);
	free(line);
}

static void t_truncations(void **state)
{
	struct fixture *f = *state;
	/* every prefix of one line, the expected reason written out by hand */
	static const char line[] = "m,t=a f=1i,s=\"x\" 12";
	static const enum lp_error want[] = {
		LP_EMPTY, LP_NO_FIELDS, LP_BAD_TAG, LP_BAD_TAG, LP_BAD_TAG,
		LP_NO_FIELDS, LP_NO_FIELDS, LP_BAD_FIELD_KEY, LP_BAD_FIELD_VALUE, LP_OK,
		LP_OK, LP_BAD_FIELD_KEY, LP_BAD_FIELD_KEY, LP_BAD_FIELD_VALUE, LP_BAD_STRING,
		LP_BAD_STRING, LP_OK, LP_BAD_TIMESTAMP, LP_OK, LP_OK,
	};
	_Static_assert(sizeof want / sizeof want[0] == sizeof line, "one per prefix");
	for (size_t k = 0; k < sizeof line; k++)
		expect_n(f, line, k, want[k]);
	assert_true(f->pt.time_ns == 12);
	expect_n(f, line, 9, LP_OK);
	assert_int_equal(f->pt.fields[0].type, LP_FLOAT);

	/* a line with every kind of escape, cut anywhere: a point or a reason */
	static const char hostile[] =
		"my\\ m\\,e=\"a,t\\ k\\=y=v\\,a\\ l,u=\xc3\xa9\\b f\\ k=\"q \\\"x\\\" \\\\ ,= \","
		"i=-9223372036854775808i,u=18446744073709551615u,b=FALSE,x=-1.5e-3 "
		"-9223372036854775806\n";
	expect_n(f, hostile, sizeof hostile - 1, LP_OK);
	assert_lp_str(&f->pt.measurement, "my m,e=\"a");
	assert_lp_str(&f->pt.tags[0].key, "t k=y");
	assert_lp_str(&f->pt.tags[0].val, "v,a l");
	assert_lp_str(&f->pt.tags[1].val, "\xc3\xa9\\b");
	assert_lp_str(&field(f, 0, LP_STRING, "f k")->v.s, "q \"x\" \\ ,= ");
	for (size_t k = 0; k < sizeof hostile; k++)
		parse_n(f, hostile, k);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void t_fuzz_random_bytes(void **state)
{
	struct fixture *f = *state;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	char line[512];
	int ok = 0, reasons[LP_ERROR_COUNT] = { 0 };
	/* any byte */
	for (int it = 0; it < 20000; it++) {
		size_t n = rnd(&x) % 200;
		for (size_t i = 0; i < n; i++)
			line[i] = (char)rnd(&x);
		int rc = parse_n(f, line, n);
		reasons[-rc]++;
	}
	/* pieces that mean something to the parser, so it gets past the start */
	static const char *const tokens[] = {
		"m", ",", "=", " ", "\"", "\\", "t", "f", "T", "F", "i", "u", "0",
		"1", "9", ".", "-", "e", "E", "#", "x", "\t", "\xc3\xa9", "true",
		"12i", "1.5", "\"s\"", "k=v", "a", "b",
	};
	const size_t ntokens = sizeof tokens / sizeof tokens[0];
	for (int it = 0; it < 50000; it++) {
		size_t n = 0, np = rnd(&x) % 40;
		for (size_t k = 0; k < np; k++) {
			const char *t = tokens[rnd(&x) % ntokens];
			memcpy(line + n, t, strlen(t));
			n += strlen(t);
		}
		int rc = parse_n(f, line, n);
		ok += rc == 0;
		reasons[-rc]++;
	}
	/* valid lines with a few bytes changed, inserted or removed */
	static const char *const seeds[] = {
		"cpu,host=a,region=eu n=42i,load=0.5,u=7u,msg=\"ok\",up=true 1700000000000000000",
		"my\\ m,t\\ k=v\\,a s=\"a \\\"b\\\" \\\\ c\",x=1e3,y=-2 -5",
		"m,t=\xc3\xa9 v=1",
	};
	static const char alphabet[] = "m,= \"\\\\tfTFiu0123456789.-eE#x\t";
	for (int it = 0; it < 50000; it++) {
		const char *s = seeds[rnd(&x) % 3];
		size_t n = strlen(s);
		memcpy(line, s, n);
		int edits = 1 + (int)(rnd(&x) % 4);
		for (int e = 0; e < edits; e++) {
			size_t at = n ? rnd(&x) % n : 0;
			char c = (rnd(&x) % 4) ? alphabet[rnd(&x) % (sizeof alphabet - 1)]
					       : (char)rnd(&x);
			switch (rnd(&x) % 3) {
			case 0:
				if (n)
					line[at] = c;
				break;
			case 1:
				memmove(line + at + 1, line + at, n - at);
				line[at] = c;
				n++;
				break;
			default:
				if (n) {
					memmove(line + at, line + at + 1, n - at - 1);
					n--;
				}
			}
		}
		int rc = parse_n(f, line, n);
		ok += rc == 0;
		reasons[-rc]++;
	}
	/* the loops reach deep into the parser, not only its first checks */
	assert_true(ok > 1000);
	for (int r = LP_EMPTY; r < LP_ERROR_COUNT; r++) {
		if (r == LP_TOO_LONG || r == LP_TOO_MANY_TAGS || r == LP_TOO_MANY_FIELDS ||
		    r == LP_DUPLICATE_TAG)
			continue;
		if (reasons[r] == 0)
			fail_msg("the fuzz loops never produced %s", lp_error_name((enum lp_error)r));
	}
}

static void t_every_byte(void **state)
{
	struct fixture *f = *state;
	static const char base[] = "m,t=a f=1i,s=\"x\" 12";
	const size_t n = sizeof base - 1;
	char line[64];
	for (int b = 0; b < 256; b++) {
		int control = (b < 0x20 && b != '\t') || b == 0x7f;
		for (size_t at = 0; at <= n; at++) {
			/* inserted */
			memcpy(line, base, at);
			line[at] = (char)b;
			memcpy(line + at + 1, base + at, n - at);
			int rc = parse_n(f, line, n + 1);
			if (b == '\n' && at == n)
				assert_int_equal(rc, 0);
			else if (control)
				assert_int_equal(rc, -LP_BINARY);
			else if (b >= 0x80)
				assert_int_equal(rc, -LP_BAD_UTF8);
			if (at == n)
				continue;
			/* replacing */
			memcpy(line, base, n);
			line[at] = (char)b;
			rc = parse_n(f, line, n);
			if (b == '\n' && at == n - 1)
				assert_int_equal(rc, 0); /* "... 1" */
			else if (control)
				assert_int_equal(rc, -LP_BINARY);
			else if (b >= 0x80)
				assert_int_equal(rc, -LP_BAD_UTF8);
		}
		/* alone, and as a whole line of it */
		line[0] = (char)b;
		parse_n(f, line, 1);
		memset(line, b, sizeof line);
		parse_n(f, line, sizeof line);
	}
}

/* ---- the encoder's lines read back ------------------------------------ */

/* Parses the one point in the buffer (with its '\n'). */
static void parse_buf(struct fixture *f)
{
	assert_true(f->b.len > 0 && f->b.data[f->b.len - 1] == '\n');
	assert_null(memchr(f->b.data, '\n', f->b.len - 1));
	int rc = parse_n(f, f->b.data, f->b.len);
	if (rc != 0)
		fail_msg("line \"%s\": %s", show(f->b.data, f->b.len), f->err);
}

static void t_roundtrip_hostile(void **state)
{
	struct fixture *f = *state;
	struct lp_enc p;
	struct lp_point *pt = &f->pt;

	lp_begin(&p, &f->b, S("my meas,x=\"y\""));
	lp_tag(&p, S("tag key,=x"), S("a b,c=d"));
	lp_tag(&p, S("q"), S("\"quoted\""));
	lp_tag(&p, S("bs"), S("a\\b"));
	lp_tag(&p, S("eq"), S("=,= ="));
	lp_field_str(&p, S("f k,=1"), S("say \"hi\" \\ path\\, a=b c"));
	lp_field_int(&p, S("min"), INT64_MIN);
	lp_field_int(&p, S("max"), INT64_MAX);
	lp_field_float(&p, S("fl"), -2.5e-300);
	lp_field_bool(&p, S("no"), 0);
	lp_field_str(&p, S("empty"), "", 0);
	assert_int_equal(lp_end(&p, -5), 0);
	parse_buf(f);
	assert_lp_str(&pt->measurement, "my meas,x=\"y\"");
	assert_int_equal(pt->ntags, 4);
	assert_lp_str(&pt->tags[0].key, "tag key,=x");
	assert_lp_str(&pt->tags[0].val, "a b,c=d");
	assert_lp_str(&pt->tags[1].val, "\"quoted\"");
	assert_lp_str(&pt->tags[2].val, "a\\b");
	assert_lp_str(&pt->tags[3].val, "=,= =");
	assert_int_equal(pt->nfields, 6);
	assert_lp_str(&field(f, 0, LP_STRING, "f k,=1")->v.s, "say \"hi\" \\ path\\, a=b c");
	assert_true(field(f, 1, LP_INT, "min")->v.i == INT64_MIN);
	assert_true(field(f, 2, LP_INT, "max")->v.i == INT64_MAX);
	assert_true(field(f, 3, LP_FLOAT, "fl")->v.f == -2.5e-300);
	assert_int_equal(field(f, 4, LP_BOOL, "no")->v.b, 0);
	assert_lp_str(&field(f, 5, LP_STRING, "empty")->v.s, "");
	assert_true(pt->has_time && pt->time_ns == -5);

	/* what the encoder changes (lineproto.h) reads back changed that way */
	lp_buf_reset(&f->b);
	lp_begin(&p, &f->b, S("#a\nb\\\\"));
	lp_tag(&p, S("t"), S("end\\"));
	lp_tag(&p, S("u"), S("a\\,b"));
	lp_tag(&p, S("w"), S("\\\\"));
	lp_tag(&p, S("time"), S("x"));
	lp_tag(&p, S("nl"), S("x\r\ny"));
	lp_tag(&p, S("e"), "", 0);
	lp_field_int(&p, S("k\\"), 1);
	lp_field_int(&p, S("time"), 9);
	lp_field_str(&p, S("s"), S("line1\nline2"));
	assert_int_equal(lp_field_float(&p, S("nan"), NAN), -1);
	lp_field_str(&p, S("a\\\"b"), S("\xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_int_equal(lp_end(&p, 1700000000000000000LL), 0);
	parse_buf(f);
	assert_lp_str(&pt->measurement, "_a b");
	assert_int_equal(pt->ntags, 3);
	assert_lp_str(&pt->tags[0].val, "end");
	assert_lp_str(&pt->tags[1].val, "a,b");
	assert_lp_str(&pt->tags[2].key, "nl");
	assert_lp_str(&pt->tags[2].val, "x  y");
	assert_int_equal(pt->nfields, 3);
	assert_true(field(f, 0, LP_INT, "k")->v.i == 1);
	assert_lp_str(&field(f, 1, LP_STRING, "s")->v.s, "line1 line2");
	assert_lp_str(&field(f, 2, LP_STRING, "a\\\"b")->v.s, "\xe2\x82\xac \xf0\x9f\x98\x80");
	assert_true(pt->time_ns == 1700000000000000000LL);
}

/* Random text from pieces the encoder writes back unchanged in names
 * (no newline, no backslash run before a special character or at the end);
 * strings may have any of them but newlines. */
static size_t rand_text(uint64_t *x, char *out, size_t max_pieces, int in_string)
{
	static const char *const pieces[] = {
		"a", "b", "Z", "_", " ", ",", "=", "\"", "'", "#", "\t", "\\q",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "time", "i", "1",
	};
	static const char *const string_pieces[] = { "\\", "\\\\", "\\\"", "\"\\" };
	size_t n = 0, np = rnd(x) % (max_pieces + 1);
	for (size_t k = 0; k < np; k++) {
		const char *p = in_string && rnd(x) % 4 == 0
			? string_pieces[rnd(x) % 4]
			: pieces[rnd(x) % (sizeof pieces / sizeof pieces[0])];
		memcpy(out + n, p, strlen(p));
		n += strlen(p);
	}
	out[n] = '\0';
	return n;
}

static void t_roundtrip_random(void **state)
{
	struct fixture *f = *state;
	struct lp_point *pt = &f->pt;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char meas[256];
	char tkeys[16][256], tvals[16][256], fkeys[32][256], svals[32][512];
	int types[32];
	int64_t ivals[32];
	double fvals[32];

	for (int it = 0; it < 2000; it++) {
		struct lp_enc p;
		lp_buf_reset(&f->b);
		/* "m" first: never empty, never a '#' comment */
		meas[0] = 'm';
		size_t mlen = 1 + rand_text(&x, meas + 1, 6, 0);
		lp_begin(&p, &f->b, meas, mlen);
		int nt = (int)(rnd(&x) % 16), nf = 1 + (int)(rnd(&x) % 32);
		/* keys start "k<n>|" / "f<n>|": unique, never "time" */
		for (int i = 0; i < nt; i++) {
			int k = snprintf(tkeys[i], 16, "k%d|", i);
			rand_text(&x, tkeys[i] + k, 5, 0);
			tvals[i][0] = 'v';
			rand_text(&x, tvals[i] + 1, 5, 0);
			lp_tag(&p, S(tkeys[i]), S(tvals[i]));
		}
		for (int i = 0; i < nf; i++) {
			int k = snprintf(fkeys[i], 16, "f%d|", i);
			rand_text(&x, fkeys[i] + k, 5, 0);
			types[i] = (int)(rnd(&x) % 4);
			switch (types[i]) {
			case 0:
				ivals[i] = (int64_t)rnd(&x);
				lp_field_int(&p, S(fkeys[i]), ivals[i]);
				break;
			case 1: {
				uint64_t bits = rnd(&x);
				memcpy(&fvals[i], &bits, sizeof bits);
				if (!isfinite(fvals[i]))
					fvals[i] = (double)(int64_t)bits / 3.0;
				assert_int_equal(lp_field_float(&p, S(fkeys[i]), fvals[i]), 0);
				break;
			}
			case 2:
				rand_text(&x, svals[i], 12, 1);
				lp_field_str(&p, S(fkeys[i]), S(svals[i]));
				break;
			default:
				ivals[i] = (int64_t)(rnd(&x) & 1);
				lp_field_bool(&p, S(fkeys[i]), (int)ivals[i]);
			}
		}
		int64_t t = (int64_t)rnd(&x);
		if (t < LP_TIME_MIN || t > LP_TIME_MAX)
			t = 0;
		assert_int_equal(lp_end(&p, t), 0);

		parse_buf(f);
		assert_lp_str(&pt->measurement, meas);
		assert_int_equal(pt->ntags, nt);
		for (int i = 0; i < nt; i++) {
			assert_lp_str(&pt->tags[i].key, tkeys[i]);
			assert_lp_str(&pt->tags[i].val, tvals[i]);
		}
		assert_int_equal(pt->nfields, nf);
		for (int i = 0; i < nf; i++) {
			const struct lp_point_field *fl = &pt->fields[i];
			assert_lp_str(&fl->key, fkeys[i]);
			switch (types[i]) {
			case 0:
				assert_int_equal(fl->type, LP_INT);
				assert_true(fl->v.i == ivals[i]);
				break;
			case 1:
				assert_int_equal(fl->type, LP_FLOAT);
				assert_memory_equal(&fl->v.f, &fvals[i], sizeof(double));
				break;
			case 2:
				assert_int_equal(fl->type, LP_STRING);
				assert_lp_str(&fl->v.s, svals[i]);
				break;
			default:
				assert_int_equal(fl->type, LP_BOOL);
				assert_int_equal(fl->v.b, ivals[i]);
			}
		}
		assert_int_equal(pt->has_time, 1);
		assert_true(pt->time_ns == t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(t_floats, setup, teardown),
		cmocka_unit_test_setup_teardown(t_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(t_booleans, setup, teardown),
		cmocka_unit_test_setup_teardown(t_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(t_measurement_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tag_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_field_key_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(t_rejections, setup, teardown),
		cmocka_unit_test_setup_teardown(t_messages_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(t_tag_and_field_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(t_line_max_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(t_truncations, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fuzz_random_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(t_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(t_roundtrip_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(t_roundtrip_random, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
