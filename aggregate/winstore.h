/*
 * winstore.h — the open event-time windows of one rule in one aggregate
 * process, and their emission as line protocol.
 *
 * Windows are aligned to the epoch: tumbling windows [k*W, (k+1)*W), hopping
 * windows of length W every E (W a multiple of E) start at k*E, and a record
 * at time t updates each of the W/E windows containing t.
 *
 * Each open window has its own arena (arena.h) holding the key records
 *   [aggregate states (rule->state_size)][uint16 key_len][key bytes] pad 8
 * and an open-addressing table (linear probing, load <= 3/4) of 8-byte slots
 *   (low 32 bits of the key hash) << 32 | arena reference
 * so a live key costs its record plus 8-16 bytes of table, and a window is
 * freed in one go when it is emitted. No allocation per record: the arena
 * grows by chunks, the table by doubling.
 *
 * max_keys is per window over all aggregate processes (DESIGN.md §3), and
 * the keys of a rule spread evenly over them (row.h), so each process's
 * store allows ceil(max_keys / naggregates) keys; a rule with top = N lives
 * in one process and keeps the whole budget. Beyond that, records of new
 * keys go to the window's single overflow series and are counted. Its point
 * is tagged overflow=true,shard=<this aggregate's index> instead of the key
 * tags: every process may have one for the same window, and points with
 * one series and time overwrite each other in InfluxDB. The overflow point
 * is always emitted, also with top = N, since it stands for the keys that
 * could not be told apart.
 *
 * A record whose window has already been emitted (its end <= the watermark
 * the rule was last advanced to, or the watermark as of the record) is
 * dropped and counted late; with hopping windows the count is per (record,
 * window) dropped.
 *
 * One process, one thread; not shared.
 */
#ifndef AGG_WINSTORE_H
#define AGG_WINSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/row.h"
#include "aggregate/rule.h"

/* Called once per emitted window with all its points. lp is valid during
 * the call only. Same type as in engine.h. */
typedef void (*agg_emit_fn)(void *arg, int rule, int64_t start_ns, int64_t end_ns,
			    const char *lp, size_t len, uint32_t npoints);

struct agg_ws_counters {
	uint64_t rows;            /* rows applied to at least one window */
	uint64_t late;            /* (record, window) pairs dropped as late */
	uint64_t overflow;        /* (record, window) pairs sent to the overflow series */
	uint64_t bad_time;        /* rows with an event time out of range */
	uint64_t nomem;           /* updates lost to a failed allocation */
	uint64_t windows_emitted;
	uint64_t points_emitted;
	uint64_t points_empty;    /* points without any field, skipped */
};

struct agg_winstore;

/* rule must outlive the store. shard: this aggregate process's index, of
 * nshards (>= 1). NULL on ENOMEM. */
struct agg_winstore *agg_ws_create(const struct agg_rule *rule, uint16_t rule_idx, uint32_t shard,
				   uint32_t nshards);
void agg_ws_destroy(struct agg_winstore *ws);

/* Applies one decoded row (of this rule). watermark: the rule's watermark
 * as of this row (engine.c); a window ending at or before it, or before the
 * last advance's, is closed for the row (late). Returns 0, or -1 when the
 * row's time is outside +-2^62 ns (counted in bad_time). */
int agg_ws_add(struct agg_winstore *ws, const struct rf_row *row, int64_t watermark);

/* Emits, in order, every open window whose end <= watermark (every window
 * when flush_all), frees it and calls emit once per window. */
void agg_ws_advance(struct agg_winstore *ws, int64_t watermark, int flush_all,
		    agg_emit_fn emit, void *arg);

const struct agg_ws_counters *agg_ws_counters(const struct agg_winstore *ws);
uint64_t agg_ws_live_keys(const struct agg_winstore *ws);
/* Bytes held by open windows (arenas, tables, window structs). */
size_t agg_ws_bytes(const struct agg_winstore *ws);
uint32_t agg_ws_open_windows(const struct agg_winstore *ws);

/* ---- checkpoints (snapshot.c) ----
 * A checkpoint walks the open windows and their key records; a restore puts
 * records back without going through rows. A record is laid out as in the
 * comment at the top: states at rule->states[s].offset, then the key. */

/* Windows ending at or before this have been emitted (INT64_MIN: none). */
int64_t agg_ws_closed_upto(const struct agg_winstore *ws);
/* Raises closed_upto to t (never lowers it): records for windows ending at
 * or before t are late from now on. */
void agg_ws_raise_closed_upto(struct agg_winstore *ws, int64_t t);

struct agg_ws_window_info {
	int64_t start;
	uint32_t nkeys;            /* key records, the overflow record not included */
	const uint8_t *overflow;   /* overflow record, or NULL */
};
/* Open window i, 0 <= i < agg_ws_open_windows(), by ascending start. */
void agg_ws_window_info(const struct agg_winstore *ws, uint32_t i, struct agg_ws_window_info *out);
/* Calls fn(arg, rec) for each key record of open window i (overflow
 * record excluded), in arena order, i.e. the order the keys arrived: the
 * walk reads memory forwards instead of jumping around as table order
 * would, so a checkpoint is bound by bandwidth, not by a cache miss per
 * key. bitmap: scratch of agg_ws_walk_words() words, any content. Returns
 * 0, or the first nonzero value fn returned (the walk stops there). */
size_t agg_ws_walk_words(const struct agg_winstore *ws, uint32_t i);
int agg_ws_walk(const struct agg_winstore *ws, uint32_t i, uint64_t *bitmap,
		int (*fn)(void *arg, const uint8_t *rec), void *arg);

/* The record of key in the window starting at start (created if absent;
 * start must be a window start of the rule, |start| < 2^62). key_hash is
 * rf_hash64(key, key_len, rule index), as rows carry it. key == NULL, or a
 * window full by max_keys, gives the window's overflow record
 * (*overflowed = 1). *fresh = 1 when the record was created by this call:
 * its states are then initial, so the caller may deserialise into them.
 * *al is the window's allocator for what the states grow into. NULL on
 * ENOMEM (counted in nomem). The overflow record holds this store's shard
 * tag whatever shard wrote the state merged into it. */
uint8_t *agg_ws_restore_record(struct agg_winstore *ws, int64_t start, const uint8_t *key,
			       uint16_t key_len, uint64_t key_hash, int *fresh, int *overflowed,
			       const struct agg_alloc **al);

#endif
