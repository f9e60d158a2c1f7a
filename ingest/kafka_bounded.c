/*
 * kafka_bounded.c — `[input] stop_at = end`: a Kafka input that ends, as
 * kcat -e or Flink's bounded KafkaSource do. When an ingest first assigns
 * a partition it looks up the partition's high watermark: that offset is
 * the partition's end for the whole run, shared in rf_ckpt_ctl so that an
 * ingest restarted after a crash keeps it. Messages at or past the end are
 * not framed and their offsets not taken: the next run reads them.
 *
 * A partition is read to its end when its next offset reaches the end, or
 * when librdkafka reports the end of the partition (or a message) at or
 * past it: offsets of transaction markers and compacted records are never
 * delivered as messages, so the next offset alone could stop short. Once
 * every partition the ingest owns is there and its lines are flushed, it
 * says so (rf_ckpt_ctl ended[i]); when every ingest has, the supervisor
 * runs the graceful stop with EOS(END): the final checkpoint holds the end
 * offsets and the windows still open, then every window closes and is
 * written, and ringflow exits 0. A later run resumes from that checkpoint
 * and reads what arrived since.
 *
 * Ingest processes, main thread only. The lookup (two requests per
 * leader for all new partitions) blocks for at most 2 * END_LOOKUP_MS,
 * once per partition and run.
 */
#include "ingest/kafka_src.h"
#include "common/log.h"

#include <string.h>

#define END_LOOKUP_MS 2000

int kafka_bounded_prepare(struct kafka_src *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	int n = parts->cnt;
	if (!n)
		return 0;
	int64_t lo[n], hi[n];
	kafka_lookup_offsets(rk, parts, RD_KAFKA_OFFSET_END, hi, END_LOOKUP_MS);
	kafka_lookup_offsets(rk, parts, RD_KAFKA_OFFSET_BEGINNING, lo, END_LOOKUP_MS);
	int rc = 0;
	for (int i = n - 1; i >= 0; i--) {
		const rd_kafka_topic_partition_t *tp = &parts->elems[i];
		int src = rf_source_id(&s->parts.topics, tp->topic, tp->partition);
		if (src < 0)
			continue;   /* kafka_prepare_assign reports it */
		if (hi[i] < 0 || lo[i] < 0) {
			RF_LOG_RL(RF_LOG_WARN, "kafka: where %s partition %d ends is not known yet (retrying)",
				  tp->topic, tp->partition);
			s->errors++;
			rd_kafka_topic_partition_list_del_by_idx(parts, i);
			rc = -1;
			continue;
		}
		/* The first lookup in this run decides; a restarted ingest
		 * finds it in the control block. */
		int64_t unknown = RF_POSITION_UNKNOWN;
		atomic_compare_exchange_strong(&s->ctl->end_offset[src], &unknown, hi[i]);
		struct ing_part *ip = ing_parts_get(&s->parts, src, tp->topic, tp->partition);
		ip->end_offset = atomic_load(&s->ctl->end_offset[src]);
		ip->low_offset = lo[i];
		rf_info("kafka: %s partition %d: reading up to offset %lld (stop_at = end)", tp->topic,
			tp->partition, (long long)ip->end_offset);
	}
	return rc;
}

int kafka_bounded_past_end(struct kafka_src *s, const rd_kafka_message_t *m, int src)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
		src = rf_source_id(&s->parts.topics, rd_kafka_topic_name(m->rkt), m->partition);
	if (src < 0)
		return 0;
	struct ing_part *ip = &s->parts.part[src];
	if (!ip->owned || m->offset < ip->end_offset)
		return 0;
	ip->at_end = 1;
	return !m->err;
}

static int read_to_end(const struct kafka_src *s, const struct ing_part *ip)
{
	if (ip->at_end || ip->end_offset <= ip->low_offset)
		return 1;   /* seen the end, or nothing was there to read */
	if (ip->next_offset != RF_POSITION_UNKNOWN)
		return ip->next_offset >= ip->end_offset;
	/* Nothing read yet: it starts at `start` (librdkafka's
	 * auto.offset.reset). From latest, there is nothing before the end. */
	return !strcmp(s->p->pl->conf.input.start, "latest");
}

void kafka_bounded_publish(struct kafka_src *s)
{
	int ended = s->assigned && !s->noted_missing;
	for (int i = 0; ended && i < s->parts.nused; i++) {
		const struct ing_part *ip = &s->parts.part[s->parts.used[i]];
		ended = !ip->owned || read_to_end(s, ip);
	}
	atomic_store_explicit(&s->ctl->ended[s->p->index], ended, memory_order_release);
}
