/*
 * alert_sinks.h — where alerts leave the analyzer host ([alerts], DESIGN.md
 * §3 and §5): the log, a Kafka topic, a webhook. Every alert goes to every
 * configured sink as the JSON of an_alert_json(); with state_changes_only
 * the alert_state table holds back repeats first.
 *
 * Runs inside the analyzer host process's loop, single-threaded: the host
 * calls an_sinks_send() per alert and an_sinks_service() every turn (every
 * 50 ms or less). Nothing here blocks that loop: Kafka produces into
 * librdkafka's queue (its threads do the network), the webhook is a curl
 * multi transfer driven by an_sinks_service(). A sink that is down costs
 * its own queue, never the pipeline or the other sinks.
 *
 * Kafka: one idempotent producer (enable.idempotence=true, any kafka.* key
 * passed through and allowed to override it; "brokers" means
 * bootstrap.servers), message key = an_alert_series_key() so one series
 * stays in one partition, value = the JSON. A full librdkafka queue or a
 * failed delivery counts kafka_failed.
 *
 * Webhook: HTTP POST of the JSON (Content-Type: application/json plus the
 * configured headers), one request at a time in arrival order, so a
 * receiver sees a series' warning before its ok. Up to webhook_queue alerts
 * wait (a full queue drops the new alert: webhook_dropped). A request that
 * times out, cannot connect or gets 408, 429 or 5xx is retried up to
 * webhook_retries times with backoff (200 ms, doubling, at most 5 s); any
 * other status that is not 2xx (redirects are not followed), or the last
 * retry failing, counts webhook_failed. So a receiver that never answers
 * takes (retries + 1) x timeout per alert and the queue absorbs the rest.
 * Name lookups do not block either: Debian's libcurl resolves in a thread
 * (CURL_VERSION_ASYNCHDNS).
 * Logs name the webhook by scheme and host only: header values and the
 * URL's path and query (tokens live there too) are never logged.
 *
 * Memory: each queued webhook alert holds a copy of its JSON until sent
 * (bounded by webhook_queue); nothing is allocated per record.
 */
#ifndef ANALYZE_ALERT_SINKS_H
#define ANALYZE_ALERT_SINKS_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/alert.h"
#include "analyze/detector.h"

#define AN_WEBHOOK_TIMEOUT_DEFAULT_NS (5LL * 1000000000)
#define AN_WEBHOOK_RETRIES_DEFAULT 3
#define AN_WEBHOOK_QUEUE_DEFAULT 1000

/* Every string is borrowed during an_sinks_new() only (copied). */
struct an_alerts_conf {
	int log;                     /* 1: one log line per alert */
	int state_changes_only;
	const char *kafka_topic;     /* NULL: no Kafka sink */
	int nkafka;                  /* kafka.* keys without the prefix, topic excluded */
	const char **kafka_keys, **kafka_values;
	const char *webhook;         /* URL; NULL: no webhook */
	int nheaders;                /* webhook.header.NAME = VALUE */
	const char **header_names, **header_values;
	int64_t webhook_timeout_ns;  /* per request; <= 0: 5 s */
	int webhook_retries;         /* < 0: 3 (0 = no retry) */
	int webhook_queue;           /* <= 0: 1000 */
};

/* Zeroes *c and sets the defaults (no sink, timeout 5 s, 3 retries, 1000). */
void an_alerts_conf_init(struct an_alerts_conf *c);

struct an_sink_stats {
	uint64_t by_severity[DET_SEVERITY_COUNT]; /* alerts given to an_sinks_send */
	uint64_t suppressed;         /* held back by state_changes_only */
	uint64_t invalid;            /* bad severity, JSON too large: sent nowhere */
	uint64_t log;                /* log lines written (before rate limiting) */
	uint64_t kafka_sent, kafka_failed;
	uint64_t webhook_sent, webhook_failed, webhook_dropped, webhook_retries;
};

struct an_sinks;

/* Builds the sinks (the Kafka producer, the curl multi handle); no network
 * I/O yet. name_for_logs prefixes log lines ("alerts"). NULL with a reason
 * in err (bad kafka.* key, curl init failure). */
struct an_sinks *an_sinks_new(const struct an_alerts_conf *c, const char *name_for_logs, char *err,
			      size_t errlen);
/* What an_sinks_new would refuse, without building anything that reaches
 * the network (`ringflow -t`). 0, or -1 with a reason. */
int an_sinks_check(const struct an_alerts_conf *c, char *err, size_t errlen);
/* Never blocks. The alert and its strings are only read during the call. */
void an_sinks_send(struct an_sinks *s, const struct an_alert *a);
/* Drives the webhook transfer and retries, serves Kafka delivery reports;
 * never waits. now_ns: rf_mono_ns(). */
void an_sinks_service(struct an_sinks *s, int64_t now_ns);
/* At exit: delivers what is queued, waiting at most timeout_ns. Returns the
 * number of alerts still undelivered (0: everything sent). */
int an_sinks_flush(struct an_sinks *s, int64_t timeout_ns);
void an_sinks_free(struct an_sinks *s); /* NULL is fine; drops what is queued */
void an_sinks_stats(const struct an_sinks *s, struct an_sink_stats *out);

#endif
