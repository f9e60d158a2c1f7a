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
/* Bytes a sparse bucket takes: its count and its index. */
#define SPARSE_BYTES 12
#define SPARSE_FIRST 4

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

static int store_empty(const struct agg_dds_store *st)
{
	return st->imin > st->imax;
}

/* The bucket indices of a sparse store (after its cap counts). */
static inline int32_t *sp_idx(const struct agg_dds_store *st)
{
	return (int32_t *)(st->c + st->cap);
}

static int32_t clamp32(int32_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Buckets of a dense array for an occupied span: room on both sides, and at
 * least twice the array it replaces (old), so regrowth stays rare. */
static uint32_t dense_cap(uint32_t span, uint32_t old)
{
	uint32_t cap = old * 2;
	if (cap < span + span / 2)
		cap = span + span / 2;
	if (cap < 32)
		cap = 32;
	if (cap > AGG_DDS_MAX_BUCKETS)
		cap = AGG_DDS_MAX_BUCKETS;
	return cap;
}

/* Whether n occupied buckets over span indices are better kept sparse:
 * fewer bytes than a fresh dense array, and few enough that an insertion
 * (binary search, then a move of the tail) stays cheap. */
static int sparse_fits(uint32_t n, uint32_t span)
{
	return n <= AGG_DDS_SPARSE_MAX &&
	       (uint64_t)n * SPARSE_BYTES <= (uint64_t)dense_cap(span, 0) * sizeof(uint64_t);
}

/* Capacity for n sparse buckets: even, so the index array ends on 8 bytes. */
static uint32_t sparse_round(uint32_t n)
{
	n = n < SPARSE_FIRST ? SPARSE_FIRST : n;
	return (n + 1) & ~1u;
}

/* Re-lays st as a dense array covering [nmin, nmax], folding what lies
 * outside into the ends; imin/imax are left to the caller. Nothing changes
 * when the allocator fails. */
static int store_to_dense(struct agg_dds_store *st, int64_t nmin, int64_t nmax,
			  const struct agg_alloc *al)
{
	uint32_t span = (uint32_t)(nmax - nmin + 1);
	uint32_t cap = dense_cap(span, st->dense ? st->cap : 0);
	uint64_t *c = al->alloc(al->ctx, (size_t)cap * sizeof *c);
	if (!c)
		return -1;
	int32_t lo = (int32_t)(nmin - (cap - span) / 2);
	memset(c, 0, (size_t)cap * sizeof *c);
	if (!store_empty(st)) {
		if (st->dense) {
			for (int32_t j = st->imin; j <= st->imax; j++)
				c[clamp32(j, (int32_t)nmin, (int32_t)nmax) - lo] += st->c[j - st->lo];
		} else {
			const int32_t *ix = sp_idx(st);
			for (uint32_t k = 0; k < st->nnz; k++)
				c[clamp32(ix[k], (int32_t)nmin, (int32_t)nmax) - lo] += st->c[k];
		}
	}
	st->c = c;
	st->lo = lo;
	st->cap = cap;
	st->nnz = 0;
	st->dense = 1;
	return 0;
}

static int dense_add(struct agg_dds_store *st, int64_t nmin, int64_t nmax, int32_t idx, uint64_t n,
		     const struct agg_alloc *al)
{
	if (!st->c || nmin < st->lo || nmax >= (int64_t)st->lo + st->cap) {
		if (store_to_dense(st, nmin, nmax, al) < 0)
			return -1;
	} else if (!store_empty(st)) {
		/* Fits in place; fold whatever fell outside the kept range. */
		for (int32_t j = st->imin; j <= st->imax; j++) {
			int32_t t = clamp32(j, (int32_t)nmin, (int32_t)nmax);
			if (t != j) {
				st->c[t - st->lo] += st->c[j - st->lo];
				st->c[j - st->lo] = 0;
			}
		}
	}
	st->c[idx - st->lo] += n;
	return 0;
}

/* First position in a sparse store whose index is >= idx. */
static uint32_t sparse_find(const struct agg_dds_store *st, int32_t idx)
{
	const int32_t *ix = sp_idx(st);
	uint32_t lo = 0, hi = st->nnz;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (ix[mid] < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Moves a sparse store into an array of cap buckets (>= nnz). */
static int sparse_realloc(struct agg_dds_store *st, uint32_t cap, const struct agg_alloc *al)
{
	uint64_t *c = al->alloc(al->ctx, (size_t)cap * SPARSE_BYTES);
	if (!c)
		return -1;
	if (st->nnz) {
		memcpy(c, st->c, st->nnz * sizeof *c);
		memcpy(c + cap, sp_idx(st), st->nnz * sizeof(int32_t));
	}
	st->c = c;
	st->cap = cap;
	return 0;
}

/* Drops the m buckets of a sparse store from position at on. */
static void sparse_cut(struct agg_dds_store *st, uint32_t at, uint32_t m)
{
	int32_t *ix = sp_idx(st);
	memmove(st->c + at, st->c + at + m, (st->nnz - at - m) * sizeof *st->c);
	memmove(ix + at, ix + at + m, (st->nnz - at - m) * sizeof *ix);
	st->nnz -= m;
}

static int sparse_add(struct agg_dds_store *st, int64_t nmin, int64_t nmax, int32_t idx, uint64_t n,
		      const struct agg_alloc *al)
{
	int fold = !store_empty(st) && (st->imin < nmin || st->imax > nmax);
	uint32_t p = sparse_find(st, idx);
	if (!fold && p < st->nnz && sp_idx(st)[p] == idx) {
		st->c[p] += n;
		return 0;
	}
	/* Room first, so that a failed allocation changes nothing. */
	if (st->nnz == st->cap) {
		uint32_t cap = st->cap ? 2 * st->cap : SPARSE_FIRST;
		if (cap > AGG_DDS_SPARSE_MAX)
			cap = AGG_DDS_SPARSE_MAX;
		if (st->nnz == AGG_DDS_SPARSE_MAX || !sparse_fits(cap, (uint32_t)(nmax - nmin + 1))) {
			if (store_to_dense(st, nmin, nmax, al) < 0)
				return -1;
			st->c[idx - st->lo] += n;
			return 0;
		}
		if (sparse_realloc(st, cap, al) < 0)
			return -1;
	}
	int32_t *ix = sp_idx(st);
	if (fold) {
		/* The range outgrew AGG_DDS_MAX_BUCKETS: fold the buckets past
		 * an end into the end bucket (one side only: the other end is
		 * where the range grew). */
		uint32_t k = 0;
		uint64_t sum = 0;
		while (k < st->nnz && ix[k] < nmin)
			sum += st->c[k++];
		if (k) {
			if (k < st->nnz && ix[k] == nmin) {
				st->c[k] += sum;
				sparse_cut(st, 0, k);
			} else {
				st->c[k - 1] = sum;
				ix[k - 1] = (int32_t)nmin;
				sparse_cut(st, 0, k - 1);
			}
		}
		k = st->nnz;
		sum = 0;
		while (k > 0 && ix[k - 1] > nmax)
			sum += st->c[--k];
		if (k < st->nnz) {
			if (k > 0 && ix[k - 1] == nmax) {
				st->c[k - 1] += sum;
				st->nnz = k;
			} else {
				st->c[k] = sum;
				ix[k] = (int32_t)nmax;
				st->nnz = k + 1;
			}
		}
		p = sparse_find(st, idx);
		if (p < st->nnz && ix[p] == idx) {
			st->c[p] += n;
			return 0;
		}
	}
	memmove(st->c + p + 1, st->c + p, (st->nnz - p) * sizeof *st->c);
	memmove(ix + p + 1, ix + p, (st->nnz - p) * sizeof *ix);
	st->c[p] = n;
	ix[p] = idx;
	st->nnz++;
	return 0;
}

/* Adds n to bucket idx. collapse_low: when the occupied range would exceed
 * AGG_DDS_MAX_BUCKETS, fold the lowest indices (else the highest). Nothing
 * changes when the allocator fails. */
static int store_add(struct agg_dds_store *st, int32_t idx, uint64_t n, int collapse_low,
		     const struct agg_alloc *al)
{
	int empty = store_empty(st);
	int64_t nmin = empty ? idx : (idx < st->imin ? idx : st->imin);
	int64_t nmax = empty ? idx : (idx > st->imax ? idx : st->imax);
	if (nmax - nmin + 1 > AGG_DDS_MAX_BUCKETS) {
		if (collapse_low)
			nmin = nmax - AGG_DDS_MAX_BUCKETS + 1;
		else
			nmax = nmin + AGG_DDS_MAX_BUCKETS - 1;
	}
	idx = clamp32(idx, (int32_t)nmin, (int32_t)nmax);
	int rc = st->dense ? dense_add(st, nmin, nmax, idx, n, al)
			   : sparse_add(st, nmin, nmax, idx, n, al);
	if (rc < 0)
		return -1;
	st->imin = (int32_t)nmin;
	st->imax = (int32_t)nmax;
	return 0;
}

/* Sizes an empty store for n values over bucket indices lo .. hi in one
 * allocation (sparse or dense as sparse_fits says). */
static int store_reserve(struct agg_dds_store *st, int32_t lo, int32_t hi, uint32_t n,
			 const struct agg_alloc *al)
{
	uint32_t span = (uint32_t)((int64_t)hi - lo + 1);
	if (!store_empty(st) || st->c || n == 0 || span > AGG_DDS_MAX_BUCKETS)
		return 0;
	if (n > span)
		n = span;
	if (!sparse_fits(sparse_round(n), span))
		return store_to_dense(st, lo, hi, al);
	return sparse_realloc(st, sparse_round(n), al);
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

int agg_dds_add_many(struct agg_dds *s, const double *x, size_t n, const struct agg_alloc *al)
{
	int32_t plo = INT32_MAX, phi = INT32_MIN, nlo = INT32_MAX, nhi = INT32_MIN;
	uint32_t np = 0, nn = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || x[i] == 0)
			continue;
		int32_t j = dds_index(fabs(x[i]));
		if (x[i] > 0) {
			plo = j < plo ? j : plo;
			phi = j > phi ? j : phi;
			np++;
		} else {
			nlo = j < nlo ? j : nlo;
			nhi = j > nhi ? j : nhi;
			nn++;
		}
	}
	if (store_reserve(&s->pos, plo, phi, np, al) < 0 || store_reserve(&s->neg, nlo, nhi, nn, al) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (agg_dds_add(s, x[i], al) < 0)
			return -1;
	return 0;
}

/* a = a ∪ b for one store; an empty a gets a copy of b's array. */
static int store_merge(struct agg_dds_store *a, const struct agg_dds_store *b, int collapse_low,
		       const struct agg_alloc *al)
{
	if (store_empty(b))
		return 0;
	if (store_empty(a)) {
		size_t bytes = (size_t)b->cap * (b->dense ? sizeof(uint64_t) : SPARSE_BYTES);
		uint64_t *c = al->alloc(al->ctx, bytes);
		if (!c)
			return -1;
		memcpy(c, b->c, bytes);
		*a = *b;
		a->c = c;
		return 0;
	}
	if (b->dense) {
		for (int32_t j = b->imin; j <= b->imax; j++) {
			uint64_t n = b->c[j - b->lo];
			if (n && store_add(a, j, n, collapse_low, al) < 0)
				return -1;
		}
		return 0;
	}
	const int32_t *ix = sp_idx(b);
	for (uint32_t k = 0; k < b->nnz; k++)
		if (store_add(a, ix[k], b->c[k], collapse_low, al) < 0)
			return -1;
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

/* Walks a store's buckets, ascending or (desc) descending, adding counts
 * to *cum; returns 1 with *at = the bucket where *cum first exceeds rank. */
static int store_rank(const struct agg_dds_store *st, int desc, uint64_t *cum, double rank, int32_t *at)
{
	if (store_empty(st))
		return 0;
	if (st->dense) {
		int32_t n = st->imax - st->imin + 1;
		for (int32_t k = 0; k < n; k++) {
			int32_t j = desc ? st->imax - k : st->imin + k;
			*cum += st->c[j - st->lo];
			if ((double)*cum > rank) {
				*at = j;
				return 1;
			}
		}
		return 0;
	}
	const int32_t *ix = sp_idx(st);
	for (uint32_t k = 0; k < st->nnz; k++) {
		uint32_t p = desc ? st->nnz - 1 - k : k;
		*cum += st->c[p];
		if ((double)*cum > rank) {
			*at = ix[p];
			return 1;
		}
	}
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
	int32_t j;
	/* Ascending order: most negative first (highest |x| index), zero, then
	 * positive values from the lowest index. */
	if (store_rank(&s->neg, 1, &cum, rank, &j))
		v = -dds_value(j);
	else if ((double)(cum += s->zero) > rank)
		v = 0.0;
	else if (store_rank(&s->pos, 0, &cum, rank, &j))
		v = dds_value(j);
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
 * empty buckets between them. The choice depends on the buckets only, not
 * on the store's form in memory. Checkpoints write every sketch, so finding
 * the non-zero buckets of a dense store skips zeros four at a time, in one
 * pass. */
#define WIRE_SPARSE_MAX 32

/* The non-zero bucket positions of st into pos (array offsets for a dense
 * store, bucket numbers for a sparse one); their count, or
 * WIRE_SPARSE_MAX + 1 when there are more than WIRE_SPARSE_MAX. */
static uint32_t store_nonzero(const struct agg_dds_store *st, int32_t *pos)
{
	if (!st->dense) {
		if (st->nnz > WIRE_SPARSE_MAX)
			return WIRE_SPARSE_MAX + 1;
		for (uint32_t k = 0; k < st->nnz; k++)
			pos[k] = (int32_t)k;
		return st->nnz;
	}
	const uint64_t *c = st->c;
	uint32_t n = 0;
	int32_t end = st->imax - st->lo + 1;
	for (int32_t j = st->imin - st->lo; j < end;) {
		if (end - j >= 4 && (c[j] | c[j + 1] | c[j + 2] | c[j + 3]) == 0) {
			j += 4;
			continue;
		}
		if (c[j]) {
			if (n == WIRE_SPARSE_MAX)
				return n + 1;
			pos[n++] = j;
		}
		j++;
	}
	return n;
}

/* nnz: from store_nonzero. Dense costs at least a byte per bucket, sparse
 * about two per non-zero bucket. */
static int store_sparse(const struct agg_dds_store *st, uint32_t nnz)
{
	return nnz <= WIRE_SPARSE_MAX && 2 * (int64_t)nnz < (int64_t)st->imax - st->imin + 1;
}

static void store_serialize(struct agg_wcur *w, const struct agg_dds_store *st, int sparse,
			    const int32_t *pos, uint32_t nnz)
{
	const int32_t *ix = st->dense ? NULL : sp_idx(st);
	agg_w_svarint(w, st->imin);
	agg_w_svarint(w, st->imax);
	if (!sparse) {
		if (st->dense) {
			for (int32_t j = st->imin; j <= st->imax; j++)
				agg_w_varint(w, st->c[j - st->lo]);
			return;
		}
		uint32_t k = 0;
		for (int32_t j = st->imin; j <= st->imax; j++)
			agg_w_varint(w, k < st->nnz && ix[k] == j ? st->c[k++] : 0);
		return;
	}
	agg_w_varint(w, nnz);
	int32_t prev = st->imin - 1;
	for (uint32_t k = 0; k < nnz; k++) {
		int32_t j = st->dense ? pos[k] + st->lo : ix[pos[k]];
		agg_w_varint(w, (uint64_t)(j - prev - 1));
		agg_w_varint(w, st->c[pos[k]]);
		prev = j;
	}
}

/* flags: 1 positive store follows, 2 negative store follows, 4 the
 * positive one is sparse, 8 the negative one is sparse. */
size_t agg_dds_serialize(const struct agg_dds *s, uint8_t *buf, size_t cap)
{
	struct agg_wcur w = { .p = buf, .cap = cap };
	int32_t ppos[WIRE_SPARSE_MAX], npos[WIRE_SPARSE_MAX];
	int pos = !store_empty(&s->pos), neg = !store_empty(&s->neg);
	uint32_t pnz = pos ? store_nonzero(&s->pos, ppos) : 0;
	uint32_t nnz = neg ? store_nonzero(&s->neg, npos) : 0;
	int psp = pos && store_sparse(&s->pos, pnz), nsp = neg && store_sparse(&s->neg, nnz);
	uint8_t flags = (uint8_t)(pos | neg << 1 | psp << 2 | nsp << 3);
	agg_w_varint(&w, s->count);
	agg_w_varint(&w, s->zero);
	agg_w_f64(&w, s->min);
	agg_w_f64(&w, s->max);
	agg_w_u8(&w, flags);
	if (pos)
		store_serialize(&w, &s->pos, psp, ppos, pnz);
	if (neg)
		store_serialize(&w, &s->neg, nsp, npos, nnz);
	return w.full ? 0 : w.len;
}

/* One pass over a serialised store's buckets: checks them and, when st is
 * not NULL, puts the non-zero ones into st (laid out by the caller). */
static int store_read(struct agg_rcur *r, int sparse, struct agg_dds_store *st, uint32_t *nz,
		      int64_t *first, int64_t *last, uint64_t *sum, char *err, size_t errlen)
{
	int64_t imin = agg_r_svarint(r), imax = agg_r_svarint(r);
	if (r->bad || imin > imax || imax - imin >= AGG_DDS_MAX_BUCKETS ||
	    imin < INT32_MIN / 2 || imax > INT32_MAX / 2) {
		snprintf(err, errlen, "ddsketch: bad bucket range");
		return -1;
	}
	uint64_t span = (uint64_t)(imax - imin + 1);
	uint64_t n = sparse ? agg_r_varint(r) : span;
	if (r->bad || n > span) {
		snprintf(err, errlen, "ddsketch: bad bucket count");
		return -1;
	}
	int64_t j = imin - 1;
	*nz = 0;
	*first = INT64_MAX;
	*last = INT64_MIN;
	*sum = 0;
	for (uint64_t k = 0; k < n; k++) {
		j = sparse ? j + 1 + (int64_t)agg_r_varint(r) : j + 1;
		uint64_t cnt = agg_r_varint(r);
		if (r->bad || j > imax || (sparse && cnt == 0) || *sum + cnt < *sum) {
			snprintf(err, errlen, "ddsketch: truncated or bad buckets");
			return -1;
		}
		if (!cnt)
			continue;
		if (st && st->dense) {
			st->c[j - st->lo] = cnt;
		} else if (st) {
			st->c[*nz] = cnt;
			sp_idx(st)[*nz] = (int32_t)j;
		}
		*sum += cnt;
		(*nz)++;
		*first = *first < j ? *first : j;
		*last = j;
	}
	return 0;
}

/* Reads a store into st (freshly initialised) with one allocation sized to
 * its buckets: a first pass checks and counts them, the second fills. */
static int store_deserialize(struct agg_rcur *r, struct agg_dds_store *st, int sparse,
			     uint64_t *total, const struct agg_alloc *al, char *err, size_t errlen)
{
	struct agg_rcur probe = *r;
	uint32_t nz;
	int64_t first, last;
	uint64_t sum;
	if (store_read(&probe, sparse, NULL, &nz, &first, &last, &sum, err, errlen) < 0)
		return -1;
	if (*total + sum < *total) {
		snprintf(err, errlen, "ddsketch: counts overflow");
		return -1;
	}
	if (nz == 0) {
		/* An all-zero store stays empty (st as initialised). */
		*r = probe;
		return 0;
	}
	uint32_t span = (uint32_t)(last - first + 1);
	int rc;
	if (sparse_fits(sparse_round(nz), span)) {
		rc = sparse_realloc(st, sparse_round(nz), al);
	} else {
		/* Exactly the range: a restored sketch seldom grows much. */
		uint32_t cap = span < 32 ? 32 : span;
		st->c = al->alloc(al->ctx, (size_t)cap * sizeof *st->c);
		rc = st->c ? 0 : -1;
		if (st->c) {
			memset(st->c, 0, (size_t)cap * sizeof *st->c);
			st->cap = cap;
			st->lo = (int32_t)first - (int32_t)(cap - span) / 2;
			st->dense = 1;
		}
	}
	if (rc < 0) {
		store_init(st);
		snprintf(err, errlen, "ddsketch: out of memory");
		return -1;
	}
	if (store_read(r, sparse, st, &nz, &first, &last, &sum, err, errlen) < 0)
		return -1;
	if (!st->dense)
		st->nnz = nz;
	st->imin = (int32_t)first;
	st->imax = (int32_t)last;
	*total += sum;
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
