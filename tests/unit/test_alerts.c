/*
 * test_alerts.c — the alert path's pure parts: an_alert_json against
 * hand-written JSON (escaping, RFC 3339 with and without a fraction, before
 * 1970, negative, NaN and non-round-trip numbers, exact fit), the series key
 * (sorting, escaping, truncation), an_alert_from_point on parsed lines and
 * its refusals, the state_changes_only table (the ok→warning→warning→
 * critical→ok→ok sequence, independent series, eviction under the cap), and
 * an_sinks with the log sink and state_changes_only (counters).
 * Webhook and Kafka sinks: test_alert_webhook.c, test_alert_kafka.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/alert.h"
#include "analyze/alert_sinks.h"
#include "analyze/alert_state.h"
#include "pipeline/lineproto_parse.h"

static struct lp_point pt; /* ~76 KiB: not on the stack */

static void base_alert(struct an_alert *a)
{
	memset(a, 0, sizeof *a);
	a->time_ns = 1700000000000000000LL; /* 2023-11-14T22:13:20Z, the well-known 1.7e9 */
	a->analyzer = "spikes";
	a->rule = "by_country";
	a->field = "bytes";
	a->message = "bytes high";
	a->severity = DET_CRITICAL;
	a->ntags = 1;
	a->tag_keys[0] = "src_country";
	a->tag_values[0] = "DE";
	a->value = 2e7;
	a->expected = 1e6;
	a->lower = 9e5;
	a->upper = 1.1e6;
	a->score = 19.3;
}

static void test_json_basic(void **st)
{
	struct an_alert a;
	char buf[1024];
	base_alert(&a);
	const char *want = "{\"time\":\"2023-11-14T22:13:20Z\",\"analyzer\":\"spikes\",\"rule\":\"by_country\","
			   "\"tags\":{\"src_country\":\"DE\"},\"field\":\"bytes\",\"value\":20000000,"
			   "\"expected\":1000000,\"lower\":900000,\"upper\":1100000,\"score\":19.3,"
			   "\"severity\":\"critical\",\"message\":\"bytes high\"}";
	size_t n = an_alert_json(&a, buf, sizeof buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));

	/* exact fit: len + 1 for the NUL works, len does not */
	char *b2 = malloc(n + 1);
	assert_int_equal(an_alert_json(&a, b2, n + 1), n);
	assert_string_equal(b2, want);
	assert_int_equal(an_alert_json(&a, b2, n), 0);
	assert_int_equal(an_alert_json(&a, b2, 10), 0);
	assert_int_equal(an_alert_json(&a, b2, 0), 0);
	free(b2);
}

static void test_json_time(void **st)
{
	struct an_alert a;
	char buf[1024];
	static const struct {
		int64_t ns;
		const char *want;
	} cases[] = {
		/* 2026-12-03: 56 years since 1970 with 14 leap days (1972..2024)
		 * = 20454 days, + 334 days Jan..Nov + 2 = 20790 days
		 * = 1796256000 s, + 14 h = 1796306400 s */
		{ 1796306400LL * 1000000000, "2026-12-03T14:00:00Z" },
		{ 1700000000500000000LL, "2023-11-14T22:13:20.5Z" },
		{ 1700000000000000001LL, "2023-11-14T22:13:20.000000001Z" },
		{ 1700000000123456789LL, "2023-11-14T22:13:20.123456789Z" },
		{ 1700000000120000000LL, "2023-11-14T22:13:20.12Z" },
		{ 0, "1970-01-01T00:00:00Z" },
		/* before 1970 the fraction still counts forward from the second */
		{ -1, "1969-12-31T23:59:59.999999999Z" },
		{ -1000000000LL, "1969-12-31T23:59:59Z" },
		{ -1500000000LL, "1969-12-31T23:59:58.5Z" },
	};
	base_alert(&a);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char want[64];
		a.time_ns = cases[i].ns;
		assert_true(an_alert_json(&a, buf, sizeof buf) > 0);
		snprintf(want, sizeof want, "{\"time\":\"%s\",", cases[i].want);
		if (strncmp(buf, want, strlen(want)))
			fail_msg("ns %lld: got %.48s, want %s", (long long)cases[i].ns, buf, want);
	}
}

