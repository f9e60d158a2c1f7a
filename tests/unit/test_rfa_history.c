/*
 * test_rfa_history.c — the analyzer library's history queries: the JSON
 * tokenizer and the answer parser fed hand-written InfluxDB answers whole,
 * byte by byte and cut at every place; rfa_history_query against a tiny HTTP
 * server thread on 127.0.0.1 (which also checks the request) and against a
 * private influxd 1.6 started through tests/lib/influxd.sh (skipped, with a
 * message, when /usr/bin/influxd is absent).
 *
 * Expected rows are written by hand from the answers (or, for the bulk
 * check, computed from the formula the points were written with), never
 * taken from the code's output.  Run from the repository root, or anywhere
 * with RINGFLOW_ROOT set (the binary also finds the root from its own path).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyze/rfa_hist_parse.h"
#include "analyze/rfa_history.h"
#include "analyze/rfa_json.h"
#include "pipeline/lineproto.h"
#include "tests/lib/splitmix.h"

/* ---- a growing string ------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
}

static void sb_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

static void sb_free(struct sbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

/* ---- rows as text ----------------------------------------------------- */

/* One line per row: "s<stmt> <name> <k=v,...|-> @<time> <col=val ...>". */
struct collect {
	struct sbuf out;
	int stop_after;   /* >0: return 1 from this row on */
	int rows;
};

static int collect_row(void *arg, const struct rfa_hist_row *r)
{
	struct collect *c = arg;
	sb_add(&c->out, "s%d %s ", r->statement_id, r->measurement);
	if (r->ntags == 0)
		sb_add(&c->out, "-");
	for (int i = 0; i < r->ntags; i++)
		sb_add(&c->out, "%s%s=%s", i ? "," : "", r->tag_keys[i], r->tag_values[i]);
	sb_add(&c->out, " @%lld", (long long)r->time_ns);
	for (int i = 0; i < r->ncols; i++) {
		if (isnan(r->vals[i]))
			sb_add(&c->out, " %s=nan", r->cols[i]);
		else
			sb_add(&c->out, " %s=%.15g", r->cols[i], r->vals[i]);
	}
	sb_add(&c->out, "\n");
	c->rows++;
	return c->stop_after > 0 && c->rows >= c->stop_after;
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got ? got : "", want) != 0)
		fail_msg("expected\n%s\ngot\n%s", want, got ? got : "(null)");
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected\n  %s\nin\n  %s", needle, hay);
}

/* ---- the hand-written answer ------------------------------------------ */

/* Four chunks as influxd writes them (one JSON object per line): a series
 * split over two chunks ("partial"), two series in one chunk, tags with
 * escapes, a series without tags, nulls, strings, booleans, short and long
 * rows, keys the parser must skip, a second statement. */
static const char *const chunks[] = {
	"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"traffic\","
	"\"tags\":{\"host\":\"a\",\"dc\":\"eu \\\"west\\\" \\u00e9\\ud83d\\ude00\\\\\"},"
	"\"columns\":[\"time\",\"bytes\",\"note\",\"up\"],"
	"\"values\":[[1700000000000000000,1500,\"hi \\\\ there\",true],"
	"[1700000000000000001,null,null,false]],\"partial\":true}],\"partial\":true}]}\n",

	"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"traffic\","
	"\"tags\":{\"host\":\"a\",\"dc\":\"eu \\\"west\\\" \\u00e9\\ud83d\\ude00\\\\\"},"
	"\"columns\":[\"time\",\"bytes\",\"note\",\"up\"],"
	"\"values\":[[1700000000000000002,-2.5e3,\"\\u00e9\",null]]},"
	"{\"name\":\"traffic\",\"tags\":{\"host\":\"b\",\"dc\":\"\"},"
	"\"columns\":[\"time\",\"bytes\",\"note\",\"up\"],"
	"\"values\":[[1700000000000000000,0.25,\"x\",true]]}],\"partial\":true}]}\n",

	"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"plain\","
	"\"columns\":[\"time\",\"v\"],"
	"\"values\":[[-5,1e-3],[9223372036854775807,12345678],[7],[8,1,2,{\"z\":[]}]]}],"
	"\"messages\":[{\"level\":\"warning\",\"text\":\"x\"}],"
	"\"extra\":{\"a\":[1,{\"b\":[]}],\"c\":null}}]}\n",

	" \r\n{\"results\":[{\"statement_id\":1,\"series\":[{\"name\":\"cpu\","
	"\"columns\":[\"count\",\"time\"],\"values\":[[3,0]]}]}]}",
};

/* By hand from the chunks: strings and booleans are NaN, a short row has NaN
 * for what it lacks, values past the columns are ignored.  The dc tag is
 * eu "west" é😀\ with é = C3 A9 and U+1F600 = F0 9F 98 80 in UTF-8. */
#define DC "eu \"west\" \xc3\xa9\xf0\x9f\x98\x80\\"
static const char expected_rows[] =
	"s0 traffic host=a,dc=" DC " @1700000000000000000 bytes=1500 note=nan up=nan\n"
	"s0 traffic host=a,dc=" DC " @1700000000000000001 bytes=nan note=nan up=nan\n"
	"s0 traffic host=a,dc=" DC " @1700000000000000002 bytes=-2500 note=nan up=nan\n"
	"s0 traffic host=b,dc= @1700000000000000000 bytes=0.25 note=nan up=nan\n"
	"s0 plain - @-5 v=0.001\n"
	"s0 plain - @9223372036854775807 v=12345678\n"
	"s0 plain - @7 v=nan\n"
	"s0 plain - @8 v=1\n"
	"s1 cpu - @0 count=3\n";

