/*
 * checkpoint.h — the aligned-barrier checkpoint protocol (DESIGN.md §2) as
 * the processes see it: a control block in the shared segment.
 *
 *   supervisor  sets `requested` = N (every checkpoint_interval, on
 *               `ringflowctl checkpoint`, and before a graceful stop), never
 *               asking for N+1 before every ingest acknowledged N, so no
 *               ingest skips an id and barriers always align;
 *   ingest      on seeing N: stores the next offset of its partitions in
 *               LMDB, sends BARRIER(N) on every ring, acks N;
 *   transform   forwards BARRIER(N) once every open input sent it;
 *   aggregate   on the aligned BARRIER(N): stores its window state, acks N,
 *               forwards it;
 *   writer      on the aligned BARRIER(N): delivers everything before it
 *               (retrying while the output is down), then acks N;
 *   supervisor  when every ingest, aggregate and writer acked N: writes the
 *               completion record (ckpt_store.h) and publishes `complete`;
 *   ingest      commits the offsets of `complete` to the consumer group.
 * A participant that cannot store its part (disk full) sets `failed` = N;
 * the supervisor abandons N and keeps the previous checkpoint.
 *
 * `position` is the shared view of where each partition is: the ingest that
 * owns a partition publishes the next offset after every batch, and one
 * that is assigned a partition starts from it. At data-plane start the
 * supervisor fills it from the checkpoint it resumes from. A partition
 * that moves between ingests in a rebalance thus continues exactly where
 * its previous owner stopped, never from an older checkpoint.
 */
#ifndef PL_CHECKPOINT_H
#define PL_CHECKPOINT_H

#include <stdatomic.h>
#include <stdint.h>

#include "pipeline/frames.h"
#include "pipeline/proc.h"

#define RF_POSITION_UNKNOWN INT64_MIN
/* Exit status of a process that cannot use the checkpoint store (corrupt
 * or unreadable): restarting cannot help, so ringflow stops with it
 * (EX_DATAERR). */
#define RF_EXIT_STATE 65

struct rf_ckpt_ctl {
	_Atomic uint64_t requested;  /* newest id asked for */
	_Atomic uint64_t complete;   /* newest complete id */
	_Atomic uint64_t resume;     /* id this data plane resumed from (0: none) */
	_Atomic uint64_t acked[RF_ROLE_COUNT][RF_MAX_PER_ROLE];
	_Atomic uint64_t failed[RF_ROLE_COUNT][RF_MAX_PER_ROLE];
	_Atomic int64_t took_ns[RF_ROLE_COUNT][RF_MAX_PER_ROLE]; /* own part of the last one */
	_Atomic int64_t position[RF_MAX_SOURCES];
	/* Watermark alignment ([input] max_skew): aggregate 0 publishes every
	 * partition's largest event time (INT64_MIN: none yet) and the floor,
	 * the smallest of them over the partitions that hold windows back
	 * (INT64_MIN: none known). An ingest pauses fetching a partition more
	 * than max_skew ahead of the floor, so a backlog of uneven partitions
	 * does not open windows without bound; it resumes at half of it. */
	_Atomic int64_t event_max[RF_MAX_SOURCES];
	_Atomic int64_t event_floor;
	/* Ingest i has its partitions assigned and reads (0 while joining the
	 * group or rebalancing). Until every ingest reads, the aggregates
	 * stop their idle clock: input that nobody reads yet is not quiet
	 * input, and restored windows must wait for the replay. */
	_Atomic int32_t reading[RF_MAX_PER_ROLE];
	/* Rewind after a crash behind the ingests: the supervisor sets
	 * park_gen = G and sends the park signal (SIGRTMIN+3); each ingest
	 * stops touching its rings and stores parked[i] = G; the supervisor kills and restarts
	 * the other stages on reset rings, refills `position` from the
	 * checkpoint and sets resume_gen = G; the ingests re-attach, seek
	 * every partition back to `position` and read on. Group membership
	 * survives, so no rebalance delays the restart. */
	_Atomic uint64_t park_gen;
	_Atomic uint64_t resume_gen;
	_Atomic uint64_t parked[RF_MAX_PER_ROLE];
	/* [input] stop_at = end (ingest/kafka_bounded.c). end_offset: where
	 * this run stops reading each partition, the high watermark when an
	 * ingest first assigned it (RF_POSITION_UNKNOWN before); kept across
	 * data-plane restarts, so a crash does not move the end. ended[i]:
	 * ingest i has read and flushed every partition it owns up to its
	 * end (the supervisor clears it when a data plane starts or rewinds).
	 * finish: set by the supervisor before the stop it runs once every
	 * ingest ended; the ingests then send EOS(END), so every window
	 * closes, instead of EOS(STOP). */
	_Atomic int64_t end_offset[RF_MAX_SOURCES];
	_Atomic int32_t ended[RF_MAX_PER_ROLE];
	_Atomic int32_t finish;
};

/* True when every ingest reads (see `reading`). */
int rf_ckpt_input_reading(const struct rf_proc *p);

struct rf_ckpt_ctl *rf_ckpt_ctl(const struct rf_proc *p);

/* Participant side. */
static inline void rf_ckpt_ack(const struct rf_proc *p, uint64_t id, int64_t took_ns)
{
	struct rf_ckpt_ctl *c = rf_ckpt_ctl(p);
	atomic_store_explicit(&c->took_ns[p->role][p->index], took_ns, memory_order_relaxed);
	atomic_store_explicit(&c->acked[p->role][p->index], id, memory_order_release);
}

static inline void rf_ckpt_fail(const struct rf_proc *p, uint64_t id)
{
	atomic_store_explicit(&rf_ckpt_ctl(p)->failed[p->role][p->index], id, memory_order_release);
}

/* Sends BARRIER(id) on every handle, waiting for room like EOS does (a
 * stopping ingest still sends its final barrier). Returns 0 or -1. */
int rf_send_barrier(struct shm_ring_handle *hs, int n, uint64_t id);

#endif
