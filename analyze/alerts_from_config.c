/*
 * alerts_from_config.c — the alert sinks ([alerts], analyzer_config.c) as
 * alert_sinks.h builds them. Runs in the analyzer host at start and in
 * `ringflow -t` (analyze_plan.c), so a bad kafka.* key is refused before
 * anything runs.
 */
#include "analyze/alerts_from_config.h"

#include <stdio.h>

struct an_sinks *an_sinks_from_config(const struct conf_alerts *ca, char *err, size_t errlen)
{
	struct an_alerts_conf c;
	an_alerts_conf_init(&c);
	c.log = ca->log;
	c.state_changes_only = ca->state_changes_only;
	const char *keys[CONF_MAX_KV + 1], *values[CONF_MAX_KV + 1];
	const char *hkeys[CONF_MAX_KV], *hvalues[CONF_MAX_KV];
	int n = 0;
	if (ca->kafka_topic && *ca->kafka_topic) {
		c.kafka_topic = ca->kafka_topic;
		if (ca->kafka_brokers && *ca->kafka_brokers) {
			keys[n] = "bootstrap.servers";
			values[n++] = ca->kafka_brokers;
		}
		for (int i = 0; i < ca->nkafka; i++) {
			keys[n] = ca->kafka[i].key;
			values[n++] = ca->kafka[i].value;
		}
	}
	c.nkafka = n;
	c.kafka_keys = keys;
	c.kafka_values = values;
	if (ca->webhook && *ca->webhook) {
		c.webhook = ca->webhook;
		for (int i = 0; i < ca->nheaders; i++) {
			hkeys[i] = ca->headers[i].key;
			hvalues[i] = ca->headers[i].value;
		}
		c.nheaders = ca->nheaders;
		c.header_names = hkeys;
		c.header_values = hvalues;
		c.webhook_timeout_ns = ca->webhook_timeout_ns;
		c.webhook_retries = ca->webhook_retries;
		c.webhook_queue = ca->webhook_queue;
	}
	char why[512];
	struct an_sinks *s = an_sinks_new(&c, "alerts", why, sizeof why);
	if (!s)
		snprintf(err, errlen, "[alerts] %s", why);
	return s;
}