static char *whole_answer(size_t *ends, int *nends)
{
	struct sbuf b = { 0 };
	int n = 0;
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		sb_add(&b, "%s", chunks[i]);
		/* where each object ends: after its '}' */
		size_t end = b.len;
		while (end > 0 && b.s[end - 1] != '}')
			end--;
		ends[n++] = end;
	}
	*nends = n;
	return b.s;
}

/* Feeds text cut at the given places (sorted, within len); returns the
 * final code, rows into c, error text into err. */
static int feed_split(const char *text, size_t len, const size_t *cuts, int ncuts,
		      struct collect *c, char *err, size_t errlen)
{
	struct rfa_hist_parser *p = rfa_hist_parser_new(collect_row, c, 1);
	assert_non_null(p);
	size_t at = 0;
	int rc = 0;
	for (int i = 0; i <= ncuts && rc == 0; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		rc = rfa_hist_parser_feed(p, text + at, to - at, err, errlen);
		at = to;
	}
	if (rc == 0)
		rc = rfa_hist_parser_finish(p, err, errlen);
	rfa_hist_parser_free(p);
	return rc;
}

static int feed_all(const char *text, struct collect *c, char *err, size_t errlen)
{
	return feed_split(text, strlen(text), NULL, 0, c, err, errlen);
}

static void t_answer_whole_and_bytewise(void **state)
{
	size_t ends[16];
	int nends;
	char *text = whole_answer(ends, &nends);
	size_t len = strlen(text);
	char err[256] = "";
	struct collect c = { 0 };

	assert_int_equal(feed_all(text, &c, err, sizeof err), 0);
	assert_text(c.out.s, expected_rows);

	/* one byte per feed */
	size_t *cuts = malloc(len * sizeof *cuts);
	for (size_t i = 0; i < len - 1; i++)
		cuts[i] = i + 1;
	sb_reset(&c.out);
	assert_int_equal(feed_split(text, len, cuts, (int)len - 1, &c, err, sizeof err), 0);
	assert_text(c.out.s, expected_rows);

	/* two pieces, cut at every place */
	for (size_t at = 0; at <= len; at++) {
		sb_reset(&c.out);
		size_t cut = at;
		assert_int_equal(feed_split(text, len, &cut, 1, &c, err, sizeof err), 0);
		assert_text(c.out.s, expected_rows);
	}

	/* odd random splits */
	rng_state = 42;
	for (int round = 0; round < 200; round++) {
		int n = 0;
		for (size_t at = rnd() % 7; at < len; at += 1 + rnd() % 61)
			cuts[n++] = at;
		sb_reset(&c.out);
		assert_int_equal(feed_split(text, len, cuts, n, &c, err, sizeof err), 0);
		assert_text(c.out.s, expected_rows);
	}
	free(cuts);
	free(text);
	sb_free(&c.out);
}

/* Every prefix of the answer: complete exactly where an object ends, a
 * clean error elsewhere; the rows seen are always a prefix of the rows. */
static void t_answer_truncated(void **state)
{
	size_t ends[16];
	int nends;
	char *text = whole_answer(ends, &nends);
	size_t len = strlen(text);
	char err[256];
	struct collect c = { 0 };
	for (size_t l = 0; l <= len; l++) {
		/* complete: an object ended at e <= l and only blanks follow */
		int complete = 0;
		for (int i = 0; i < nends; i++)
			if (ends[i] <= l && strspn(text + ends[i], " \r\n") >= l - ends[i])
				complete = 1;
		sb_reset(&c.out);
		err[0] = '\0';
		int rc = feed_split(text, l, NULL, 0, &c, err, sizeof err);
		if (complete) {
			if (rc != 0)
				fail_msg("prefix %zu: rc %d (%s)", l, rc, err);
		} else {
			if (rc != RFA_HIST_MALFORMED)
				fail_msg("prefix %zu: rc %d, want malformed", l, rc);
			assert_contains(err, "at byte ");
		}
		if (c.out.len && strncmp(expected_rows, c.out.s, c.out.len) != 0)
			fail_msg("prefix %zu: rows\n%s", l, c.out.s);
	}
	free(text);
	sb_free(&c.out);
}

static void t_answer_stop(void **state)
{
	size_t ends[16];
	int nends;
	char *text = whole_answer(ends, &nends);
	char err[64] = "untouched";
	struct collect c = { .stop_after = 2 };
	assert_int_equal(feed_all(text, &c, err, sizeof err), RFA_HIST_STOPPED);
	assert_int_equal(c.rows, 2);
	assert_string_equal(err, "untouched");
	free(text);
	sb_free(&c.out);
}

static void t_answer_empty_results(void **state)
{
	/* what influxd answers for a query without points, and SHOW output
	 * (no time column: time_ns 0, strings NaN) */
	struct collect c = { 0 };
	char err[256];
	assert_int_equal(feed_all("{\"results\":[{\"statement_id\":0}]}\n", &c, err, sizeof err),
			 0);
	assert_int_equal(c.rows, 0);
	assert_int_equal(feed_all("{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":"
				  "\"databases\",\"columns\":[\"name\"],\"values\":[[\"_internal\"],"
				  "[\"db\"]]}]}]}", &c, err, sizeof err), 0);
	assert_text(c.out.s, "s0 databases - @0 name=nan\ns0 databases - @0 name=nan\n");
	sb_free(&c.out);
}

