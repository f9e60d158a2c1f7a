/*
 * kafka_source.c — `[input] type = kafka`: a librdkafka high-level consumer
 * in the consumer group `group`, consuming in batches
 * (rd_kafka_consume_batch_queue, never one message per call). A message may
 * hold one or several newline-separated lines.
 *
 * Runs in ingest processes; the rd_kafka_t is created here, after fork,
 * because librdkafka's threads do not survive fork().
 *
 * Offsets: auto-commit is off. Offsets are committed only as part of a
 * complete checkpoint (DESIGN.md §2), so a restart never skips records whose
 * windows were still open. Without a checkpoint, `start` applies.
 *
 * Each assigned (topic, partition) gets a source id (ingest index * 1024 +
 * slot) so the aggregates can track per-partition watermarks.
 */
#include "ingest/ingest.h"
#include "common/log.h"
#include "shm/frames.h"
#include "common/timeutil.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MESSAGES 4096
#define POLL_TIMEOUT_MS 100

struct part_slot {
	char topic[48];
	int32_t partition;
	int64_t next_offset;   /* -1 until a message was seen */
};

struct kafka_src {
	const struct rf_proc *p;
	struct ing_framer *fr;
	struct part_slot slots[RF_SOURCES_PER_INGEST];
	int nslots;
	uint64_t errors, messages;
};

static struct kafka_src *g_src; /* for librdkafka callbacks (one per process) */

static int slot_for(struct kafka_src *s, const char *topic, int32_t partition)
{
	for (int i = 0; i < s->nslots; i++)
		if (s->slots[i].partition == partition && !strcmp(s->slots[i].topic, topic))
			return i;
	if (s->nslots >= RF_SOURCES_PER_INGEST)
		return RF_SOURCES_PER_INGEST - 1; /* shares a watermark; logged once at assign */
	struct part_slot *ps = &s->slots[s->nslots];
	snprintf(ps->topic, sizeof ps->topic, "%s", topic);
	ps->partition = partition;
	ps->next_offset = -1;
	/* Publish the slot for lag reporting: topic first, then the partition
	 * with release order (the supervisor reads partition, then topic). */
	if (s->nslots < RF_LAG_PARTITIONS) {
		struct rf_partition_lag *l = &s->p->stats->lag[s->nslots];
		snprintf(l->topic, sizeof l->topic, "%s", topic);
		atomic_store_explicit(&l->offset, -1, memory_order_relaxed);
		atomic_store_explicit(&l->high, -1, memory_order_relaxed);
		atomic_store_explicit(&l->partition, partition, memory_order_release);
	}
	return s->nslots++;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	if (g_src)
		g_src->errors++;
	RF_LOG_RL(RF_LOG_WARN, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	/* librdkafka's own syslog levels: 0-3 error, 4 warning, else debug. */
	RF_LOG_RL(level <= 3 ? RF_LOG_ERROR : level == 4 ? RF_LOG_WARN : RF_LOG_DEBUG,
		  "librdkafka %s: %s", fac, buf);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka_src *s = opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++)
			slot_for(s, parts->elems[i].topic, parts->elems[i].partition);
		rf_info("kafka: assigned %d partition(s)", parts->cnt);
		rd_kafka_assign(rk, parts);
	} else {
		/* Lines already framed belong to the old assignment: publish
		 * them before letting go. */
		ing_framer_flush(s->fr);
		rf_info("kafka: revoked %d partition(s)", parts->cnt);
		rd_kafka_assign(rk, NULL);
	}
}

/* Builds the librdkafka configuration from [input]; no network I/O, so
 * `ringflow -t` uses it too (ing_kafka_check). */
static rd_kafka_conf_t *build_conf(const struct conf_input *in, char *err, size_t errlen)
{
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	char why[256];
	struct { const char *k, *v; } base[] = {
		{ "bootstrap.servers", in->brokers },
		{ "group.id", in->group },
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
		{ "auto.offset.reset", in->start },
		{ "client.id", "ringflow" },
	};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		if (rd_kafka_conf_set(kc, base[i].k, base[i].v, why, sizeof why) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "[input] %s: %.200s", base[i].k, why);
			goto fail;
		}
	for (int i = 0; i < in->nkafka; i++)
		if (rd_kafka_conf_set(kc, in->kafka[i].key, in->kafka[i].value, why, sizeof why) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "[input] kafka.%.64s: %.200s", in->kafka[i].key, why);
			goto fail;
		}
	return kc;
