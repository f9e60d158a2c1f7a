/*
 * analyzer_config.c — the sections of the analyzer host: [alerts] (alert
 * sinks) and [analyzer.NAME] (one analyzer each). What can only be checked
 * against the rest (exec, args, input) is checked when they compile
 * (analyze_plan.c). Runs in the supervisor before fork and in `ringflow -t`.
 *
 * Header values (webhook.header.NAME, tokens) and kafka.* values (SASL
 * passwords) are secrets: no message quotes them.
 */
#include "analyze/analyze.h"
#include "common/config_table.h"
#include "common/config_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct rf_config, f)

static const struct conf_key alerts_keys[] = {
	{ "log", CONF_K_BOOL, "yes", "log every alert", OFF(alerts.log), NULL, 0 },
	{ "kafka.brokers", CONF_K_STR, NULL, "alert sink: Kafka brokers (host:port, comma list)",
	  OFF(alerts.kafka_brokers), NULL, 0 },
	{ "kafka.topic", CONF_K_STR, NULL, "alert sink: Kafka topic; other kafka.* keys go to librdkafka",
	  OFF(alerts.kafka_topic), NULL, 0 },
	{ "webhook", CONF_K_STR, NULL, "alert sink: URL receiving each alert as JSON (POST); headers as "
	  "webhook.header.NAME = VALUE", OFF(alerts.webhook), NULL, 0 },
	{ "webhook_timeout", CONF_K_DURATION, "5s", "per webhook request", OFF(alerts.webhook_timeout_ns), NULL, 0 },
	{ "webhook_retries", CONF_K_INT, "3", "retries of a webhook request that timed out or got 408, 429 or 5xx",
	  OFF(alerts.webhook_retries), NULL, 0 },
	{ "webhook_queue", CONF_K_INT, "1000", "alerts waiting for the webhook at most; more are dropped (counted)",
	  OFF(alerts.webhook_queue), NULL, 0 },
	{ "measurement", CONF_K_STR, "ringflow_alerts", "alerts also written to the output under this measurement "
	  "(empty: not written)", OFF(alerts.measurement), NULL, 0 },
	{ "state_changes_only", CONF_K_BOOL, "no", "alert only when a series changes severity, and ok when it "
	  "returns to normal", OFF(alerts.state_changes_only), NULL, 0 },
	CONF_KEYS_END
};

static int add_kv(struct conf_kv *kv, int *n, const char *sec_key, const char *key, const char *v,
		  char *err, size_t errlen)
{
	if (!*key)
		return conf_fail(err, errlen, "[alerts] %s: empty name", sec_key);
	if (*n >= CONF_MAX_KV)
		return conf_fail(err, errlen, "[alerts] %s: more than %d such keys", sec_key, CONF_MAX_KV);
	kv[*n].key = conf_strdup(key);
	kv[*n].value = conf_strdup(v);
	(*n)++;
	return 0;
}

static int alerts_other_key(const struct conf_scope *s, const char *key, const char *v, char *err, size_t errlen)
{
	struct conf_alerts *a = &s->conf->alerts;
	if (!strncmp(key, "kafka.", 6))
		return add_kv(a->kafka, &a->nkafka, key, key + 6, v, err, errlen);
	if (!strncmp(key, "webhook.header.", 15))
		return add_kv(a->headers, &a->nheaders, key, key + 15, v, err, errlen);
	return 1;
}

static int set(const char *s)
{
	return s && *s;
}

static int alerts_check(struct rf_config *c, int found, char *err, size_t errlen)
{
	const struct conf_alerts *a = &c->alerts;
	int has_bootstrap = 0;
	for (int i = 0; i < a->nkafka; i++)
		has_bootstrap |= !strcmp(a->kafka[i].key, "bootstrap.servers");
	if (set(a->kafka_topic) && !set(a->kafka_brokers) && !has_bootstrap)
		return conf_fail(err, errlen, "[alerts] kafka.brokers: missing (kafka.topic is set)");
	if ((set(a->kafka_brokers) || a->nkafka) && !set(a->kafka_topic))
		return conf_fail(err, errlen, "[alerts] kafka.topic: missing (other kafka.* keys are set)");
	if (a->nheaders && !set(a->webhook))
		return conf_fail(err, errlen, "[alerts] webhook: missing (webhook.header.* keys are set)");
	if (set(a->webhook) && strncmp(a->webhook, "http://", 7) && strncmp(a->webhook, "https://", 8))
		return conf_fail(err, errlen, "[alerts] webhook: not an http:// or https:// URL");
	if (found && c->nanalyzers == 0)
		conf_warn(c, "[alerts]: there is no [analyzer.*] section, so no alert is ever sent");
	return 0;
}

