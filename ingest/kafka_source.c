/*
 * kafka_source.c — `[input] type = kafka`: a librdkafka high-level consumer
 * in the consumer group `group`, consuming in batches
 * (rd_kafka_consume_batch_queue, never one message per call). A message may
 * hold one or several newline-separated lines.
 *
 * Runs in ingest processes; the rd_kafka_t is created here, after fork,
 * because librdkafka's threads do not survive fork().
 *
 * Offsets and checkpoints (pipeline/checkpoint.h): auto-commit is off.
 * On each barrier request the ingest stores the next offset of every
 * partition it has read into the checkpoint store and sends BARRIER(N)
 * downstream; once the supervisor declares N complete, the offsets are
 * committed to the consumer group too, so standard lag tools see them.
 * Where to start a newly assigned partition: its shared position (where this
 * run, or the checkpoint resumed from, left it); else, when resuming from a
 * checkpoint that does not name it, the group's committed offset; else
 * `start`.
 *
 * Each (topic, partition) has a stable source id (partitions.h) so the
 * aggregates can track per-partition watermarks across restarts. Every
 * partition assigned to this ingest (at a group assignment and again after
 * a rewind) is announced downstream at once (kafka_announce_owned), so it
 * holds windows back before it delivered anything.
 */
#include "ingest/ingest.h"
#include "ingest/inputs.h"
#include "ingest/kafka_src.h"
#include "common/log.h"
#include "pipeline/frames.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_TIMEOUT_MS 100
#define ENDED_POLL_MS 5

static struct kafka_src *g_src; /* for librdkafka callbacks (one per process) */

/* Tells the aggregates whether this ingest reads (checkpoint.h): it has its
 * partitions and reaches the brokers. While it does not, their idle clock
 * stands still: a partition nobody can fetch from is not a quiet one, and
 * treating it so would emit windows before its backlog arrives. */
void kafka_publish_reading(struct kafka_src *s)
{
	if (!s->parked)
		atomic_store_explicit(&s->ctl->reading[s->p->index], s->assigned && !s->brokers_down,
				      memory_order_release);
}

static void give_lag_slot(struct kafka_src *s, struct ing_part *ip)
{
	if (ip->lag_slot >= 0 || s->parts.nlag >= RF_LAG_PARTITIONS)
		return;
	ip->lag_slot = s->parts.nlag++;
	/* Topic first, then the partition with release order (the supervisor
	 * reads partition, then topic). */
	struct rf_partition_lag *l = &s->p->stats->lag[ip->lag_slot];
	snprintf(l->topic, sizeof l->topic, "%s", ip->topic);
	atomic_store_explicit(&l->offset, -1, memory_order_relaxed);
	atomic_store_explicit(&l->high, -1, memory_order_relaxed);
	atomic_store_explicit(&l->paused_ahead_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&l->partition, ip->partition, memory_order_release);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	if (g_src) {
		g_src->errors++;
		if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !g_src->brokers_down) {
			g_src->brokers_down = 1;
			kafka_publish_reading(g_src);
			rf_stat_note(g_src->p->stats, "all Kafka brokers are down (retrying)");
		}
	}
	RF_LOG_RL(RF_LOG_WARN, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	/* librdkafka's own syslog levels: 0-3 error, 4 warning, else debug. */
	RF_LOG_RL(level <= 3 ? RF_LOG_ERROR : level == 4 ? RF_LOG_WARN : RF_LOG_DEBUG,
		  "librdkafka %s: %s", fac, buf);
}

int64_t kafka_start_offset(const struct kafka_src *s)
{
	if (atomic_load_explicit(&s->ctl->resume, memory_order_acquire))
		return RD_KAFKA_OFFSET_STORED;
	return strcmp(s->p->pl->conf.input.start, "latest") ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
}

void kafka_publish_positions(struct kafka_src *s)
{
	for (int i = 0; i < s->parts.nused; i++) {
		int src = s->parts.used[i];
		const struct ing_part *ip = &s->parts.part[src];
		if (ip->owned && ip->next_offset != RF_POSITION_UNKNOWN)
			atomic_store_explicit(&s->ctl->position[src], ip->next_offset, memory_order_release);
	}
}

