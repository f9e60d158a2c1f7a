/*
 * hll.c — the count_distinct state: inline hashes, the ordered hash set,
 * HyperLogLog registers and Ertl's improved estimator (see hll.h).
 * Aggregate processes; allocates only through the agg_alloc it is given.
 */
#include "aggregate/hll.h"

#include <math.h>
#include <string.h>

#define CD_LEVELS 4
static const uint8_t cd_bits[CD_LEVELS] = { 4, 6, 8, 11 };   /* log2 of the slots */
#define CD_TOP_SLOTS (1u << 11)

_Static_assert(sizeof(struct agg_cd) == 56, "agg_cd is inside key records");
_Static_assert(CD_TOP_SLOTS * sizeof(uint64_t) == AGG_HLL_BYTES,
	       "the last table becomes the registers");
_Static_assert(AGG_CD_SET_MAX == CD_TOP_SLOTS / 4 * 3, "the last table is 3/4 full at most");
_Static_assert(AGG_CD_EXACT < (1u << 4) / 4 * 3, "the first table holds the inline hashes");

/* Most hashes a table of level lvl takes: 3/4 of its slots. Keeps probe
 * runs short (an insert at 3/4 probes about 8 slots on average). */
static uint32_t cd_room(unsigned lvl)
{
	return (1u << cd_bits[lvl]) / 4 * 3;
}

/* The slot a probe for h starts at: its top bits, so that slot order
 * follows hash order. */
static inline uint32_t cd_home(uint64_t h, unsigned bits)
{
	return (uint32_t)(h >> (64 - bits));
}

/* Looks h (not 0) up in the table; 1 if there. A probe run is ascending,
 * so a larger hash ends the search as an empty slot does. */
static int cd_set_has(const uint64_t *t, unsigned bits, uint64_t h)
{
	uint32_t mask = (1u << bits) - 1;
	for (uint32_t i = cd_home(h, bits);; i = (i + 1) & mask) {
		if (t[i] == h)
			return 1;
		if (t[i] == 0 || t[i] > h)
			return 0;
	}
}

/* Adds h (not 0) to a table with a free slot; 1 if it was not there.
 * Amble and Knuth's insertion: h takes the first slot of its run that is
 * empty or holds a larger hash, and the larger hash moves on the same
 * way. Every run stays ascending, and the final layout does not depend on
 * the order of insertions. */
static int cd_set_put(uint64_t *t, unsigned bits, uint64_t h)
{
	uint32_t mask = (1u << bits) - 1, i = cd_home(h, bits);
	for (;; i = (i + 1) & mask) {
		uint64_t x = t[i];
		if (x == h)
			return 0;
		if (x == 0) {
			t[i] = h;
			return 1;
		}
		if (x > h) {
			t[i] = h;
			h = x;
			break;
		}
	}
	/* h is in; carry the displaced hashes along to the first free slot. */
	for (i = (i + 1) & mask;; i = (i + 1) & mask) {
		uint64_t x = t[i];
		if (x == 0) {
			t[i] = h;
			return 1;
		}
		if (x > h) {
			t[i] = h;
			h = x;
		}
	}
}

/* Calls fn(arg, h) for each hash of an inline or set state, ascending.
 * In a table the runs that wrap past the last slot put the largest hashes
 * at its start: a hash sits at or after its home slot unless it wrapped,
 * and runs are ascending, so the hashes that did not wrap, in slot order,
 * then those that did. */
static void cd_each(const struct agg_cd *s, void (*fn)(void *, uint64_t), void *arg)
{
	if (s->mode == AGG_CD_INLINE) {
		for (uint32_t j = 0; j < s->n; j++)
			fn(arg, s->u.h[j]);
		return;
	}
	unsigned bits = cd_bits[s->lvl];
	uint32_t slots = 1u << bits;
	const uint64_t *t = s->u.set;
	for (uint32_t i = 0; i < slots; i++)
		if (t[i] && cd_home(t[i], bits) <= i)
			fn(arg, t[i]);
	for (uint32_t i = 0; i < slots && t[i]; i++)
		if (cd_home(t[i], bits) > i)
			fn(arg, t[i]);
}

static void cd_put_hll(void *regs, uint64_t h)
{
	agg_hll_add(regs, h);
}

struct cd_copy {
	uint64_t *h;
	uint32_t n;
};

static void cd_put_copy(void *arg, uint64_t h)
{
	struct cd_copy *c = arg;
	c->h[c->n++] = h;
}

/* A zeroed table of level lvl; NULL when the allocator failed. */
static uint64_t *cd_table(unsigned lvl, const struct agg_alloc *al)
{
	size_t bytes = ((size_t)1 << cd_bits[lvl]) * sizeof(uint64_t);
	uint64_t *t = al->alloc(al->ctx, bytes);
	if (t)
		memset(t, 0, bytes);
	return t;
}

