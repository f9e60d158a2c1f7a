/*
 * metrics_config.c — [metrics]: writer 0 writes the pipeline's own
 * counters and gauges to the output every `interval` (metrics.c). On by
 * default when the output is InfluxDB, so the pipeline's health can be
 * graphed in the same Grafana as the traffic. Runs in the supervisor
 * before fork and in `ringflow -t`.
 */
#include "writer/writer.h"
#include "common/config_table.h"
#include "common/config_value.h"
#include "common/timeutil.h"

#include <string.h>

#define OFF(f) offsetof(struct rf_config, f)

static const struct conf_key metrics_keys[] = {
	{ "enabled", CONF_K_STR, "auto", "auto (yes when the output is InfluxDB) | yes | no", OFF(metrics.enabled), NULL,
	  0 },
	{ "interval", CONF_K_DURATION, "10s", "how often (at least 100ms)", OFF(metrics.interval_ns), NULL, 0 },
	{ "measurement", CONF_K_STR, "ringflow_internal", "measurement of the points", OFF(metrics.measurement), NULL,
	  0 },
	CONF_KEYS_END
};

static int metrics_check(struct rf_config *c, int found, char *err, size_t errlen)
{
	struct conf_metrics *m = &c->metrics;
	const char *e = m->enabled ? m->enabled : "auto";
	if (!strcmp(e, "auto"))
		m->on = c->output.type == CONF_OUTPUT_INFLUXDB;
	else if (!strcmp(e, "yes"))
		m->on = 1;
	else if (!strcmp(e, "no"))
		m->on = 0;
	else
		return conf_fail(err, errlen, "[metrics] enabled: '%s' is not auto, yes or no", e);
	if (m->interval_ns < 100 * RF_NS_PER_MS)
		return conf_fail(err, errlen, "[metrics] interval: below the minimum of 100ms");
	if (m->on && (!m->measurement || !*m->measurement))
		return conf_fail(err, errlen, "[metrics] measurement: empty");
	return 0;
}

const struct conf_section wr_metrics_section = {
	.name = "metrics",
	.desc = "the pipeline's own counters written to the output (writer 0)",
	.keys = metrics_keys,
	.check = metrics_check,
};
