/*
 * watermark.h — event-time progress of the input, per source partition, in
 * one aggregate process (every aggregate sees every frame's progress, so all
 * agree on when a window closes).
 *
 * A partition (a small id the ingest assigns, < AGG_WM_MAX_SOURCES) is
 * tracked from the moment an ingest announces it as assigned (an ASSIGNED
 * frame, pipeline/frames.h) or it delivers, whichever comes first. Each keeps
 * the largest event time seen on it (INT64_MIN until it delivers) and when
 * it last delivered or was assigned. It is active — holds windows back —
 * until it has been quiet for idle_timeout. The base watermark is:
 *  - the minimum of the max event times over the active partitions, so one
 *    partition far ahead never makes another's records late (Flink's
 *    per-partition watermarks), and a partition assigned but not yet
 *    delivering keeps every window open (INT64_MIN) until it delivers or
 *    goes idle — the first partition of a backlog cannot close them all;
 *  - when every partition has been quiet for idle_timeout:
 *    max(highest event time ever seen, wall clock) — the stream is idle, so
 *    time moves on with the wall clock and quiet streams still emit their
 *    windows once lateness has passed;
 *  - INT64_MIN before any event was seen.
 * A rule's watermark is base - lateness; windows [start, end) close once it
 * reaches end (engine.c). A frame without event times (max_event_ns ==
 * INT64_MIN) is no progress and does not keep its partition active.
 *
 * Two clocks are parameters so tests drive them: now_ns measures durations
 * (idle_timeout) and is CLOCK_MONOTONIC in production (minus the time the
 * input could not be read, aggregate_proc.c), so an NTP step never marks a
 * partition idle; wall_ns is CLOCK_REALTIME, used only as event time for
 * the quiet-stream advance. Not thread-safe: one aggregate process, one
 * thread.
 */
#ifndef AGG_WATERMARK_H
#define AGG_WATERMARK_H

#include <stdint.h>

#define AGG_WM_MAX_SOURCES 4096

struct agg_wm_source {
	int64_t max_event_ns;   /* INT64_MIN until the partition delivered */
	int64_t last_seen_ns;   /* now_ns of the last delivery or assignment */
	int tracked;            /* assigned or delivered at least once */
};

struct agg_watermark {
	int64_t idle_timeout_ns;
	int64_t max_event_ns;   /* over every partition, ever */
	uint32_t nsources;      /* 1 + highest id tracked */
	struct agg_wm_source src[AGG_WM_MAX_SOURCES];
};

void agg_wm_init(struct agg_watermark *w, int64_t idle_timeout_ns);
/* A frame of source delivered events up to max_event_ns. Returns 0, or -1
 * when source >= AGG_WM_MAX_SOURCES (ignored). */
int agg_wm_observe(struct agg_watermark *w, uint32_t source, int64_t max_event_ns, int64_t now_ns);
/* source was just assigned to an ingest: it holds windows back from now,
 * until it delivers or is quiet for idle_timeout. Returns 0 or -1 as above. */
int agg_wm_assign(struct agg_watermark *w, uint32_t source, int64_t now_ns);
int64_t agg_wm_base(const struct agg_watermark *w, int64_t now_ns, int64_t wall_ns);
/* The minimum max event time over the active partitions other than source
 * (INT64_MAX when there is none): with source's own progress, the base as
 * of one of its records. */
int64_t agg_wm_others(const struct agg_watermark *w, uint32_t source, int64_t now_ns);
/* source's max event time (INT64_MIN if unknown or out of range). */
int64_t agg_wm_source_max(const struct agg_watermark *w, uint32_t source);
/* The smallest max event time over the active partitions that delivered
 * (INT64_MIN when none did): the floor of watermark alignment. */
int64_t agg_wm_floor(const struct agg_watermark *w, int64_t now_ns);
/* Number of partitions currently holding the watermark back. */
uint32_t agg_wm_active(const struct agg_watermark *w, int64_t now_ns);

/* Checkpoint restore (snapshot.c). A restored source takes the larger max
 * event time and counts as active as of now_ns: a partition that has not
 * replayed yet holds the watermark back for idle_timeout, as before the
 * crash (INT64_MIN: it was assigned but had not delivered). Returns 0, or
 * -1 when source >= AGG_WM_MAX_SOURCES. */
int agg_wm_restore_source(struct agg_watermark *w, uint32_t source, int64_t max_event_ns,
			  int64_t now_ns);
/* The highest event time ever seen becomes at least max_event_ns. */
void agg_wm_restore_max(struct agg_watermark *w, int64_t max_event_ns);

#endif
