/*
 * test_csv.c — unit tests of transform/csv.c: typed columns, missing values,
 * every rejection reason, event-time formats, and a junk fuzz loop.
 * Expected values come from hand conversion or from independent libc code
 * (strtod, inet_ntop, timegm), never from the parser itself.
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
#include <time.h>
#include <cmocka.h>

#include "transform/csv.h"

#define S(x) x, strlen(x)

/* The 21-column sFlow layout of DESIGN.md §3. */
static const enum rf_vtype sflow_types[21] = {
	RF_V_INT, RF_V_STR, RF_V_IP, RF_V_INT, RF_V_INT, RF_V_STR, RF_V_STR,
	RF_V_STR, RF_V_INT, RF_V_INT, RF_V_IP, RF_V_IP, RF_V_INT,
	RF_V_INT, RF_V_INT, RF_V_INT, RF_V_INT, RF_V_STR,
	RF_V_INT, RF_V_INT, RF_V_INT,
};

static void sflow_layout(struct xf_csv *c)
{
	char err[128];
	assert_int_equal(xf_csv_init(c, ',', sflow_types, 21, err, sizeof(err)), 0);
}

static void assert_str(const struct rf_value *v, const char *s)
{
	assert_int_equal(v->type, RF_V_STR);
	assert_int_equal(v->len, strlen(s));
	assert_memory_equal(v->u.s, s, strlen(s));
}

static void assert_ip_text(const struct rf_value *v, int is_v4, const char *text)
{
	char buf[INET6_ADDRSTRLEN];
	assert_int_equal(v->type, RF_V_IP);
	assert_int_equal(v->ip_is_v4, is_v4);
	if (is_v4)
		assert_non_null(inet_ntop(AF_INET, v->u.ip + 12, buf, sizeof(buf)));
	else
		assert_non_null(inet_ntop(AF_INET6, v->u.ip, buf, sizeof(buf)));
	assert_string_equal(buf, text);
}

static void t_sflow_flow_line(void **state)
{
	struct xf_csv c;
	struct rf_value v[21];
	struct xf_csv_col cols[21];
	const char *line = "1700000000,FLOW,49.49.49.49,29001,1285816721,948ed30a713b,22421f4a9fcd,"
			   "0x0800,809,0,52.52.52.52,53.53.53.53,6,0x08,61,22,52237,0x18,126,104,1000";
	sflow_layout(&c);
	assert_int_equal(xf_csv_parse(&c, S(line), v, cols, NULL), XF_CSV_OK);
	assert_int_equal(v[0].type, RF_V_INT);
	assert_int_equal(v[0].u.i, 1700000000);
	assert_str(&v[1], "FLOW");
	assert_ip_text(&v[2], 1, "49.49.49.49");
	assert_int_equal(v[3].u.i, 29001);
	assert_int_equal(v[4].u.i, 1285816721);
	assert_str(&v[5], "948ed30a713b");
	assert_str(&v[7], "0x0800");           /* eth_type is a str column */
	assert_int_equal(v[8].u.i, 809);
	assert_int_equal(v[9].u.i, 0);
	assert_ip_text(&v[10], 1, "52.52.52.52");
	assert_ip_text(&v[11], 1, "53.53.53.53");
	assert_int_equal(v[12].u.i, 6);
	assert_int_equal(v[13].u.i, 8);         /* tos 0x08 */
	assert_int_equal(v[14].u.i, 61);
	assert_int_equal(v[16].u.i, 52237);
	assert_str(&v[17], "0x18");
	assert_int_equal(v[18].u.i, 126);
	assert_int_equal(v[20].u.i, 1000);
	assert_int_equal(cols[1].off, 11);
	assert_int_equal(cols[1].len, 4);
	assert_int_equal(cols[20].len, 4);
	/* IPv4 is stored as ::ffff:a.b.c.d */
	static const uint8_t mapped[16] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff,52,52,52,52 };
	assert_memory_equal(v[10].u.ip, mapped, 16);
}

