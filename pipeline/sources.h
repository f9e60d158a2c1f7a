/*
 * sources.h — source ids: the stable number of a (topic, partition) that
 * frames carry (frames.h), the checkpoint's positions are indexed by and
 * the aggregates track watermarks by. Used by the ingests, which stamp
 * them, and by the supervisor, which fills positions from a checkpoint.
 *
 * Source id = index of the topic in [input] topic * RF_PARTITIONS_PER_TOPIC
 * + partition.
 */
#ifndef PL_SOURCES_H
#define PL_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "common/ckpt_store.h"
#include "pipeline/frames.h"

#define RF_MAX_TOPICS (RF_MAX_SOURCES / RF_PARTITIONS_PER_TOPIC)

struct rf_topics {
	char name[RF_MAX_TOPICS][CKPT_TOPIC_MAX];
	int n;
};

/* Splits the comma list of [input] topic. Returns 0, or -1 with err when
 * there are more than RF_MAX_TOPICS or a name is too long. */
int rf_topics_parse(struct rf_topics *t, const char *list, char *err, size_t errlen);
/* Source id of (topic, partition), or -1 when it cannot have one (unknown
 * topic or partition >= RF_PARTITIONS_PER_TOPIC). */
int rf_source_id(const struct rf_topics *t, const char *topic, int32_t partition);

#endif
