/*
 * alerts_from_config.c — the alert sinks ([alerts], analyzer_config.c) as
 * alert_sinks.h builds them. Runs in the analyzer host at start, and its
 * check in `ringflow -t` (analyze_plan.c), so a bad kafka.* key is refused
 * before anything runs.
 */
#include "analyze/alerts_from_config.h"

#include <stdio.h>

/* An an_alerts_conf and the arrays it points into. */
struct sinks_conf {
	struct an_alerts_conf c;
	const char *keys[CONF_MAX_KV + 1], *values[CONF_MAX_KV + 1];
	const char *hkeys[CONF_MAX_KV], *hvalues[CONF_MAX_KV];
};

static void fill(const struct conf_alerts *ca, struct sinks_conf *s)
{
	struct an_alerts_conf *c = &s->c;
	an_alerts_conf_init(c);
	c->log = ca->log;
	c->state_changes_only = ca->state_changes_only;
	int n = 0;
	if (ca->kafka_topic && *ca->kafka_topic) {
		c->kafka_topic = ca->kafka_topic;
		if (ca->kafka_brokers && *ca->kafka_brokers) {
			s->keys[n] = "bootstrap.servers";
			s->values[n++] = ca->kafka_brokers;
		}
		for (int i = 0; i < ca->nkafka; i++) {
			s->keys[n] = ca->kafka[i].key;
			s->values[n++] = ca->kafka[i].value;
		}
	}
	c->nkafka = n;
	c->kafka_keys = s->keys;
	c->kafka_values = s->values;
	if (ca->webhook && *ca->webhook) {
		c->webhook = ca->webhook;
		for (int i = 0; i < ca->nheaders; i++) {
			s->hkeys[i] = ca->headers[i].key;
			s->hvalues[i] = ca->headers[i].value;
		}
		c->nheaders = ca->nheaders;
		c->header_names = s->hkeys;
		c->header_values = s->hvalues;
		c->webhook_timeout_ns = ca->webhook_timeout_ns;
		c->webhook_retries = ca->webhook_retries;
		c->webhook_queue = ca->webhook_queue;
	}
}

struct an_sinks *an_sinks_from_config(const struct conf_alerts *ca, char *err, size_t errlen)
{
	struct sinks_conf s;
	fill(ca, &s);
	char why[512];
	struct an_sinks *sinks = an_sinks_new(&s.c, "alerts", why, sizeof why);
	if (!sinks)
		snprintf(err, errlen, "[alerts] %s", why);
	return sinks;
}

int an_sinks_check_config(const struct conf_alerts *ca, char *err, size_t errlen)
{
	struct sinks_conf s;
	fill(ca, &s);
	char why[512];
	if (an_sinks_check(&s.c, why, sizeof why)) {
		snprintf(err, errlen, "[alerts] %s", why);
		return -1;
	}
	return 0;
}
