/*
 * test_csv.c — unit tests of transform/csv.c: typed columns, missing values,
 * every rejection reason, event-time formats, a junk fuzz loop, and
 * decoding only some columns (the others checked or skipped).
 * Expected values come from hand conversion or from independent libc code
 * (strtod, inet_ntop, timegm), never from the parser itself.
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include "transform/csv_time.h"
#include "transform/csv_value.h"

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

/* Heap copy of exactly n bytes, so ASan sees any read past the line. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static enum xf_csv_err parse_exact(const struct xf_csv *c, const char *s, struct rf_value *v, int *bad)
{
	size_t n = strlen(s);
	char *line = exact(s, n);
	enum xf_csv_err e = xf_csv_parse(c, line, n, v, NULL, bad);
	free(line);
	return e;
}

/* Only some columns decoded: the others are checked (VALIDATE) or not
 * looked at (SKIP), and their values are never written. */
static void t_used_columns(void **state)
{
	struct xf_csv all, val, skip;
	struct rf_value v[21], w[21];
	int bad = -1;
	/* timestamp, flow, src_ip, packet_size, sampling_rate */
	uint8_t used[21] = { [0] = 1, [1] = 1, [10] = 1, [18] = 1, [20] = 1 };
	sflow_layout(&all);
	sflow_layout(&val);
	sflow_layout(&skip);
	xf_csv_use(&val, used, XF_CSV_UNUSED_VALIDATE);
	xf_csv_use(&skip, used, XF_CSV_UNUSED_SKIP);

	const char *good = "1700000000,FLOW,49.49.49.49,29001,1285816721,948ed30a713b,22421f4a9fcd,"
			   "0x0800,809,0,52.52.52.52,53.53.53.53,6,0x08,61,22,52237,0x18,126,104,1000";
	char *kept = exact(good, strlen(good));    /* string values point into it */
	assert_int_equal(xf_csv_parse(&all, kept, strlen(good), v, NULL, NULL), XF_CSV_OK);
	for (int m = 0; m < 2; m++) {
		memset(w, 0xee, sizeof(w));
		assert_int_equal(xf_csv_parse(m ? &skip : &val, kept, strlen(good), w, NULL, NULL), XF_CSV_OK);
		for (int i = 0; i < 21; i++) {
			if (used[i]) {
				assert_int_equal(w[i].type, v[i].type);
				if (v[i].type == RF_V_STR)
					assert_memory_equal(w[i].u.s, v[i].u.s, v[i].len);
				else
					assert_memory_equal(&w[i].u, &v[i].u, v[i].type == RF_V_IP ? 16 : 8);
			} else {
				assert_int_equal(w[i].type, 0xee);   /* not written */
			}
		}
	}
	assert_str(&w[1], "FLOW");
	assert_ip_text(&w[10], 1, "52.52.52.52");
	assert_int_equal(w[20].u.i, 1000);
	free(kept);

	/* A bad value in an unused column: rejected with its column when
	 * validated, accepted when skipped. */
	static const struct { int col; const char *text; enum xf_csv_err want; } cases[] = {
		{ 3, "12a", XF_CSV_BAD_INT },      /* in_if */
		{ 13, "0xZZ", XF_CSV_BAD_INT },    /* tos, hexadecimal */
		{ 14, "99999999999999999999", XF_CSV_BAD_INT },  /* ttl, overflow */
		{ 2, "1.2.3", XF_CSV_BAD_IP },     /* agent */
		{ 11, "1.2.3.256", XF_CSV_BAD_IP },/* dst_ip */
		{ 11, "2001:db8::1::2", XF_CSV_BAD_IP },
		{ 20, "1e3", XF_CSV_BAD_INT },     /* used: rejected in both modes */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char copy[512], line[512];
		const char *col[21];
		snprintf(copy, sizeof(copy), "%s", good);
		int nc = 0;
		for (char *t = strtok(copy, ","); t != NULL; t = strtok(NULL, ","))
			col[nc++] = t;
		assert_int_equal(nc, 21);
		col[cases[k].col] = cases[k].text;
		int n = 0;
		for (int i = 0; i < 21; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s", i ? "," : "", col[i]);
		bad = -1;
		assert_int_equal(parse_exact(&all, line, v, &bad), cases[k].want);
		assert_int_equal(bad, cases[k].col);
		bad = -1;
		assert_int_equal(parse_exact(&val, line, v, &bad), cases[k].want);
		assert_int_equal(bad, cases[k].col);
		assert_int_equal(parse_exact(&skip, line, v, NULL),
				 used[cases[k].col] ? cases[k].want : XF_CSV_OK);
	}
	/* Two bad columns, the unused one first: validation reports the first
	 * in column order, like a full decode; skipping reports the used one. */
	const char *two = "1700000000,FLOW,49.49.49.49,29x01,1285816721,948ed30a713b,22421f4a9fcd,"
			  "0x0800,809,0,52.52.52,53.53.53.53,6,0x08,61,22,52237,0x18,126,104,1000";
	assert_int_equal(parse_exact(&val, two, v, &bad), XF_CSV_BAD_INT);
	assert_int_equal(bad, 3);
	assert_int_equal(parse_exact(&skip, two, v, &bad), XF_CSV_BAD_IP);
	assert_int_equal(bad, 10);
	/* Missing values in unused columns are fine; the count and junk are
	 * checked whatever is used. */
	assert_int_equal(parse_exact(&skip, "1,FLOW,-,,,,,,,,1.2.3.4,,,,,,,,5,-,6", v, NULL), XF_CSV_OK);
	assert_int_equal(parse_exact(&val, "1,FLOW,-,,,,,,,,1.2.3.4,,,,,,,,5,-,6", v, NULL), XF_CSV_OK);
	assert_int_equal(parse_exact(&skip, "1,FLOW,-,,,,,,,,1.2.3.4,,,,,,,,5,-", v, NULL),
			 XF_CSV_WRONG_COLUMN_COUNT);
	assert_int_equal(parse_exact(&skip, "1,FLOW,-,,,\x01,,,,,1.2.3.4,,,,,,,,5,-,6", v, NULL),
			 XF_CSV_BINARY_JUNK);

	/* Float columns, and NULL going back to decoding everything. */
	enum rf_vtype t[3] = { RF_V_FLOAT, RF_V_FLOAT, RF_V_STR };
	char err[128];
	uint8_t only2[3] = { 0, 0, 1 };
	assert_int_equal(xf_csv_init(&val, ';', t, 3, err, sizeof(err)), 0);
	xf_csv_use(&val, only2, XF_CSV_UNUSED_VALIDATE);
	assert_int_equal(parse_exact(&val, "1.5;2..;x", v, &bad), XF_CSV_BAD_FLOAT);
	assert_int_equal(bad, 1);
	assert_int_equal(parse_exact(&val, "1.5;-2e-3;x", v, NULL), XF_CSV_OK);
	xf_csv_use(&val, only2, XF_CSV_UNUSED_SKIP);
	assert_int_equal(parse_exact(&val, "1.5;2..;x", v, NULL), XF_CSV_OK);
	xf_csv_use(&val, NULL, XF_CSV_UNUSED_SKIP);
	assert_int_equal(parse_exact(&val, "1.5;-2e-3;x", v, NULL), XF_CSV_OK);
	assert_true(v[0].u.f == 1.5 && v[1].u.f == -2e-3);
}

/* A random value for a column of type t: valid or not, of every shape the
 * parsers have a path for. */
static void random_value(char *b, size_t cap, enum rf_vtype t)
{
	static const char *junk[] = { "", "-", "--", "x", "1a", " 1", "1 ", "+", "0x", "1.2.3", "::1", "1e5" };
	int r = rand() % 10;
	if (r == 0) {
		snprintf(b, cap, "%s", junk[rand() % (sizeof(junk) / sizeof(junk[0]))]);
		return;
	}
	switch (t) {
	case RF_V_INT: {
		int len = 1 + rand() % 20, n = 0;
		if (r == 1)
			n = snprintf(b, cap, "%s", rand() % 2 ? "-" : "0x");
		for (int k = 0; k < len && n + 1 < (int)cap; k++)
			b[n++] = (char)('0' + rand() % 10);
		b[n] = '\0';
		if (r == 2 && n > 0)
			b[rand() % n] = "a/:.x"[rand() % 5];
		break;
	}
	case RF_V_FLOAT:
		snprintf(b, cap, "%d.%de%d", rand() % 1000 - 500, rand() % 1000, rand() % 40 - 20);
		if (r == 1)
			b[rand() % strlen(b)] = '.';
		break;
	case RF_V_IP:
		if (r == 1)
			snprintf(b, cap, "2001:db8::%x", rand() % 65536);
		else
			snprintf(b, cap, "%d.%d.%d.%d", rand() % 300, rand() % 256, rand() % 256,
				 rand() % (r == 2 ? 1000 : 256));
		break;
	default:
		snprintf(b, cap, "s%d", rand() % 100);
		break;
	}
}

/* Validating unused columns gives exactly the verdict of decoding them
 * (same reason, same column), and the used columns the same values. */
static void t_validate_equals_decode(void **state)
{
	enum rf_vtype t[8] = { RF_V_INT, RF_V_FLOAT, RF_V_IP, RF_V_STR, RF_V_INT, RF_V_IP, RF_V_INT, RF_V_FLOAT };
	struct xf_csv all, val, skip;
	char err[128];
	assert_int_equal(xf_csv_init(&all, ',', t, 8, err, sizeof(err)), 0);
	int seen[XF_CSV_ERR_COUNT] = { 0 };
	srand(99);
	for (int i = 0; i < 60000; i++) {
		uint8_t used[8];
		for (int k = 0; k < 8; k++)
			used[k] = rand() % 3 == 0;
		val = all;
		skip = all;
		xf_csv_use(&val, used, XF_CSV_UNUSED_VALIDATE);
		xf_csv_use(&skip, used, XF_CSV_UNUSED_SKIP);
		char line[512];
		int n = 0;
		for (int k = 0; k < 8; k++) {
			char b[64];
			random_value(b, sizeof(b), t[rand() % 4 == 0 ? rand() % 8 : k]);
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%s", k ? "," : "", b);
		}
		struct rf_value v[8], w[8];
		int bad_all = -1, bad_val = -1, bad_skip = -1;
		char *copy = exact(line, (size_t)n);
		enum xf_csv_err ea = xf_csv_parse(&all, copy, (size_t)n, v, NULL, &bad_all);
		enum xf_csv_err ev = xf_csv_parse(&val, copy, (size_t)n, w, NULL, &bad_val);
		seen[ea]++;
		if (ea != ev || bad_all != bad_val)
			fail_msg("'%s': decoded %s col %d, validated %s col %d", line, xf_csv_err_name(ea),
				 bad_all, xf_csv_err_name(ev), bad_val);
		if (ea == XF_CSV_OK)
			for (int k = 0; k < 8; k++)
				if (used[k]) {
					assert_int_equal(w[k].type, v[k].type);
					if (v[k].type == RF_V_STR)
						assert_true(w[k].u.s == v[k].u.s && w[k].len == v[k].len);
					else if (v[k].type != RF_V_MISSING)
						assert_memory_equal(&w[k].u, &v[k].u, v[k].type == RF_V_IP ? 16 : 8);
				}
		/* Skipping: the first bad *used* column, if any. */
		enum xf_csv_err es = xf_csv_parse(&skip, copy, (size_t)n, w, NULL, &bad_skip);
		free(copy);
		if (ea == XF_CSV_OK || ea == XF_CSV_WRONG_COLUMN_COUNT || ea == XF_CSV_BINARY_JUNK) {
			assert_int_equal(es, ea);
		} else if (es != XF_CSV_OK) {
			assert_true(used[bad_skip]);
			assert_true(bad_skip >= bad_all);
		} else {
			assert_false(used[bad_all]);
		}
	}
	assert_true(seen[XF_CSV_OK] > 1000);
	assert_true(seen[XF_CSV_BAD_INT] > 1000);
	assert_true(seen[XF_CSV_BAD_IP] > 1000);
	assert_true(seen[XF_CSV_BAD_FLOAT] > 100);
}

/* Plain decimals of 1-20 digits at the start, in the middle and at the end
 * of lines of every length (the 8-byte loads must stay inside the line:
 * heap copies of the exact size), decoded and only checked, against
 * strtoll. */
static void t_int_positions(void **state)
{
	enum rf_vtype t[3] = { RF_V_INT, RF_V_INT, RF_V_INT };
	uint8_t used[3] = { 1, 0, 1 };
	struct xf_csv all, val;
	char err[128];
	assert_int_equal(xf_csv_init(&all, ';', t, 3, err, sizeof(err)), 0);
	val = all;
	xf_csv_use(&val, used, XF_CSV_UNUSED_VALIDATE);
	srand(11);
	for (int i = 0; i < 40000; i++) {
		char num[3][32], line[128];
		long long want[3];
		int ok[3];
		for (int k = 0; k < 3; k++) {
			int len = rand() % 21;
			for (int d = 0; d < len; d++)
				num[k][d] = (char)('0' + (d == 0 && len > 1 && rand() % 2 ? 1 + rand() % 9 : rand() % 10));
			num[k][len] = '\0';
			if (len > 0 && rand() % 6 == 0)
				num[k][rand() % len] = "a:/ .-"[rand() % 6];
			char *end;
			errno = 0;
			want[k] = strtoll(num[k], &end, 10);
			/* empty or "-": missing; strtoll would also take a sign or a space */
			ok[k] = len == 0 || strcmp(num[k], "-") == 0 ||
				(*end == '\0' && errno == 0 && num[k][0] != ' ');
		}
		snprintf(line, sizeof(line), "%s;%s;%s", num[0], num[1], num[2]);
		struct rf_value v[3];
		int bad = -1;
		enum xf_csv_err e = parse_exact(&all, line, v, &bad);
		int first_bad = !ok[0] ? 0 : !ok[1] ? 1 : !ok[2] ? 2 : -1;
		if (first_bad < 0) {
			if (e != XF_CSV_OK)
				fail_msg("'%s' gave %s", line, xf_csv_err_name(e));
			for (int k = 0; k < 3; k++) {
				if (num[k][0] == '\0' || strcmp(num[k], "-") == 0)
					assert_int_equal(v[k].type, RF_V_MISSING);
				else if (v[k].type != RF_V_INT || v[k].u.i != want[k])
					fail_msg("'%s' column %d: got %lld", line, k, (long long)v[k].u.i);
			}
		} else {
			if (e != XF_CSV_BAD_INT || bad != first_bad)
				fail_msg("'%s' gave %s col %d", line, xf_csv_err_name(e), bad);
		}
		int bad2 = -1;
		assert_int_equal(parse_exact(&val, line, v, &bad2), e);
		assert_int_equal(bad2, bad);
	}
}

/* IPv4 rules, decoded and only checked, alone on a line (nothing readable
 * past it) and in the middle of one, with inet_pton as the judge. */
static void t_ipv4_decode_and_check(void **state)
{
	enum rf_vtype t1[1] = { RF_V_IP }, t3[3] = { RF_V_IP, RF_V_IP, RF_V_STR };
	uint8_t none[3] = { 0, 0, 1 };
	struct xf_csv one, one_val, mid, mid_val;
	char err[128];
	assert_int_equal(xf_csv_init(&one, ',', t1, 1, err, sizeof(err)), 0);
	assert_int_equal(xf_csv_init(&mid, ',', t3, 3, err, sizeof(err)), 0);
	one_val = one;
	mid_val = mid;
	xf_csv_use(&one_val, none, XF_CSV_UNUSED_VALIDATE);
	xf_csv_use(&mid_val, none, XF_CSV_UNUSED_VALIDATE);
	int valid = 0;
	srand(21);
	for (int i = 0; i < 100000; i++) {
		char ip[64], line[256];
		int n = 0, parts = rand() % 8 == 0 ? 3 + rand() % 3 : 4;
		for (int k = 0; k < parts; k++) {
			if (k)
				ip[n++] = rand() % 40 ? '.' : "..:x9"[rand() % 5];
			int r = rand() % 20;
			if (r == 0)
				continue;                                 /* empty part */
			int val = r == 1 ? rand() % 1000 : rand() % 256;
			n += snprintf(ip + n, sizeof(ip) - (size_t)n, r == 2 ? "0%d" : "%d", val);
		}
		ip[n] = '\0';
		uint8_t want[4];
		int ok = n > 0 && inet_pton(AF_INET, ip, want) == 1;
		valid += ok;
		struct rf_value v[3];
		enum xf_csv_err e1 = parse_exact(&one, ip, v, NULL);
		if (ok != (e1 == XF_CSV_OK) || (!ok && n > 0 && e1 != XF_CSV_BAD_IP))
			fail_msg("'%s' alone gave %s", ip, xf_csv_err_name(e1));
		if (ok)
			assert_memory_equal(v[0].u.ip + 12, want, 4);
		assert_int_equal(parse_exact(&one_val, ip, v, NULL), e1);
		/* in the middle: a valid address after it, then a long column */
		snprintf(line, sizeof(line), "%s,10.0.0.1,%s", ip, "a column long enough to read ahead");
		enum xf_csv_err e3 = parse_exact(&mid, line, v, NULL);
		assert_int_equal(e3, e1);
		if (ok)
			assert_memory_equal(v[0].u.ip + 12, want, 4);
		assert_int_equal(parse_exact(&mid_val, line, v, NULL), e3);
	}
	assert_true(valid > 30000);
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
		cmocka_unit_test(t_used_columns),
		cmocka_unit_test(t_validate_equals_decode),
		cmocka_unit_test(t_int_positions),
		cmocka_unit_test(t_ipv4_decode_and_check),
		cmocka_unit_test(t_time_formats),
		cmocka_unit_test(t_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