/* Turns an inline or set state into registers holding its hashes. The
 * last table's memory becomes the registers (through a copy of its
 * hashes on the stack, 12 KiB); otherwise they are allocated. -1 (s
 * unchanged) when the allocator failed. */
static int cd_promote(struct agg_cd *s, const struct agg_alloc *al)
{
	uint8_t *regs;
	if (s->mode == AGG_CD_SET && s->lvl == CD_LEVELS - 1) {
		uint64_t all[AGG_CD_SET_MAX];
		struct cd_copy c = { all, 0 };
		cd_each(s, cd_put_copy, &c);
		regs = (uint8_t *)s->u.set;
		memset(regs, 0, AGG_HLL_BYTES);
		for (uint32_t j = 0; j < c.n; j++)
			agg_hll_add(regs, all[j]);
	} else {
		if (!(regs = al->alloc(al->ctx, AGG_HLL_BYTES)))
			return -1;
		memset(regs, 0, AGG_HLL_BYTES);
		cd_each(s, cd_put_hll, regs);
	}
	s->u.regs = regs;
	s->mode = AGG_CD_HLL;
	s->lvl = 0;
	s->n = 0;
	return 0;
}

/* h (not 0) was not in the full inline array or table of s: moves the
 * hashes to the next table, or to registers past the last one, and adds h. */
static int cd_grow(struct agg_cd *s, uint64_t h, const struct agg_alloc *al)
{
	if (s->mode == AGG_CD_SET && s->lvl == CD_LEVELS - 1) {
		if (cd_promote(s, al) < 0)
			return -1;
		agg_hll_add(s->u.regs, h);
		return 0;
	}
	unsigned lvl = s->mode == AGG_CD_INLINE ? 0 : s->lvl + 1u, bits = cd_bits[lvl];
	uint64_t *t = cd_table(lvl, al);
	if (!t)
		return -1;
	if (s->mode == AGG_CD_INLINE) {
		for (uint32_t j = 0; j < s->n; j++)
			cd_set_put(t, bits, s->u.h[j]);
	} else {
		for (uint32_t i = 0, slots = 1u << cd_bits[s->lvl]; i < slots; i++)
			if (s->u.set[i])
				cd_set_put(t, bits, s->u.set[i]);
	}
	cd_set_put(t, bits, h);
	s->u.set = t;
	s->mode = AGG_CD_SET;
	s->lvl = (uint8_t)lvl;
	s->n++;
	return 0;
}

int agg_cd_add(struct agg_cd *s, uint64_t h, const struct agg_alloc *al)
{
	if (!h)
		h = 1;
	if (s->mode == AGG_CD_HLL) {
		agg_hll_add(s->u.regs, h);
		return 0;
	}
	if (s->mode == AGG_CD_SET) {
		unsigned bits = cd_bits[s->lvl];
		if (s->n < cd_room(s->lvl)) {
			s->n += (uint32_t)cd_set_put(s->u.set, bits, h);
			return 0;
		}
		return cd_set_has(s->u.set, bits, h) ? 0 : cd_grow(s, h, al);
	}
	/* Inline, ascending: insertion sort of at most AGG_CD_EXACT. */
	uint32_t j = s->n;
	while (j > 0 && s->u.h[j - 1] > h)
		j--;
	if (j > 0 && s->u.h[j - 1] == h)
		return 0;
	if (s->n == AGG_CD_EXACT)
		return cd_grow(s, h, al);
	memmove(s->u.h + j + 1, s->u.h + j, (s->n - j) * sizeof *s->u.h);
	s->u.h[j] = h;
	s->n++;
	return 0;
}

int agg_cd_merge(struct agg_cd *a, const struct agg_cd *b, const struct agg_alloc *al)
{
	if (b->mode == AGG_CD_HLL) {
		if (a->mode != AGG_CD_HLL && cd_promote(a, al) < 0)
			return -1;
		agg_hll_merge(a->u.regs, b->u.regs);
		return 0;
	}
	if (b->mode == AGG_CD_INLINE) {
		for (uint32_t j = 0; j < b->n; j++)
			if (agg_cd_add(a, b->u.h[j], al) < 0)
				return -1;
		return 0;
	}
	const uint64_t *t = b->u.set;
	for (uint32_t i = 0, slots = 1u << cd_bits[b->lvl]; i < slots; i++)
		if (t[i] && agg_cd_add(a, t[i], al) < 0)
			return -1;
	return 0;
}

int64_t agg_cd_count(const struct agg_cd *s)
{
	if (s->mode == AGG_CD_HLL)
		return (int64_t)llround(agg_hll_estimate(s->u.regs));
	return (int64_t)s->n;
}

static void cd_put_wire(void *w, uint64_t h)
{
	agg_w_u64(w, h);
}