static void t_answer_influx_errors(void **state)
{
	struct collect c = { 0 };
	char err[256];
	assert_int_equal(feed_all("{\"results\":[{\"statement_id\":0,\"error\":\"database not "
				  "found: nope\"}]}\n", &c, err, sizeof err), RFA_HIST_INFLUX);
	assert_string_equal(err, "database not found: nope");

	assert_int_equal(feed_all("{\"error\":\"error parsing query: found EOF\\nx\"}", &c, err,
				  sizeof err), RFA_HIST_INFLUX);
	assert_string_equal(err, "error parsing query: found EOF?x"); /* newline made visible */

	/* rows of statement 0 stand, statement 1 fails */
	assert_int_equal(feed_all("{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\","
				  "\"columns\":[\"time\",\"v\"],\"values\":[[1,2]]}]}]}\n"
				  "{\"results\":[{\"statement_id\":1,\"error\":\"boom\"}]}\n"
				  "{\"results\":[{\"statement_id\":2,\"series\":[{\"name\":\"m\","
				  "\"columns\":[\"time\",\"v\"],\"values\":[[3,4]]}]}]}\n",
				  &c, err, sizeof err), RFA_HIST_INFLUX);
	assert_text(c.out.s, "s0 m - @1 v=2\n");
	assert_string_equal(err, "statement 1: boom");
	sb_free(&c.out);
}

struct bad {
	const char *text;
	const char *why;  /* expected in err, with the byte position by hand */
};

