/*
 * alert_kafka.c — alerts into a Kafka topic through one idempotent
 * librdkafka producer. See alert_kafka.h and alert_sinks.h.
 *
 * Runs in the analyzer host's loop. rd_kafka_produce() only queues (no
 * RD_KAFKA_MSG_F_BLOCK), so a broker that is down fills librdkafka's queue
 * (queue.buffering.max.messages) and then costs refused, counted alerts,
 * never a stalled loop. Delivery reports and logs come back through
 * rd_kafka_poll() in this thread.
 */
#include "analyze/alert_kafka.h"
#include "common/log.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct an_kafka {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	const char *name;
	char topic[256];
	struct an_sink_stats *stats;
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct an_kafka *k = opaque;
	(void)rk;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		k->stats->kafka_sent++;
		return;
	}
	k->stats->kafka_failed++;
	RF_LOG_RL(RF_LOG_WARN, "%s: kafka topic %s: alert not delivered: %s", k->name, k->topic,
		  rd_kafka_err2str(m->err));
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct an_kafka *k = opaque;
	(void)rk;
	RF_LOG_RL(RF_LOG_WARN, "%s: kafka: %s: %s", k->name, rd_kafka_err2name(err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	const struct an_kafka *k = rd_kafka_opaque(rk);
	/* syslog levels: 0..3 errors, 4 warning, the rest is chatter */
	if (level <= 4)
		RF_LOG_RL(level <= 3 ? RF_LOG_ERROR : RF_LOG_WARN, "%s: kafka: %s: %s", k ? k->name : "alerts", fac,
			  buf);
}

/* The producer's settings: ours, then the operator's kafka.* keys. NULL
 * with err on a key librdkafka refuses. */
static rd_kafka_conf_t *build_conf(const struct an_alerts_conf *c, char *err, size_t errlen)
{
	char why[512];
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	/* Before the operator's keys, which may override them: idempotence
	 * keeps retried produce requests from duplicating or reordering an
	 * alert within its partition. */
	static const struct { const char *k, *v; } base[] = {
		{ "enable.idempotence", "true" },
		{ "client.id", "ringflow-alerts" },
		{ "linger.ms", "5" },
		/* logs through rd_kafka_poll() in this thread (see below), not
		 * from librdkafka's threads: the rate limiters are not atomic */
		{ "log.queue", "true" },
	};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		if (rd_kafka_conf_set(kc, base[i].k, base[i].v, why, sizeof why) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "kafka %s: %.300s", base[i].k, why);
			rd_kafka_conf_destroy(kc);
			return NULL;
		}
	for (int i = 0; i < c->nkafka; i++) {
		const char *key = strcmp(c->kafka_keys[i], "brokers") ? c->kafka_keys[i] : "bootstrap.servers";
		/* why may quote the value; kafka values (sasl.password) are
		 * secrets too, so only the key is named */
		if (rd_kafka_conf_set(kc, key, c->kafka_values[i], why, sizeof why) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "kafka.%.64s: refused by librdkafka", c->kafka_keys[i]);
			rd_kafka_conf_destroy(kc);
			return NULL;
		}
	}
	return kc;
}

static int check_topic(const struct an_alerts_conf *c, size_t max, char *err, size_t errlen)
{
	if (!c->kafka_topic[0] || strlen(c->kafka_topic) >= max) {
		snprintf(err, errlen, "kafka.topic: empty or longer than %zu bytes", max - 1);
		return -1;
	}
	return 0;
}

int an_kafka_check(const struct an_alerts_conf *c, char *err, size_t errlen)
{
	if (check_topic(c, sizeof ((struct an_kafka *)0)->topic, err, errlen))
		return -1;
	rd_kafka_conf_t *kc = build_conf(c, err, errlen);
	if (!kc)
		return -1;
	rd_kafka_conf_destroy(kc);
	return 0;
}

struct an_kafka *an_kafka_new(const struct an_alerts_conf *c, const char *name_for_logs,
			      struct an_sink_stats *stats, char *err, size_t errlen)
{
	struct an_kafka *k = calloc(1, sizeof *k);
	rd_kafka_conf_t *kc = NULL;
	char why[512];
	if (!k) {
		snprintf(err, errlen, "kafka: out of memory");
		return NULL;
	}
	k->name = name_for_logs;
	k->stats = stats;
	if (check_topic(c, sizeof k->topic, err, errlen))
		goto fail;
	strcpy(k->topic, c->kafka_topic);
	kc = build_conf(c, err, errlen);
	if (!kc)
		goto fail;
	rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
	rd_kafka_conf_set_error_cb(kc, error_cb);
	rd_kafka_conf_set_log_cb(kc, log_cb);
	rd_kafka_conf_set_opaque(kc, k);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, why, sizeof why);
	if (!k->rk) {
		snprintf(err, errlen, "kafka: rd_kafka_new: %.300s", why);
		goto fail;
	}
	kc = NULL; /* rd_kafka_new owns it now */
	rd_kafka_set_log_queue(k->rk, NULL);
	k->rkt = rd_kafka_topic_new(k->rk, k->topic, NULL);
	if (!k->rkt) {
		snprintf(err, errlen, "kafka: rd_kafka_topic_new(%s): %s", k->topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		goto fail;
	}
	return k;
fail:
	if (kc)
		rd_kafka_conf_destroy(kc);
	an_kafka_free(k);
	return NULL;
}

void an_kafka_free(struct an_kafka *k)
{
	if (!k)
		return;
	if (k->rk) {
		/* Purged messages come back as failed delivery reports. */
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(k->rk, 0);
	}
	if (k->rkt)
		rd_kafka_topic_destroy(k->rkt);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	free(k);
}

void an_kafka_send(struct an_kafka *k, const char *key, size_t klen, const char *json, size_t len)
{
	if (rd_kafka_produce(k->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)json, len, key, klen,
			     NULL) == -1) {
		k->stats->kafka_failed++;
		RF_LOG_RL(RF_LOG_WARN, "%s: kafka topic %s: alert refused: %s", k->name, k->topic,
			  rd_kafka_err2str(rd_kafka_last_error()));
	}
}

void an_kafka_poll(struct an_kafka *k)
{
	rd_kafka_poll(k->rk, 0);
}

size_t an_kafka_pending(const struct an_kafka *k)
{
	int n = rd_kafka_outq_len(k->rk);
	return n > 0 ? (size_t)n : 0;
}

void an_kafka_wait(struct an_kafka *k, int timeout_ms)
{
	rd_kafka_poll(k->rk, timeout_ms);
}
