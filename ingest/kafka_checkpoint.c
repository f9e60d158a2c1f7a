/*
 * kafka_checkpoint.c — the ingest's part of checkpoints (supervisor/
 * checkpoint.h): on a barrier request it stores the next offset of every
 * partition read so far and sends BARRIER(N); it commits the offsets of
 * complete checkpoints to the consumer group; and when a stage behind it
 * crashed it parks and rewinds to the checkpoint without leaving the group.
 */
#include "ingest/kafka_src.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <time.h>

#define FINAL_COMMIT_WAIT_NS (30 * RF_NS_PER_SEC)

/* Checkpoint barrier: offsets into the store, BARRIER(N) downstream, ack.
 * The barrier goes out even when storing failed, or the stages behind
 * would wait for it forever; the failure mark makes the supervisor abandon
 * N. Returns -1 when told to stop while a ring was full. */
int kafka_barrier_if_requested(struct kafka_src *s)
{
	uint64_t id = atomic_load_explicit(&s->ctl->requested, memory_order_acquire);
	if (id <= s->sent)
		return 0;
	int64_t t0 = rf_mono_ns();
	if (ing_framer_flush(s->fr))
		return -1;
	const struct ckpt_offset *offs;
	int n = ing_parts_snapshot(&s->parts, id, &offs);
	char err[512];
	if (n < 0)
		snprintf(err, sizeof err, "out of memory");
	if (n < 0 || ckpt_put_offsets(s->store, id, offs, n, err, sizeof err)) {
		RF_LOG_RL(RF_LOG_ERROR, "checkpoint %llu: cannot store offsets: %s", (unsigned long long)id, err);
		rf_ckpt_fail(s->p, id);
	}
	if (rf_send_barrier(s->fr->outs, s->fr->nouts, id))
		return -1;
	s->sent = id;
	rf_ckpt_ack(s->p, id, rf_mono_ns() - t0);
	return 0;
}

/* Commits the offsets of the newest complete checkpoint for the partitions
 * this process owns now (another host of the group may own the rest). */