static void t_answer_malformed(void **state)
{
	static const struct bad bad[] = {
		{ "", "at byte 0: empty answer" },
		{ "   \n", "at byte 4: empty answer" },
		{ "[1,2]", "at byte 0: answer is not a JSON object" },
		{ "{\"results\":[}", "at byte 12: unexpected character" },
		{ "{\"results\":[{\"statement_id\":0,}]}", "at byte 30: expected a string key" },
		{ "{\"results\" [", "at byte 11: expected ':'" },
		{ "{\"results\":{}}", "at byte 11: \"results\" is not an array" },
		{ "{\"results\":[1]}", "at byte 13: a result is not an object" },
		{ "{\"a\":01}", "at byte 7: bad number" },
		{ "{\"a\":-}", "at byte 6: bad number" },
		{ "{\"a\":1.}", "at byte 7: bad number" },
		{ "{\"a\":1e}", "at byte 7: bad number" },
		{ "{\"a\":tru}", "at byte 8: bad literal" },
		{ "{\"a\":\"x\ty\"}", "at byte 7: control character" },
		{ "{\"a\":\"\\q\"}", "at byte 7: bad escape" },
		{ "{\"a\":\"\\u12g4\"}", "at byte 10: bad \\u escape" },
		{ "{\"a\":\"\\ud83dx\"}", "at byte 12: lone surrogate" },
		{ "{\"a\":\"\\ude00\"}", "at byte 11: lone surrogate" },
		{ "{\"a\":\"\\ud83d\\u0041\"}", "at byte 17: lone surrogate" },
		{ "{\"a\":1]", "at byte 6: expected ',' or '}'" },
		{ "{\"a\":[1}", "at byte 7: expected ',' or ']'" },
		{ "{\"a\":1", "at byte 6: answer ends inside a value" },
		{ "{\"a\":1,\"b\":{}", "at byte 13: answer ends inside an object" },
		{ "{\"a\":\"xy", "at byte 8: answer ends inside a string" },
		{ "{\"a\":[", "at byte 6: answer ends inside an array" },
		{ "{\"a\":nu", "at byte 7: answer ends inside a value" },
		{ "{\"results\":[{\"series\":[{\"values\":[[1]]}]}]}",
		  "at byte 33: series: \"values\" before \"columns\"" },
		{ "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1]],\"tags\":{}}]}]}",
		  "at byte 63: series: \"tags\" after \"values\"" },
		{ "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"v\"],\"values\":[[\"x\",1]]}]}]}",
		  "at byte 63: row without an integer time" },
		{ "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1.5]]}]}]}",
		  "at byte 57: row without an integer time" },
		{ "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[99999999999999999999]]}]}]}",
		  "row without an integer time" },
		{ "{\"results\":[{\"series\":[{\"columns\":[1]}]}]}", "a column name is not a string" },
		{ "{\"results\":[{\"series\":[{\"tags\":{\"a\":1}}]}]}", "a tag value is not a string" },
		{ "{\"results\":[{\"series\":[{\"name\":[]}]}]}", "series name is not a string" },
		{ "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[1]}]}]}",
		  "a row is not an array" },
		{ "{} x", "at byte 3: unexpected character" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct collect c = { 0 };
		char err[256] = "";
		int rc = feed_all(bad[i].text, &c, err, sizeof err);
		if (rc != RFA_HIST_MALFORMED || !strstr(err, bad[i].why))
			fail_msg("%s: rc %d err '%s', want '%s'", bad[i].text, rc, err, bad[i].why);
		sb_free(&c.out);
	}
}

/* ---- the tokenizer on its own ----------------------------------------- */

static int record_event(void *arg, enum rfa_json_ev ev, const char *s, size_t len)
{
	static const char *const names[] = { "{", "}", "[", "]", "K", "S", "N", "T", "F", "0" };
	struct sbuf *b = arg;
	sb_add(b, "%s", names[ev]);
	if (s) {
		sb_add(b, "<");
		for (size_t i = 0; i < len; i++)
			sb_add(b, (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ?
			       "\\x%02x" : "%c", (unsigned char)s[i]);
		sb_add(b, ">");
	}
	return 0;
}

static void t_json_events(void **state)
{
	const char *text = "{\"k\\\"\":[\"a\\/\\b\\f\\n\\r\\t\\u0001\\u00FF\\u20ac\\uD834\\uDD1E\",-0.5e+2,"
			   "0,true,false,null,{},[]]}  7 \"\" ";
	/* by hand: / b f n r t 01, U+00FF = C3 BF, U+20AC = E2 82 AC,
	 * U+1D11E (D834 DD1E) = F0 9D 84 9E; the bare 7 ends at the space */
	const char *want = "{K<k\">[S<a/\\x08\\x0c\\x0a\\x0d\\x09\\x01\\xc3\\xbf\\xe2\\x82\\xac"
			   "\\xf0\\x9d\\x84\\x9e>N<-0.5e+2>N<0>TF0{}[]]}N<7>S<>";
	size_t len = strlen(text);
	for (size_t step = 1; step <= len; step = step * 2 + 1) {
		struct sbuf b = { 0 };
		struct rfa_json j;
		char err[128];
		rfa_json_init(&j, record_event, &b);
		for (size_t at = 0; at < len; at += step) {
			size_t n = len - at < step ? len - at : step;
			assert_int_equal(rfa_json_feed(&j, text + at, n, err, sizeof err), 0);
		}
		assert_int_equal(rfa_json_finish(&j, err, sizeof err), 0);
		assert_text(b.s, want);
		assert_int_equal(j.values, 3);
		rfa_json_free(&j);
		sb_free(&b);
	}
	/* a top-level number completed by the end of the stream */
	struct sbuf b = { 0 };
	struct rfa_json j;
	char err[128];
	rfa_json_init(&j, record_event, &b);
	assert_int_equal(rfa_json_feed(&j, "12", 2, err, sizeof err), 0);
	assert_int_equal(rfa_json_finish(&j, err, sizeof err), 0);
	assert_text(b.s, "N<12>");
	rfa_json_free(&j);
	sb_free(&b);
}

static int count_events(void *arg, enum rfa_json_ev ev, const char *s, size_t len)
{
	(*(int *)arg)++;
	return 0;
}

static void t_json_limits(void **state)
{
	char err[128];
	struct rfa_json j;
	int n = 0;

	/* a string of exactly 1 MiB passes, one byte more is refused */
	size_t big = RFA_JSON_MAX_TOKEN;
	char *s = malloc(big + 4);
	s[0] = '"';
	memset(s + 1, 'x', big + 1);
	s[big + 1] = '"';
	rfa_json_init(&j, count_events, &n);
	assert_int_equal(rfa_json_feed(&j, s, big + 2, err, sizeof err), 0);
	assert_int_equal(rfa_json_finish(&j, err, sizeof err), 0);
	assert_int_equal(n, 1);
	rfa_json_free(&j);
	s[big + 1] = 'x';
	rfa_json_init(&j, count_events, &n);
	/* byte 0 is the quote, bytes 1..2^20 fit, byte 2^20+1 does not */
	assert_int_equal(rfa_json_feed(&j, s, big + 2, err, sizeof err), -1);
	assert_string_equal(err, "malformed JSON at byte 1048577: string or number longer than 1 MiB");
	/* and it stays failed */
	assert_int_equal(rfa_json_feed(&j, "1", 1, err, sizeof err), -1);
	rfa_json_free(&j);
	free(s);

	/* 64 levels pass, the 65th is refused */
	char deep[2 * 65 + 1];
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	rfa_json_init(&j, count_events, &n);
	assert_int_equal(rfa_json_feed(&j, deep + 1, 128, err, sizeof err), 0);
	assert_int_equal(rfa_json_finish(&j, err, sizeof err), 0);
	rfa_json_free(&j);
	rfa_json_init(&j, count_events, &n);
	assert_int_equal(rfa_json_feed(&j, deep, 130, err, sizeof err), -1);
	assert_string_equal(err, "malformed JSON at byte 64: nested deeper than 64 levels");
	rfa_json_free(&j);

	/* the parser's own header limit: one column name of 1 MiB is fine
	 * for the tokenizer, but 5 of them pass 4 MiB */
	struct sbuf b = { 0 };
	sb_add(&b, "{\"results\":[{\"series\":[{\"columns\":[");
	char *name = malloc(1000001);
	memset(name, 'c', 1000000);
	name[1000000] = '\0';
	for (int i = 0; i < 5; i++)
		sb_add(&b, "%s\"%s\"", i ? "," : "", name);
	sb_add(&b, "]}]}]}");
	struct collect c = { 0 };
	assert_int_equal(feed_all(b.s, &c, err, sizeof err), RFA_HIST_MALFORMED);
	assert_contains(err, "over 4 MiB");
	free(name);
	sb_free(&b);
}

/* ---- the query text --------------------------------------------------- */

static void t_window_query(void **state)
{
	char buf[256];
	const char *want = "SELECT * FROM \"traffic\" WHERE time >= 1700000000000000000 AND "
			   "time < 1700000060000000000 GROUP BY *";
	int n = rfa_history_window_query(buf, sizeof buf, "traffic", 1700000000000000000LL,
					 1700000060000000000LL);
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));

	/* '"' and '\' escaped with '\', newline as \n, others as they are */
	n = rfa_history_window_query(buf, sizeof buf, "a\"b\\c\nd e,f'", -10, 5);
	assert_string_equal(buf, "SELECT * FROM \"a\\\"b\\\\c\\nd e,f'\" WHERE time >= -10 AND "
			    "time < 5 GROUP BY *");
	assert_int_equal(n, (int)strlen(buf));

	/* exactly fits (length + NUL), one byte short, empty range */
	size_t need = strlen(want) + 1;
	assert_int_equal(rfa_history_window_query(buf, need, "traffic", 1700000000000000000LL,
						  1700000060000000000LL), (int)need - 1);
	assert_int_equal(rfa_history_window_query(buf, need - 1, "traffic", 1700000000000000000LL,
						  1700000060000000000LL), -1);
	assert_string_equal(buf, "");
	assert_int_equal(rfa_history_window_query(buf, 10, "traffic", 0, 1), -1);
	assert_int_equal(rfa_history_window_query(buf, sizeof buf, "m", 5, 5), -1);
	assert_int_equal(rfa_history_window_query(buf, 0, "m", 0, 5), -1);
}