static void test_json_escape_numbers(void **st)
{
	struct an_alert a;
	char buf[2048];
	base_alert(&a);
	a.analyzer = NULL;
	a.rule = "r\"1";
	a.field = NULL;
	a.message = "a\"b\\c\td\ne\x01" "f \xc3\xa9 \x1f";
	a.ntags = 2;
	a.tag_keys[0] = "k\\";
	a.tag_values[0] = "v\"";
	a.tag_keys[1] = "dst";
	a.tag_values[1] = "x";
	a.severity = DET_OK;
	a.value = -0.1;
	a.expected = NAN;
	a.lower = 0.1 + 0.2; /* 0.30000000000000004: %.15g would say 0.3 */
	a.upper = INFINITY;
	a.score = -1e300;
	const char *want = "{\"time\":\"2023-11-14T22:13:20Z\",\"analyzer\":null,\"rule\":\"r\\\"1\","
			   "\"tags\":{\"k\\\\\":\"v\\\"\",\"dst\":\"x\"},\"field\":null,\"value\":-0.1,"
			   "\"expected\":null,\"lower\":0.30000000000000004,\"upper\":null,\"score\":-1e+300,"
			   "\"severity\":\"ok\",\"message\":\"a\\\"b\\\\c\\u0009d\\u000ae\\u0001f \xc3\xa9 \\u001f\"}";
	assert_true(an_alert_json(&a, buf, sizeof buf) > 0);
	assert_string_equal(buf, want);

	/* no tags, no message, severity names */
	a.ntags = 0;
	a.message = NULL;
	a.severity = DET_INFO;
	assert_true(an_alert_json(&a, buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "\"tags\":{},"));
	assert_non_null(strstr(buf, "\"severity\":\"info\",\"message\":null}"));
	a.severity = DET_WARNING;
	assert_true(an_alert_json(&a, buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "\"severity\":\"warning\""));
}

static void test_series_key(void **st)
{
	struct an_alert a, b;
	char k1[256], k2[256];
	base_alert(&a);
	a.ntags = 2;
	a.tag_keys[0] = "src";
	a.tag_values[0] = "a";
	a.tag_keys[1] = "dst";
	a.tag_values[1] = "b";
	size_t n = an_alert_series_key(&a, k1, sizeof k1);
	assert_string_equal(k1, "spikes,by_country,bytes,dst=b,src=a");
	assert_int_equal(n, strlen(k1));

	/* the tag order of the point does not matter */
	b = a;
	b.tag_keys[0] = "dst";
	b.tag_values[0] = "b";
	b.tag_keys[1] = "src";
	b.tag_values[1] = "a";
	an_alert_series_key(&b, k2, sizeof k2);
	assert_string_equal(k1, k2);

	/* escaping keeps parts apart: rule "x,y" field "z" vs rule "x" field "y,z" */
	a.ntags = 0;
	a.rule = "x,y";
	a.field = "z";
	an_alert_series_key(&a, k1, sizeof k1);
	assert_string_equal(k1, "spikes,x\\,y,z");
	a.rule = "x";
	a.field = "y,z";
	an_alert_series_key(&a, k2, sizeof k2);
	assert_string_equal(k2, "spikes,x,y\\,z");
	a.ntags = 1;
	a.tag_keys[0] = "a=b\\";
	a.tag_values[0] = "c";
	a.analyzer = NULL;
	an_alert_series_key(&a, k1, sizeof k1);
	assert_string_equal(k1, ",x,y\\,z,a\\=b\\\\=c");

	/* too small: cut and NUL-terminated, the full length returned */
	char small[5];
	base_alert(&a);
	n = an_alert_series_key(&a, small, sizeof small);
	assert_int_equal(n, strlen("spikes,by_country,bytes,src_country=DE"));
	assert_string_equal(small, "spik");
}

static int parse(const char *line)
{
	char err[128];
	int rc = lp_parse(line, strlen(line), &pt, err, sizeof err);
	if (rc)
		fail_msg("lp_parse(%s): %s", line, err);
	return rc;
}

