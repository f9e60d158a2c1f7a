/*
 * partitions.h — the partitions one ingest process has read in this run:
 * their stable source ids, where each one is, and the offsets it stored
 * for recent checkpoints (to commit them to the consumer group once the
 * checkpoint completes).
 *
 * Source ids: pipeline/sources.h. Ingest processes only; no librdkafka in here.
 */
#ifndef ING_PARTITIONS_H
#define ING_PARTITIONS_H

#include <stdint.h>

#include "common/ckpt_store.h"
#include "pipeline/sources.h"

#define ING_PENDING 4   /* checkpoints stored but not yet complete */

struct ing_part {
	char topic[CKPT_TOPIC_MAX];
	int32_t partition;
	int64_t next_offset;   /* RF_POSITION_UNKNOWN until known */
	int owned;             /* assigned to this process now */
	int paused;            /* fetching paused by max_skew (kafka_align.c) */
	int64_t announced_ns;  /* paused: when it was last announced */
	int64_t end_offset;    /* stop_at = end: read up to here (kafka_bounded.c) */
	int64_t low_offset;    /* stop_at = end: first offset the partition held then */
	int at_end;            /* stop_at = end: the end was seen (reassign, rewind: 0) */
	int lag_slot;          /* index in the stats lag table, -1 if none */
};

struct ing_pending {
	uint64_t id;
	int n;
	struct ckpt_offset *offs;  /* n entries, ING_MAX_SOURCES capacity */
};

struct ing_partitions {
	struct rf_topics topics;
	struct ing_part part[RF_MAX_SOURCES];
	uint16_t used[RF_MAX_SOURCES];   /* source ids in part[] that are in use */
	int nused;
	int nlag;
	struct ing_pending pending[ING_PENDING];
};

/* rf_topics_parse of [input] topic, and no partition yet. */
int ing_parts_init(struct ing_partitions *ps, const char *topics, char *err, size_t errlen);
void ing_parts_free(struct ing_partitions *ps);
/* The entry for source id src, created on first use. */
struct ing_part *ing_parts_get(struct ing_partitions *ps, int src, const char *topic, int32_t partition);

/* Offsets of every partition read in this run whose position is known,
 * remembered under id for ing_parts_pending(). Returns the count, -1 on
 * ENOMEM. */
int ing_parts_snapshot(struct ing_partitions *ps, uint64_t id, const struct ckpt_offset **out);
/* The offsets stored for checkpoint id, or NULL if they were not kept. */
const struct ing_pending *ing_parts_pending(const struct ing_partitions *ps, uint64_t id);

#endif