void kafka_prepare_assign(struct kafka_src *s, rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &parts->elems[i];
		int src = rf_source_id(&s->parts.topics, tp->topic, tp->partition);
		if (src < 0) {
			rf_error("kafka: %s partition %d cannot be tracked: ringflow reads at most %d partitions "
				 "per topic; stopping", tp->topic, tp->partition, RF_PARTITIONS_PER_TOPIC);
			s->fatal = 1;
			continue;
		}
		struct ing_part *ip = ing_parts_get(&s->parts, src, tp->topic, tp->partition);
		ip->owned = 1;
		ip->paused = 0;   /* a fresh assignment fetches */
		ip->at_end = 0;
		give_lag_slot(s, ip);
		int64_t pos = atomic_load_explicit(&s->ctl->position[src], memory_order_acquire);
		if (pos != RF_POSITION_UNKNOWN) {
			tp->offset = pos;
			ip->next_offset = pos;
		} else {
			tp->offset = kafka_start_offset(s);
		}
	}
}

/* A partition announced holds windows back from now on, until it delivers
 * or is quiet for idle_timeout (framer.h): without this the first partition
 * of a backlog to arrive would close every window. Parked, parking or
 * aborting, the rings are off limits and nothing is sent (the rewind
 * announces again; an abort ends the process). An announce that fails
 * otherwise (an internal ring error) sets ring_error. */
int kafka_announce(struct kafka_src *s, int src)
{
	if (s->parked || rf_abort_flag || rf_park_flag)
		return -1;
	if (ing_framer_announce(s->fr, (uint32_t)src) == 0)
		return 0;
	s->ring_error = !rf_park_flag && !rf_abort_flag;
	return -1;
}

void kafka_announce_owned(struct kafka_src *s)
{
	for (int i = 0; i < s->parts.nused; i++) {
		int src = s->parts.used[i];
		if (s->parts.part[src].owned && kafka_announce(s, src))
			return;
	}
}

void kafka_set_assigned(struct kafka_src *s, int on)
{
	s->assigned = on;
	kafka_publish_reading(s);
}

int kafka_cooperative(rd_kafka_t *rk)
{
	return !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
}

void kafka_announce_list(struct kafka_src *s, const rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++) {
		int src = rf_source_id(&s->parts.topics, parts->elems[i].topic, parts->elems[i].partition);
		if (src >= 0 && kafka_announce(s, src))
			return;
	}
}

/* assignment = group. With the cooperative assignor a rebalance moves only
 * the partitions listed; the eager protocol (a group whose other members
 * use it) revokes everything. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct kafka_src *s = opaque;
	int coop = kafka_cooperative(rk);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		kafka_prepare_assign(s, parts);
		rf_info("kafka: assigned %d partition(s)", parts->cnt);
		if (coop) {
			rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
			if (e) {
				rf_error("kafka: incremental assign: %s", rd_kafka_error_string(e));
				rd_kafka_error_destroy(e);
				s->ring_error = 1;   /* restart the data plane */
			}
		} else {
			rd_kafka_assign(rk, parts);
		}
		kafka_announce_list(s, parts);
		kafka_set_assigned(s, 1);
	} else {
		/* Lines already framed belong to the old assignment: publish
		 * them, and where each partition stands, before letting go;
		 * the next owner continues from there. (Not when aborting:
		 * the data plane restarts from the checkpoint anyway.) */
		if (!rf_abort_flag && !s->parked) {
			if (ing_framer_flush(s->fr))
				s->ring_error = 1;
			kafka_publish_positions(s);
		}
		if (coop) {
			for (int i = 0; i < parts->cnt; i++) {
				int src = rf_source_id(&s->parts.topics, parts->elems[i].topic, parts->elems[i].partition);
				if (src >= 0)
					s->parts.part[src].owned = 0;
			}
			rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
			if (e) {
				rf_error("kafka: incremental unassign: %s", rd_kafka_error_string(e));
				rd_kafka_error_destroy(e);
				s->ring_error = 1;
			}
		} else {
			kafka_set_assigned(s, 0);
			for (int i = 0; i < s->parts.nused; i++)
				s->parts.part[s->parts.used[i]].owned = 0;
			rd_kafka_assign(rk, NULL);
		}
		rf_info("kafka: revoked %d partition(s)", parts->cnt);
	}
}

void kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
		      void *opaque)
{
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		if (g_src)
			g_src->errors++;
		RF_LOG_RL(RF_LOG_WARN, "kafka: committing checkpoint offsets to the group failed: %s "
			  "(checkpoints are unaffected; lag tools show older offsets)", rd_kafka_err2str(err));
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
		/* End-of-partition events tell a caught-up partition from one
		 * that cannot be fetched (brokers_down). */
		{ "enable.partition.eof", "true" },
		{ "auto.offset.reset", in->start },
		{ "client.id", "ringflow" },
	};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		if (rd_kafka_conf_set(kc, base[i].k, base[i].v, why, sizeof why) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "[input] %s: %.200s", base[i].k, why);
			goto fail;
		}
	/* Settings the checkpoint semantics rest on: a kafka.* key must not
	 * quietly override them. */
	static const struct { const char *k, *why; } own[] = {
		{ "bootstrap.servers", "set it with [input] brokers" },
		{ "metadata.broker.list", "set it with [input] brokers" },
		{ "group.id", "set it with [input] group" },
		{ "auto.offset.reset", "set it with [input] start" },
		{ "enable.auto.commit", "ringflow commits checkpointed offsets itself" },
		{ "enable.auto.offset.store", "ringflow commits checkpointed offsets itself" },
		{ "enable.partition.eof", "ringflow needs end-of-partition events" },
	};
	for (int i = 0; i < in->nkafka; i++)
		for (size_t j = 0; j < sizeof own / sizeof own[0]; j++)
			if (!strcmp(in->kafka[i].key, own[j].k)) {
				snprintf(err, errlen, "[input] kafka.%s: ringflow sets this itself (%s)", own[j].k,
					 own[j].why);
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
	static struct ing_partitions parts; /* large; -t and start only */
	if (ing_parts_init(&parts, in->topics, err, errlen))
		return -1;
	rd_kafka_conf_t *kc = build_conf(in, err, errlen);
	if (!kc)
		return -1;
	rd_kafka_conf_destroy(kc);
	return 0;
}

static int kafka_conf_has(const struct conf_input *in, const char *key)
{
	for (int i = 0; i < in->nkafka; i++)
		if (!strcmp(in->kafka[i].key, key))
			return 1;
	return 0;
}

static rd_kafka_t *make_consumer(struct kafka_src *s, char *err, size_t errlen)
{
	const struct rf_config *conf = &s->p->pl->conf;
	rd_kafka_conf_t *kc = build_conf(&conf->input, err, errlen);
	if (!kc)
		return NULL;
	if (conf->input.assignment == CONF_ASSIGN_GROUP) {
		/* Static membership: a restarted ingest is the same member and
		 * gets its partitions back without a rebalance (on brokers that
		 * support it); the cooperative assignor moves only the
		 * partitions that must move. Operators may override both. */
		char id[160], why[256];
		snprintf(id, sizeof id, "%s-%d", conf->ringflow.name, s->p->index);
		if (!kafka_conf_has(&conf->input, "group.instance.id") &&
		    rd_kafka_conf_set(kc, "group.instance.id", id, why, sizeof why) != RD_KAFKA_CONF_OK)
			rf_warn("kafka: group.instance.id: %s", why);
		if (!kafka_conf_has(&conf->input, "partition.assignment.strategy") &&
		    rd_kafka_conf_set(kc, "partition.assignment.strategy", "cooperative-sticky", why, sizeof why) !=
			    RD_KAFKA_CONF_OK)
			rf_warn("kafka: partition.assignment.strategy: %s", why);
	}
	rd_kafka_conf_set_error_cb(kc, error_cb);
	rd_kafka_conf_set_log_cb(kc, log_cb);
	rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(kc, kafka_commit_cb);
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
	for (int i = 0; i < s->parts.nused; i++) {
		const struct ing_part *ip = &s->parts.part[s->parts.used[i]];
		if (ip->lag_slot < 0)
			continue;
		int64_t lo = -1, hi = -1;
		if (ip->owned)
			rd_kafka_get_watermark_offsets(rk, ip->topic, ip->partition, &lo, &hi);
		struct rf_partition_lag *l = &s->p->stats->lag[ip->lag_slot];
		atomic_store_explicit(&l->offset, ip->next_offset == RF_POSITION_UNKNOWN ? -1 : ip->next_offset,
				      memory_order_relaxed);
		atomic_store_explicit(&l->high, hi, memory_order_relaxed);
	}
}

