/*
 * ddsketch.c — relative-error quantile sketch (see ddsketch.h).
 * Aggregate processes; allocates only through the caller's agg_alloc.
 */
#include "aggregate/ddsketch.h"
#include "aggregate/serial.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DDS_GAMMA ((1.0 + AGG_DDS_ALPHA) / (1.0 - AGG_DDS_ALPHA))

static double dds_inv_ln_gamma(void)
{
	static double v;
	if (v == 0.0)
		v = 1.0 / log(DDS_GAMMA);
	return v;
}

static int32_t dds_index(double absx)
{
	return (int32_t)ceil(log(absx) * dds_inv_ln_gamma());
}

static double dds_value(int32_t i)
{
	return exp((double)i / dds_inv_ln_gamma()) * (2.0 / (DDS_GAMMA + 1.0));
}

static void store_init(struct agg_dds_store *st)
{
	memset(st, 0, sizeof *st);
	st->imin = 1;
	st->imax = 0;
}

static int32_t clamp32(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Adds n to bucket idx. collapse_low: when the occupied range would exceed
 * AGG_DDS_MAX_BUCKETS, fold the lowest indices (else the highest). Nothing
 * changes when the allocator fails. */
static int store_add(struct agg_dds_store *st, int32_t idx, uint64_t n, int collapse_low,
		     const struct agg_alloc *al)
{
	int empty = st->imin > st->imax;
	int64_t nmin = empty ? idx : (idx < st->imin ? idx : st->imin);
	int64_t nmax = empty ? idx : (idx > st->imax ? idx : st->imax);
	if (nmax - nmin + 1 > AGG_DDS_MAX_BUCKETS) {
		if (collapse_low)
			nmin = nmax - AGG_DDS_MAX_BUCKETS + 1;
		else
			nmax = nmin + AGG_DDS_MAX_BUCKETS - 1;
	}
	idx = clamp32(idx, (int32_t)nmin, (int32_t)nmax);

	if (!st->c || nmin < st->lo || nmax >= (int64_t)st->lo + st->cap) {
		uint32_t span = (uint32_t)(nmax - nmin + 1);
		uint32_t cap = st->cap * 2;
		if (cap < span + span / 2)
			cap = span + span / 2;
		if (cap < 32)
			cap = 32;
		if (cap > AGG_DDS_MAX_BUCKETS)
			cap = AGG_DDS_MAX_BUCKETS;
		uint64_t *c = al->alloc(al->ctx, (size_t)cap * sizeof *c);
		if (!c)
			return -1;
		int32_t lo = (int32_t)(nmin - (cap - span) / 2);
		memset(c, 0, (size_t)cap * sizeof *c);
		if (!empty)
			for (int32_t j = st->imin; j <= st->imax; j++)
				c[clamp32(j, (int32_t)nmin, (int32_t)nmax) - lo] += st->c[j - st->lo];
		st->c = c;
		st->lo = lo;
		st->cap = cap;
	} else if (!empty) {
		/* Fits in place; fold whatever fell outside the kept range. */
		for (int32_t j = st->imin; j <= st->imax; j++) {
			int32_t t = clamp32(j, (int32_t)nmin, (int32_t)nmax);
			if (t != j) {
				st->c[t - st->lo] += st->c[j - st->lo];
				st->c[j - st->lo] = 0;
			}
		}
	}
	st->imin = (int32_t)nmin;
	st->imax = (int32_t)nmax;
	st->c[idx - st->lo] += n;
	return 0;
}

void agg_dds_init(struct agg_dds *s)
{
	memset(s, 0, sizeof *s);
	store_init(&s->pos);
	store_init(&s->neg);
}

static void dds_minmax(struct agg_dds *s, double lo, double hi)
{
	if (s->count == 0) {
		s->min = lo;
		s->max = hi;
		return;
	}
	if (lo < s->min)
		s->min = lo;
	if (hi > s->max)
		s->max = hi;
}

int agg_dds_add(struct agg_dds *s, double x, const struct agg_alloc *al)
{
	if (!isfinite(x))
		return 0;
	if (x > 0) {
		if (store_add(&s->pos, dds_index(x), 1, 1, al) < 0)
			return -1;
	} else if (x < 0) {
		if (store_add(&s->neg, dds_index(-x), 1, 0, al) < 0)
			return -1;
	} else {
		s->zero++;
	}
	dds_minmax(s, x, x);
	s->count++;
	return 0;
}

static int store_merge(struct agg_dds_store *a, const struct agg_dds_store *b, int collapse_low,
		       const struct agg_alloc *al)
{
	for (int32_t j = b->imin; j <= b->imax; j++) {
		uint64_t n = b->c[j - b->lo];
		if (n && store_add(a, j, n, collapse_low, al) < 0)
			return -1;
	}
	return 0;
}

int agg_dds_merge(struct agg_dds *a, const struct agg_dds *b, const struct agg_alloc *al)
{
	if (b->count == 0)
		return 0;
	if (store_merge(&a->pos, &b->pos, 1, al) < 0 || store_merge(&a->neg, &b->neg, 0, al) < 0)
		return -1;
	a->zero += b->zero;
	dds_minmax(a, b->min, b->max);
	a->count += b->count;
	return 0;
}

int agg_dds_quantile(const struct agg_dds *s, double q, double *out)
{
	if (s->count == 0 || !(q >= 0.0 && q <= 1.0))
		return -1;
	/* The extremes are known exactly. */
	if (q == 0.0 || s->count == 1) {
		*out = s->min;
		return 0;
	}
	if (q == 1.0) {
		*out = s->max;
		return 0;
	}
	double rank = q * (double)(s->count - 1);
	double v = s->max;
	uint64_t cum = 0;
	int found = 0;
	/* Ascending order: most negative first (highest |x| index), zero, then
	 * positive values from the lowest index. */
	for (int32_t j = s->neg.imax; j >= s->neg.imin && !found; j--) {
		cum += s->neg.c[j - s->neg.lo];
		if ((double)cum > rank) {
			v = -dds_value(j);
			found = 1;
		}
	}
	if (!found) {
		cum += s->zero;
		if ((double)cum > rank) {
			v = 0.0;
			found = 1;
		}
	}
	for (int32_t j = s->pos.imin; j <= s->pos.imax && !found; j++) {
		cum += s->pos.c[j - s->pos.lo];
		if ((double)cum > rank) {
			v = dds_value(j);
			found = 1;
		}
	}
	if (v < s->min)
		v = s->min;
	if (v > s->max)
		v = s->max;
	*out = v;
	return 0;
}

static void store_serialize(struct agg_wcur *w, const struct agg_dds_store *st)
{
	agg_w_svarint(w, st->imin);
	agg_w_svarint(w, st->imax);
	for (int32_t j = st->imin; j <= st->imax; j++)
		agg_w_varint(w, st->c[j - st->lo]);
}

size_t agg_dds_serialize(const struct agg_dds *s, uint8_t *buf, size_t cap)
{
	struct agg_wcur w = { .p = buf, .cap = cap };
	uint8_t flags = (s->pos.imin <= s->pos.imax ? 1 : 0) | (s->neg.imin <= s->neg.imax ? 2 : 0);
	agg_w_varint(&w, s->count);
	agg_w_varint(&w, s->zero);
	agg_w_f64(&w, s->min);
	agg_w_f64(&w, s->max);
	agg_w_u8(&w, flags);
	if (flags & 1)
		store_serialize(&w, &s->pos);
	if (flags & 2)
		store_serialize(&w, &s->neg);
	return w.full ? 0 : w.len;
}

static int store_deserialize(struct agg_rcur *r, struct agg_dds_store *st, int collapse_low,
			     uint64_t *total, const struct agg_alloc *al, char *err, size_t errlen)
{
	int64_t imin = agg_r_svarint(r), imax = agg_r_svarint(r);
	if (r->bad || imin > imax || imax - imin >= AGG_DDS_MAX_BUCKETS ||
	    imin < INT32_MIN / 2 || imax > INT32_MAX / 2) {
		snprintf(err, errlen, "ddsketch: bad bucket range");
		return -1;
	}
	for (int64_t j = imin; j <= imax; j++) {
		uint64_t n = agg_r_varint(r);
		if (r->bad) {
			snprintf(err, errlen, "ddsketch: truncated buckets");
			return -1;
		}
		if (n == 0)
			continue;
		if (store_add(st, (int32_t)j, n, collapse_low, al) < 0) {
			snprintf(err, errlen, "ddsketch: out of memory");
			return -1;
		}
		*total += n;
	}
	return 0;
}

size_t agg_dds_deserialize(struct agg_dds *s, const uint8_t *buf, size_t len,
			   const struct agg_alloc *al, char *err, size_t errlen)
{
	struct agg_rcur r = { .p = buf, .len = len };
	uint64_t count = agg_r_varint(&r), zero = agg_r_varint(&r);
	double mn = agg_r_f64(&r), mx = agg_r_f64(&r);
	uint8_t flags = agg_r_u8(&r);
	if (r.bad || flags > 3) {
		snprintf(err, errlen, "ddsketch: truncated header");
		return 0;
	}
	uint64_t total = zero;
	if ((flags & 1) && store_deserialize(&r, &s->pos, 1, &total, al, err, errlen) < 0)
		return 0;
	if ((flags & 2) && store_deserialize(&r, &s->neg, 0, &total, al, err, errlen) < 0)
		return 0;
	if (total != count || (count && !(mn <= mx))) {
		snprintf(err, errlen, "ddsketch: counts do not add up");
		return 0;
	}
	s->count = count;
	s->zero = zero;
	s->min = mn;
	s->max = mx;
	return r.pos;
}
