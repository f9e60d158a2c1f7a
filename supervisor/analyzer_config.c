/*
 * analyzer_config.c — the sections of the analyzer host: [alerts] (alert
 * sinks) and [analyzer.NAME] (one analyzer each).
 *
 * They sit in supervisor/ only for now: they move to analyze/ with the
 * analyzer host (issue 10). Runs in the supervisor before fork and in
 * `ringflow -t`.
 */
#include "supervisor/config_sections.h"
#include "common/config_table.h"
#include "common/config_value.h"

#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct rf_config, f)

static const struct conf_key alerts_keys[] = {
	{ "log", CONF_K_BOOL, "yes", "log every alert", OFF(alerts.log), NULL, 0 },
	{ "kafka.brokers", CONF_K_STR, NULL, "alert sink: Kafka brokers", OFF(alerts.kafka_brokers), NULL, 0 },
	{ "kafka.topic", CONF_K_STR, NULL, "alert sink: Kafka topic", OFF(alerts.kafka_topic), NULL, 0 },
	{ "webhook", CONF_K_STR, NULL, "alert sink: URL receiving JSON", OFF(alerts.webhook), NULL, 0 },
	{ "measurement", CONF_K_STR, "ringflow_alerts", "alerts also written to the output under this measurement "
	  "(empty: not written)",
	  OFF(alerts.measurement), NULL, 0 },
	{ "state_changes_only", CONF_K_BOOL, "no", "alert only when a series changes severity",
	  OFF(alerts.state_changes_only), NULL, 0 },
	CONF_KEYS_END
};

const struct conf_section sup_alerts_section = {
	.name = "alerts",
	.desc = "alert sinks: log, Kafka topic, webhook, InfluxDB measurement",
	.keys = alerts_keys,
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

const struct conf_section sup_analyzer_section = {
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