static void alerts_release(struct rf_config *c)
{
	struct conf_alerts *a = &c->alerts;
	for (int i = 0; i < a->nkafka; i++) {
		free(a->kafka[i].key);
		free(a->kafka[i].value);
	}
	for (int i = 0; i < a->nheaders; i++) {
		free(a->headers[i].key);
		free(a->headers[i].value);
	}
	a->nkafka = a->nheaders = 0;
}

const struct conf_section an_alerts_section = {
	.name = "alerts",
	.desc = "alert sinks: log, Kafka topic, webhook, InfluxDB measurement",
	.keys = alerts_keys,
	.other_key = alerts_other_key,
	.check = alerts_check,
	/* After [analyzer.*], whose count the warning reads. */
	.late_check = 1,
	.release = alerts_release,
};

#define AOFF(f) offsetof(struct conf_analyzer, f)

/* Offsets into struct conf_analyzer; an empty value is kept (exec is
 * then refused as missing). */
static const struct conf_key analyzer_keys[] = {
	{ "exec", CONF_K_STR, NULL, "a built-in analyzer name or a path (required)", AOFF(exec), NULL, 0 },
	{ "args", CONF_K_STR, NULL, "arguments passed to it", AOFF(args), NULL, 0 },
	{ "input", CONF_K_STR, NULL, "comma list of the rules it reads (absent: all)", AOFF(input), NULL, 0 },
	{ "queue", CONF_K_INT, "64", "windows queued for it at most; with streaming input more are dropped (counted)",
	  AOFF(queue), NULL, 0 },
	{ "timeout", CONF_K_DURATION, "10s", "an analyzer with input waiting that takes none for this long is "
	  "killed and restarted; also how long it gets to finish after the last window", AOFF(timeout_ns), NULL, 0 },
	CONF_KEYS_END
};

static int analyzer_other_key(const struct conf_scope *s, const char *key, const char *v, char *err, size_t errlen)
{
	return conf_fail(err, errlen, "[%s] %s: unknown key (exec, args, input, queue, timeout)", s->sec, key);
}

static void *analyzer_open(struct rf_config *c, const char *sec, const char *name, char *err, size_t errlen)
{
	if (c->nanalyzers >= CONF_MAX_ANALYZERS) {
		conf_fail(err, errlen, "[%s]: more than %d analyzers", sec, CONF_MAX_ANALYZERS);
		return NULL;
	}
	if (!conf_valid_name(name)) {
		conf_fail(err, errlen, "[%s]: '%s' is not a valid analyzer name", sec, name);
		return NULL;
	}
	struct conf_analyzer *a = &c->analyzers[c->nanalyzers];
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "%s", name);
	return a;
}

static int analyzer_close(const struct conf_scope *s, char *err, size_t errlen)
{
	const struct conf_analyzer *a = s->base;
	if (!a->exec || !*a->exec)
		return conf_fail(err, errlen, "[%s] exec: missing (a built-in name or a path)", s->sec);
	s->conf->nanalyzers++;
	return 0;
}

static void free_analyzer(struct conf_analyzer *a)
{
	free(a->exec);
	free(a->args);
	free(a->input);
	memset(a, 0, sizeof *a);
}

/* Not counted in nanalyzers yet, so release would not see it. */
static void analyzer_discard(const struct conf_scope *s)
{
	free_analyzer(s->base);
}

static void analyzer_release(struct rf_config *c)
{
	for (int i = 0; i < c->nanalyzers; i++)
		free_analyzer(&c->analyzers[i]);
}

const struct conf_section an_analyzer_section = {
	.name = "analyzer",
	.named = 1,
	.desc = "one analyzer executable: exec, args, input, queue, timeout",
	.keys = analyzer_keys,
	.other_key = analyzer_other_key,
	.open = analyzer_open,
	.close = analyzer_close,
	.discard = analyzer_discard,
	.release = analyzer_release,
};