static void t_ints(void **state)
{
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "0", 0 }, { "7", 7 }, { "-5", -5 }, { "+7", 7 }, { "0x18", 24 },
		{ "0XfF", 255 }, { "-0x10", -16 }, { "0x0800", 2048 }, { "007", 7 },
		{ "9223372036854775807", INT64_MAX }, { "-9223372036854775808", INT64_MIN },
		{ "0x7fffffffffffffff", INT64_MAX },
	};
	static const char *bad[] = {
		"9223372036854775808", "-9223372036854775809", "0x", "0x1g", "12a", "+", "--1",
		" 1", "1 ", "1.0", "0x8000000000000000", "0x10000000000000000", "18446744073709551616",
		"99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = 0;
		assert_int_equal(xf_parse_int(S(ok[i].s), &v), 0);
		assert_true(v == ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v;
		if (xf_parse_int(S(bad[i]), &v) == 0)
			fail_msg("'%s' accepted as int", bad[i]);
	}
	int64_t v;
	assert_int_equal(xf_parse_int("", 0, &v), -1);
	/* The span is all that is read: "12" out of "123". */
	assert_int_equal(xf_parse_int("123", 2, &v), 0);
	assert_int_equal(v, 12);
}

static void check_float(const char *s)
{
	double a = 0, b = strtod(s, NULL);
	if (xf_parse_float(S(s), &a) != 0)
		fail_msg("'%s' rejected as float", s);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		fail_msg("'%s': got %.17g, strtod says %.17g", s, a, b);
}

