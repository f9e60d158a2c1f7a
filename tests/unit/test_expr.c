/*
 * test_expr.c — unit tests of the expression compiler and evaluator
 * (transform/expr*.c): precedence, every function incl. the prototype's
 * forms, missing propagation, division by zero, static types and every
 * compile error message. GeoIP functions use the MaxMind test databases in
 * data/mmdb (RF_SRCDIR overrides the repository root); their expected
 * answers are taken from data/mmdb/expected_lookups.csv by hand.
 */
#include <arpa/inet.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transform/expr.h"

enum { F_FLOW, F_SRC, F_DST, F_SIZE, F_RATE, F_RATIO, F_NAME, F_V6, F_N, F_BIG, F_NIP, F_COUNT };

static const struct xf_sym field_syms[F_COUNT + 1] = {
	{ "flow", RF_V_STR, 0, F_FLOW },
	{ "src_ip", RF_V_IP, 0, F_SRC },
	{ "dst_ip", RF_V_IP, 0, F_DST },
	{ "packet_size", RF_V_INT, 0, F_SIZE },
	{ "sampling_rate", RF_V_INT, 0, F_RATE },
	{ "ratio", RF_V_FLOAT, 0, F_RATIO },
	{ "name", RF_V_STR, 0, F_NAME },
	{ "v6", RF_V_IP, 0, F_V6 },
	{ "n", RF_V_INT, 0, F_N },          /* always missing */
	{ "big", RF_V_INT, 0, F_BIG },
	{ "nip", RF_V_IP, 0, F_NIP },       /* always missing */
	{ "packet_size", RF_V_INT, 1, 0 },  /* an output shadowing a column; only in shadow test */
};

static struct rf_value fields[F_COUNT];
static struct rf_value outs[1];
static struct xf_counters cnt;
static struct xf_eval ev;
static struct xf_scope scope;
static struct xf_geoip *geo;
static struct conf_geoip gconf;
/* The last compiled expression: its string literals must outlive the
 * value under test, so it is freed by the next run_t() or teardown. */
static struct xf_expr *last;
static char db_country[512], db_city[512], db_asn[512];

static void set_ip(struct rf_value *v, int af, const char *text)
{
	memset(v, 0, sizeof(*v));
	v->type = RF_V_IP;
	if (af == AF_INET) {
		v->u.ip[10] = v->u.ip[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, text, v->u.ip + 12), 1);
		v->ip_is_v4 = 1;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, v->u.ip), 1);
	}
}

static void set_str(struct rf_value *v, const char *s)
{
	v->type = RF_V_STR;
	v->u.s = s;
	v->len = (uint32_t)strlen(s);
}

