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

/* A store is written dense (every count of the occupied range) or sparse
 * (the non-zero counts with the gaps between them), whichever is shorter:
 * a key with a few values spread over decades of magnitude has hundreds of
 * empty buckets between them. Checkpoints write every sketch, so finding
 * the non-zero buckets skips zeros four at a time, in one pass. */
#define DDS_SPARSE_MAX 32

/* The non-zero bucket indices of st into idx; their count, or
 * DDS_SPARSE_MAX + 1 when there are more than DDS_SPARSE_MAX. */
static uint32_t store_nonzero(const struct agg_dds_store *st, int32_t *idx)
{
	const uint64_t *c = st->c;
	uint32_t n = 0;
	int32_t end = st->imax - st->lo + 1;
	for (int32_t j = st->imin - st->lo; j < end;) {
		if (end - j >= 4 && (c[j] | c[j + 1] | c[j + 2] | c[j + 3]) == 0) {
			j += 4;
			continue;
		}
		if (c[j]) {
			if (n == DDS_SPARSE_MAX)
				return n + 1;
			idx[n++] = j + st->lo;
		}
		j++;
	}
	return n;
}

/* nnz: from store_nonzero. Dense costs at least a byte per bucket, sparse
 * about two per non-zero bucket. */
static int store_sparse(const struct agg_dds_store *st, uint32_t nnz)
{
	return nnz <= DDS_SPARSE_MAX && 2 * (int64_t)nnz < (int64_t)st->imax - st->imin + 1;
}

static void store_serialize(struct agg_wcur *w, const struct agg_dds_store *st, int sparse,
			    const int32_t *idx, uint32_t nnz)
{
	agg_w_svarint(w, st->imin);
	agg_w_svarint(w, st->imax);
	if (!sparse) {
		for (int32_t j = st->imin; j <= st->imax; j++)
			agg_w_varint(w, st->c[j - st->lo]);
		return;
	}
	agg_w_varint(w, nnz);
	int32_t prev = st->imin - 1;
	for (uint32_t k = 0; k < nnz; k++) {
		agg_w_varint(w, (uint64_t)(idx[k] - prev - 1));
		agg_w_varint(w, st->c[idx[k] - st->lo]);
		prev = idx[k];
	}
}

/* flags: 1 positive store follows, 2 negative store follows, 4 the
 * positive one is sparse, 8 the negative one is sparse. */
size_t agg_dds_serialize(const struct agg_dds *s, uint8_t *buf, size_t cap)
{
	struct agg_wcur w = { .p = buf, .cap = cap };
	int32_t pidx[DDS_SPARSE_MAX], nidx[DDS_SPARSE_MAX];
	int pos = s->pos.imin <= s->pos.imax, neg = s->neg.imin <= s->neg.imax;
	uint32_t pnz = pos ? store_nonzero(&s->pos, pidx) : 0;
	uint32_t nnz = neg ? store_nonzero(&s->neg, nidx) : 0;
	int psp = pos && store_sparse(&s->pos, pnz), nsp = neg && store_sparse(&s->neg, nnz);
	uint8_t flags = (uint8_t)(pos | neg << 1 | psp << 2 | nsp << 3);
	agg_w_varint(&w, s->count);
	agg_w_varint(&w, s->zero);
	agg_w_f64(&w, s->min);
	agg_w_f64(&w, s->max);
	agg_w_u8(&w, flags);
	if (pos)
		store_serialize(&w, &s->pos, psp, pidx, pnz);
	if (neg)
		store_serialize(&w, &s->neg, nsp, nidx, nnz);
	return w.full ? 0 : w.len;
}

/* Reads a store into st (freshly initialised) with one allocation sized to
 * its range, instead of growing bucket by bucket. */
static int store_deserialize(struct agg_rcur *r, struct agg_dds_store *st, int sparse,
			     uint64_t *total, const struct agg_alloc *al, char *err, size_t errlen)
{
	int64_t imin = agg_r_svarint(r), imax = agg_r_svarint(r);
	if (r->bad || imin > imax || imax - imin >= AGG_DDS_MAX_BUCKETS ||
	    imin < INT32_MIN / 2 || imax > INT32_MAX / 2) {
		snprintf(err, errlen, "ddsketch: bad bucket range");
		return -1;
	}
	uint32_t span = (uint32_t)(imax - imin + 1), cap = span < 32 ? 32 : span;
	if (cap > AGG_DDS_MAX_BUCKETS)
		cap = AGG_DDS_MAX_BUCKETS;
	uint64_t nnz = sparse ? agg_r_varint(r) : span;
	if (r->bad || nnz > span) {
		snprintf(err, errlen, "ddsketch: bad bucket count");
		return -1;
	}
	uint64_t *c = al->alloc(al->ctx, (size_t)cap * sizeof *c);
	if (!c) {
		snprintf(err, errlen, "ddsketch: out of memory");
		return -1;
	}
	memset(c, 0, (size_t)cap * sizeof *c);
	int32_t lo = (int32_t)imin - (int32_t)(cap - span) / 2;
	int64_t j = imin - 1, first = INT64_MAX, last = INT64_MIN;
	for (uint64_t k = 0; k < nnz; k++) {
		j = sparse ? j + 1 + (int64_t)agg_r_varint(r) : j + 1;
		uint64_t n = agg_r_varint(r);
		if (r->bad || j > imax || (sparse && n == 0) || *total + n < *total) {
			snprintf(err, errlen, "ddsketch: truncated or bad buckets");
			return -1;
		}
		if (!n)
			continue;
		c[j - lo] = n;
		*total += n;
		first = first < j ? first : j;
		last = j;
	}
	/* An all-zero store stays empty (st as initialised). */
	if (first <= last) {
		st->c = c;
		st->lo = lo;
		st->cap = cap;
		st->imin = (int32_t)first;
		st->imax = (int32_t)last;
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
	if (r.bad || flags > 15 || ((flags & 4) && !(flags & 1)) || ((flags & 8) && !(flags & 2))) {
		snprintf(err, errlen, "ddsketch: truncated header");
		return 0;
	}
	uint64_t total = zero;
	if ((flags & 1) && store_deserialize(&r, &s->pos, flags & 4, &total, al, err, errlen) < 0)
		return 0;
	if ((flags & 2) && store_deserialize(&r, &s->neg, flags & 8, &total, al, err, errlen) < 0)
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