static void t_floats(void **state)
{
	static const char *ok[] = {
		"0", "1", "-1", "+2.5", "1.", ".5", "0.1", "3.14159", "1e10", "1E-5", "-2.5e+3",
		"123456789012345678901234567890", "0.000000000000000000000001234",
		"1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308",
		"9007199254740993", "0.30000000000000004", "1e22", "1e23", "00000.00001",
	};
	static const char *bad[] = {
		"", ".", "e5", "1e", "1e+", "nan", "inf", "-inf", "0x1p3", "1,5", "1.5.", " 1", "1 ",
		"--1", "1e400", "-",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		check_float(ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double d;
		if (xf_parse_float(S(bad[i]), &d) == 0)
			fail_msg("'%s' accepted as float", bad[i]);
	}
	/* Random decimals, both fast and slow paths, bit-exact against strtod. */
	srand(42);
	for (int i = 0; i < 20000; i++) {
		char buf[64];
		int n = 0, ndig = 1 + rand() % 22, dot = rand() % (ndig + 1);
		if (rand() % 2)
			buf[n++] = '-';
		for (int d = 0; d < ndig; d++) {
			if (d == dot)
				buf[n++] = '.';
			buf[n++] = (char)('0' + rand() % 10);
		}
		if (rand() % 3 == 0)
			n += snprintf(buf + n, sizeof(buf) - n, "e%d", rand() % 60 - 30);
		buf[n] = '\0';
		check_float(buf);
	}
}

static void t_ips(void **state)
{
	static const struct { const char *in; int v4; const char *out; } ok[] = {
		{ "10.1.2.3", 1, "10.1.2.3" },
		{ "0.0.0.0", 1, "0.0.0.0" },
		{ "255.255.255.255", 1, "255.255.255.255" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", 0, "2001:db8::1" },
		{ "0030:0000:0000:0000:0000:0001:0001:0001", 0, "30::1:1:1" },
		{ "fe80:0000:0000:0000:0202:b3ff:fe1e:8329", 0, "fe80::202:b3ff:fe1e:8329" },
		{ "::1", 0, "::1" },
		{ "::", 0, "::" },
		{ "2001:DB8::A", 0, "2001:db8::a" },
		{ "::ffff:1.2.3.4", 0, "::ffff:1.2.3.4" },
	};
	static const char *bad[] = {
		"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
		"2001:db8::1::2", "gggg::1", "1:2:3:4:5:6:7:8:9", "1.2.3.-4", "abc", "1234.1.1.1",
		"00000:0000:0000:0000:0000:0000:0000:0001",
		"2001:0db8:0000:0000:0000:0000:0000:0001:2001:0db8:0000:0000:0000:0000:0000:0001",
	};
	struct xf_csv c;
	enum rf_vtype t[1] = { RF_V_IP };
	char err[128];
	struct rf_value v[1];
	assert_int_equal(xf_csv_init(&c, ',', t, 1, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(xf_csv_parse(&c, S(ok[i].in), v, NULL, NULL), XF_CSV_OK);
		assert_ip_text(&v[0], ok[i].v4, ok[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum xf_csv_err e = xf_csv_parse(&c, S(bad[i]), v, NULL, NULL);
		if (e != XF_CSV_BAD_IP)
			fail_msg("'%s' gave %s, want bad_ip", bad[i], xf_csv_err_name(e));
	}
}

/* The same rules inside a line, where the parser reads ahead in place
 * instead of copying the column (SSE and 8-byte paths). */
static void t_values_mid_line(void **state)
{
	struct xf_csv c;
	enum rf_vtype t[3] = { RF_V_STR, RF_V_IP, RF_V_INT };
	char err[128], line[256];
	struct rf_value v[3];
	assert_int_equal(xf_csv_init(&c, ',', t, 3, err, sizeof(err)), 0);
	static const char *ips[] = {
		"10.1.2.3", "0.0.0.0", "255.255.255.255", "1.22.133.4", "100.10.1.0",
		"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..2.3", "1.2.3.", ".1.2.3",
		"1234.1.1.1", "1.2.3.04", "1.2.3.4a", "a.b.c.d", "1.2.3.255", "9.9.9.260",
	};
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		uint8_t want[4];
		int ok = inet_pton(AF_INET, ips[i], want) == 1;  /* libc is the judge */
		/* an 18-digit int after the ip: 20 bytes are readable in place */
		int n = snprintf(line, sizeof(line), "x,%s,123456789012345678", ips[i]);
		enum xf_csv_err e = xf_csv_parse(&c, line, (size_t)n, v, NULL, NULL);
		if (ok) {
			if (e != XF_CSV_OK)
				fail_msg("'%s' gave %s", ips[i], xf_csv_err_name(e));
			assert_memory_equal(v[1].u.ip + 12, want, 4);
			assert_true(v[2].u.i == 123456789012345678LL);
		} else if (e != XF_CSV_BAD_IP) {
			fail_msg("'%s' gave %s, want bad_ip", ips[i], xf_csv_err_name(e));
		}
	}
	/* ints of every length in the middle and at the end of a line, and
	 * one bad byte at every position, against strtoll */
	srand(3);
	for (int i = 0; i < 20000; i++) {
		char num[32];
		int len = 1 + rand() % 12;
		for (int k = 0; k < len; k++)
			num[k] = (char)('0' + rand() % 10);
		num[len] = '\0';
		if (rand() % 4 == 0)
			num[rand() % len] = "a:/ .\x80"[rand() % 6];
		char *end;
		long long want = strtoll(num, &end, 10);
		int ok = *end == '\0' && num[0] != ' ' && num[0] != '+';
		int n = snprintf(line, sizeof(line), "s,1.2.3.4,%s", num);   /* last column */
		enum xf_csv_err e = xf_csv_parse(&c, line, (size_t)n, v, NULL, NULL);
		if (ok) {
			assert_int_equal(e, XF_CSV_OK);
			assert_true(v[2].u.i == want);
		} else if (e != XF_CSV_BAD_INT) {
			fail_msg("'%s' gave %s", num, xf_csv_err_name(e));
		}
	}
	enum rf_vtype t2[3] = { RF_V_INT, RF_V_INT, RF_V_STR };
	assert_int_equal(xf_csv_init(&c, ',', t2, 3, err, sizeof(err)), 0);
	for (int i = 0; i < 20000; i++) {
		char num[32];
		int len = 1 + rand() % 10;
		for (int k = 0; k < len; k++)
			num[k] = (char)('0' + rand() % 10);
		num[len] = '\0';
		if (rand() % 4 == 0)
			num[rand() % len] = "a:/ .\x80"[rand() % 6];
		char *end;
		long long want = strtoll(num, &end, 10);
		int ok = *end == '\0' && num[0] != ' ';
		int n = snprintf(line, sizeof(line), "%s,%s,a tail longer than eight bytes", num, num);
		enum xf_csv_err e = xf_csv_parse(&c, line, (size_t)n, v, NULL, NULL);
		if (ok) {
			assert_int_equal(e, XF_CSV_OK);
			assert_true(v[0].u.i == want && v[1].u.i == want);
		} else {
			assert_int_equal(e, XF_CSV_BAD_INT);
		}
	}
}

static void t_missing_values(void **state)
{
	struct xf_csv c;
	enum rf_vtype t[4] = { RF_V_INT, RF_V_FLOAT, RF_V_IP, RF_V_STR };
	char err[128];
	struct rf_value v[4];
	assert_int_equal(xf_csv_init(&c, ',', t, 4, err, sizeof(err)), 0);
	assert_int_equal(xf_csv_parse(&c, S(",,,"), v, NULL, NULL), XF_CSV_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(v[i].type, RF_V_MISSING);
	assert_int_equal(xf_csv_parse(&c, S("-,-,-,-"), v, NULL, NULL), XF_CSV_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(v[i].type, RF_V_MISSING);
	assert_int_equal(xf_csv_parse(&c, S("-1,-1.5,-,--"), v, NULL, NULL), XF_CSV_OK);
	assert_int_equal(v[0].u.i, -1);
	assert_true(v[1].u.f == -1.5);
	assert_int_equal(v[2].type, RF_V_MISSING);
	assert_str(&v[3], "--");
}

static void t_rejections(void **state)
{
	struct xf_csv c;
	enum rf_vtype t[4] = { RF_V_INT, RF_V_FLOAT, RF_V_IP, RF_V_STR };
	char err[128];
	struct rf_value v[4];
	int bad = -1;
	assert_int_equal(xf_csv_init(&c, ',', t, 4, err, sizeof(err)), 0);

	assert_int_equal(xf_csv_parse(&c, "", 0, v, NULL, NULL), XF_CSV_EMPTY_LINE);
	assert_int_equal(xf_csv_parse(&c, S("\r"), v, NULL, NULL), XF_CSV_EMPTY_LINE);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4"), v, NULL, NULL), XF_CSV_WRONG_COLUMN_COUNT);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,x,"), v, NULL, NULL), XF_CSV_WRONG_COLUMN_COUNT);
	assert_int_equal(xf_csv_parse(&c, S("x"), v, NULL, NULL), XF_CSV_WRONG_COLUMN_COUNT);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,x"), v, NULL, NULL), XF_CSV_OK);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,x\r"), v, NULL, NULL), XF_CSV_OK);
	assert_str(&v[3], "x");
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,x\ty"), v, NULL, NULL), XF_CSV_OK);
	assert_str(&v[3], "x\ty");
	assert_int_equal(xf_csv_parse(&c, S("1x,2,1.2.3.4,x"), v, NULL, &bad), XF_CSV_BAD_INT);
	assert_int_equal(bad, 0);
	assert_int_equal(xf_csv_parse(&c, S("1,2..,1.2.3.4,x"), v, NULL, &bad), XF_CSV_BAD_FLOAT);
	assert_int_equal(bad, 1);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.999,x"), v, NULL, &bad), XF_CSV_BAD_IP);
	assert_int_equal(bad, 2);
	assert_int_equal(xf_csv_parse(&c, "1,2,1.2.3.4,\0", 13, v, NULL, NULL), XF_CSV_BINARY_JUNK);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,\x01"), v, NULL, NULL), XF_CSV_BINARY_JUNK);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,a\x7f"), v, NULL, NULL), XF_CSV_BINARY_JUNK);
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,a\rb"), v, NULL, NULL), XF_CSV_BINARY_JUNK);
	/* Junk is junk even when the column count is also wrong. */
	assert_int_equal(xf_csv_parse(&c, S("1\x02"), v, NULL, NULL), XF_CSV_BINARY_JUNK);
	/* UTF-8 is text. */
	assert_int_equal(xf_csv_parse(&c, S("1,2,1.2.3.4,Z\xc3\xbcrich"), v, NULL, NULL), XF_CSV_OK);

	/* 64 KiB is the limit: a 65536-byte line is parsed, 65537 is too long. */
	char *big = malloc(XF_CSV_LINE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', XF_CSV_LINE_MAX + 1);
	memcpy(big, "1,2,1.2.3.4,", 12);
	assert_int_equal(xf_csv_parse(&c, big, XF_CSV_LINE_MAX, v, NULL, NULL), XF_CSV_OK);
	assert_int_equal(v[3].len, XF_CSV_LINE_MAX - 12);
	assert_int_equal(xf_csv_parse(&c, big, XF_CSV_LINE_MAX + 1, v, NULL, NULL), XF_CSV_LINE_TOO_LONG);
	free(big);

	/* Names for metrics. */
	assert_string_equal(xf_csv_err_name(XF_CSV_WRONG_COLUMN_COUNT), "wrong_column_count");
	assert_string_equal(xf_csv_err_name(XF_CSV_BINARY_JUNK), "binary_junk");
	assert_string_equal(xf_csv_err_name(XF_CSV_ERR_COUNT), "unknown");
	for (int e = 0; e < XF_CSV_ERR_COUNT; e++)
		assert_non_null(xf_csv_err_name((enum xf_csv_err)e));
}