static int setup(void **state)
{
	const char *root = getenv("RF_SRCDIR") ? getenv("RF_SRCDIR") : ".";
	snprintf(db_country, sizeof(db_country), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root);
	snprintf(db_city, sizeof(db_city), "%s/data/mmdb/GeoIP2-City-Test.mmdb", root);
	snprintf(db_asn, sizeof(db_asn), "%s/data/mmdb/GeoLite2-ASN-Test.mmdb", root);
	gconf.country = db_country;
	gconf.city = db_city;
	gconf.asn = db_asn;
	char err[512];
	geo = xf_geoip_open(&gconf, 0xf, err, sizeof(err));
	if (geo == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	xf_expr_free(last);
	xf_geoip_close(geo);
	return 0;
}

/* Fresh record and counters before each test. */
static int reset(void **state)
{
	memset(&cnt, 0, sizeof(cnt));
	set_str(&fields[F_FLOW], "FLOW");
	set_ip(&fields[F_SRC], AF_INET, "10.1.2.3");
	set_ip(&fields[F_DST], AF_INET, "81.2.69.142");
	fields[F_SIZE].type = RF_V_INT;
	fields[F_SIZE].u.i = 126;
	fields[F_RATE].type = RF_V_INT;
	fields[F_RATE].u.i = 1000;
	fields[F_RATIO].type = RF_V_FLOAT;
	fields[F_RATIO].u.f = 0.25;
	set_str(&fields[F_NAME], "MiXed");
	set_ip(&fields[F_V6], AF_INET6, "2001:db8:1234:5678::9");
	fields[F_N].type = RF_V_MISSING;
	fields[F_BIG].type = RF_V_INT;
	fields[F_BIG].u.i = (int64_t)1 << 62;
	fields[F_NIP].type = RF_V_MISSING;
	scope.syms = field_syms;
	scope.nsyms = F_COUNT;
	scope.geo_avail = 0xf;
	ev.fields = fields;
	ev.outs = outs;
	ev.geo = geo;
	ev.cnt = &cnt;
	xf_eval_reset(&ev);
	return 0;
}

/* Compiles (must succeed), checks the static type, evaluates. */
static struct rf_value run_t(const char *src, int want_type)
{
	char err[256];
	xf_expr_free(last);
	last = NULL;
	struct xf_expr *e = xf_expr_compile(src, &scope, err, sizeof(err));
	if (e == NULL)
		fail_msg("'%s' did not compile: %s", src, err);
	if (want_type >= 0 && xf_expr_type(e) != want_type)
		fail_msg("'%s': static type %s, want %s", src, xf_type_name(xf_expr_type(e)),
			 xf_type_name(want_type));
	struct rf_value v;
	memset(&v, 0xa5, sizeof(v));
	xf_expr_eval(e, &ev, &v);
	last = e;
	return v;
}

static void want_int(const char *src, int64_t x)
{
	struct rf_value v = run_t(src, -1);
	if (v.type != RF_V_INT || v.u.i != x)
		fail_msg("'%s': got type %d value %lld, want int %lld", src, v.type,
			 (long long)v.u.i, (long long)x);
}

static void want_float(const char *src, double x)
{
	struct rf_value v = run_t(src, -1);
	if (v.type != RF_V_FLOAT || v.u.f != x)
		fail_msg("'%s': got type %d value %.17g, want float %.17g", src, v.type, v.u.f, x);
}

static void want_bool(const char *src, int b)
{
	struct rf_value v = run_t(src, RF_V_BOOL);
	if (v.type != RF_V_BOOL || v.u.i != b)
		fail_msg("'%s': got type %d value %lld, want %s", src, v.type, (long long)v.u.i,
			 b ? "true" : "false");
}

static void want_str(const char *src, const char *s)
{
	struct rf_value v = run_t(src, -1);
	if (v.type != RF_V_STR || v.len != strlen(s) || memcmp(v.u.s, s, v.len) != 0)
		fail_msg("'%s': got type %d '%.*s', want '%s'", src, v.type,
			 v.type == RF_V_STR ? (int)v.len : 0, v.type == RF_V_STR ? v.u.s : "", s);
}

static void want_missing(const char *src)
{
	struct rf_value v = run_t(src, -1);
	if (v.type != RF_V_MISSING)
		fail_msg("'%s': got type %d, want missing", src, v.type);
}

static void want_ip(const char *src, const char *text)
{
	struct rf_value v = run_t(src, RF_V_IP);
	char buf[INET6_ADDRSTRLEN];
	if (v.type != RF_V_IP)
		fail_msg("'%s': got type %d, want ip", src, v.type);
	if (v.ip_is_v4)
		inet_ntop(AF_INET, v.u.ip + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, v.u.ip, buf, sizeof(buf));
	if (strcmp(buf, text) != 0)
		fail_msg("'%s': got %s, want %s", src, buf, text);
}

static void want_error(const char *src, const char *msg)
{
	char err[256] = "";
	struct xf_expr *e = xf_expr_compile(src, &scope, err, sizeof(err));
	if (e != NULL) {
		xf_expr_free(e);
		fail_msg("'%s' compiled, want error '%s'", src, msg);
	}
	if (strcmp(err, msg) != 0)
		fail_msg("'%s': error '%s', want '%s'", src, err, msg);
}

static void t_arith_and_precedence(void **state)
{
	want_int("1 + 2 * 3", 7);
	want_int("(1 + 2) * 3", 9);
	want_int("10 - 4 - 3", 3);
	want_int("2 * 3 % 4", 2);
	want_int("-2 * 3", -6);
	want_int("- -2", 2);
	want_int("2--2", 4);
	want_int("7 % 3", 1);
	want_int("-7 % 3", -1);               /* sign of the dividend, as in C */
	want_int("0x10 + 1", 17);
	want_int("packet_size * sampling_rate", 126000);
	want_float("7 / 2", 3.5);
	want_float("8 / 2", 4.0);             /* '/' is always float */
	want_float("7.5 % 2", 1.5);
	want_float("1 + 2.5", 3.5);
	want_float("1e3", 1000.0);
	want_float(".5 * 4", 2.0);
	want_float("ratio * 4", 1.0);
	want_float("-ratio", -0.25);
	/* int64 overflow turns into float instead of wrapping */
	want_float("9223372036854775807 + 1", 9223372036854775808.0);
	want_float("big * big", 21267647932558653966460912964485513216.0);
	want_float("-9223372036854775807 - 2", -9223372036854775809.0);
	want_float("big + big - big", 4611686018427387904.0);
	want_int("big - big + big", (int64_t)1 << 62);
	want_int("  1+2  ", 3);
}

static void t_logic_and_comparison(void **state)
{
	want_bool("1 < 2 and 2 < 3", 1);
	/* and binds tighter than or; not tighter than and/or */
	want_bool("1 == 2 and 1 == 2 or 1 == 1", 1);
	want_bool("1 == 1 or 1 == 1 and 1 == 2", 1);
	want_bool("not 1 == 1 or 1 == 1", 1);
	want_bool("not (1 == 1 or 1 == 1)", 0);
	want_bool("NOT 1 > 2 AND 2 >= 2", 1);
	want_bool("1 != 1", 0);
	want_bool("1 <= 1", 1);
	want_bool("2 > 1.5", 1);
	want_bool("1 == 1.0", 1);
	want_bool("flow == \"FLOW\"", 1);
	want_bool("flow != \"CNTR\"", 1);
	want_bool("\"abc\" < \"abd\"", 1);
	want_bool("\"ab\" < \"abc\"", 1);
	want_bool("\"b\" > \"abc\"", 1);
	want_bool("src_ip == \"10.1.2.3\"", 1);
	want_bool("\"10.1.2.3\" == src_ip", 1);
	want_bool("src_ip == 10.1.2.3", 1);
	want_bool("src_ip < dst_ip", 1);
	want_bool("v6 == \"2001:db8:1234:5678:0000:0000:0000:0009\"", 1);
	want_bool("flow == \"FLOW\" and packet_size > 0", 1);
	want_bool("packet_size and 1 == 1", 1); /* numbers are conditions */
	want_bool("packet_size - 126 or 0", 0);
	/* kinds only known at run time: different kinds are not equal */
	want_bool("if(packet_size > 0, flow, packet_size) == 5", 0);
	want_bool("if(packet_size > 0, flow, packet_size) != 5", 1);
	want_bool("if(packet_size > 0, flow, packet_size) == \"FLOW\"", 1);
}

static void t_missing_propagation(void **state)
{
	want_missing("n + 1");
	want_missing("1 - n * 2");
	want_missing("-n");
	want_missing("abs(n)");
	want_missing("min(n, 1)");
	want_missing("round(n)");
	want_missing("country(nip)");
	want_missing("asn(nip)");
	want_missing("subnet(nip, 8)");
	want_missing("sum(n, 1)");
	want_bool("n == 1", 0);
	want_bool("n == n", 0);
	want_bool("n != 1", 1);
	want_bool("n > 0", 0);
	want_bool("n < 0", 0);
	want_bool("not (n > 0)", 1);
	want_bool("n or 1 == 2", 0);
	want_bool("n and 1 == 1", 0);
	want_bool("n or 1 == 1", 1);
	want_bool("1 == 1 or n", 1);
	want_int("if(n > 0, 1, 2)", 2);
	want_int("if(n, 1, 2)", 2);
	/* only the chosen branch runs: no division counted */
	want_int("if(1 == 1, 5, 1 / 0 > 0)", 5);
	assert_int_equal(cnt.div_by_zero, 0);
	/* short circuit: the right side is not evaluated */
	want_bool("1 == 2 and 1 / 0 > 0", 0);
	want_bool("1 == 1 or 1 % 0 > 0", 1);
	assert_int_equal(cnt.div_by_zero, 0);
}

static void t_div_by_zero(void **state)
{
	want_missing("1 / 0");
	want_missing("1 % 0");
	want_missing("div(5, 0)");
	want_missing("ratio / 0.0");
	want_missing("packet_size % (sampling_rate - 1000)");
	want_missing("(1 / 0) + 1");
	assert_int_equal(cnt.div_by_zero, 6);
	want_int("-9223372036854775807 % -1", 0);
	want_missing("n / 0");                 /* missing operand first: not counted */
	assert_int_equal(cnt.div_by_zero, 6);
}

static void t_functions(void **state)
{
	want_int("abs(-5)", 5);
	want_float("abs(-2.5)", 2.5);
	want_int("min(3, 2)", 2);
	want_int("MAX(3, 2)", 3);
	want_float("max(3, 2.5)", 3.0);       /* int and float give float */
	want_float("min(1.5, 2)", 1.5);
	want_int("round(2.5)", 3);
	want_int("round(-2.5)", -3);
	want_int("round(2.4999)", 2);
	want_int("floor(-1.5)", -2);
	want_int("ceil(1.2)", 2);
	want_int("Round(7)", 7);
	want_missing("round(1e300)");
	want_str("lower(\"AbC\")", "abc");
	want_str("upper(name)", "MIXED");
	want_str("lower(upper(name))", "mixed");
	want_str("upper(\"z\xc3\xbc\")", "Z\xc3\xbc"); /* ASCII only; UTF-8 bytes kept */
	want_int("sum(2, 3)", 5);
	want_int("minus(2, 3)", -1);
	want_int("mult(2, 3)", 6);
	want_float("sum(2, 0.5)", 2.5);
	want_float("div(7, 2)", 3.5);
	want_float("div(packet_size, 2)", 63.0);
	want_ip("subnet(10.1.2.3, 24)", "10.1.2.0");
	want_ip("subnet(10.1.255.3, 20)", "10.1.240.0");
	want_ip("subnet(src_ip, 8)", "10.0.0.0");
	want_ip("subnet(src_ip, 32)", "10.1.2.3");
	want_ip("subnet(src_ip, 0)", "0.0.0.0");
	want_ip("subnet(v6, 32)", "2001:db8::");
	want_ip("subnet(v6, 60)", "2001:db8:1234:5670::");
	want_ip("subnet(v6, 128)", "2001:db8:1234:5678::9");
	want_missing("subnet(src_ip, 33)");
	want_missing("subnet(src_ip, -1)");
	want_missing("subnet(v6, 129)");
	want_str("if(1 > 0, \"a\", \"b\")", "a");
	want_str("if(1 < 0, \"a\", \"b\")", "b");
	want_float("if(1 > 0, 1, 2.5)", 1.0);
	want_str("if(packet_size > 100, upper(lower(flow)), \"small\")", "FLOW");
	want_int("if(packet_size > 1000, 1, if(packet_size > 100, 2, 3))", 2);
	want_str("\"a\\\"b\\\\c\"", "a\"b\\c");
	want_bool("subnet(src_ip, 16) == 10.1.0.0", 1);
}

static void t_geoip_functions(void **state)
{
	want_str("country(dst_ip)", "GB");
	want_str("COUNTRY(81.2.69.142)", "GB");
	want_str("city(dst_ip)", "London");
	want_int("asn(1.128.0.0)", 1221);
	want_int("aarea(1.128.0.0)", 1221);
	want_str("as_org(1.0.0.0)", "Google Inc.");
	assert_int_equal(cnt.geoip_unknown, 0);
	/* 10.1.2.3 is in none of the test databases */
	want_str("country(src_ip)", "");
	want_int("asn(src_ip)", 0);
	want_str("as_org(src_ip)", "");
	assert_int_equal(cnt.geoip_unknown, 3);
	want_bool("country(dst_ip) == \"GB\" and asn(src_ip) == 0", 1);
	assert_int_equal(cnt.geoip_error, 0);
	/* without a handle (not opened) the answer is missing, not a crash */
	ev.geo = NULL;
	want_missing("country(dst_ip)");
}

static void t_static_types(void **state)
{
	static const struct { const char *src; int type; } t[] = {
		{ "1", RF_V_INT }, { "1.5", RF_V_FLOAT }, { "\"x\"", RF_V_STR }, { "1.2.3.4", RF_V_IP },
		{ "packet_size * sampling_rate", RF_V_INT }, { "packet_size / 2", RF_V_FLOAT },
		{ "packet_size * ratio", RF_V_FLOAT }, { "packet_size % 7", RF_V_INT },
		{ "flow == \"FLOW\"", RF_V_BOOL }, { "not packet_size", RF_V_BOOL },
		{ "country(src_ip)", RF_V_STR }, { "city(src_ip)", RF_V_STR }, { "asn(src_ip)", RF_V_INT },
		{ "aarea(src_ip)", RF_V_INT }, { "as_org(src_ip)", RF_V_STR },
		{ "subnet(src_ip, 24)", RF_V_IP }, { "abs(ratio)", RF_V_FLOAT }, { "abs(-1)", RF_V_INT },
		{ "min(1, 2)", RF_V_INT }, { "max(1, 2.0)", RF_V_FLOAT }, { "round(ratio)", RF_V_INT },
		{ "floor(ratio)", RF_V_INT }, { "ceil(ratio)", RF_V_INT }, { "lower(flow)", RF_V_STR },
		{ "upper(flow)", RF_V_STR }, { "sum(1, 2)", RF_V_INT }, { "minus(1, 2.0)", RF_V_FLOAT },
		{ "mult(2, 3)", RF_V_INT }, { "div(4, 2)", RF_V_FLOAT },
		{ "if(n > 0, 1, 2)", RF_V_INT }, { "if(n > 0, 1, 2.0)", RF_V_FLOAT },
		{ "if(n > 0, flow, 2)", RF_V_ANY }, { "if(n > 0, flow, 2) + 1", RF_V_ANY },
		{ "if(n > 0, flow, 2) / 1", RF_V_FLOAT }, { "-if(n > 0, flow, 2)", RF_V_ANY },
		{ "min(if(n > 0, flow, 2), 1)", RF_V_ANY },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		(void)run_t(t[i].src, t[i].type);
	assert_string_equal(xf_type_name(RF_V_ANY), "any");
	assert_string_equal(xf_type_name(RF_V_IP), "ip");
}

static void t_compile_errors(void **state)
{
	want_error("srcip + 1", "unknown field 'srcip' at column 1");
	want_error("1 + srcip", "unknown field 'srcip' at column 5");
	want_error("contry(src_ip)", "unknown function 'contry' at column 1");
	want_error("country(src_ip, 1)", "country() takes 1 argument, got 2");
	want_error("country()", "country() takes 1 argument, got 0");
	want_error("subnet(src_ip)", "subnet() takes 2 arguments, got 1");
	want_error("if(1, 2)", "if() takes 3 arguments, got 2");
	want_error("country(packet_size)", "country() needs an ip argument");
	want_error("asn(flow)", "asn() needs an ip argument");
	want_error("subnet(src_ip, 1.5)", "subnet() needs an int as argument 2");
	want_error("subnet(flow, 8)", "subnet() needs an ip as argument 1");
	want_error("lower(1)", "lower() needs a string argument");
	want_error("abs(flow)", "abs() needs a number argument");
	want_error("min(1, flow)", "min() needs a number as argument 2");
	want_error("if(flow, 1, 2)", "if() needs a condition as first argument, got str at column 4");
	want_error("(1 + 2))", "unexpected ')' at column 8");
	want_error("1 +", "unexpected end of expression at column 4");
	want_error("(1 + 2", "unexpected end of expression at column 7");
	want_error("1 2", "unexpected '2' at column 3");
	want_error("country(src_ip,)", "unexpected ',' at column 15");
	want_error("min(1,,2)", "unexpected ',' at column 7");
	want_error("min(1, 2", "unexpected end of expression at column 9");
	want_error("", "empty expression");
	want_error("   ", "empty expression");
	want_error("\"abc", "unterminated string at column 1");
	want_error("\"a\\qb\"", "bad escape '\\q' in string at column 3 (only \\\" and \\\\)");
	want_error("flow == 1", "cannot compare str with int at column 6");
	want_error("src_ip > 5", "cannot compare ip with int at column 8");
	want_error("flow + 1", "'+' needs numbers, got str at column 6");
	want_error("1 * src_ip", "'*' needs numbers, got ip at column 3");
	want_error("-flow", "'-' needs a number, got str at column 1");
	want_error("src_ip == \"nope\"", "'nope' is not an ip address at column 8");
	want_error("1 = 1", "unexpected '=' at column 3 (comparison is '==')");
	want_error("!(1 == 1)", "unexpected '!' at column 1 (negation is 'not')");
	want_error("1 # 2", "unexpected character '#' at column 3");
	want_error("1 \x01", "unexpected byte 0x01 at column 3");
	want_error("1.2.3", "bad number '1.2.3' at column 1");
	want_error("12abc", "bad number '12abc' at column 1");
	want_error("99999999999999999999", "bad number '99999999999999999999' at column 1");
	want_error("flow and 1", "'and' needs a condition, got str at column 6");
	want_error("1 or src_ip", "'or' needs a condition, got ip at column 3");
	want_error("not flow", "'not' needs a condition, got str at column 1");

	char src[1024];
	size_t n = 0;
	for (int i = 0; i < 150; i++)
		src[n++] = '(';
	src[n++] = '1';
	for (int i = 0; i < 150; i++)
		src[n++] = ')';
	src[n] = '\0';
	want_error(src, "expression nested too deeply at column 101");
	/* 70 pending additions need 71 stack slots */
	n = 0;
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(src + n, sizeof(src) - n, "1+(");
	src[n++] = '1';
	for (int i = 0; i < 70; i++)
		src[n++] = ')';
	src[n] = '\0';
	want_error(src, "expression too complex (needs more than 64 stack slots)");

	scope.geo_avail = XF_GEO_BIT(XF_GEO_CITY);
	want_error("country(src_ip)", "country() used but [geoip] country is not set");
	want_error("as_org(src_ip)", "as_org() used but [geoip] asn is not set");
	want_error("aarea(src_ip)", "aarea() used but [geoip] asn is not set");
	want_str("city(dst_ip)", "London");
}

static void t_scratch_overflow(void **state)
{
	static char big[3000];
	memset(big, 'A', sizeof(big));
	fields[F_NAME].u.s = big;
	fields[F_NAME].len = sizeof(big);
	struct rf_value v = run_t("lower(name)", RF_V_STR);
	assert_int_equal(v.type, RF_V_STR);
	assert_int_equal(v.len, 3000);
	assert_true(v.u.s >= ev.scratch && v.u.s < ev.scratch + XF_SCRATCH_SIZE);
	assert_int_equal(v.u.s[2999], 'a');
	want_missing("lower(name)");          /* 6000 bytes do not fit 4 KiB */
	assert_int_equal(cnt.scratch_overflow, 1);
	xf_eval_reset(&ev);                   /* the next record starts empty */
	want_str("upper(\"ok\")", "OK");
	assert_int_equal(cnt.scratch_overflow, 1);
}

static void t_shadowing(void **state)
{
	/* An output named like a column, defined earlier, wins. */
	scope.nsyms = F_COUNT + 1;
	outs[0].type = RF_V_INT;
	outs[0].u.i = 99;
	want_int("packet_size + 1", 100);
	want_error("PACKET_SIZE + 1", "unknown field 'PACKET_SIZE' at column 1"); /* case matters */
	scope.nsyms = F_COUNT;
	want_int("packet_size + 1", 127);
}

/* The columns an expression reads, for the plan's decode list: every
 * field, in any branch, but not an output that shadows a column. */
static void t_mark_fields(void **state)
{
	static const struct { const char *src; int cols[4]; } cases[] = {
		{ "1 + 2", { -1 } },
		{ "packet_size * sampling_rate", { F_SIZE, F_RATE, -1 } },
		{ "if(flow == \"FLOW\", country(src_ip), lower(name))", { F_FLOW, F_SRC, F_NAME, -1 } },
		{ "n > 0 or min(ratio, 1) > 0 and subnet(dst_ip, 24) == 10.0.0.0", { F_N, F_RATIO, F_DST, -1 } },
		{ "packet_size + packet_size", { F_SIZE, -1 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t used[F_COUNT + 1] = { 0 }, want[F_COUNT + 1] = { 0 };
		run_t(cases[i].src, -1);
		xf_expr_mark_fields(last, used);
		for (int k = 0; cases[i].cols[k] >= 0; k++)
			want[cases[i].cols[k]] = 1;
		for (int c = 0; c <= F_COUNT; c++)
			if (used[c] != want[c])
				fail_msg("'%s': column %d marked %d, want %d", cases[i].src, c, used[c], want[c]);
	}
	/* an output named packet_size shadows the column: nothing to decode */
	scope.nsyms = F_COUNT + 1;
	uint8_t used[F_COUNT + 1] = { 0 };
	run_t("packet_size + 1", -1);
	xf_expr_mark_fields(last, used);
	for (int c = 0; c <= F_COUNT; c++)
		assert_int_equal(used[c], 0);
	scope.nsyms = F_COUNT;
}

/* Random expressions built from the grammar must compile or fail cleanly,
 * and compiled ones must evaluate without crashing (ASan build). */
static void t_fuzz(void **state)
{
	static const char *atoms[] = {
		"1", "2.5", "0", "-3", "\"s\"", "flow", "src_ip", "packet_size", "ratio", "n", "nip",
		"10.0.0.1", "(", ")", ",", "+", "-", "*", "/", "%", "==", "<", "and", "or", "not",
		"if(", "min(", "subnet(", "country(", "lower(", "round(", "abs(", "div(",
	};
	char src[256], err[256];
	srand(99);
	int compiled = 0;
	for (int i = 0; i < 30000; i++) {
		size_t n = 0;
		int k = 1 + rand() % 12;
		for (int j = 0; j < k && n < 200; j++)
			n += (size_t)snprintf(src + n, sizeof(src) - n, "%s ",
					      atoms[rand() % (sizeof(atoms) / sizeof(atoms[0]))]);
		src[n] = '\0';
		struct xf_expr *e = xf_expr_compile(src, &scope, err, sizeof(err));
		if (e == NULL) {
			assert_true(err[0] != '\0');
			continue;
		}
		compiled++;
		struct rf_value v;
		xf_eval_reset(&ev);
		xf_expr_eval(e, &ev, &v);
		assert_true(v.type < RF_V_TYPE_COUNT);
		xf_expr_free(e);
	}
	assert_true(compiled > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_arith_and_precedence, reset),
		cmocka_unit_test_setup(t_logic_and_comparison, reset),
		cmocka_unit_test_setup(t_missing_propagation, reset),
		cmocka_unit_test_setup(t_div_by_zero, reset),
		cmocka_unit_test_setup(t_functions, reset),
		cmocka_unit_test_setup(t_geoip_functions, reset),
		cmocka_unit_test_setup(t_static_types, reset),
		cmocka_unit_test_setup(t_compile_errors, reset),
		cmocka_unit_test_setup(t_scratch_overflow, reset),
		cmocka_unit_test_setup(t_shadowing, reset),
		cmocka_unit_test_setup(t_mark_fields, reset),
		cmocka_unit_test_setup(t_fuzz, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