void kafka_commit_if_complete(struct kafka_src *s, rd_kafka_t *rk, int async)
{
	uint64_t id = atomic_load_explicit(&s->ctl->complete, memory_order_acquire);
	if (id <= s->committed)
		return;
	s->committed = id;
	const struct ing_pending *pe = ing_parts_pending(&s->parts, id);
	if (!pe)
		return;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(pe->n ? pe->n : 1);
	for (int i = 0; i < pe->n; i++) {
		int src = rf_source_id(&s->parts.topics, pe->offs[i].topic, pe->offs[i].partition);
		if (src >= 0 && s->parts.part[src].owned)
			rd_kafka_topic_partition_list_add(l, pe->offs[i].topic, pe->offs[i].partition)->offset =
				pe->offs[i].next_offset;
	}
	if (l->cnt) {
		rd_kafka_resp_err_t e = rd_kafka_commit(rk, l, async);
		if (e && !async)
			kafka_commit_cb(rk, e, l, s);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/* Graceful stop: wait (bounded) for the final checkpoint to complete so its
 * offsets reach the group before the consumer leaves. */
void kafka_commit_final(struct kafka_src *s, rd_kafka_t *rk)
{
	int64_t deadline = rf_mono_ns() + FINAL_COMMIT_WAIT_NS;
	while (s->sent && atomic_load_explicit(&s->ctl->complete, memory_order_acquire) < s->sent &&
	       rf_mono_ns() < deadline) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	kafka_commit_if_complete(s, rk, 0);
}

/* Rewind (checkpoint.h): a stage behind this ingest crashed. Stop touching
 * the rings, say so, wait for the restarted stages, then re-attach and seek
 * every partition back to the checkpoint. Returns 0 to read on, -1 when
 * told to stop or abort meanwhile. */
int kafka_park(struct kafka_src *s, rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_message_t **msgs)
{
	struct rf_ckpt_ctl *c = s->ctl;
	uint64_t gen = atomic_load_explicit(&c->park_gen, memory_order_acquire);
	rd_kafka_topic_partition_list_t *as = NULL;
	rd_kafka_assignment(rk, &as);
	if (as && as->cnt)
		rd_kafka_pause_partitions(rk, as);
	atomic_store_explicit(&c->reading[s->p->index], 0, memory_order_release);
	s->parked = 1;
	atomic_store_explicit(&c->parked[s->p->index], gen, memory_order_release);
	rf_info("kafka: a stage behind this ingest crashed; parked until it is restarted");
	while (atomic_load_explicit(&c->resume_gen, memory_order_acquire) < gen) {
		if (rf_abort_flag || rf_stop_requested) {
			rd_kafka_topic_partition_list_destroy(as);
			return -1;
		}
		/* Serves callbacks; what was fetched before the pause is read
		 * again after the rewind. */
		ssize_t n = rd_kafka_consume_batch_queue(q, 10, msgs, BATCH_MESSAGES);
		for (ssize_t i = 0; i < n; i++)
			rd_kafka_message_destroy(msgs[i]);
	}
	rf_park_flag = 0;
	rf_interrupt_flag = rf_abort_flag;
	char err[256];
	if (rf_attach_outputs(s->p, s->fr->outs, err, sizeof err) < 0) {
		rf_error("re-attach rings: %s", err);
		rd_kafka_topic_partition_list_destroy(as);
		return -1;
	}
	ing_framer_reset(s->fr);
	s->sent = s->committed = atomic_load_explicit(&c->resume, memory_order_acquire);
	/* Every partition read so far goes back to the checkpoint's offset,
	 * owned or not: the state that had the rest is gone. */
	for (int i = 0; i < s->parts.nused; i++) {
		int src = s->parts.used[i];
		s->parts.part[src].next_offset = atomic_load_explicit(&c->position[src], memory_order_acquire);
		s->parts.part[src].at_end = 0;   /* stop_at = end: read up to it again */
	}
	rd_kafka_topic_partition_list_destroy(as);
	rd_kafka_assignment(rk, &as);
	for (int i = 0; as && i < as->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &as->elems[i];
		int src = rf_source_id(&s->parts.topics, tp->topic, tp->partition);
		int64_t pos = src < 0 ? RF_POSITION_UNKNOWN : s->parts.part[src].next_offset;
		tp->offset = pos != RF_POSITION_UNKNOWN ? pos : kafka_start_offset(s);
	}
	if (as && as->cnt) {
		/* Re-assigning restarts the fetchers at the given offsets; the
		 * group is not involved (under the cooperative protocol only
		 * incremental changes are allowed: out, then in again). */
		rd_kafka_resp_err_t e = 0;
		if (kafka_cooperative(rk)) {
			rd_kafka_error_t *ie = rd_kafka_incremental_unassign(rk, as);
			if (!ie)
				ie = rd_kafka_incremental_assign(rk, as);
			if (ie) {
				e = rd_kafka_error_code(ie);
				rd_kafka_error_destroy(ie);
			}
		} else {
			e = rd_kafka_assign(rk, as);
		}
		if (!e) {
			rd_kafka_resume_partitions(rk, as);
			kafka_align_forget(s);
		}
		if (e) {
			rf_error("kafka: rewinding the assignment failed: %s", rd_kafka_err2str(e));
			rd_kafka_topic_partition_list_destroy(as);
			return -1;
		}
	}
	rd_kafka_topic_partition_list_destroy(as);
	s->parked = 0;
	/* The restarted aggregates know only the partitions in the
	 * checkpoint; every owned one holds windows back again. */
	kafka_announce_owned(s);
	if (s->ring_error)
		return -1;
	kafka_publish_reading(s);
	rf_info("kafka: stages restarted; read on from checkpoint %llu", (unsigned long long)s->sent);
	return 0;
}