static void t_other_separators(void **state)
{
	struct xf_csv c;
	enum rf_vtype t[3] = { RF_V_STR, RF_V_INT, RF_V_STR };
	char err[128];
	struct rf_value v[3];
	assert_int_equal(xf_csv_init(&c, '\t', t, 3, err, sizeof(err)), 0);
	assert_int_equal(xf_csv_parse(&c, S("a,b\t5\t\"q\""), v, NULL, NULL), XF_CSV_OK);
	assert_str(&v[0], "a,b");
	assert_int_equal(v[1].u.i, 5);
	assert_str(&v[2], "\"q\"");                 /* no quoting: quotes are data */
	assert_int_equal(xf_csv_init(&c, '\n', t, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "separator"));
	assert_int_equal(xf_csv_init(&c, ',', t, 0, err, sizeof(err)), -1);
	enum rf_vtype tb[1] = { RF_V_BOOL };
	assert_int_equal(xf_csv_init(&c, ',', tb, 1, err, sizeof(err)), -1);
}

static int64_t tm_ns(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm) * 1000000000LL;
}

static void t_time_formats(void **state)
{
	int64_t ns;
	assert_int_equal(xf_parse_time(S("1700000000"), CONF_TIME_UNIX, &ns), 0);
	assert_true(ns == 1700000000000000000LL);
	assert_int_equal(xf_parse_time(S("1700000000.5"), CONF_TIME_UNIX, &ns), 0);
	assert_true(ns == 1700000000500000000LL);
	assert_int_equal(xf_parse_time(S("1700000000.123456789999"), CONF_TIME_UNIX, &ns), 0);
	assert_true(ns == 1700000000123456789LL);
	assert_int_equal(xf_parse_time(S("1700000000123"), CONF_TIME_UNIX_MS, &ns), 0);
	assert_true(ns == 1700000000123000000LL);
	assert_int_equal(xf_parse_time(S("1700000000123.25"), CONF_TIME_UNIX_MS, &ns), 0);
	assert_true(ns == 1700000000123250000LL);
	assert_int_equal(xf_parse_time(S("1700000000123456"), CONF_TIME_UNIX_US, &ns), 0);
	assert_true(ns == 1700000000123456000LL);
	assert_int_equal(xf_parse_time(S("1700000000123456789"), CONF_TIME_UNIX_NS, &ns), 0);
	assert_true(ns == 1700000000123456789LL);
	static const struct { const char *s; int f; } bad[] = {
		{ "", CONF_TIME_UNIX }, { "abc", CONF_TIME_UNIX }, { "1.", CONF_TIME_UNIX },
		{ "1e9", CONF_TIME_UNIX }, { "99999999999", CONF_TIME_UNIX },
		{ "1.5", CONF_TIME_UNIX_NS }, { "99999999999999999999", CONF_TIME_UNIX_NS },
		{ "2024-13-01T00:00:00Z", CONF_TIME_RFC3339 }, { "2024-02-30T00:00:00Z", CONF_TIME_RFC3339 },
		{ "2023-02-29T00:00:00Z", CONF_TIME_RFC3339 }, { "2024-01-02T03:04:05", CONF_TIME_RFC3339 },
		{ "2024-01-02T24:00:00Z", CONF_TIME_RFC3339 }, { "2024-01-02T03:04:05.Z", CONF_TIME_RFC3339 },
		{ "2024-01-02T03:04:05+0100", CONF_TIME_RFC3339 }, { "2024-01-02T03:04:05Zx", CONF_TIME_RFC3339 },
		{ "2024-1-02T03:04:05Z", CONF_TIME_RFC3339 }, { "1700000000", CONF_TIME_RFC3339 },
		{ "1", CONF_TIME_FORMAT_COUNT },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (xf_parse_time(S(bad[i].s), (enum conf_time_format)bad[i].f, &ns) == 0)
			fail_msg("'%s' accepted as time format %d", bad[i].s, bad[i].f);

	assert_int_equal(xf_parse_time(S("2024-01-02T03:04:05.123Z"), CONF_TIME_RFC3339, &ns), 0);
	assert_true(ns == tm_ns(2024, 1, 2, 3, 4, 5) + 123000000);
	assert_int_equal(xf_parse_time(S("2024-01-02T03:04:05+02:00"), CONF_TIME_RFC3339, &ns), 0);
	assert_true(ns == tm_ns(2024, 1, 2, 1, 4, 5));
	assert_int_equal(xf_parse_time(S("2024-01-02 03:04:05.5-05:30"), CONF_TIME_RFC3339, &ns), 0);
	assert_true(ns == tm_ns(2024, 1, 2, 8, 34, 5) + 500000000);
	assert_int_equal(xf_parse_time(S("2024-02-29t00:00:00z"), CONF_TIME_RFC3339, &ns), 0);
	assert_true(ns == tm_ns(2024, 2, 29, 0, 0, 0));
	assert_int_equal(xf_parse_time(S("1969-12-31T23:59:59Z"), CONF_TIME_RFC3339, &ns), 0);
	assert_true(ns == -1000000000LL);
	/* Random dates against timegm. */
	srand(7);
	for (int i = 0; i < 5000; i++) {
		int y = 1900 + rand() % 300, mo = 1 + rand() % 12, d = 1 + rand() % 28;
		int h = rand() % 24, mi = rand() % 60, s = rand() % 60;
		char buf[64];
		snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
		assert_int_equal(xf_parse_time(S(buf), CONF_TIME_RFC3339, &ns), 0);
		assert_true(ns == tm_ns(y, mo, d, h, mi, s));
	}
}

/* Random bytes and mutated good lines: any result is fine, a crash or an
 * out-of-range string is not (ASan build checks the reads). */
static void t_fuzz(void **state)
{
	struct xf_csv c;
	struct rf_value v[21];
	struct xf_csv_col cols[21];
	const char *good = "1700000000,FLOW,49.49.49.49,29001,1285816721,948ed30a713b,22421f4a9fcd,"
			   "0x0800,809,0,52.52.52.52,2001:0db8:0000:0000:0000:0000:0000:0001,6,0x08,61,"
			   "22,52237,0x18,126,104,1000";
	size_t glen = strlen(good);
	int counts[XF_CSV_ERR_COUNT] = { 0 };
	sflow_layout(&c);
	srand(1234);
	for (int i = 0; i < 200000; i++) {
		char buf[512];
		size_t n;
		if (i % 2) {
			n = (size_t)rand() % sizeof(buf);
			for (size_t k = 0; k < n; k++)
				buf[k] = (char)(rand() % 4 ? rand() % 256 : ",.:0x-"[rand() % 6]);
		} else {
			n = glen;
			memcpy(buf, good, n);
			for (int m = rand() % 4; m >= 0; m--)
				buf[rand() % n] = (char)(rand() % 256);
			if (rand() % 8 == 0)
				n = (size_t)rand() % (glen + 1); /* truncated line */
		}
		/* Parse from a heap copy of exactly n bytes so ASan sees overreads. */
		char *line = malloc(n ? n : 1);
		memcpy(line, buf, n);
		enum xf_csv_err e = xf_csv_parse(&c, line, n, v, cols, NULL);
		assert_true((unsigned)e < XF_CSV_ERR_COUNT);
		counts[e]++;
		if (e == XF_CSV_OK)
			for (int k = 0; k < 21; k++)
				if (v[k].type == RF_V_STR)
					assert_true(v[k].u.s >= line && v[k].u.s + v[k].len <= line + n);
		free(line);
	}
	/* The loop really exercised both good and bad lines. */
	assert_true(counts[XF_CSV_OK] > 0);
	assert_true(counts[XF_CSV_BINARY_JUNK] > 0);
	assert_true(counts[XF_CSV_WRONG_COLUMN_COUNT] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_sflow_flow_line),
		cmocka_unit_test(t_ints),
		cmocka_unit_test(t_floats),
		cmocka_unit_test(t_ips),
		cmocka_unit_test(t_values_mid_line),
		cmocka_unit_test(t_missing_values),
		cmocka_unit_test(t_rejections),
		cmocka_unit_test(t_other_separators),
		cmocka_unit_test(t_time_formats),
		cmocka_unit_test(t_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