static void t_from_env(void **state)
{
	struct rfa_influx c;
	unsetenv("RINGFLOW_INFLUX_URL");
	unsetenv("RINGFLOW_INFLUX_DB");
	unsetenv("RINGFLOW_INFLUX_TOKEN");
	assert_int_equal(rfa_influx_from_env(&c), -1);
	setenv("RINGFLOW_INFLUX_URL", "http://h:1", 1);
	assert_int_equal(rfa_influx_from_env(&c), -1);
	setenv("RINGFLOW_INFLUX_DB", "", 1);
	assert_int_equal(rfa_influx_from_env(&c), -1);
	setenv("RINGFLOW_INFLUX_DB", "ringflow", 1);
	assert_int_equal(rfa_influx_from_env(&c), 0);
	assert_string_equal(c.url, "http://h:1");
	assert_string_equal(c.db, "ringflow");
	assert_null(c.token);
	setenv("RINGFLOW_INFLUX_TOKEN", "t0k", 1);
	assert_int_equal(rfa_influx_from_env(&c), 0);
	assert_string_equal(c.token, "t0k");
	unsetenv("RINGFLOW_INFLUX_URL");
	unsetenv("RINGFLOW_INFLUX_DB");
	unsetenv("RINGFLOW_INFLUX_TOKEN");
}

/* ---- a tiny HTTP server ----------------------------------------------- */

/* Answers one request with `status` and `body`, sent as HTTP chunks of
 * `piece` bytes (0: with Content-Length), and keeps the request. */
struct mock {
	int lfd, port;
	const char *status;   /* "200 OK" */
	const char *body;
	size_t piece;
	char req[65536];
	size_t req_len;
	int got;
};

static size_t content_length(const char *head)
{
	for (const char *p = head; (p = strchr(p, '\n')) != NULL;) {
		p++;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return (size_t)strtoul(p + 15, NULL, 10);
	}
	return 0;
}

static int wait_fd(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	int r;
	do
		r = poll(&pf, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *mock_main(void *arg)
{
	struct mock *m = arg;
	if (wait_fd(m->lfd, 10000) != 0)
		return NULL;
	int fd = accept(m->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	size_t total = 0;
	for (;;) {
		if (wait_fd(fd, 10000) != 0)
			goto out;
		ssize_t n = read(fd, m->req + m->req_len, sizeof m->req - 1 - m->req_len);
		if (n <= 0)
			goto out;
		m->req_len += (size_t)n;
		m->req[m->req_len] = '\0';
		char *end = strstr(m->req, "\r\n\r\n");
		if (end && !total)
			total = (size_t)(end - m->req) + 4 + content_length(m->req);
		if (total && m->req_len >= total)
			break;
	}
	m->got = 1;
	char head[256];
	size_t blen = strlen(m->body);
	if (m->piece == 0) {
		int hl = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n", m->status, blen);
		if (send_all(fd, head, (size_t)hl) || send_all(fd, m->body, blen))
			goto out;
	} else {
		int hl = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", m->status);
		if (send_all(fd, head, (size_t)hl))
			goto out;
		for (size_t at = 0; at < blen; at += m->piece) {
			size_t n = blen - at < m->piece ? blen - at : m->piece;
			int cl = snprintf(head, sizeof head, "%zx\r\n", n);
			if (send_all(fd, head, (size_t)cl) || send_all(fd, m->body + at, n) ||
			    send_all(fd, "\r\n", 2))
				goto out;
		}
		if (send_all(fd, "0\r\n\r\n", 5))
			goto out;
	}
	shutdown(fd, SHUT_WR);
	/* until the client closes, so it reads everything first */
	char sink[256];
	while (wait_fd(fd, 5000) == 0 && read(fd, sink, sizeof sink) > 0)
		;
out:
	close(fd);
	return NULL;
}

static void mock_start(struct mock *m, pthread_t *th)
{
	m->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	assert_int_equal(bind(m->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(m->lfd, 4), 0);
	assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&a, &al), 0);
	m->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(th, NULL, mock_main, m), 0);
}

static void mock_join(struct mock *m, pthread_t th)
{
	pthread_join(th, NULL);
	close(m->lfd);
}

/* Value of form parameter `key` in a urlencoded string, decoded; NULL if
 * absent.  Static buffer. */
static const char *form_param(const char *form, const char *key)
{
	static char out[4096];
	size_t kl = strlen(key);
	for (const char *p = form; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, key, kl) != 0 || p[kl] != '=')
			continue;
		const char *v = p + kl + 1;
		size_t o = 0;
		for (; *v && *v != '&' && o < sizeof out - 1; v++) {
			if (*v == '+') {
				out[o++] = ' ';
			} else if (*v == '%' && v[1] && v[2]) {
				char hex[3] = { v[1], v[2], 0 };
				out[o++] = (char)strtol(hex, NULL, 16);
				v += 2;
			} else {
				out[o++] = *v;
			}
		}
		out[o] = '\0';
		return out;
	}
	return NULL;
}

