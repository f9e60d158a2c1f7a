/*
 * alert_sinks.c — one alert to every configured sink: state_changes_only
 * first, then the log line, the Kafka message and the webhook queue. See
 * alert_sinks.h for the contract; the Kafka and webhook sinks live in
 * alert_kafka.c and alert_webhook.c.
 *
 * Runs in the analyzer host's loop, single-threaded; never blocks except in
 * an_sinks_flush(), which is for exit and bounded by its timeout.
 */
#include "analyze/alert_sinks.h"
#include "analyze/alert_kafka.h"
#include "analyze/alert_state.h"
#include "analyze/alert_webhook.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_START 4096
/* An lp line is at most 64 KiB and JSON escaping grows a tab to six bytes. */
#define JSON_MAX (8u << 20)
#define LOG_LINE 2048

struct an_sinks {
	char name[64];
	int log;
	struct an_alert_state *state;     /* NULL: every alert goes out */
	struct an_kafka *kafka;
	struct an_webhook *webhook;
	struct an_sink_stats stats;
	char *json, *key;                 /* grown, reused for every alert */
	size_t json_cap, key_cap;
};

void an_alerts_conf_init(struct an_alerts_conf *c)
{
	memset(c, 0, sizeof *c);
	c->webhook_timeout_ns = AN_WEBHOOK_TIMEOUT_DEFAULT_NS;
	c->webhook_retries = AN_WEBHOOK_RETRIES_DEFAULT;
	c->webhook_queue = AN_WEBHOOK_QUEUE_DEFAULT;
}

int an_sinks_check(const struct an_alerts_conf *c, char *err, size_t errlen)
{
	return c->kafka_topic ? an_kafka_check(c, err, errlen) : 0;
}

struct an_sinks *an_sinks_new(const struct an_alerts_conf *c, const char *name_for_logs, char *err,
			      size_t errlen)
{
	struct an_sinks *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "alerts: out of memory");
		return NULL;
	}
	snprintf(s->name, sizeof s->name, "%s", name_for_logs ? name_for_logs : "alerts");
	s->log = c->log;
	s->json_cap = JSON_START;
	s->key_cap = 256;
	s->json = malloc(s->json_cap);
	s->key = malloc(s->key_cap);
	if (!s->json || !s->key)
		goto oom;
	if (c->state_changes_only && !(s->state = an_alert_state_new(0)))
		goto oom;
	if (c->kafka_topic && !(s->kafka = an_kafka_new(c, s->name, &s->stats, err, errlen)))
		goto fail;
	if (c->webhook && !(s->webhook = an_webhook_new(c, s->name, &s->stats, err, errlen)))
		goto fail;
	return s;
oom:
	snprintf(err, errlen, "alerts: out of memory");
fail:
	an_sinks_free(s);
	return NULL;
}

void an_sinks_free(struct an_sinks *s)
{
	if (!s)
		return;
	an_kafka_free(s->kafka);
	an_webhook_free(s->webhook);
	an_alert_state_free(s->state);
	free(s->json);
	free(s->key);
	free(s);
}

void an_sinks_stats(const struct an_sinks *s, struct an_sink_stats *out)
{
	*out = s->stats;
}

