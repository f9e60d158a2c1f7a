/*
 * watermark.h — event-time progress of the input, per source partition, in
 * one aggregate process (every aggregate sees every batch's progress, so all
 * agree on when a window closes).
 *
 * Each partition (a small id the ingest assigns, < AGG_WM_MAX_SOURCES) keeps
 * the largest event time seen on it and the wall-clock time it last
 * delivered an event. The base watermark is:
 *  - the minimum of the max event times over the active partitions (seen
 *    within idle_timeout), so one partition far ahead never makes another's
 *    records late (Flink's per-partition watermarks);
 *  - when every partition has been quiet for idle_timeout:
 *    max(highest event time ever seen, now) — the stream is idle, so time
 *    moves on with the wall clock and quiet streams still emit their windows
 *    once lateness has passed;
 *  - INT64_MIN before any event was seen.
 * A rule's watermark is base - lateness; windows [start, end) close once it
 * reaches end (engine.c). A batch without event times (max_event_ns ==
 * INT64_MIN) is no progress and does not keep its partition active.
 *
 * The clock is a parameter (now_ns, CLOCK_REALTIME in production) so tests
 * drive it. Not thread-safe: one aggregate process, one thread.
 */
#ifndef AGG_WATERMARK_H
#define AGG_WATERMARK_H

#include <stdint.h>

#define AGG_WM_MAX_SOURCES 4096

struct agg_wm_source {
	int64_t max_event_ns;
	int64_t last_seen_ns;   /* wall clock of the last batch with events */
	int seen;
};

struct agg_watermark {
	int64_t idle_timeout_ns;
	int64_t max_event_ns;   /* over every partition, ever */
	uint32_t nsources;      /* 1 + highest id seen */
	struct agg_wm_source src[AGG_WM_MAX_SOURCES];
};

void agg_wm_init(struct agg_watermark *w, int64_t idle_timeout_ns);
/* Returns 0, or -1 when source >= AGG_WM_MAX_SOURCES (ignored). */
int agg_wm_observe(struct agg_watermark *w, uint32_t source, int64_t max_event_ns, int64_t now_ns);
int64_t agg_wm_base(const struct agg_watermark *w, int64_t now_ns);
/* Number of partitions currently holding the watermark back. */
uint32_t agg_wm_active(const struct agg_watermark *w, int64_t now_ns);

/* Checkpoint restore (snapshot.c). A restored source takes the larger max
 * event time and counts as active as of now_ns: a partition that has not
 * replayed yet holds the watermark back for idle_timeout, as before the
 * crash. Returns 0, or -1 when source >= AGG_WM_MAX_SOURCES. */
int agg_wm_restore_source(struct agg_watermark *w, uint32_t source, int64_t max_event_ns,
			  int64_t now_ns);
/* The highest event time ever seen becomes at least max_event_ns. */
void agg_wm_restore_max(struct agg_watermark *w, int64_t max_event_ns);

#endif