/* The request's parameters, from the query string (GET) or the body (POST). */
static const char *req_param(const struct mock *m, const char *key)
{
	const char *body = strstr(m->req, "\r\n\r\n");
	if (strncmp(m->req, "POST ", 5) == 0 && body)
		return form_param(body + 4, key);
	const char *q = strchr(m->req, '?');
	const char *eol = strstr(m->req, " HTTP/");
	if (!q || !eol || q > eol)
		return NULL;
	static char line[8192];
	snprintf(line, sizeof line, "%.*s", (int)(eol - q - 1), q + 1);
	return form_param(line, key);
}

static void check_request(const struct mock *m, const char *db, const char *q, const char *token)
{
	assert_true(m->got);
	if (strncmp(m->req, "POST /query ", 12) != 0 && strncmp(m->req, "GET /query?", 11) != 0 &&
	    strncmp(m->req, "POST /query?", 12) != 0)
		fail_msg("request line: %.80s", m->req);
	const char *v;
	assert_non_null(v = req_param(m, "db"));
	assert_string_equal(v, db);
	assert_non_null(v = req_param(m, "q"));
	assert_string_equal(v, q);
	assert_non_null(v = req_param(m, "epoch"));
	assert_string_equal(v, "ns");
	assert_non_null(v = req_param(m, "chunked"));
	assert_string_equal(v, "true");
	assert_non_null(v = req_param(m, "chunk_size"));
	assert_true(atoi(v) > 0);
	char want[256];
	if (token) {
		snprintf(want, sizeof want, "\r\nAuthorization: Token %s\r\n", token);
		assert_contains(m->req, want);
	} else if (strcasestr(m->req, "\r\nAuthorization:")) {
		fail_msg("Authorization header without a token:\n%s", m->req);
	}
}

static int mock_query(struct mock *m, const char *token, const char *q, struct collect *c,
		      char *err, size_t errlen)
{
	pthread_t th;
	mock_start(m, &th);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", m->port); /* trailing '/' on purpose */
	struct rfa_influx conf = { .url = url, .db = "my db&x=1", .token = token,
				   .timeout_ms = 20000 };
	int rc = rfa_history_query(&conf, q, collect_row, c, err, errlen);
	mock_join(m, th);
	return rc;
}

static void t_http_ok(void **state)
{
	size_t ends[16];
	int nends;
	char *text = whole_answer(ends, &nends);
	static const size_t pieces[] = { 0, 1, 7, 100, 100000 };
	const char *q = "SELECT * FROM \"traffic\" WHERE host = 'a&b=c' GROUP BY *";
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		struct mock m = { .status = "200 OK", .body = text, .piece = pieces[i] };
		struct collect c = { 0 };
		char err[256] = "";
		const char *token = i % 2 ? "s3cret-token" : NULL;
		int rc = mock_query(&m, token, q, &c, err, sizeof err);
		if (rc != 0)
			fail_msg("piece %zu: rc %d: %s", pieces[i], rc, err);
		assert_text(c.out.s, expected_rows);
		check_request(&m, "my db&x=1", q, token);
		sb_free(&c.out);
	}
	free(text);
}

static void t_http_errors(void **state)
{
	struct collect c = { 0 };
	char err[512];
	const char *token = "s3cret-token";

	struct mock m = { .status = "401 Unauthorized",
			  .body = "{\"error\":\"authorization failed\"}\n" };
	assert_int_equal(mock_query(&m, token, "SELECT 1", &c, err, sizeof err), -1);
	assert_contains(err, "HTTP 401: authorization failed");
	assert_null(strstr(err, token));
	check_request(&m, "my db&x=1", "SELECT 1", token);

	struct mock m2 = { .status = "500 Internal Server Error", .body = "oops <b>down</b>\n",
			   .piece = 3 };
	assert_int_equal(mock_query(&m2, NULL, "SELECT 1", &c, err, sizeof err), -1);
	assert_contains(err, "HTTP 500: oops <b>down</b>");

	struct mock m3 = { .status = "400 Bad Request",
			   .body = "{\"error\":\"error parsing query: found X\"}" };
	assert_int_equal(mock_query(&m3, NULL, "SELECT X", &c, err, sizeof err), -1);
	assert_contains(err, "HTTP 400: error parsing query: found X");

	/* 200 with an error inside, after a row */
	struct mock m4 = { .status = "200 OK", .piece = 5,
			   .body = "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\","
				   "\"columns\":[\"time\",\"v\"],\"values\":[[1,2]]}],\"partial\":true}]}\n"
				   "{\"results\":[{\"statement_id\":0,\"error\":\"max-select-point limit "
				   "exceeded\"}]}\n" };
	assert_int_equal(mock_query(&m4, NULL, "SELECT *", &c, err, sizeof err), -1);
	assert_contains(err, "InfluxDB error: max-select-point limit exceeded");
	assert_text(c.out.s, "s0 m - @1 v=2\n");

	/* malformed and truncated JSON bodies */
	struct mock m5 = { .status = "200 OK", .body = "{\"results\":[{\"statement_id\":0}]}\n{\"res",
			   .piece = 2 };
	assert_int_equal(mock_query(&m5, NULL, "SELECT *", &c, err, sizeof err), -1);
	assert_contains(err, "malformed JSON at byte 38: answer ends inside a string");
	struct mock m6 = { .status = "200 OK", .body = "{\"results\":x}" };
	assert_int_equal(mock_query(&m6, NULL, "SELECT *", &c, err, sizeof err), -1);
	assert_contains(err, "malformed JSON at byte 11:");
	struct mock m7 = { .status = "200 OK", .body = "" };
	assert_int_equal(mock_query(&m7, NULL, "SELECT *", &c, err, sizeof err), -1);
	assert_contains(err, "empty answer");
	/* a status other than 200 without a body still says the status */
	struct mock m8 = { .status = "503 Service Unavailable", .body = "" };
	assert_int_equal(mock_query(&m8, NULL, "SELECT *", &c, err, sizeof err), -1);
	assert_contains(err, "HTTP 503");
	sb_free(&c.out);
}