/* Appends to a fixed log line; a line that does not fit is cut short. */
static void lput(char *b, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lput(char *b, size_t *n, const char *fmt, ...)
{
	va_list ap;
	if (*n >= LOG_LINE - 1)
		return;
	va_start(ap, fmt);
	int r = vsnprintf(b + *n, LOG_LINE - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n = *n + (size_t)r < LOG_LINE - 1 ? *n + (size_t)r : LOG_LINE - 1;
}

/* "alert critical analyzer=spikes rule=by_country src_country=DE field=bytes
 *  value=2e+07 expected=1e+06 lower=9e+05 upper=1.1e+06 score=19.3: message" */
static void log_alert(struct an_sinks *s, const struct an_alert *a)
{
	char b[LOG_LINE];
	size_t n = 0;
	static const char *const num_names[] = { "value", "expected", "lower", "upper", "score" };
	const double nums[] = { a->value, a->expected, a->lower, a->upper, a->score };

	b[0] = '\0';
	lput(b, &n, "alert %s", an_severity_name(a->severity));
	if (a->analyzer)
		lput(b, &n, " analyzer=%s", a->analyzer);
	if (a->rule)
		lput(b, &n, " rule=%s", a->rule);
	for (int i = 0; i < a->ntags; i++)
		lput(b, &n, " %s=%s", a->tag_keys[i] ? a->tag_keys[i] : "", a->tag_values[i] ? a->tag_values[i] : "");
	if (a->field)
		lput(b, &n, " field=%s", a->field);
	for (int i = 0; i < 5; i++)
		if (isfinite(nums[i]))
			lput(b, &n, " %s=%g", num_names[i], nums[i]);
	if (a->message)
		lput(b, &n, ": %s", a->message);
	s->stats.log++;
	/* One limiter per level, so a storm of warnings cannot hide the
	 * `ok` lines, and the reverse. */
	if (a->severity >= DET_WARNING)
		RF_LOG_RL(RF_LOG_WARN, "%s: %s", s->name, b);
	else
		RF_LOG_RL(RF_LOG_INFO, "%s: %s", s->name, b);
}

/* The JSON into s->json, growing it; 0 when even JSON_MAX is too small. */
static size_t make_json(struct an_sinks *s, const struct an_alert *a)
{
	for (;;) {
		size_t n = an_alert_json(a, s->json, s->json_cap);
		if (n || s->json_cap >= JSON_MAX)
			return n;
		char *b = realloc(s->json, s->json_cap * 2);
		if (!b)
			return 0;
		s->json = b;
		s->json_cap *= 2;
	}
}

static size_t make_key(struct an_sinks *s, const struct an_alert *a)
{
	size_t n = an_alert_series_key(a, s->key, s->key_cap);
	if (n >= s->key_cap) {
		char *b = realloc(s->key, n + 1);
		if (!b)
			return 0;
		s->key = b;
		s->key_cap = n + 1;
		an_alert_series_key(a, s->key, s->key_cap);
	}
	return n;
}

void an_sinks_send(struct an_sinks *s, const struct an_alert *a)
{
	if (a->severity < 0 || a->severity >= DET_SEVERITY_COUNT) {
		s->stats.invalid++;
		RF_LOG_RL(RF_LOG_WARN, "%s: alert with severity %d dropped", s->name, a->severity);
		return;
	}
	s->stats.by_severity[a->severity]++;
	if (s->state && an_alert_state_pass(s->state, a) == 0) {
		s->stats.suppressed++;
		return;
	}
	if (s->log)
		log_alert(s, a);
	if (!s->kafka && !s->webhook)
		return;
	size_t n = make_json(s, a);
	if (!n) {
		s->stats.invalid++;
		RF_LOG_RL(RF_LOG_WARN, "%s: alert of rule %.64s too large for JSON (over %u bytes), not sent",
			  s->name, a->rule ? a->rule : "-", JSON_MAX);
		return;
	}
	if (s->kafka) {
		size_t kl = make_key(s, a);
		an_kafka_send(s->kafka, s->key, kl, s->json, n);
	}
	if (s->webhook)
		an_webhook_push(s->webhook, s->json, n);
}

void an_sinks_service(struct an_sinks *s, int64_t now_ns)
{
	if (s->kafka)
		an_kafka_poll(s->kafka);
	if (s->webhook)
		an_webhook_service(s->webhook, now_ns);
}

static size_t pending(const struct an_sinks *s)
{
	return (s->kafka ? an_kafka_pending(s->kafka) : 0) + (s->webhook ? an_webhook_pending(s->webhook) : 0);
}

int an_sinks_flush(struct an_sinks *s, int64_t timeout_ns)
{
	int64_t deadline = rf_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
	for (;;) {
		int64_t now = rf_mono_ns();
		an_sinks_service(s, now);
		size_t left = pending(s);
		if (!left || now >= deadline)
			return left > (size_t)INT32_MAX ? INT32_MAX : (int)left;
		int ms = (int)((deadline - now) / RF_NS_PER_MS) + 1;
		if (ms > 10)
			ms = 10;
		/* Wait on whichever has work; the other is served next turn. */
		if (s->webhook && an_webhook_pending(s->webhook))
			an_webhook_wait(s->webhook, ms);
		else
			an_kafka_wait(s->kafka, ms);
	}
}
