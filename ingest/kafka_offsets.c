/*
 * kafka_offsets.c — absolute offsets for the logical ones (the beginning or
 * the end of a partition), looked up for a whole list at once with one
 * ListOffsets request per leader (rd_kafka_offsets_for_times with the
 * special timestamps -2 and -1).
 *
 * Why ringflow resolves the start itself: assigned at a logical offset,
 * librdkafka looks each partition's offset up on its own, and a lookup
 * made before it knows the partition's leader (the topic is new to the
 * consumer: every cold start) is retried only after 500 ms; meanwhile the
 * fetch for the partitions that did start may sit in a long poll at their
 * end. A partition assigned at an absolute offset fetches at once.
 *
 * Ingest processes, main thread (or librdkafka's rebalance callback);
 * blocks for at most the timeout given.
 */
#include "ingest/kafka_src.h"
#include "common/log.h"

#define RESOLVE_TIMEOUT_MS 2000

int kafka_lookup_offsets(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts, int64_t logical,
			 int64_t *out, int timeout_ms)
{
	rd_kafka_topic_partition_list_t *q = rd_kafka_topic_partition_list_copy(parts);
	for (int i = 0; i < q->cnt; i++)
		q->elems[i].offset = logical;
	rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, q, timeout_ms);
	for (int i = 0; i < q->cnt; i++)
		out[i] = e || q->elems[i].err || q->elems[i].offset < 0 ? -1 : q->elems[i].offset;
	rd_kafka_topic_partition_list_destroy(q);
	if (e)
		RF_LOG_RL(RF_LOG_WARN, "kafka: looking up the %s offsets of %d partition(s) failed: %s",
			  logical == RD_KAFKA_OFFSET_BEGINNING ? "first" : "end", parts->cnt, rd_kafka_err2str(e));
	return e ? -1 : 0;
}

void kafka_resolve_start(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	static const int64_t logical[] = { RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END };
	for (int k = 0; k < 2; k++) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
		for (int i = 0; i < parts->cnt; i++)
			if (parts->elems[i].offset == logical[k])
				rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, parts->elems[i].partition);
		int64_t found[l->cnt ? l->cnt : 1];
		if (l->cnt && kafka_lookup_offsets(rk, l, logical[k], found, RESOLVE_TIMEOUT_MS) == 0)
			for (int i = 0, j = 0; i < parts->cnt; i++) {
				if (parts->elems[i].offset != logical[k])
					continue;
				if (found[j] >= 0)   /* else librdkafka looks it up */
					parts->elems[i].offset = found[j];
				j++;
			}
		rd_kafka_topic_partition_list_destroy(l);
	}
}
