/*
 * kafka_src.h — the state of the Kafka source in one ingest process, shared
 * by kafka_source.c (consumer, rebalances, main loop) and
 * kafka_checkpoint.c (barriers, offset commits, park and rewind). Private to
 * ingest/.
 */
#ifndef ING_KAFKA_SRC_H
#define ING_KAFKA_SRC_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "ingest/framer.h"
#include "ingest/partitions.h"
#include "supervisor/checkpoint.h"

#define BATCH_MESSAGES 4096

struct kafka_src {
	const struct rf_proc *p;
	struct ing_framer *fr;
	struct rf_ckpt_ctl *ctl;
	struct ckpt_store *store;
	struct ing_partitions parts;
	uint64_t sent;        /* newest barrier sent */
	uint64_t committed;   /* newest checkpoint committed to the group */
	int fatal;            /* a partition without a source id: exit 78 */
	int parked;           /* rings are off limits (checkpoint.h rewind) */
	int assigned;         /* has its partitions (the group is stable) */
	int ring_error;       /* a frame could not be published: exit, restart */
	int brokers_down;     /* librdkafka: all brokers down, until data or EOF */
	uint64_t errors, messages;
};

/* kafka_source.c */
void kafka_publish_reading(struct kafka_src *s);
void kafka_publish_positions(struct kafka_src *s);
/* Announces every owned partition downstream (framer.h); sets ring_error on failure. */
void kafka_announce_owned(struct kafka_src *s);
int64_t kafka_start_offset(const struct kafka_src *s);
void kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
		     void *opaque);

/* kafka_checkpoint.c */
/* Barrier N if the supervisor asked for it. -1 when interrupted. */
int kafka_barrier_if_requested(struct kafka_src *s);
/* Commits the newest complete checkpoint's offsets (once). */
void kafka_commit_if_complete(struct kafka_src *s, rd_kafka_t *rk, int async);
/* Graceful stop: waits (bounded) for the final checkpoint, commits it. */
void kafka_commit_final(struct kafka_src *s, rd_kafka_t *rk);
/* Parks until the restarted stages run, then rewinds. 0 or -1 (stop). */
int kafka_park(struct kafka_src *s, rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_message_t **msgs);

#endif
