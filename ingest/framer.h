/*
 * framer.h — packs input lines into LINES frames for the transforms.
 *
 * Runs in ingest. Lines are appended to an open frame reserved directly in
 * the ring of the current transform (no extra copy); a frame holds lines of
 * one source only and goes out when full, when the source changes or when
 * the caller flushes at the end of an input batch. Frames rotate over the
 * transforms round robin. Reserving waits when the ring is full: that is
 * the backpressure that keeps Kafka, not memory, as the buffer.
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
	int next;                 /* transform receiving the next frame */
	struct rf_stats_slot *stats;
	char *frame;              /* reserved payload or NULL */
	uint32_t cap, used;
	uint32_t source;
	uint32_t nlines;
	uint64_t lines, bytes, too_long, frames; /* local counts, published on flush */
};

void ing_framer_init(struct ing_framer *f, struct shm_ring_handle *outs, int nouts,
		     struct rf_stats_slot *stats);
/* line without its '\n'. Returns 0, or -1 if the ring refused (stopping). */
int ing_framer_add(struct ing_framer *f, uint32_t source, const char *line, size_t len);
/* Split buf on '\n' and add every line; a last line without '\n' counts. */
int ing_framer_add_lines(struct ing_framer *f, uint32_t source, const char *buf, size_t len);
/* Forgets the open frame: the rings were reset under it (a parked ingest
 * rewinding, checkpoint.h). Counters are kept. */
void ing_framer_reset(struct ing_framer *f);
/* Publish the open frame (if any) and the local counters. */
void ing_framer_flush(struct ing_framer *f);

#endif