int ing_kafka_run(const struct rf_proc *p, struct ing_framer *fr)
{
	static struct kafka_src src;
	memset(&src, 0, sizeof src);
	src.p = p;
	src.fr = fr;
	src.ctl = rf_ckpt_ctl(p);
	src.bounded = p->pl->conf.input.stop_at == CONF_STOP_END;
	src.sent = src.committed = atomic_load(&src.ctl->resume);
	g_src = &src;
	const struct rf_config *conf = &p->pl->conf;
	char err[512];
	if (ing_parts_init(&src.parts, conf->input.topics, err, sizeof err)) {
		rf_error("%s", err);
		return CONF_EXIT_CONFIG;
	}
	src.store = ckpt_open(conf->ringflow.state_dir, conf->ringflow.name, err, sizeof err);
	if (!src.store) {
		rf_error("%s", err);
		return 1;
	}
	rd_kafka_t *rk = make_consumer(&src, err, sizeof err);
	if (!rk) {
		rf_error("kafka consumer: %s", err);
		return CONF_EXIT_CONFIG;
	}
	rd_kafka_poll_set_consumer(rk);
	int by_ringflow = conf->input.assignment == CONF_ASSIGN_RINGFLOW;
	if (!by_ringflow && subscribe(rk, conf->input.topics, err, sizeof err)) {
		rf_error("kafka: %s", err);
		rd_kafka_destroy(rk);
		return 1;
	}
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
	rd_kafka_message_t *msgs[BATCH_MESSAGES];
	uint64_t published_errors = 0;
	int64_t last_lag = 0;
	int rc = 0;

	while (!rf_stop_requested && !src.fatal && !src.ring_error) {
		if (rf_park_flag) {
			if (kafka_park(&src, rk, q, msgs))
				break;
			continue;
		}
		if (by_ringflow)
			kafka_assign_tick(&src, rk);
		kafka_align(&src, rk);
		/* A bounded input that has ended waits only for the stop and its
		 * final checkpoint: look for them often. */
		int wait_ms = src.bounded && atomic_load_explicit(&src.ctl->ended[p->index], memory_order_relaxed)
			      ? ENDED_POLL_MS : POLL_TIMEOUT_MS;
		ssize_t n = rd_kafka_consume_batch_queue(q, wait_ms, msgs, BATCH_MESSAGES);
		for (ssize_t i = 0; i < n; i++) {
			rd_kafka_message_t *m = msgs[i];
			if (src.brokers_down && (!m->err || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)) {
				/* A message or an end-of-partition event: fetching works. */
				src.brokers_down = 0;
				kafka_publish_reading(&src);
				rf_stat_note(p->stats, "");
				rf_info("kafka: brokers reachable again");
			}
			if (rf_park_flag) {
				rd_kafka_message_destroy(m);
				continue;
			}
			int sid = m->err ? -1 : rf_source_id(&src.parts.topics, rd_kafka_topic_name(m->rkt), m->partition);
			if (src.bounded && kafka_bounded_past_end(&src, m, sid)) {
				rd_kafka_message_destroy(m);   /* left for the next run */
				continue;
			}
			if (sid < 0) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
					src.errors++;
					RF_LOG_RL(RF_LOG_WARN, "kafka: consume error: %s",
						  m->err ? rd_kafka_message_errstr(m) : "message from an untracked partition");
				}
				rd_kafka_message_destroy(m);
				continue;
			}
			src.parts.part[sid].next_offset = m->offset + 1;
			src.messages++;
			if (m->len)
				ing_framer_add_lines(fr, (uint32_t)sid, m->payload, m->len);
			else
				ing_framer_add(fr, (uint32_t)sid, "", 0);
			rd_kafka_message_destroy(m);
		}
		if (rf_park_flag)
			continue;
		if (ing_framer_flush(fr)) {
			src.ring_error = 1;
			break;
		}
		kafka_publish_positions(&src);
		if (src.bounded)
			kafka_bounded_publish(&src);
		if (kafka_barrier_if_requested(&src)) {
			if (rf_park_flag)
				continue;
			rc = 1;
			break;
		}
		kafka_commit_if_complete(&src, rk, 1);
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
	if (src.fatal) {
		rc = CONF_EXIT_CONFIG;
	} else if (src.ring_error) {
		rc = 1;
	} else if (rf_abort_flag || src.parked) {
		rf_info("kafka: data plane restart, leaving the consumer group");
		rc = 1;
	} else if (!rc) {
		/* Graceful stop: the supervisor asked for the final checkpoint
		 * before signalling us. */
		int flushed = ing_framer_flush(fr);
		kafka_publish_positions(&src);
		rf_info("kafka: stop requested, closing the consumer");
		if (flushed == 0 && kafka_barrier_if_requested(&src) == 0 &&
		    rf_send_eos(fr->outs, fr->nouts, atomic_load(&src.ctl->finish) ? RF_EOS_END : RF_EOS_STOP) == 0)
			kafka_commit_final(&src, rk);
		else
			rc = 1;
	}
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	ckpt_close(src.store);
	ing_parts_free(&src.parts);
	g_src = NULL;
	return rc;
}
