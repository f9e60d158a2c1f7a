/*
 * hll.h — the count_distinct state (funcs.h): the 64-bit hashes of the
 * values, exactly, while there are few, then a HyperLogLog sketch.
 * Aggregate processes; memory beyond the fixed state comes from the
 * window's arena (agg_alloc), never malloc.
 *
 * Three modes, chosen by the number of distinct hashes n alone:
 *  - inline (n <= AGG_CD_EXACT): ascending in the state itself, no memory;
 *  - set (n <= AGG_CD_SET_MAX): an open-addressing table of hashes in the
 *    arena, 16, 64, 256 then 2048 slots (128 B .. 16 KiB), at most 3/4 full.
 *    Linear probing from the hash's top bits, each probe run kept in
 *    ascending order (Amble and Knuth's ordered hash table): the layout
 *    is then a function of the set alone, whatever the insertion order,
 *    a miss stops at the first larger hash, and the hashes come out
 *    sorted without sorting (serialisation). Outgrown tables stay in the
 *    arena until the window is emitted: past 192 values a key holds
 *    18.6 KiB (128 + 512 + 2048 + 16384 bytes), for good;
 *  - HyperLogLog (n > AGG_CD_SET_MAX): precision 14 (16384 one-byte
 *    registers, 16 KiB; the 2048-slot table is reused for them). The
 *    estimate uses Ertl's improved estimator ("New cardinality estimation
 *    algorithms for HyperLogLog sketches", 2017), which corrects the raw
 *    estimator's small- and mid-range bias without empirical tables.
 * Counts in the first two modes are exact up to collisions of 64-bit
 * hashes: about n^2 / 2^65, below 1e-13 at n = 1536. A hash of 0 counts as
 * 1 (0 marks an empty slot): one more such collision.
 *
 * Why AGG_CD_SET_MAX = 1536: for small n HyperLogLog's error at p = 14 is
 * that of register collisions (about n^2 / 2m of them): a standard error
 * near 1/sqrt(2m) = 0.55%, but coarse, so many estimates land just past
 * 2%: 1.2% of them at 20 values, 0.36% at 100, 0.06% at 150, worst 3.3 to
 * 14%. From 700 to 10 000 values 0.02 to 0.09% are more than 2% off
 * (worst seen 2.4 to 3%), the best the sketch does anywhere; beyond, the
 * error tends to 1.04/sqrt(m) = 0.81%: 0.15% past 2% at 20 000, 0.8% at
 * 100 000, about 2% at 10^6. (10^5 to 2 * 10^5 sketches of random IPv4
 * addresses per size up to 5000, fewer above.) So exact counting is worth
 * its memory up to where the table is as large as the registers, 16 KiB,
 * and the sketch takes over where it is at its most accurate.
 *
 * Because the mode, the table layout and the registers (register-wise
 * maximum) are functions of the set of hashes, merging states in any order
 * or grouping gives the same state, byte for byte when serialised, as one
 * state fed every value. States read from version 1 or 2 serialisations
 * may hold a sketch for fewer than AGG_CD_SET_MAX values (those versions
 * promoted after 6); they stay sketches.
 */
#ifndef AGG_HLL_H
#define AGG_HLL_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/arena.h"
#include "aggregate/serial.h"

#define AGG_HLL_P 14
#define AGG_HLL_M (1u << AGG_HLL_P)
#define AGG_HLL_BYTES AGG_HLL_M
/* Register values run 0 .. AGG_HLL_Q + 1. */
#define AGG_HLL_Q (64 - AGG_HLL_P)

#define AGG_CD_EXACT 6            /* hashes held inline */
#define AGG_CD_SET_MAX 1536       /* hashes held in the set: 3/4 of 2048 slots */

/* Modes; also the mode byte of the serialisation. */
enum { AGG_CD_INLINE = 0, AGG_CD_HLL = 1, AGG_CD_SET = 2 };

/* 56 bytes, inside the key record; all zero is the empty state. */
struct agg_cd {
	uint32_t n;          /* hashes held (inline, set); 0 in HLL mode */
	uint8_t mode;        /* AGG_CD_* */
	uint8_t lvl;         /* set: table level, 0 .. 3 (16 .. 2048 slots) */
	uint16_t pad;
	union {
		uint64_t h[AGG_CD_EXACT];   /* inline, ascending, none 0 */
		uint64_t *set;              /* set: 0 = empty slot */
		uint8_t *regs;              /* HLL: AGG_HLL_BYTES */
	} u;
};

/* h must be a well-mixed 64-bit hash (rf_hash64 / rf_mix64 output).
 * Returns 0, or -1 when the allocator failed: then h is not counted and
 * the state is as it was. */
int agg_cd_add(struct agg_cd *s, uint64_t h, const struct agg_alloc *al);
/* a = a ∪ b; b is not modified and may be freed afterwards. Returns 0 or
 * -1 when the allocator failed (a then holds a part of b: a subset of the
 * union, never a wrong hash). */
int agg_cd_merge(struct agg_cd *a, const struct agg_cd *b, const struct agg_alloc *al);
/* Exact count, or the sketch's estimate rounded. */
int64_t agg_cd_count(const struct agg_cd *s);

/* Payload after the version and function bytes (funcs.h):
 *   u8 mode; inline: u8 n (<= AGG_CD_EXACT), n u64 ascending;
 *   HLL: AGG_HLL_BYTES registers; set (version 3 on): varint n
 *   (AGG_CD_EXACT < n <= AGG_CD_SET_MAX), n u64 ascending.
 * u64s little-endian; hashes are never 0. */
void agg_cd_serialize(struct agg_wcur *w, const struct agg_cd *s);
/* Reads what agg_cd_serialize wrote, at version ver (1 and 2: no set mode,
 * inline hashes in any order). s is overwritten. Returns 0, -1 when
 * malformed (r->bad set), -2 when the allocator failed. */
int agg_cd_deserialize(struct agg_rcur *r, unsigned ver, struct agg_cd *s, const struct agg_alloc *al);

/* The registers alone. */
void agg_hll_add(uint8_t *regs, uint64_t h);
/* a = a ∪ b (register-wise maximum). */
void agg_hll_merge(uint8_t *a, const uint8_t *b);
double agg_hll_estimate(const uint8_t *regs);
/* Checks that every register is within range (used after deserialising). */
int agg_hll_valid(const uint8_t *regs);

#endif