static void test_from_point(void **st)
{
	struct an_alert a;
	char err[256] = "";
	parse("alert,rule=by_country,src_country=DE,field=bytes,severity=critical,dst=x "
	      "message=\"bytes \\\"high\\\"\",value=2e7,expected=1000000i,lower=900000u,upper=1.1e6,score=19.3,"
	      "mine=1 1700000000000000000");
	assert_int_equal(an_alert_from_point(&pt, "spikes", 5, &a, err, sizeof err), 0);
	assert_string_equal(a.analyzer, "spikes");
	assert_string_equal(a.rule, "by_country");
	assert_string_equal(a.field, "bytes");
	assert_string_equal(a.message, "bytes \"high\"");
	assert_int_equal(a.severity, DET_CRITICAL);
	assert_int_equal(a.ntags, 2);
	assert_string_equal(a.tag_keys[0], "src_country");
	assert_string_equal(a.tag_values[0], "DE");
	assert_string_equal(a.tag_keys[1], "dst");
	assert_string_equal(a.tag_values[1], "x");
	assert_true(a.value == 2e7);
	assert_true(a.expected == 1e6);
	assert_true(a.lower == 9e5);
	assert_true(a.upper == 1.1e6);
	assert_true(a.score == 19.3);
	assert_int_equal(a.time_ns, 1700000000000000000LL);

	/* no timestamp: the window start; absent numbers NaN, no rule/field/message */
	parse("alert,severity=ok,host=h value=-3i");
	assert_int_equal(an_alert_from_point(&pt, "a", 1234, &a, err, sizeof err), 0);
	assert_int_equal(a.time_ns, 1234);
	assert_int_equal(a.severity, DET_OK);
	assert_null(a.rule);
	assert_null(a.field);
	assert_null(a.message);
	assert_true(a.value == -3);
	assert_true(isnan(a.expected) && isnan(a.lower) && isnan(a.upper) && isnan(a.score));
	assert_int_equal(a.ntags, 1);
	parse("alert,severity=info x=1");
	assert_int_equal(an_alert_from_point(&pt, "a", 0, &a, err, sizeof err), 0);
	assert_int_equal(a.severity, DET_INFO);
	parse("alert,severity=warning x=1");
	assert_int_equal(an_alert_from_point(&pt, "a", 0, &a, err, sizeof err), 0);
	assert_int_equal(a.severity, DET_WARNING);
}

static void test_from_point_refusals(void **st)
{
	static const struct {
		const char *line, *why;
	} cases[] = {
		{ "alerts,severity=critical value=1", "not alert" },
		{ "alert,rule=r value=1", "without a severity" },
		{ "alert,severity=fatal value=1", "\"fatal\" is not" },
		{ "alert,severity=Critical value=1", "\"Critical\" is not" },
		{ "alert,severity=critical message=1", "message is not a string" },
		{ "alert,severity=critical value=\"2\"", "value is not a number" },
		{ "alert,severity=critical score=true", "score is not a number" },
	};
	struct an_alert a;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[256] = "";
		parse(cases[i].line);
		assert_int_equal(an_alert_from_point(&pt, "x", 0, &a, err, sizeof err), -1);
		if (!strstr(err, cases[i].why))
			fail_msg("%s: err \"%s\" lacks \"%s\"", cases[i].line, err, cases[i].why);
	}
}

static int pass_sev(struct an_alert_state *s, struct an_alert *a, int sev)
{
	a->severity = sev;
	return an_alert_state_pass(s, a);
}

static void test_state_sequence(void **st)
{
	struct an_alert_state *s = an_alert_state_new(0);
	struct an_alert a, b;
	assert_non_null(s);
	base_alert(&a);
	base_alert(&b);
	b.tag_values[0] = "FR";
	/* ok warning warning critical ok ok -> warning, critical, ok go out */
	assert_int_equal(pass_sev(s, &a, DET_OK), 0);
	assert_int_equal(pass_sev(s, &a, DET_WARNING), 1);
	assert_int_equal(an_alert_state_count(s), 1);
	/* another series is its own: its first warning passes too */
	assert_int_equal(pass_sev(s, &b, DET_WARNING), 1);
	assert_int_equal(pass_sev(s, &a, DET_WARNING), 0);
	assert_int_equal(pass_sev(s, &a, DET_CRITICAL), 1);
	assert_int_equal(pass_sev(s, &a, DET_OK), 1);
	assert_int_equal(pass_sev(s, &a, DET_OK), 0);
	/* a went ok: removed; b still remembered */
	assert_int_equal(an_alert_state_count(s), 1);
	/* de-escalation is a change too */
	assert_int_equal(pass_sev(s, &b, DET_CRITICAL), 1);
	assert_int_equal(pass_sev(s, &b, DET_INFO), 1);
	assert_int_equal(pass_sev(s, &b, DET_INFO), 0);
	assert_int_equal(pass_sev(s, &b, -1), -1);
	assert_int_equal(pass_sev(s, &b, DET_SEVERITY_COUNT), -1);
	assert_int_equal(pass_sev(s, &b, DET_OK), 1);
	assert_int_equal(an_alert_state_count(s), 0);
	assert_int_equal(an_alert_state_evictions(s), 0);
	an_alert_state_free(s);
	an_alert_state_free(NULL);
}

