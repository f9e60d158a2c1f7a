/*
 * engine.h — the aggregate stage's logic for one aggregate process: decodes
 * the rows of a frame, tracks per-partition watermarks, keeps each rule's
 * open windows and emits closed windows as line protocol. The process main
 * loop (aggregate_proc.c) reads frames from its rings and calls this; the
 * engine itself never blocks, logs only rate-limited bad-input lines, and
 * does no I/O.
 *
 * Per frame: agg_engine_add_rows(). Then, as often as the main loop likes
 * (after each frame and on a timer, so quiet streams still close windows):
 * agg_engine_advance(). flush_all = end of a finite input: every open window
 * is emitted (a graceful stop instead checkpoints open windows).
 */
#ifndef AGG_ENGINE_H
#define AGG_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/rule.h"
#include "aggregate/winstore.h"
#include "common/config.h"

/* Called once per closed window with its line protocol: measurement,
 * tags = key fields, fields = aggregates, timestamp = window start (ns).
 * lp holds npoints lines and is valid during the call only. */
typedef void (*agg_emit_fn)(void *arg, int rule, int64_t start_ns, int64_t end_ns,
			    const char *lp, size_t len, uint32_t npoints);

struct agg_stats {
	uint64_t rows;            /* rows received (good, bad or late alike);
	                           * rows - bad_rows - late = rows aggregated for
	                           * tumbling windows */
	uint64_t aggregated;      /* rows applied to at least one window */
	uint64_t late;            /* (record, window) pairs dropped: window already emitted */
	uint64_t overflow;        /* (record, window) pairs sent to the overflow series */
	uint64_t bad_rows;        /* malformed, misrouted or out-of-range rows */
	uint64_t windows_emitted;
	uint64_t points_emitted;
	uint64_t points_empty;    /* points without any field (all values missing) */
	uint64_t nomem;           /* updates or windows lost to a failed allocation */
	uint64_t nonfinite;       /* NaN or infinite inputs skipped as missing */
	uint64_t live_keys;       /* keys in open windows, now */
	uint64_t bytes;           /* memory held by open windows, now */
};

struct agg_engine;

/* rules (compiled by agg_rules_compile) must outlive the engine. conf gives
 * [input] idle_timeout (NULL or 0: 30 s). self_index < naggregates: rows
 * whose key hash routes elsewhere are counted bad; each rule without `top`
 * gets ceil(max_keys / naggregates) keys per window here, and the overflow
 * series are tagged shard=self_index (winstore.h). NULL on ENOMEM. */
struct agg_engine *agg_engine_create(const struct agg_rule *rules, int nrules,
				     const struct rf_config *conf, int self_index, int naggregates);
void agg_engine_destroy(struct agg_engine *e);

/* rows: nrows concatenated rows (row.h) from one frame, len bytes in all.
 * source: partition id (< AGG_WM_MAX_SOURCES). max_event_ns: max event time
 * of the input frame the transform processed so far (INT64_MIN if none) —
 * every aggregate gets every frame's progress, even with no rows for it.
 * flags: RF_LINES_ASSIGNED when the partition was just assigned
 * (watermark.h). Frames of one source must come in partition order.
 *
 * Lateness is judged per row: a row is late (counted, dropped) when the
 * rule's watermark had passed its window's end before it — the watermark an
 * advance would have used just before the row: its partition's progress up
 * to the row (the row's prior_max_ns, row.h, and earlier frames), the other
 * partitions' progress, minus lateness. So the result does not depend on
 * where frames end. now_ns: the engine's duration clock (watermark.h). */
void agg_engine_add_rows(struct agg_engine *e, uint32_t source, int64_t max_event_ns, uint32_t flags,
			 const void *rows, size_t len, uint32_t nrows, int64_t now_ns);

/* Emits every window the watermark has passed (every open window when
 * flush_all), rule by rule, each rule's windows in time order. now_ns and
 * wall_ns: the two clocks of watermark.h. */
void agg_engine_advance(struct agg_engine *e, int64_t now_ns, int64_t wall_ns, int flush_all,
			agg_emit_fn emit, void *arg);

/* Rule's windows ending at or before this were emitted and none can open
 * again (INT64_MIN: none yet). */
int64_t agg_engine_closed_upto(const struct agg_engine *e, int rule);

/* Current counters (live_keys and bytes computed now). */
const struct agg_stats *agg_engine_stats(struct agg_engine *e);
/* The base watermark (watermark.h) the engine would use at now_ns. */
int64_t agg_engine_watermark(const struct agg_engine *e, int64_t now_ns, int64_t wall_ns);

/* ---- checkpoints (snapshot.c; format documented there) ---- */

/* A growable byte buffer the caller keeps between checkpoints (reused, so
 * steady state allocates nothing). Zero-initialise it; free with
 * agg_blob_free (which leaves it empty and reusable). */
struct agg_blob {
	uint8_t *p;
	size_t len, cap;
};
void agg_blob_free(struct agg_blob *b);

/* Serialises every open window of every rule, each rule's closed_upto and
 * the watermark state into b (previous content replaced, b->len set).
 * Returns 0, or -1 on ENOMEM (b then holds no valid blob: len = 0). */
int agg_engine_snapshot(struct agg_engine *e, struct agg_blob *b);

struct agg_restore_stats {
	uint64_t windows;                  /* (blob window, engine) pairs that got a record */
	uint64_t keys;                     /* records merged into e (an overflow series counts as one) */
	uint64_t keys_skipped_other_owner; /* records another aggregate owns now */
	uint64_t rules_discarded;          /* rules gone or changed since the blob */
	uint64_t keys_overflow;            /* of keys: merged into the overflow series
	                                    * (max_keys reached, as for rows) */
};

/* Merges one blob (from any aggregate process of any earlier run, with any
 * aggregate count) into e: keys that route elsewhere now are skipped; rules
 * are matched by name and a rule that is gone or whose fingerprint differs
 * is discarded with one warning naming it; states of keys present in both
 * are merged. Each watermark source takes the larger max event time and
 * counts as active as of now_ns; each rule's closed_upto the larger value.
 * A truncated, corrupt or wrong-version blob returns -1 with err
 * ("checkpoint state: ...") and leaves e unchanged: the blob is checked
 * whole before anything is applied. Out of memory while applying also
 * returns -1, with e holding part of the blob (the caller gives up the
 * restore). st may be NULL; its counters are added to. */
int agg_engine_restore(struct agg_engine *e, const void *blob, size_t len, int64_t now_ns,
		       struct agg_restore_stats *st, char *err, size_t errlen);

/* For snapshot.c: the engine's parts. */
struct agg_watermark;
struct agg_engine_parts {
	const struct agg_rule *rules;
	int nrules;
	uint32_t self, naggregates;
	struct agg_winstore **ws;          /* per rule, by rule index */
	struct agg_watermark *wm;
	uint64_t **walk;                   /* snapshot scratch, kept for reuse, */
	size_t *walk_words;                /* freed with the engine */
};
void agg_engine_parts(struct agg_engine *e, struct agg_engine_parts *out);

#endif
