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
#include "pipeline/checkpoint.h"

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
	int noted_missing;    /* status shows a missing topic (kafka_assign.c) */
	int bounded;          /* [input] stop_at = end (kafka_bounded.c) */
	int64_t next_refresh_ns; /* assignment = ringflow: next metadata read */
	int64_t align_due_ns;    /* next max_skew check (kafka_align.c) */
	uint64_t errors, messages;
};

/* kafka_source.c */
void kafka_publish_reading(struct kafka_src *s);
void kafka_publish_positions(struct kafka_src *s);
/* Announces every owned partition downstream (framer.h); sets ring_error on failure. */
void kafka_announce_owned(struct kafka_src *s);
/* Announces one source (ASSIGNED frame); 0, or -1 when it was not sent:
 * parked, parking or aborting, or a ring error (sets ring_error). */
int kafka_announce(struct kafka_src *s, int src);
int64_t kafka_start_offset(const struct kafka_src *s);
void kafka_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
		     void *opaque);

/* Marks parts (topic, partition) owned and sets each one's start offset:
 * its shared position, else the group's committed offset when resuming,
 * else `start`. A partition without a source id sets fatal. */
void kafka_prepare_assign(struct kafka_src *s, rd_kafka_topic_partition_list_t *parts);
/* Announces the partitions of parts downstream (framer.h); sets
 * ring_error on failure. */
void kafka_announce_list(struct kafka_src *s, const rd_kafka_topic_partition_list_t *parts);
/* The group runs the cooperative (incremental) rebalance protocol. */
int kafka_cooperative(rd_kafka_t *rk);
/* Owning partitions and reading (or not): published for the aggregates. */
void kafka_set_assigned(struct kafka_src *s, int on);

/* kafka_assign.c (assignment = ringflow) */
/* Reads the metadata (waiting at most timeout_ms), assigns and announces
 * the partitions dealt to this ingest that it does not own yet. 0, or -1
 * when the metadata or the assignment failed (try again later). */
int kafka_assign_refresh(struct kafka_src *s, rd_kafka_t *rk, int timeout_ms);
/* Calls kafka_assign_refresh when metadata_refresh (or a retry) is due. */
void kafka_assign_tick(struct kafka_src *s, rd_kafka_t *rk);

/* kafka_align.c: pauses and resumes partitions by max_skew. */
void kafka_align(struct kafka_src *s, rd_kafka_t *rk);
/* Every pause is gone (a rewind or a new assignment resumed everything). */
void kafka_align_forget(struct kafka_src *s);

/* kafka_offsets.c */
/* out[i] = the offset `logical` (RD_KAFKA_OFFSET_BEGINNING or _END) of
 * parts->elems[i], -1 where unknown; one request per leader. 0, or -1 when
 * the lookup failed as a whole (logged, rate-limited). */
int kafka_lookup_offsets(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts, int64_t logical,
			 int64_t *out, int timeout_ms);
/* Replaces the logical start offsets (beginning, end) in parts by absolute
 * ones where the lookup succeeds, so the partitions fetch at once. */
void kafka_resolve_start(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts);

/* kafka_bounded.c (stop_at = end) */
/* Looks up where each partition of parts ends before it is assigned; a
 * partition whose lookup failed is taken out of parts and -1 returned
 * (the caller tries again later). */
int kafka_bounded_prepare(struct kafka_src *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts);
/* Notes where m (a message of source src, or the end of a partition) is;
 * true for a message at or past its partition's end: not framed, offset
 * not taken. */
int kafka_bounded_past_end(struct kafka_src *s, const rd_kafka_message_t *m, int src);
/* Publishes whether every owned partition is read to its end; call after
 * a successful flush. */
void kafka_bounded_publish(struct kafka_src *s);

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
