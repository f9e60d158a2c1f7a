/*
 * framer.h — packs input lines into LINES frames for the transforms.
 *
 * Runs in ingest. Lines are appended to an open frame reserved directly in
 * the ring of the current transform (no extra copy); a frame holds lines of
 * one source only and goes out when full, when the source changes or when
 * the caller flushes at the end of an input batch. Every frame of a source
 * goes to the same transform (source modulo the transform count), so one
 * partition's records reach the aggregates in partition order: lateness is
 * judged per record in that order (docs/DESIGN.md §4), which frames spread over
 * several transforms would reorder. Transforms run in parallel across
 * partitions. Reserving waits when the ring is full: that is the
 * backpressure that keeps Kafka, not memory, as the buffer.
 *
 * A line that cannot fit a frame (ring_size / 4, at most ING_FRAME_BYTES,
 * minus the header) is rejected whole and counted, whatever the ring size.
 */
#ifndef ING_FRAMER_H
#define ING_FRAMER_H

#include <stdint.h>
#include <stddef.h>

#include "shm/ring.h"
#include "shm/stats.h"

#define ING_FRAME_BYTES (256 * 1024)

struct ing_framer {
	struct shm_ring_handle *outs;
	int nouts;
	struct rf_stats_slot *stats;
	char *frame;              /* reserved payload or NULL */
	uint32_t used;
	uint32_t payload;         /* bytes of lines a frame holds (every frame is reserved this large) */
	uint32_t flags;           /* of the open frame (rf_lines_hdr) */
	uint32_t source;
	uint32_t nlines;
	uint64_t lines, bytes, too_long, frames; /* local counts, published on flush */
};

void ing_framer_init(struct ing_framer *f, struct shm_ring_handle *outs, int nouts,
		     struct rf_stats_slot *stats);
/* line without its '\n'. Returns 0, or -1 if the ring refused (stopping). */
int ing_framer_add(struct ing_framer *f, uint32_t source, const char *line, size_t len);
/* Counts and logs (rate-limited) one input line of len bytes rejected as
 * longer than a frame can hold (lines_too_long_total), for a reader that
 * skipped it without handing it over (file_source.c, lines > its buffer). */
void ing_framer_reject_long(struct ing_framer *f, size_t len);
/* Split buf on '\n' and add every line; a last line without '\n' counts. */
int ing_framer_add_lines(struct ing_framer *f, uint32_t source, const char *buf, size_t len);
/* Sends an empty frame flagged RF_LINES_ASSIGNED for source: the partition
 * was just assigned to this ingest, so the aggregates hold windows back for
 * it from now on, until it delivers or is quiet for idle_timeout
 * (aggregate/watermark.h). Returns 0, or -1 if the ring refused. */
int ing_framer_announce(struct ing_framer *f, uint32_t source);
/* Index of the transform that gets source's frames. */
uint32_t ing_framer_transform(const struct ing_framer *f, uint32_t source);
/* Forgets the open frame: the rings were reset under it (a parked ingest
 * rewinding, checkpoint.h). Counters are kept. */
void ing_framer_reset(struct ing_framer *f);
/* Publish the open frame (if any) and the local counters. Returns 0, or
 * -1 on an internal ring error (the process must exit and be restarted). */
int ing_framer_flush(struct ing_framer *f);

#endif
