/*
 * frames.h — what travels in the rings between pipeline stages.
 *
 *   ingest ──LINES──► transform ──ROWS──► aggregate ──POINTS──► writer
 *                                          aggregate ──POINTS, WINDOWS_CLOSED──► analyze
 *                                                               analyze ──POINTS──► writer
 *   every stage: ──EOS──► (end of stream: forwarded once all inputs sent it)
 *   every stage: ──BARRIER(N)──► (checkpoint N: forwarded once every input
 *                                 still open sent it; see pipeline/checkpoint.h)
 *
 * Every payload starts with a fixed header; the layout is shared by
 * processes of the same binary, so no versioning beyond the segment's.
 */
#ifndef PL_FRAMES_H
#define PL_FRAMES_H

#include <stdint.h>

enum rf_frame_type {
	RF_FRAME_LINES = 1,  /* struct rf_lines_hdr, then lines each ending in '\n' */
	RF_FRAME_ROWS,       /* struct rf_rows_hdr, then pipeline/row.h rows */
	RF_FRAME_POINTS,     /* struct rf_points_hdr, then line protocol */
	RF_FRAME_EOS,        /* struct rf_eos */
	RF_FRAME_BARRIER,    /* struct rf_barrier */
	RF_FRAME_WINDOWS_CLOSED, /* struct rf_windows_closed */
	RF_FRAME_TYPE_COUNT
};

/* A source is one input partition: topic index in [input] topic *
 * RF_PARTITIONS_PER_TOPIC + partition. Stable across restarts and
 * rebalances, so checkpointed watermarks and offsets find their partition
 * again whichever ingest reads it. */
#define RF_PARTITIONS_PER_TOPIC 1024
#define RF_MAX_SOURCES 4096

/* Frame flags (lines and rows). ASSIGNED: the source was just assigned to
 * an ingest; the frame holds no lines, and the aggregates hold windows back
 * for the source from now on (aggregate/watermark.h). */
#define RF_LINES_ASSIGNED 1u

struct rf_lines_hdr {
	uint32_t source;
	uint32_t nlines;
	uint32_t flags;         /* RF_LINES_* */
	uint32_t pad;
};

struct rf_rows_hdr {
	uint32_t source;
	uint32_t nrows;
	int64_t max_event_ns;   /* newest event time of the input frame so far; INT64_MIN if none */
	uint32_t flags;         /* RF_LINES_* of the input frame */
	uint32_t pad;
};

struct rf_points_hdr {
	uint32_t rule;
	uint32_t npoints;
	int64_t window_start_ns;
	int64_t window_end_ns;
};

/* aggregate -> analyzer host: every window of `rule` ending at or before
 * upto_ns that this aggregate had was sent before this frame, and no
 * record can open one any more (aggregate/winstore.h closed_upto). With
 * one from every aggregate the host knows a (rule, window) block is whole,
 * also when some aggregate owned no key of it. */
struct rf_windows_closed {
	uint32_t rule;
	uint32_t pad;
	int64_t upto_ns;
};

enum rf_eos_kind {
	RF_EOS_END = 0,  /* finite input ended: close and emit every window */
	RF_EOS_STOP,     /* graceful stop: drain, keep open windows */
};

struct rf_barrier {
	uint64_t id;     /* checkpoint id */
};

struct rf_eos {
	uint32_t kind;   /* enum rf_eos_kind */
	uint32_t pad;
};

#endif