fail:
	rd_kafka_conf_destroy(kc);
	return NULL;
}

int ing_kafka_check(const struct conf_input *in, char *err, size_t errlen)
{
	rd_kafka_conf_t *kc = build_conf(in, err, errlen);
	if (!kc)
		return -1;
	rd_kafka_conf_destroy(kc);
	return 0;
}

static rd_kafka_t *make_consumer(struct kafka_src *s, char *err, size_t errlen)
{
	rd_kafka_conf_t *kc = build_conf(&s->p->pl->conf.input, err, errlen);
	if (!kc)
		return NULL;
	rd_kafka_conf_set_error_cb(kc, error_cb);
	rd_kafka_conf_set_log_cb(kc, log_cb);
	rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
	rd_kafka_conf_set_opaque(kc, s);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, errlen);
	if (!rk)
		rd_kafka_conf_destroy(kc);
	return rk;
}

static int subscribe(rd_kafka_t *rk, const char *topics, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
	char *copy = strdup(topics), *save = NULL;
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
		rd_kafka_topic_partition_list_add(l, t, RD_KAFKA_PARTITION_UA);
	free(copy);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e) {
		snprintf(err, errlen, "subscribe(%s): %s", topics, rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

static void publish_lag(struct kafka_src *s, rd_kafka_t *rk)
{
	for (int i = 0; i < s->nslots && i < RF_LAG_PARTITIONS; i++) {
		struct part_slot *ps = &s->slots[i];
		int64_t lo = -1, hi = -1;
		rd_kafka_get_watermark_offsets(rk, ps->topic, ps->partition, &lo, &hi);
		struct rf_partition_lag *l = &s->p->stats->lag[i];
		atomic_store_explicit(&l->offset, ps->next_offset, memory_order_relaxed);
		atomic_store_explicit(&l->high, hi, memory_order_relaxed);
	}
}

int ing_kafka_run(const struct rf_proc *p, struct ing_framer *fr)
{
	static struct kafka_src src;
	memset(&src, 0, sizeof src);
	src.p = p;
	src.fr = fr;
	g_src = &src;
	char err[512];
	rd_kafka_t *rk = make_consumer(&src, err, sizeof err);
	if (!rk) {
		rf_error("kafka consumer: %s", err);
		return CONF_EXIT_CONFIG;
	}
	rd_kafka_poll_set_consumer(rk);
	if (subscribe(rk, p->pl->conf.input.topics, err, sizeof err)) {
		rf_error("kafka: %s", err);
		rd_kafka_destroy(rk);
		return 1;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
	rd_kafka_message_t *msgs[BATCH_MESSAGES];
	uint32_t base = (uint32_t)p->index * RF_SOURCES_PER_INGEST;
	uint64_t published_errors = 0;
	int64_t last_lag = 0;

	while (!rf_stop_requested) {
		ssize_t n = rd_kafka_consume_batch_queue(q, POLL_TIMEOUT_MS, msgs, BATCH_MESSAGES);
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = msgs[i];
			if (m->err) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					src.errors++;
					RF_LOG_RL(RF_LOG_WARN, "kafka: consume error: %s", rd_kafka_message_errstr(m));
				}
				rd_kafka_message_destroy(m);
				continue;
			}
			int slot = slot_for(&src, rd_kafka_topic_name(m->rkt), m->partition);
			src.slots[slot].next_offset = m->offset + 1;
			src.messages++;
			if (m->len)
				ing_framer_add_lines(fr, base + (uint32_t)slot, m->payload, m->len);
			else
				ing_framer_add(fr, base + (uint32_t)slot, "", 0);
			rd_kafka_message_destroy(m);
		}
		ing_framer_flush(fr);
		rf_stat_add(p->stats, RF_ST_KAFKA_MESSAGES, src.messages);
		src.messages = 0;
		rf_stat_add(p->stats, RF_ST_KAFKA_ERRORS, src.errors - published_errors);
		published_errors = src.errors;
		int64_t now = rf_mono_ns();
		if (now - last_lag > 500 * RF_NS_PER_MS) {
			publish_lag(&src, rk);
			last_lag = now;
		}
	}
	ing_framer_flush(fr);
	rf_info("kafka: stop requested, closing the consumer");
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	g_src = NULL;
	rf_send_eos(fr->outs, fr->nouts, RF_EOS_STOP);
	return 0;
}
