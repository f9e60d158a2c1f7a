/*
 * kafka_align.c — watermark alignment ([input] max_skew, as in Flink): a
 * partition whose event time runs more than max_skew ahead of the floor
 * (the slowest partition that still holds windows back, published by
 * aggregate 0; pipeline/checkpoint.h) stops being fetched
 * (rd_kafka_pause_partitions) until the others are within max_skew / 2 of
 * it. Catching up a backlog of uneven partitions then keeps about
 * max_skew + window + lateness of windows open instead of the whole skew.
 * A partition with no more data to give goes idle after idle_timeout and
 * leaves the floor, so a pause never waits longer than that. A paused
 * partition itself must not go idle — it is not quiet, it is held back, and
 * idle it would stop holding windows back and its records would come late —
 * so it is announced again (framer.h) every idle_timeout / 4.
 *
 * Ingest processes, main thread; every 10 ms at most.
 */
#include "ingest/kafka_src.h"
#include "common/log.h"
#include "common/timeutil.h"

#define ALIGN_EVERY_NS (10 * RF_NS_PER_MS)

static void add(rd_kafka_topic_partition_list_t **l, const struct ing_part *ip)
{
	if (!*l)
		*l = rd_kafka_topic_partition_list_new(8);
	rd_kafka_topic_partition_list_add(*l, ip->topic, ip->partition);
}

void kafka_align(struct kafka_src *s, rd_kafka_t *rk)
{
	int64_t skew = s->p->pl->conf.input.max_skew_ns, now = rf_mono_ns();
	if (skew <= 0 || now < s->align_due_ns)
		return;
	s->align_due_ns = now + ALIGN_EVERY_NS;
	int64_t floor = atomic_load_explicit(&s->ctl->event_floor, memory_order_acquire);
	rd_kafka_topic_partition_list_t *pause = NULL, *resume = NULL;
	for (int i = 0; i < s->parts.nused; i++) {
		int src = s->parts.used[i];
		struct ing_part *ip = &s->parts.part[src];
		if (!ip->owned)
			continue;
		int64_t mx = atomic_load_explicit(&s->ctl->event_max[src], memory_order_relaxed);
		int64_t ahead = floor == INT64_MIN || mx == INT64_MIN || mx < floor ? 0 : mx - floor;
		if (!ip->paused && ahead > skew) {
			ip->paused = 1;
			ip->announced_ns = now;   /* it delivered just now */
			add(&pause, ip);
		} else if (ip->paused && ahead <= skew / 2) {
			ip->paused = 0;
			add(&resume, ip);
		}
		if (ip->lag_slot >= 0)
			atomic_store_explicit(&s->p->stats->lag[ip->lag_slot].paused_ahead_ns, ip->paused ? ahead : 0,
					      memory_order_relaxed);
		if (ip->paused && now - ip->announced_ns >= s->p->pl->conf.input.idle_timeout_ns / 4) {
			ip->announced_ns = now;
			kafka_announce(s, src);
		}
	}
	if (pause) {
		rd_kafka_pause_partitions(rk, pause);
		RF_LOG_RL(RF_LOG_INFO, "kafka: paused %d partition(s) whose event time ran more than max_skew "
			  "ahead of the slowest one (%s[%d] first)", pause->cnt, pause->elems[0].topic,
			  pause->elems[0].partition);
		rd_kafka_topic_partition_list_destroy(pause);
	}
	if (resume) {
		rd_kafka_resume_partitions(rk, resume);
		rd_kafka_topic_partition_list_destroy(resume);
	}
}

void kafka_align_forget(struct kafka_src *s)
{
	for (int i = 0; i < s->parts.nused; i++) {
		struct ing_part *ip = &s->parts.part[s->parts.used[i]];
		ip->paused = 0;
		if (ip->lag_slot >= 0)
			atomic_store_explicit(&s->p->stats->lag[ip->lag_slot].paused_ahead_ns, 0, memory_order_relaxed);
	}
}