void agg_cd_serialize(struct agg_wcur *w, const struct agg_cd *s)
{
	agg_w_u8(w, s->mode);
	if (s->mode == AGG_CD_HLL) {
		agg_w_bytes(w, s->u.regs, AGG_HLL_BYTES);
		return;
	}
	if (s->mode == AGG_CD_INLINE)
		agg_w_u8(w, (uint8_t)s->n);
	else
		agg_w_varint(w, s->n);
	if (!w->full)
		cd_each(s, cd_put_wire, w);
}

int agg_cd_deserialize(struct agg_rcur *r, unsigned ver, struct agg_cd *s, const struct agg_alloc *al)
{
	memset(s, 0, sizeof *s);
	uint8_t mode = agg_r_u8(r);
	if (r->bad)
		return -1;
	if (mode == AGG_CD_HLL) {
		const uint8_t *regs = agg_r_bytes(r, AGG_HLL_BYTES);
		if (!regs || !agg_hll_valid(regs))
			goto bad;
		if (!(s->u.regs = al->alloc(al->ctx, AGG_HLL_BYTES)))
			return -2;
		memcpy(s->u.regs, regs, AGG_HLL_BYTES);
		s->mode = AGG_CD_HLL;
		return 0;
	}
	if (mode == AGG_CD_INLINE) {
		uint8_t n = agg_r_u8(r);
		if (r->bad || n > AGG_CD_EXACT)
			goto bad;
		uint64_t h[AGG_CD_EXACT];
		for (uint32_t j = 0; j < n; j++) {
			h[j] = agg_r_u64(r);
			/* Version 3 writes them ascending, without 0 or repeats. */
			if (r->bad || (ver >= 3 && (h[j] == 0 || (j && h[j] <= h[j - 1]))))
				goto bad;
		}
		/* Earlier versions kept insertion order and could hold 0. */
		for (uint32_t j = 0; j < n; j++)
			agg_cd_add(s, h[j], al);
		return 0;
	}
	uint64_t n = agg_r_varint(r);
	if (r->bad || mode != AGG_CD_SET || ver < 3 || n <= AGG_CD_EXACT || n > AGG_CD_SET_MAX ||
	    r->len - r->pos < n * 8)
		goto bad;
	unsigned lvl = 0;
	while (cd_room(lvl) < n)
		lvl++;
	uint64_t *t = cd_table(lvl, al), prev = 0;
	if (!t)
		return -2;
	for (uint32_t j = 0; j < n; j++) {
		uint64_t h = agg_r_u64(r);
		if (h <= prev)   /* ascending, so neither 0 nor a repeat */
			goto bad;
		cd_set_put(t, cd_bits[lvl], h);
		prev = h;
	}
	s->u.set = t;
	s->mode = AGG_CD_SET;
	s->lvl = (uint8_t)lvl;
	s->n = (uint32_t)n;
	return 0;
bad:
	r->bad = 1;
	return -1;
}

void agg_hll_add(uint8_t *regs, uint64_t h)
{
	/* Top P bits pick the register; the remaining Q bits give the rank
	 * (position of the first 1 bit, counting from 1; Q + 1 when all are 0). */
	uint32_t idx = (uint32_t)(h >> AGG_HLL_Q);
	uint64_t rest = h << AGG_HLL_P;
	uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(AGG_HLL_Q + 1);
	if (rank > regs[idx])
		regs[idx] = rank;
}

void agg_hll_merge(uint8_t *a, const uint8_t *b)
{
	for (uint32_t i = 0; i < AGG_HLL_M; i++)
		if (b[i] > a[i])
			a[i] = b[i];
}

int agg_hll_valid(const uint8_t *regs)
{
	for (uint32_t i = 0; i < AGG_HLL_M; i++)
		if (regs[i] > AGG_HLL_Q + 1)
			return 0;
	return 1;
}

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1); diverges at x = 1 (all
 * registers zero, handled by the caller). */
static double hll_sigma(double x)
{
	double y = 1.0, z = x, zp;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3 */
static double hll_tau(double x)
{
	if (x == 0.0 || x == 1.0)
		return 0.0;
	double y = 1.0, z = 1.0 - x, zp;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != zp);
	return z / 3.0;
}

double agg_hll_estimate(const uint8_t *regs)
{
	uint32_t hist[AGG_HLL_Q + 2] = { 0 };
	for (uint32_t i = 0; i < AGG_HLL_M; i++)
		hist[regs[i] <= AGG_HLL_Q + 1 ? regs[i] : AGG_HLL_Q + 1]++;
	const double m = AGG_HLL_M;
	if (hist[0] == AGG_HLL_M)
		return 0.0;
	double z = m * hll_tau(1.0 - hist[AGG_HLL_Q + 1] / m);
	for (int k = AGG_HLL_Q; k >= 1; k--)
		z = 0.5 * (z + hist[k]);
	z += m * hll_sigma(hist[0] / m);
	const double alpha_inf = 0.5 / log(2.0);
	return alpha_inf * m * m / z;
}