static void t_http_stop(void **state)
{
	size_t ends[16];
	int nends;
	char *text = whole_answer(ends, &nends);
	struct mock m = { .status = "200 OK", .body = text, .piece = 50 };
	struct collect c = { .stop_after = 3 };
	char err[256] = "";
	assert_int_equal(mock_query(&m, NULL, "SELECT *", &c, err, sizeof err), 1);
	assert_int_equal(c.rows, 3);
	sb_free(&c.out);
	free(text);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void t_http_refused(void **state)
{
	char url[96], err[512] = "";
	/* userinfo must not show in messages either */
	snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%d", free_port());
	struct rfa_influx c = { .url = url, .db = "d", .token = "s3cret-token", .timeout_ms = 5000 };
	struct collect col = { 0 };
	assert_int_equal(rfa_history_query(&c, "SELECT 1", collect_row, &col, err, sizeof err), -1);
	assert_contains(err, "Connection refused");
	assert_contains(err, "POST http://127.0.0.1:");
	assert_null(strstr(err, "s3cret"));
	assert_null(strstr(err, "pw@"));
	assert_int_equal(col.rows, 0);

	struct rfa_influx none = { .url = "", .db = "d" };
	assert_int_equal(rfa_history_query(&none, "SELECT 1", collect_row, &col, err, sizeof err), -1);
}

/* ---- against a real influxd ------------------------------------------- */

static char root[512] = ".";
static int have_influxd;
static struct { char dir[256]; int port, pid; } srv;

/* bash -c CMD with tests/lib/influxd.sh sourced; stdout into out. */
static int sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048], full[3072];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "bash -c 'cd \"%s\" && source tests/lib/influxd.sh && %s'",
		 root, cmd);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	size_t n = 0;
	char sink[256];
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	}
	while (fread(sink, 1, sizeof sink, p) > 0)
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int group_setup(void **state)
{
	const char *r = getenv("RINGFLOW_ROOT");
	if (r) {
		snprintf(root, sizeof root, "%s", r);
	} else if (access("tests/lib/influxd.sh", R_OK) != 0) {
		/* the binary lives in build/<mode>/tests/, three below the root */
		char exe[400];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = '\0';
			snprintf(root, sizeof root, "%s/../../..", dirname(exe));
		}
	}
	have_influxd = access("/usr/bin/influxd", X_OK) == 0;
	return 0;
}

static int group_teardown(void **state)
{
	if (srv.pid > 0)
		sh(NULL, 0, "influxd_stop %d", srv.pid);
	if (srv.dir[0])
		sh(NULL, 0, "rm -rf \"%s\"", srv.dir);
	return 0;
}

/* A statement that needs POST (CREATE ...) or a /write: the body goes
 * through a file, so no shell quoting or argument size is involved. */
