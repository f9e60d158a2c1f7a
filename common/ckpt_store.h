/*
 * ckpt_store.h — the checkpoint store: one LMDB environment per ringflow
 * instance, <state_dir>/<name>.mdb (lock file <name>.mdb-lock). The only
 * place that calls LMDB.
 *
 * Checkpoint N consists of
 *   - offsets: the next Kafka offset of every partition the ingests had read,
 *     one entry per (topic, partition), written by each ingest on BARRIER(N);
 *     when two ingests write the same partition (it moved between them during
 *     a rebalance) the larger offset wins: every record below it went into the
 *     state before the barrier;
 *   - state: one blob per aggregate process (aggregate/engine.h snapshot);
 *   - the completion record, written by the supervisor once every
 *     participant acknowledged N. Only a complete checkpoint is ever read back.
 * Completing N copies forward the offsets of the previous complete
 * checkpoint for partitions N does not mention (nobody read them since), and
 * prunes every older checkpoint.
 *
 * Every process opens its own handle after fork (LMDB handles do not survive
 * fork). Writers are serialised by LMDB's own lock; each participant makes
 * one write transaction per checkpoint. Transactions commit without fsync;
 * the supervisor syncs the file once before it writes a completion record, so
 * a completion record never points at state that is not on disk.
 */
#ifndef COMMON_CKPT_STORE_H
#define COMMON_CKPT_STORE_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_TOPIC_MAX 48

struct ckpt_store;

struct ckpt_offset {
	char topic[CKPT_TOPIC_MAX];
	int32_t partition;
	int64_t next_offset;
};

struct ckpt_info {
	uint64_t id;           /* 0: no complete checkpoint */
	int64_t completed_ns;  /* wall clock */
	int64_t duration_ns;   /* request to completion */
};

/* Opens (creating if needed) <dir>/<name>.mdb. A corrupt, truncated or
 * foreign file is refused with err saying so and how to start fresh.
 * Returns NULL with err set. */
struct ckpt_store *ckpt_open(const char *dir, const char *name, char *err, size_t errlen);
void ckpt_close(struct ckpt_store *st);
/* Deletes <dir>/<name>.mdb and its lock file (--reset-state). Returns 0 or
 * -1 with err set; a missing file is not an error. */
int ckpt_remove(const char *dir, const char *name, char *err, size_t errlen);

/* The last complete checkpoint (id 0 if there is none). */
int ckpt_last_complete(struct ckpt_store *st, struct ckpt_info *info, char *err, size_t errlen);

/* Participant writes, one transaction each. */
int ckpt_put_offsets(struct ckpt_store *st, uint64_t id, const struct ckpt_offset *offs, int n,
		     char *err, size_t errlen);
int ckpt_put_state(struct ckpt_store *st, uint64_t id, uint32_t owner, const void *blob, size_t len,
		   char *err, size_t errlen);

/* Readers of checkpoint id. The callbacks run inside one read transaction:
 * blob points into the map and is valid during the call only. A callback
 * returning non-zero stops the walk and is returned. */
typedef int (*ckpt_offset_fn)(void *arg, const struct ckpt_offset *o);
typedef int (*ckpt_state_fn)(void *arg, uint32_t owner, const void *blob, size_t len);
int ckpt_each_offset(struct ckpt_store *st, uint64_t id, ckpt_offset_fn fn, void *arg,
		     char *err, size_t errlen);
int ckpt_each_state(struct ckpt_store *st, uint64_t id, ckpt_state_fn fn, void *arg,
		    char *err, size_t errlen);

/* Supervisor: makes id complete (see above). prev is the previous complete
 * id (0 if none). */
int ckpt_complete(struct ckpt_store *st, uint64_t id, uint64_t prev, const struct ckpt_info *info,
		  char *err, size_t errlen);
/* Supervisor, at data-plane start: drops what incomplete checkpoints after
 * `id` left behind. */
int ckpt_discard_after(struct ckpt_store *st, uint64_t id, char *err, size_t errlen);

#endif
