/*
 * funcs_pct.h — the percentile state (AGG_FN_PERCENTILE, semantics in
 * funcs.h): up to AGG_PCT_INLINE values kept inline and sorted, then a
 * DDSketch taken from the window's arena. Aggregate processes. Used by
 * funcs.c (fold, merge, result) and funcs_serial.c (its checkpoint
 * payload); implemented in funcs_pct.c, except the per-record add and the
 * quantile: they are inline here so agg_state_update and
 * agg_state_result keep them inline, as when they shared one file.
 */
#ifndef AGG_FUNCS_PCT_H
#define AGG_FUNCS_PCT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate/arena.h"
#include "aggregate/ddsketch.h"
#include "aggregate/funcs.h"      /* AGG_PCT_INLINE */
#include "aggregate/serial.h"

struct agg_pct {
	uint32_t n;          /* values held inline, ascending, while not promoted */
	uint32_t promoted;
	union {
		double v[AGG_PCT_INLINE];
		struct agg_dds *dds;   /* from the arena, once promoted */
	} u;
};

_Static_assert(sizeof(struct agg_pct) == 8 + 8 * AGG_PCT_INLINE, "agg_pct size");
_Static_assert(AGG_PCT_INLINE <= 255, "inline count is serialised as a byte");

/* Inserts x into the sorted inline values; the caller checked for room. */
static inline void agg_pct_insert(struct agg_pct *s, double x)
{
	uint32_t j = s->n;
	while (j > 0 && s->u.v[j - 1] > x) {
		s->u.v[j] = s->u.v[j - 1];
		j--;
	}
	s->u.v[j] = x;
	s->n++;
}

/* Replaces the inline values of s by a sketch holding them, the n values x
 * and the sketch b (if not NULL). Nothing changes when the allocator fails
 * (what it did allocate stays in the arena, unused). */
int agg_pct_promote(struct agg_pct *s, const double *x, uint32_t n, const struct agg_dds *b,
		    const struct agg_alloc *al);

/* Adds x (infinities are skipped, -0.0 is 0). Returns 0 or -1 when the
 * allocator failed (x is then not counted). */
static inline int agg_pct_add(struct agg_pct *s, double x, const struct agg_alloc *al)
{
	if (!isfinite(x))
		return 0;
	if (x == 0)
		x = 0.0;         /* -0.0: one zero, as in the sketch */
	if (s->promoted)
		return agg_dds_add(s->u.dds, x, al);
	if (s->n < AGG_PCT_INLINE) {
		agg_pct_insert(s, x);
		return 0;
	}
	return agg_pct_promote(s, &x, 1, NULL, al);
}

/* a = a ∪ b; b is not modified. Returns 0 or -1 when the allocator failed. */
int agg_pct_merge(struct agg_pct *a, const struct agg_pct *b, const struct agg_alloc *al);

/* The value of rank floor(q (n - 1)), as agg_dds_quantile; -1 when empty
 * or q is out of range. */
static inline int agg_pct_quantile(const struct agg_pct *s, double q, double *out)
{
	if (s->promoted)
		return agg_dds_quantile(s->u.dds, q, out);
	if (s->n == 0 || !(q >= 0.0 && q <= 1.0))
		return -1;
	*out = s->u.v[(uint32_t)(q * (double)(s->n - 1))];
	return 0;
}

/* Payload after the version and function bytes (funcs.h): u8 mode, then
 * the inline values (mode 0: doubles; mode 1: integers as an svarint and
 * varint gaps) or the sketch (mode 2, agg_dds_serialize). Sets w->full
 * when it does not fit. */
void agg_pct_serialize(struct agg_wcur *w, const struct agg_pct *s);
/* Reads what agg_pct_serialize wrote, at version ver (1: the bare sketch)
 * into s, initialised. Returns 0, -1 when malformed (err not written: the
 * caller names the state), -2 with err written (a bad sketch, or the
 * allocator failed). */
int agg_pct_deserialize(struct agg_rcur *r, unsigned ver, struct agg_pct *s,
			const struct agg_alloc *al, char *err, size_t errlen);

#endif