static void influx_post(const char *path_and_args, const char *data)
{
	char path[300], out[512];
	snprintf(path, sizeof path, "%s/body", srv.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
	int rc = sh(out, sizeof out, "curl -sS -o /dev/null -w %%{http_code} -XPOST "
		    "\"http://127.0.0.1:%d%s\" --data-binary @%s", srv.port, path_and_args, path);
	if (rc != 0 || out[0] != '2')
		fail_msg("POST %s: curl exit %d, status %s", path_and_args, rc, out);
}

struct bulk {
	int64_t t0;
	long rows, bad_time, bad_val;
	double sum;
};

static int bulk_row(void *arg, const struct rfa_hist_row *r)
{
	struct bulk *b = arg;
	/* point i has time t0 + i*1000 and v = i/4 (written below) */
	long i = b->rows++;
	if (r->time_ns != b->t0 + i * 1000)
		b->bad_time++;
	if (r->ncols != 1 || strcmp(r->cols[0], "v") != 0 || r->vals[0] != (double)i / 4)
		b->bad_val++;
	b->sum += r->vals[0];
	return 0;
}

static void t_real_influxd(void **state)
{
	if (!have_influxd) {
		fprintf(stderr, "test_rfa_history: /usr/bin/influxd not found (Debian package "
			"influxdb): skipping the real-server test\n");
		skip();
	}
	snprintf(srv.dir, sizeof srv.dir, "/tmp/rf-test-rfa-hist-XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	char out[128];
	int rc = sh(out, sizeof out, "influxd_start %s >&2 && echo $INFLUX_PORT $INFLUX_PID", srv.dir);
	if (rc != 0 || sscanf(out, "%d %d", &srv.port, &srv.pid) != 2)
		fail_msg("influxd did not start (see %s/influxd.log)", srv.dir);

	influx_post("/query", "q=CREATE%20DATABASE%20%22hist%20db%22");
	/* a recent whole second, inside the default (infinite) retention */
	int64_t t0 = ((int64_t)time(NULL) - 3600) * 1000000000LL;
	struct lp_buf b;
	lp_buf_init(&b);
	struct lp_enc e;
	const char *mname = "tr\"af\\fic,x";
	lp_begin(&e, &b, mname, strlen(mname));
	lp_tag(&e, "host", 4, "a b", 3);
	lp_field_int(&e, "bytes", 5, 100);
	lp_field_float(&e, "rate", 4, 0.5);
	assert_int_equal(lp_end(&e, t0), 0);
	lp_begin(&e, &b, mname, strlen(mname));
	lp_tag(&e, "host", 4, "a b", 3);
	lp_field_int(&e, "bytes", 5, 300);
	lp_field_str(&e, "note", 4, "x", 1);
	assert_int_equal(lp_end(&e, t0 + 60000000000LL), 0);
	lp_begin(&e, &b, mname, strlen(mname));
	lp_tag(&e, "host", 4, "b", 1);
	lp_field_bool(&e, "up", 2, 1);
	assert_int_equal(lp_end(&e, t0 + 1), 0);
	lp_begin(&e, &b, mname, strlen(mname));   /* outside the window */
	lp_tag(&e, "host", 4, "b", 1);
	lp_field_int(&e, "bytes", 5, 7);
	assert_int_equal(lp_end(&e, t0 + 120000000000LL), 0);
	lp_buf_append(&b, "", 1);
	influx_post("/write?db=hist%20db&precision=ns", b.data);

	char q[512];
	assert_true(rfa_history_window_query(q, sizeof q, mname, t0, t0 + 120000000000LL) > 0);
	char url[64], err[512] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
	struct rfa_influx c = { .url = url, .db = "hist db", .timeout_ms = 30000 };
	struct collect col = { 0 };
	rc = rfa_history_query(&c, q, collect_row, &col, err, sizeof err);
	if (rc != 0)
		fail_msg("query: %s", err);
	/* By hand: GROUP BY * gives one series per host, sorted by tag set;
	 * columns are time then the fields sorted by name (bytes, note, rate,
	 * up); a field a point lacks is null; strings and booleans are NaN. */
	char want[1024];
	snprintf(want, sizeof want,
		 "s0 %s host=a b @%lld bytes=100 note=nan rate=0.5 up=nan\n"
		 "s0 %s host=a b @%lld bytes=300 note=nan rate=nan up=nan\n"
		 "s0 %s host=b @%lld bytes=nan note=nan rate=nan up=nan\n",
		 mname, (long long)t0, mname, (long long)(t0 + 60000000000LL), mname,
		 (long long)(t0 + 1));
	assert_text(col.out.s, want);

	/* 25000 points of one series: three chunks of at most 10000, the
	 * series "partial" across them */
	lp_buf_reset(&b);
	const long N = 25000;
	for (long i = 0; i < N; i++) {
		lp_begin(&e, &b, "bulk", 4);
		assert_int_equal(lp_field_float(&e, "v", 1, (double)i / 4), 0);
		assert_int_equal(lp_end(&e, t0 + i * 1000), 0);
	}
	lp_buf_append(&b, "", 1);
	influx_post("/write?db=hist%20db&precision=ns", b.data);
	struct bulk bk = { .t0 = t0 };
	rc = rfa_history_query(&c, "SELECT v FROM bulk", bulk_row, &bk, err, sizeof err);
	if (rc != 0)
		fail_msg("bulk query: %s", err);
	assert_int_equal(bk.rows, N);
	assert_int_equal(bk.bad_time, 0);
	assert_int_equal(bk.bad_val, 0);
	/* sum of i/4 for i < N = N(N-1)/8 */
	assert_true(bk.sum == (double)N * (double)(N - 1) / 8);

	/* InfluxDB's own errors */
	struct rfa_influx nodb = { .url = url, .db = "nope", .timeout_ms = 30000 };
	assert_int_equal(rfa_history_query(&nodb, "SELECT * FROM m", collect_row, &col, err,
					   sizeof err), -1);
	assert_contains(err, "database not found: nope");
	assert_int_equal(rfa_history_query(&c, "SELEKT 1", collect_row, &col, err, sizeof err), -1);
	assert_contains(err, "HTTP 400: error parsing query");
	lp_buf_free(&b);
	sb_free(&col.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_json_events),
		cmocka_unit_test(t_json_limits),
		cmocka_unit_test(t_answer_whole_and_bytewise),
		cmocka_unit_test(t_answer_truncated),
		cmocka_unit_test(t_answer_stop),
		cmocka_unit_test(t_answer_empty_results),
		cmocka_unit_test(t_answer_influx_errors),
		cmocka_unit_test(t_answer_malformed),
		cmocka_unit_test(t_window_query),
		cmocka_unit_test(t_from_env),
		cmocka_unit_test(t_http_ok),
		cmocka_unit_test(t_http_errors),
		cmocka_unit_test(t_http_stop),
		cmocka_unit_test(t_http_refused),
		cmocka_unit_test(t_real_influxd),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
