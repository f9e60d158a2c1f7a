/*
 * hll.h — HyperLogLog register array for count_distinct once a key has more
 * distinct values than the exact inline set holds (see funcs.h).
 *
 * Runs in the aggregate processes. Precision 14 (16384 one-byte registers,
 * standard error 1.04/sqrt(16384) = 0.81%, so the documented 2% bound is
 * about 2.5 standard errors). The estimate uses Ertl's improved estimator
 * ("New cardinality estimation algorithms for HyperLogLog sketches", 2017),
 * which corrects the raw estimator's small- and mid-range bias without
 * empirical tables and falls back to linear counting behaviour by itself
 * when many registers are still zero.
 *
 * The caller owns the register memory (AGG_HLL_BYTES, zeroed); these
 * functions never allocate.
 */
#ifndef AGG_HLL_H
#define AGG_HLL_H

#include <stddef.h>
#include <stdint.h>

#define AGG_HLL_P 14
#define AGG_HLL_M (1u << AGG_HLL_P)
#define AGG_HLL_BYTES AGG_HLL_M
/* Register values run 0 .. AGG_HLL_Q + 1. */
#define AGG_HLL_Q (64 - AGG_HLL_P)

/* h must be a well-mixed 64-bit hash (rf_hash64 / rf_mix64 output). */
void agg_hll_add(uint8_t *regs, uint64_t h);
/* a = a ∪ b (register-wise maximum). */
void agg_hll_merge(uint8_t *a, const uint8_t *b);
double agg_hll_estimate(const uint8_t *regs);
/* Checks that every register is within range (used after deserialising). */
int agg_hll_valid(const uint8_t *regs);

#endif