static void test_state_cap_and_many(void **st)
{
	struct an_alert_state *s = an_alert_state_new(2);
	struct an_alert a[3];
	for (int i = 0; i < 3; i++) {
		base_alert(&a[i]);
		a[i].tag_values[0] = (const char *[]){ "A", "B", "C" }[i];
	}
	assert_int_equal(pass_sev(s, &a[0], DET_WARNING), 1);
	assert_int_equal(pass_sev(s, &a[1], DET_WARNING), 1);
	assert_int_equal(pass_sev(s, &a[0], DET_CRITICAL), 1); /* A is now the newest */
	assert_int_equal(pass_sev(s, &a[2], DET_WARNING), 1);  /* evicts B, the oldest */
	assert_int_equal(an_alert_state_count(s), 2);
	assert_int_equal(an_alert_state_evictions(s), 1);
	assert_int_equal(pass_sev(s, &a[0], DET_CRITICAL), 0); /* A kept */
	assert_int_equal(pass_sev(s, &a[1], DET_OK), 0);       /* B forgotten: its ok is lost */
	an_alert_state_free(s);

	/* many series through growth: every one is remembered exactly */
	s = an_alert_state_new(0);
	char names[5000][16];
	struct an_alert x;
	base_alert(&x);
	for (int i = 0; i < 5000; i++) {
		snprintf(names[i], sizeof names[i], "s%d", i);
		x.tag_values[0] = names[i];
		assert_int_equal(pass_sev(s, &x, DET_WARNING), 1);
	}
	assert_int_equal(an_alert_state_count(s), 5000);
	for (int i = 0; i < 5000; i++) {
		x.tag_values[0] = names[i];
		assert_int_equal(pass_sev(s, &x, DET_WARNING), 0);
		if (i % 2)
			assert_int_equal(pass_sev(s, &x, DET_OK), 1);
	}
	assert_int_equal(an_alert_state_count(s), 2500);
	an_alert_state_free(s);
}

static void test_sinks_log_state(void **st)
{
	struct an_alerts_conf c;
	char err[256];
	struct an_alert a;
	struct an_sink_stats ss;
	an_alerts_conf_init(&c);
	assert_int_equal(c.webhook_queue, 1000);
	assert_int_equal(c.webhook_retries, 3);
	assert_int_equal(c.webhook_timeout_ns, 5000000000LL);
	c.log = 1;
	c.state_changes_only = 1;
	struct an_sinks *s = an_sinks_new(&c, "alerts", err, sizeof err);
	assert_non_null(s);
	base_alert(&a);
	int seq[] = { DET_OK, DET_WARNING, DET_WARNING, DET_CRITICAL, DET_OK, DET_OK };
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		a.severity = seq[i];
		an_sinks_send(s, &a);
		an_sinks_service(s, 0);
	}
	a.severity = 7;
	an_sinks_send(s, &a);
	an_sinks_stats(s, &ss);
	assert_int_equal(ss.by_severity[DET_OK], 3);
	assert_int_equal(ss.by_severity[DET_WARNING], 2);
	assert_int_equal(ss.by_severity[DET_CRITICAL], 1);
	assert_int_equal(ss.suppressed, 3);
	assert_int_equal(ss.log, 3);
	assert_int_equal(ss.invalid, 1);
	assert_int_equal(an_sinks_flush(s, 0), 0);
	an_sinks_free(s);
	an_sinks_free(NULL);

	/* a webhook that is no http URL is refused at start */
	c.webhook = "ftp://example.org/x";
	assert_null(an_sinks_new(&c, "alerts", err, sizeof err));
	assert_non_null(strstr(err, "not an http"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_basic),
		cmocka_unit_test(test_json_time),
		cmocka_unit_test(test_json_escape_numbers),
		cmocka_unit_test(test_series_key),
		cmocka_unit_test(test_from_point),
		cmocka_unit_test(test_from_point_refusals),
		cmocka_unit_test(test_state_sequence),
		cmocka_unit_test(test_state_cap_and_many),
		cmocka_unit_test(test_sinks_log_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
