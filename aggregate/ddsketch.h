/*
 * ddsketch.h — mergeable relative-error quantile sketch (DDSketch, Masson
 * et al. 2019) behind p50/p90/p95/p99/percentile() once a key holds more
 * values than the percentile state keeps inline (funcs.h). Aggregate
 * processes.
 *
 * A value x > 0 goes to bucket i = ceil(log_gamma(x)) with
 * gamma = (1 + a) / (1 - a), a = AGG_DDS_ALPHA = 0.75%; the bucket's
 * representative 2 gamma^i / (gamma + 1) is then within a of every value the
 * bucket holds, so any quantile is within 0.75% relative error of the true
 * sample (the contract asks 1%; the margin covers floating-point rounding).
 * Negative values use a mirror store indexed by |x|, zero has its own
 * counter. Each store holds at most AGG_DDS_MAX_BUCKETS consecutive buckets
 * (values spanning a ratio of about 2e13, e.g. 1e-4 .. 2e9, with 16 KiB of
 * counts at most); beyond that the lowest values are folded into the lowest
 * kept bucket (for negatives: the most negative), so high quantiles stay
 * accurate, which is what top percentiles are for.
 *
 * Quantile q returns the value of rank floor(q (n - 1)) in the sorted sample
 * (0-based), clamped to the exact minimum and maximum seen; q = 0 and
 * q = 1 return that minimum and maximum.
 *
 * Memory. A store starts sparse: the counts of its occupied buckets and
 * their indices, in index order (12 bytes a bucket). A key with a few dozen
 * values spread over decades occupies a few dozen of the hundreds of
 * buckets between its extremes, and a dense array would be mostly zeros.
 * Once the sparse form would take more room than a dense array over the
 * occupied range (or holds AGG_DDS_SPARSE_MAX buckets, to bound the cost
 * of an insertion), the store turns dense for good: one count per bucket of
 * the range, found by index in O(1). Both forms hold the same buckets, so
 * results and serialisation never depend on the form.
 *
 * The struct is fixed-size; bucket arrays come from the caller's allocator
 * (the window arena) and grow geometrically, an outgrown array staying in
 * the arena until the window goes.
 */
#ifndef AGG_DDSKETCH_H
#define AGG_DDSKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/arena.h"

#define AGG_DDS_ALPHA 0.0075
#define AGG_DDS_MAX_BUCKETS 2048
#define AGG_DDS_SPARSE_MAX 128

struct agg_dds_store {
	/* dense: counts of buckets lo .. lo + cap - 1;
	 * sparse: cap counts, then cap int32 bucket indices, of which the
	 * first nnz are in use, by ascending index. NULL while empty. */
	uint64_t *c;
	int32_t lo;          /* dense only */
	uint32_t cap;
	int32_t imin, imax;  /* occupied range; imin > imax when empty */
	uint32_t nnz;        /* sparse only */
	uint32_t dense;
};

struct agg_dds {
	uint64_t count;   /* values added (zero and both stores) */
	uint64_t zero;
	double min, max;
	struct agg_dds_store pos, neg;
};

void agg_dds_init(struct agg_dds *s);
/* NaN and infinities are ignored (return 0). -1 when the allocator fails;
 * the value is then not counted. */
int agg_dds_add(struct agg_dds *s, double x, const struct agg_alloc *al);
/* Adds n values, sizing the stores for all of them first. -1 when the
 * allocator fails; the values before the failing one are counted. */
int agg_dds_add_many(struct agg_dds *s, const double *x, size_t n, const struct agg_alloc *al);
int agg_dds_merge(struct agg_dds *a, const struct agg_dds *b, const struct agg_alloc *al);
/* q in [0, 1]; returns 0 and *out, or -1 when the sketch is empty. */
int agg_dds_quantile(const struct agg_dds *s, double q, double *out);

/* Compact form: counters, then each store as its occupied index range and
 * LEB128 counts, dense or (when shorter) as non-zero counts with the gaps
 * between them. Returns bytes written, 0 if cap is too small. */
size_t agg_dds_serialize(const struct agg_dds *s, uint8_t *buf, size_t cap);
/* Returns bytes consumed, or 0 on malformed input (err says why). s must be
 * freshly initialised. */
size_t agg_dds_deserialize(struct agg_dds *s, const uint8_t *buf, size_t len,
			   const struct agg_alloc *al, char *err, size_t errlen);

#endif
