/*
 * alert_kafka.h — the Kafka alert sink: one idempotent librdkafka producer,
 * key = series identity, value = the alert's JSON. Internal to
 * alert_sinks.c (see alert_sinks.h for what an operator sees). Runs in the
 * analyzer host's loop; produce and poll never wait (librdkafka's own
 * threads do the network), an_kafka_wait() is for the exit flush.
 */
#ifndef ANALYZE_ALERT_KAFKA_H
#define ANALYZE_ALERT_KAFKA_H

#include <stddef.h>

#include "analyze/alert_sinks.h"

struct an_kafka;

/* c->kafka_topic and the kafka.* pairs ("brokers" = bootstrap.servers).
 * Counters go to *stats, which must outlive the sink. NULL with a reason in
 * err (a key librdkafka refuses, with its reason). */
struct an_kafka *an_kafka_new(const struct an_alerts_conf *c, const char *name_for_logs,
			      struct an_sink_stats *stats, char *err, size_t errlen);
/* Purges what is still queued (counted failed) and destroys the producer. */
/* What an_kafka_new would refuse, without creating the producer (which
 * connects at once): for `ringflow -t`. */
int an_kafka_check(const struct an_alerts_conf *c, char *err, size_t errlen);
void an_kafka_free(struct an_kafka *k);
/* Copies key and value into librdkafka's queue; a refusal (queue full,
 * fatal producer error) counts kafka_failed. */
void an_kafka_send(struct an_kafka *k, const char *key, size_t klen, const char *json, size_t len);
/* Serves delivery reports (counters) without waiting. */
void an_kafka_poll(struct an_kafka *k);
/* Messages not yet delivered or failed. */
size_t an_kafka_pending(const struct an_kafka *k);
/* Serves delivery reports, waiting up to timeout_ms. Exit flush only. */
void an_kafka_wait(struct an_kafka *k, int timeout_ms);

#endif
