/*
 * funcs_pct.c — the percentile state (funcs_pct.h): promotion from inline
 * values to a DDSketch, merge, and its checkpoint payload. Aggregate
 * processes; promotion and merge allocate from the window's arena only.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aggregate/funcs_pct.h"

int agg_pct_promote(struct agg_pct *s, const double *x, uint32_t n, const struct agg_dds *b,
		    const struct agg_alloc *al)
{
	double all[2 * AGG_PCT_INLINE];
	struct agg_dds *d = al->alloc(al->ctx, sizeof *d);
	if (!d)
		return -1;
	agg_dds_init(d);
	if (b && agg_dds_merge(d, b, al) < 0)
		return -1;
	if (n <= AGG_PCT_INLINE) {
		/* One batch, so the sketch's buckets are sized once. */
		memcpy(all, s->u.v, s->n * sizeof *all);
		if (n)
			memcpy(all + s->n, x, n * sizeof *all);
		if (agg_dds_add_many(d, all, s->n + n, al) < 0)
			return -1;
	} else if (agg_dds_add_many(d, s->u.v, s->n, al) < 0 || agg_dds_add_many(d, x, n, al) < 0) {
		return -1;
	}
	s->u.dds = d;
	s->promoted = 1;
	s->n = 0;
	return 0;
}

int agg_pct_merge(struct agg_pct *a, const struct agg_pct *b, const struct agg_alloc *al)
{
	if (b->promoted) {
		if (a->promoted)
			return agg_dds_merge(a->u.dds, b->u.dds, al);
		return agg_pct_promote(a, NULL, 0, b->u.dds, al);
	}
	if (a->promoted)
		return agg_dds_add_many(a->u.dds, b->u.v, b->n, al);
	if (a->n + b->n > AGG_PCT_INLINE)
		return agg_pct_promote(a, b->u.v, b->n, NULL, al);
	for (uint32_t j = 0; j < b->n; j++)
		agg_pct_insert(a, b->u.v[j]);
	return 0;
}

/* Integers below 2^53 in magnitude, where doubles are exact. */
#define PCT_INT_LIMIT 9007199254740992.0

static int pct_all_ints(const struct agg_pct *s)
{
	for (uint32_t j = 0; j < s->n; j++)
		if (!(fabs(s->u.v[j]) < PCT_INT_LIMIT) || s->u.v[j] != floor(s->u.v[j]))
			return 0;
	return 1;
}

enum { PCT_WIRE_F64 = 0, PCT_WIRE_INT, PCT_WIRE_SKETCH };

void agg_pct_serialize(struct agg_wcur *w, const struct agg_pct *s)
{
	if (s->promoted) {
		agg_w_u8(w, PCT_WIRE_SKETCH);
		if (w->full)
			return;
		size_t n = agg_dds_serialize(s->u.dds, w->p + w->len, w->cap - w->len);
		if (n == 0)
			w->full = 1;
		w->len += n;
		return;
	}
	/* Sorted integers (byte counts, sizes: the usual case) as the first
	 * value and the gaps: a few bytes each instead of eight. */
	int ints = pct_all_ints(s);
	agg_w_u8(w, ints ? PCT_WIRE_INT : PCT_WIRE_F64);
	agg_w_u8(w, (uint8_t)s->n);
	for (uint32_t j = 0; j < s->n; j++) {
		if (!ints)
			agg_w_f64(w, s->u.v[j]);
		else if (j == 0)
			agg_w_svarint(w, (int64_t)s->u.v[0]);
		else
			agg_w_varint(w, (uint64_t)((int64_t)s->u.v[j] - (int64_t)s->u.v[j - 1]));
	}
}

/* A serialised sketch at r into s (initialised). An empty sketch (what an
 * empty state of version 1 holds) leaves s empty. */
static int pct_read_sketch(struct agg_rcur *r, struct agg_pct *s, const struct agg_alloc *al,
			   char *err, size_t errlen)
{
	struct agg_dds tmp, *d = &tmp;
	agg_dds_init(&tmp);
	size_t n = agg_dds_deserialize(&tmp, r->p + r->pos, r->len - r->pos, al, err, errlen);
	if (n == 0)
		return -1;
	r->pos += n;
	if (tmp.count == 0)
		return 0;
	if (!(d = al->alloc(al->ctx, sizeof *d))) {
		snprintf(err, errlen, "state: out of memory");
		return -1;
	}
	*d = tmp;
	s->u.dds = d;
	s->promoted = 1;
	return 0;
}

/* Inline values: at most AGG_PCT_INLINE, finite, ascending. */
static int pct_read_inline(struct agg_rcur *r, struct agg_pct *s, int ints)
{
	uint8_t n = agg_r_u8(r);
	if (r->bad || n > AGG_PCT_INLINE)
		return -1;
	int64_t prev = 0;
	for (uint32_t j = 0; j < n; j++) {
		double x;
		if (!ints) {
			x = agg_r_f64(r);
		} else {
			uint64_t u = j ? agg_r_varint(r) : 0;
			int64_t v = j ? prev + (int64_t)(u > (uint64_t)1 << 54 ? (uint64_t)1 << 54 : u)
				      : agg_r_svarint(r);
			x = (double)v;
			prev = v;
		}
		if (r->bad || !isfinite(x) || (ints && !(fabs(x) < PCT_INT_LIMIT)) ||
		    (j && x < s->u.v[j - 1]))
			return -1;
		s->u.v[j] = x == 0 ? 0.0 : x;
		s->n = j + 1;
	}
	return 0;
}

int agg_pct_deserialize(struct agg_rcur *r, unsigned ver, struct agg_pct *s,
			const struct agg_alloc *al, char *err, size_t errlen)
{
	/* Version 1 held the bare sketch. */
	uint8_t mode = ver == 1 ? PCT_WIRE_SKETCH : agg_r_u8(r);
	if (r->bad)
		return -1;
	if (mode == PCT_WIRE_SKETCH)
		return pct_read_sketch(r, s, al, err, errlen) < 0 ? -2 : 0;
	if (mode > PCT_WIRE_SKETCH || pct_read_inline(r, s, mode == PCT_WIRE_INT) < 0)
		return -1;
	return 0;
}
