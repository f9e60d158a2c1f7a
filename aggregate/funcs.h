/*
 * funcs.h — the aggregate functions of a rule: fixed-size per-key states,
 * update, merge, result and a compact versioned serialisation.
 * Aggregate processes (the window store calls these per record).
 *
 * Every state is a fixed number of bytes (agg_state_size, a multiple of 8)
 * inside a key record of a window arena; states that grow (count_distinct
 * past 6 values, percentile sketches, long strings of first/last) take
 * extra memory from the agg_alloc they are given, which is the window's
 * arena. All states merge: merge(a, b) leaves a = state over the records
 * of a and b, so state can be re-sharded and checkpointed.
 *
 * Implemented in funcs.c (table, update, merge, result), funcs_pct.c (the
 * percentile state) and funcs_serial.c (serialisation); the state layouts
 * are in funcs_state.h and funcs_pct.h, private to those files.
 *
 * Semantics (DESIGN.md §3):
 *  - Missing values are skipped by every function; count() counts records,
 *    count(x) counts records where x is present.
 *  - sum/mult/min/max keep an integer while every input is an integer (bool
 *    counts as 0/1) and switch that state to float for good on the first float
 *    input or when sum/mult overflows int64 — the output is then a float
 *    field. min/max of an integer field stay integers.
 *  - avg, stddev, percentiles are floats; count and count_distinct integers.
 *  - stddev is the sample standard deviation (n - 1), like InfluxQL STDDEV();
 *    with fewer than two values it has no value (the field is left out, as
 *    InfluxQL returns null).
 *  - count_distinct is exact up to AGG_CD_SET_MAX (1536) distinct values:
 *    their 64-bit hashes, AGG_CD_EXACT of them inline, then in a hash set
 *    that grows in the arena (128 B to 16 KiB); past that HyperLogLog
 *    (16 KiB of registers, the set's last table reused). See hll.h: the
 *    state is a function of the set of values, so merges in any order
 *    agree.
 *  - Percentiles are exact up to AGG_PCT_INLINE values (kept inline, sorted:
 *    the value of rank floor(q (n - 1)), as the sketch defines it), then a
 *    DDSketch (ddsketch.h, within 1% relative error) allocated at that moment
 *    and fed the inline values. Most keys of a window see a few records, and
 *    a sketch costs hundreds of bytes at least. Infinities are skipped, as
 *    the sketch skips them; -0.0 counts as 0.
 *  - first/last pick by event time; on equal times first keeps the value
 *    that arrived first and last takes the one that arrived last. merge(a, b)
 *    treats b as having arrived after a.
 *  - Non-numeric values (possible only for fields of type ANY) are skipped by
 *    numeric functions, like missing values.
 */
#ifndef AGG_FUNCS_H
#define AGG_FUNCS_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/arena.h"
#include "aggregate/hll.h"      /* AGG_CD_EXACT, AGG_CD_SET_MAX */
#include "common/value.h"

enum agg_fn {
	AGG_FN_SUM = 0,
	AGG_FN_MULT,
	AGG_FN_MIN,
	AGG_FN_MAX,
	AGG_FN_COUNT,          /* count() or count(x) */
	AGG_FN_AVG,
	AGG_FN_COUNT_DISTINCT,
	AGG_FN_STDDEV,
	AGG_FN_PERCENTILE,     /* one sketch shared by every quantile of a field */
	AGG_FN_FIRST,
	AGG_FN_LAST,
	AGG_FN_COUNT_
};

#define AGG_PCT_INLINE 9     /* values: the state stays 80 bytes, as the sketch was */
/* 2: percentile states carry a mode byte (inline values or a sketch).
 * 3: count_distinct has a set mode (2) between inline and HyperLogLog,
 * and writes inline hashes ascending.
 * Version 1 and 2 states are still read. */
#define AGG_STATE_VERSION 3

const char *agg_fn_name(enum agg_fn fn);
size_t agg_state_size(enum agg_fn fn);
void agg_state_init(enum agg_fn fn, void *st);
/* v may be NULL for count() (a record without an argument). time_ns is the
 * record's event time (first/last). Returns 0, or -1 when the allocator
 * failed (the value is then not counted). */
int agg_state_update(enum agg_fn fn, void *st, const struct rf_value *v, int64_t time_ns,
		     const struct agg_alloc *al);
/* a = a ∪ b. b is not modified and may be freed afterwards: a copies what
 * it needs into al. Returns 0 or -1 when the allocator failed. */
int agg_state_merge(enum agg_fn fn, void *a, const void *b, const struct agg_alloc *al);
/* The output value: RF_V_INT, RF_V_FLOAT, RF_V_STR, RF_V_IP, RF_V_BOOL, or
 * RF_V_MISSING when the state has no value (then the field is left out).
 * q is the quantile (0..1) for AGG_FN_PERCENTILE, ignored otherwise. A
 * string result points into the state and lives as long as it does. */
void agg_state_result(enum agg_fn fn, const void *st, double q, struct rf_value *out);

/* Serialised state: version byte, function byte, then a compact payload
 * (LEB128 counters, little-endian doubles, sketch buckets as varints).
 * count_distinct payload: agg_cd_serialize (hll.h).
 * Percentile payload: u8 mode, then for mode 0 (inline) u8 n and n
 * little-endian doubles, ascending; mode 1 (inline, all integers below
 * 2^53 in magnitude) u8 n, an svarint and n - 1 varint gaps to the next
 * value; mode 2 the sketch (agg_dds_serialize). Returns bytes written, 0 if
 * cap is too small. */
size_t agg_state_serialize(enum agg_fn fn, const void *st, void *buf, size_t cap);
/* st must be initialised for fn; strings and sketches go into al.
 * Versions 1 to AGG_STATE_VERSION are read (checkpoints of earlier
 * releases stay usable). *used = bytes consumed. Returns 0, or -1 with err
 * on malformed input. */
int agg_state_deserialize(enum agg_fn fn, void *st, const void *buf, size_t len, size_t *used,
			  const struct agg_alloc *al, char *err, size_t errlen);

/* The hash count_distinct uses for a value (type-seeded, so the int 5 and
 * the string "5" differ; -0.0 hashes like 0.0). */
uint64_t agg_value_hash(const struct rf_value *v);

#endif
