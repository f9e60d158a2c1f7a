/*
 * funcs.c — per-key aggregate states (see funcs.h for the semantics).
 * Aggregate processes; called once per record and state, so nothing here
 * allocates except through the window arena when a sketch grows.
 */
#include "aggregate/funcs.h"
#include "aggregate/ddsketch.h"
#include "aggregate/hll.h"
#include "aggregate/serial.h"
#include "common/hash.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { NUM_NONE = 0, NUM_INT, NUM_FLOAT };

struct st_num {          /* sum, mult, min, max */
	union {
		int64_t i;
		double f;
	} v;
	uint8_t kind;        /* NUM_* */
	uint8_t pad[7];
};

struct st_count {
	uint64_t n;
};

struct st_avg {
	double sum;
	uint64_t n;
};

struct st_stddev {
	uint64_t n;
	double mean, m2;
};

struct st_pct {
	uint32_t n;          /* values held inline, ascending, while not promoted */
	uint32_t promoted;
	union {
		double v[AGG_PCT_INLINE];
		struct agg_dds *dds;   /* from the arena, once promoted */
	} u;
};

#define FL_INLINE 16
struct st_fl {           /* first, last */
	int64_t t;
	uint8_t type;        /* enum rf_vtype; RF_V_MISSING = no value yet */
	uint8_t ip_is_v4;
	uint8_t has_ext;     /* u.ext holds an arena buffer (strings > FL_INLINE) */
	uint8_t pad;
	uint32_t len;
	union {
		int64_t i;
		double f;
		uint8_t ip[16];
		char inl[FL_INLINE];
		struct {
			char *p;
			uint32_t cap;
		} ext;
	} u;
};

_Static_assert(sizeof(struct st_num) == 16, "st_num size");
_Static_assert(sizeof(struct st_fl) == 32, "st_fl size");
_Static_assert(sizeof(struct agg_cd) % 8 == 0, "agg_cd size");
_Static_assert(sizeof(struct st_pct) == 8 + 8 * AGG_PCT_INLINE, "st_pct size");
_Static_assert(AGG_PCT_INLINE <= 255, "inline count is serialised as a byte");

static const char *const fn_names[AGG_FN_COUNT_] = {
	[AGG_FN_SUM] = "sum", [AGG_FN_MULT] = "mult", [AGG_FN_MIN] = "min",
	[AGG_FN_MAX] = "max", [AGG_FN_COUNT] = "count", [AGG_FN_AVG] = "avg",
	[AGG_FN_COUNT_DISTINCT] = "count_distinct", [AGG_FN_STDDEV] = "stddev",
	[AGG_FN_PERCENTILE] = "percentile", [AGG_FN_FIRST] = "first", [AGG_FN_LAST] = "last",
};

const char *agg_fn_name(enum agg_fn fn)
{
	return (unsigned)fn < AGG_FN_COUNT_ ? fn_names[fn] : "?";
}

size_t agg_state_size(enum agg_fn fn)
{
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX:
		return sizeof(struct st_num);
	case AGG_FN_COUNT: return sizeof(struct st_count);
	case AGG_FN_AVG: return sizeof(struct st_avg);
	case AGG_FN_COUNT_DISTINCT: return sizeof(struct agg_cd);
	case AGG_FN_STDDEV: return sizeof(struct st_stddev);
	case AGG_FN_PERCENTILE: return sizeof(struct st_pct);
	case AGG_FN_FIRST: case AGG_FN_LAST: return sizeof(struct st_fl);
	default: return 0;
	}
}

void agg_state_init(enum agg_fn fn, void *st)
{
	memset(st, 0, agg_state_size(fn));
}

uint64_t agg_value_hash(const struct rf_value *v)
{
	switch (v->type) {
	case RF_V_INT:
	case RF_V_BOOL:
		return rf_hash64(&v->u.i, 8, v->type);
	case RF_V_FLOAT: {
		double f = v->u.f == 0.0 ? 0.0 : v->u.f;
		return rf_hash64(&f, 8, RF_V_FLOAT);
	}
	case RF_V_STR:
		return rf_hash64(v->u.s, v->len, RF_V_STR);
	case RF_V_IP:
		return rf_hash64(v->u.ip, 16, RF_V_IP);
	default:
		return 0;
	}
}

/* Numeric view of a value: NUM_INT (*i), NUM_FLOAT (*f) or NUM_NONE when
 * missing, not a number, or NaN. */
static int num_of(const struct rf_value *v, int64_t *i, double *f)
{
	if (!v)
		return NUM_NONE;
	switch (v->type) {
	case RF_V_INT:
	case RF_V_BOOL:
		*i = v->u.i;
		return NUM_INT;
	case RF_V_FLOAT:
		if (isnan(v->u.f))
			return NUM_NONE;
		*f = v->u.f;
		return NUM_FLOAT;
	default:
		return NUM_NONE;
	}
}

static double num_as_f(const struct st_num *s)
{
	return s->kind == NUM_INT ? (double)s->v.i : s->v.f;
}

/* Folds one number (kind k, value i or f) into a sum/mult/min/max state. */
static void num_fold(enum agg_fn fn, struct st_num *s, int k, int64_t i, double f)
{
	if (k == NUM_NONE)
		return;
	if (s->kind == NUM_NONE) {
		s->kind = (uint8_t)k;
		if (k == NUM_INT)
			s->v.i = i;
		else
			s->v.f = f;
		return;
	}
	if (s->kind == NUM_INT && k == NUM_INT) {
		int64_t r;
		switch (fn) {
		case AGG_FN_SUM:
			if (!__builtin_add_overflow(s->v.i, i, &r)) {
				s->v.i = r;
				return;
			}
			break;
		case AGG_FN_MULT:
			if (!__builtin_mul_overflow(s->v.i, i, &r)) {
				s->v.i = r;
				return;
			}
			break;
		case AGG_FN_MIN:
			if (i < s->v.i)
				s->v.i = i;
			return;
		default:
			if (i > s->v.i)
				s->v.i = i;
			return;
		}
	}
	/* Float from here on: a float input, or int64 overflow. */
	double a = num_as_f(s), b = k == NUM_INT ? (double)i : f;
	s->kind = NUM_FLOAT;
	switch (fn) {
	case AGG_FN_SUM: s->v.f = a + b; break;
	case AGG_FN_MULT: s->v.f = a * b; break;
	case AGG_FN_MIN: s->v.f = b < a ? b : a; break;
	default: s->v.f = b > a ? b : a; break;
	}
}

/* Inserts x into the sorted inline values; the caller checked for room. */
static void pct_insert(struct st_pct *s, double x)
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
static int pct_promote(struct st_pct *s, const double *x, uint32_t n, const struct agg_dds *b,
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

static int pct_add(struct st_pct *s, double x, const struct agg_alloc *al)
{
	if (!isfinite(x))
		return 0;
	if (x == 0)
		x = 0.0;         /* -0.0: one zero, as in the sketch */
	if (s->promoted)
		return agg_dds_add(s->u.dds, x, al);
	if (s->n < AGG_PCT_INLINE) {
		pct_insert(s, x);
		return 0;
	}
	return pct_promote(s, &x, 1, NULL, al);
}

static int pct_merge(struct st_pct *a, const struct st_pct *b, const struct agg_alloc *al)
{
	if (b->promoted) {
		if (a->promoted)
			return agg_dds_merge(a->u.dds, b->u.dds, al);
		return pct_promote(a, NULL, 0, b->u.dds, al);
	}
	if (a->promoted)
		return agg_dds_add_many(a->u.dds, b->u.v, b->n, al);
	if (a->n + b->n > AGG_PCT_INLINE)
		return pct_promote(a, b->u.v, b->n, NULL, al);
	for (uint32_t j = 0; j < b->n; j++)
		pct_insert(a, b->u.v[j]);
	return 0;
}

/* The value of rank floor(q (n - 1)), as agg_dds_quantile; -1 when empty
 * or q is out of range. */
static int pct_quantile(const struct st_pct *s, double q, double *out)
{
	if (s->promoted)
		return agg_dds_quantile(s->u.dds, q, out);
	if (s->n == 0 || !(q >= 0.0 && q <= 1.0))
		return -1;
	*out = s->u.v[(uint32_t)(q * (double)(s->n - 1))];
	return 0;
}

/* Integers below 2^53 in magnitude, where doubles are exact. */
#define PCT_INT_LIMIT 9007199254740992.0

static int pct_all_ints(const struct st_pct *s)
{
	for (uint32_t j = 0; j < s->n; j++)
		if (!(fabs(s->u.v[j]) < PCT_INT_LIMIT) || s->u.v[j] != floor(s->u.v[j]))
			return 0;
	return 1;
}

enum { PCT_WIRE_F64 = 0, PCT_WIRE_INT, PCT_WIRE_SKETCH };

static void pct_serialize(struct agg_wcur *w, const struct st_pct *s)
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
static int pct_read_sketch(struct agg_rcur *r, struct st_pct *s, const struct agg_alloc *al,
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
static int pct_read_inline(struct agg_rcur *r, struct st_pct *s, int ints)
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

static void stddev_add(struct st_stddev *s, double x)
{
	s->n++;
	double d = x - s->mean;
	s->mean += d / (double)s->n;
	s->m2 += d * (x - s->mean);
}

/* Stores v (not missing) at time t in a first/last state. */
static int fl_set(struct st_fl *s, const struct rf_value *v, int64_t t, const struct agg_alloc *al)
{
	if (v->type == RF_V_STR) {
		uint32_t len = v->len;
		if (s->has_ext && len <= s->u.ext.cap) {
			memcpy(s->u.ext.p, v->u.s, len);
		} else if (!s->has_ext && len <= FL_INLINE) {
			memcpy(s->u.inl, v->u.s, len);
		} else {
			uint32_t cap = s->has_ext ? s->u.ext.cap * 2 : 2 * FL_INLINE;
			if (cap < len)
				cap = len;
			char *p = al->alloc(al->ctx, cap);
			if (!p)
				return -1;
			memcpy(p, v->u.s, len);
			s->u.ext.p = p;
			s->u.ext.cap = cap;
			s->has_ext = 1;
		}
		s->len = len;
	} else {
		s->has_ext = 0;  /* an ANY field changed type: the buffer is forgotten */
		s->len = 0;
		if (v->type == RF_V_IP)
			memcpy(s->u.ip, v->u.ip, 16);
		else if (v->type == RF_V_FLOAT)
			s->u.f = v->u.f;
		else
			s->u.i = v->u.i;
	}
	s->type = v->type;
	s->ip_is_v4 = v->ip_is_v4;
	s->t = t;
	return 0;
}

static const char *fl_str(const struct st_fl *s)
{
	return s->has_ext ? s->u.ext.p : s->u.inl;
}

/* The value a first/last state holds, as an rf_value. */
static void fl_value(const struct st_fl *s, struct rf_value *out)
{
	memset(out, 0, sizeof *out);
	out->type = s->type;
	out->ip_is_v4 = s->ip_is_v4;
	switch (s->type) {
	case RF_V_STR:
		out->u.s = fl_str(s);
		out->len = s->len;
		break;
	case RF_V_IP:
		memcpy(out->u.ip, s->u.ip, 16);
		break;
	case RF_V_FLOAT:
		out->u.f = s->u.f;
		break;
	default:
		out->u.i = s->u.i;
		break;
	}
}

static int fl_update(int is_first, struct st_fl *s, const struct rf_value *v, int64_t t,
		     const struct agg_alloc *al)
{
	if (!v || v->type == RF_V_MISSING || v->type >= RF_V_TYPE_COUNT)
		return 0;
	if (s->type != RF_V_MISSING && (is_first ? t >= s->t : t < s->t))
		return 0;
	return fl_set(s, v, t, al);
}

int agg_state_update(enum agg_fn fn, void *st, const struct rf_value *v, int64_t time_ns,
		     const struct agg_alloc *al)
{
	int64_t i = 0;
	double f = 0;
	int k;
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX:
		k = num_of(v, &i, &f);   /* before reading i and f */
		num_fold(fn, st, k, i, f);
		return 0;
	case AGG_FN_COUNT:
		if (!v || v->type != RF_V_MISSING)
			((struct st_count *)st)->n++;
		return 0;
	case AGG_FN_AVG:
		k = num_of(v, &i, &f);
		if (k != NUM_NONE) {
			struct st_avg *s = st;
			s->sum += k == NUM_INT ? (double)i : f;
			s->n++;
		}
		return 0;
	case AGG_FN_COUNT_DISTINCT:
		if (!v || v->type == RF_V_MISSING || v->type >= RF_V_TYPE_COUNT)
			return 0;
		return agg_cd_add(st, agg_value_hash(v), al);
	case AGG_FN_STDDEV:
		k = num_of(v, &i, &f);
		if (k != NUM_NONE)
			stddev_add(st, k == NUM_INT ? (double)i : f);
		return 0;
	case AGG_FN_PERCENTILE:
		k = num_of(v, &i, &f);
		if (k == NUM_NONE)
			return 0;
		return pct_add(st, k == NUM_INT ? (double)i : f, al);
	case AGG_FN_FIRST:
	case AGG_FN_LAST:
		return fl_update(fn == AGG_FN_FIRST, st, v, time_ns, al);
	default:
		return 0;
	}
}

int agg_state_merge(enum agg_fn fn, void *a, const void *b, const struct agg_alloc *al)
{
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX: {
		const struct st_num *sb = b;
		num_fold(fn, a, sb->kind, sb->v.i, sb->v.f);
		return 0;
	}
	case AGG_FN_COUNT:
		((struct st_count *)a)->n += ((const struct st_count *)b)->n;
		return 0;
	case AGG_FN_AVG: {
		struct st_avg *sa = a;
		const struct st_avg *sb = b;
		sa->sum += sb->sum;
		sa->n += sb->n;
		return 0;
	}
	case AGG_FN_COUNT_DISTINCT:
		return agg_cd_merge(a, b, al);
	case AGG_FN_STDDEV: {
		/* Chan et al.'s pairwise combination. */
		struct st_stddev *sa = a;
		const struct st_stddev *sb = b;
		if (sb->n == 0)
			return 0;
		if (sa->n == 0) {
			*sa = *sb;
			return 0;
		}
		double n = (double)(sa->n + sb->n);
		double d = sb->mean - sa->mean;
		sa->mean += d * (double)sb->n / n;
		sa->m2 += sb->m2 + d * d * (double)sa->n * (double)sb->n / n;
		sa->n += sb->n;
		return 0;
	}
	case AGG_FN_PERCENTILE:
		return pct_merge(a, b, al);
	case AGG_FN_FIRST:
	case AGG_FN_LAST: {
		const struct st_fl *sb = b;
		struct rf_value v;
		if (sb->type == RF_V_MISSING)
			return 0;
		fl_value(sb, &v);
		return fl_update(fn == AGG_FN_FIRST, a, &v, sb->t, al);
	}
	default:
		return 0;
	}
}

void agg_state_result(enum agg_fn fn, const void *st, double q, struct rf_value *out)
{
	memset(out, 0, sizeof *out);
	out->type = RF_V_MISSING;
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX: {
		const struct st_num *s = st;
		if (s->kind == NUM_INT) {
			out->type = RF_V_INT;
			out->u.i = s->v.i;
		} else if (s->kind == NUM_FLOAT) {
			out->type = RF_V_FLOAT;
			out->u.f = s->v.f;
		}
		return;
	}
	case AGG_FN_COUNT:
		out->type = RF_V_INT;
		out->u.i = (int64_t)((const struct st_count *)st)->n;
		return;
	case AGG_FN_AVG: {
		const struct st_avg *s = st;
		if (s->n) {
			out->type = RF_V_FLOAT;
			out->u.f = s->sum / (double)s->n;
		}
		return;
	}
	case AGG_FN_COUNT_DISTINCT:
		out->type = RF_V_INT;
		out->u.i = agg_cd_count(st);
		return;
	case AGG_FN_STDDEV: {
		const struct st_stddev *s = st;
		if (s->n >= 2) {
			out->type = RF_V_FLOAT;
			out->u.f = sqrt(s->m2 / (double)(s->n - 1));
		}
		return;
	}
	case AGG_FN_PERCENTILE: {
		double v;
		if (pct_quantile(st, q, &v) == 0) {
			out->type = RF_V_FLOAT;
			out->u.f = v;
		}
		return;
	}
	case AGG_FN_FIRST:
	case AGG_FN_LAST:
		fl_value(st, out);
		return;
	default:
		return;
	}
}

size_t agg_state_serialize(enum agg_fn fn, const void *st, void *buf, size_t cap)
{
	struct agg_wcur w = { .p = buf, .cap = cap };
	agg_w_u8(&w, AGG_STATE_VERSION);
	agg_w_u8(&w, (uint8_t)fn);
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX: {
		const struct st_num *s = st;
		agg_w_u8(&w, s->kind);
		if (s->kind == NUM_INT)
			agg_w_svarint(&w, s->v.i);
		else if (s->kind == NUM_FLOAT)
			agg_w_f64(&w, s->v.f);
		break;
	}
	case AGG_FN_COUNT:
		agg_w_varint(&w, ((const struct st_count *)st)->n);
		break;
	case AGG_FN_AVG: {
		const struct st_avg *s = st;
		agg_w_f64(&w, s->sum);
		agg_w_varint(&w, s->n);
		break;
	}
	case AGG_FN_COUNT_DISTINCT:
		agg_cd_serialize(&w, st);
		break;
	case AGG_FN_STDDEV: {
		const struct st_stddev *s = st;
		agg_w_varint(&w, s->n);
		agg_w_f64(&w, s->mean);
		agg_w_f64(&w, s->m2);
		break;
	}
	case AGG_FN_PERCENTILE:
		pct_serialize(&w, st);
		break;
	case AGG_FN_FIRST:
	case AGG_FN_LAST: {
		const struct st_fl *s = st;
		agg_w_u8(&w, s->type);
		if (s->type == RF_V_MISSING)
			break;
		agg_w_svarint(&w, s->t);
		switch (s->type) {
		case RF_V_STR:
			agg_w_varint(&w, s->len);
			agg_w_bytes(&w, fl_str(s), s->len);
			break;
		case RF_V_IP:
			agg_w_u8(&w, s->ip_is_v4);
			agg_w_bytes(&w, s->u.ip, 16);
			break;
		case RF_V_FLOAT:
			agg_w_f64(&w, s->u.f);
			break;
		default:
			agg_w_svarint(&w, s->u.i);
			break;
		}
		break;
	}
	default:
		return 0;
	}
	return w.full ? 0 : w.len;
}

int agg_state_deserialize(enum agg_fn fn, void *st, const void *buf, size_t len, size_t *used,
			  const struct agg_alloc *al, char *err, size_t errlen)
{
	struct agg_rcur r = { .p = buf, .len = len };
	uint8_t ver = agg_r_u8(&r), f = agg_r_u8(&r);
	if (r.bad) {
		snprintf(err, errlen, "state: truncated header");
		return -1;
	}
	if (ver < 1 || ver > AGG_STATE_VERSION) {
		snprintf(err, errlen, "state: version %u, expected 1 to %u", ver, AGG_STATE_VERSION);
		return -1;
	}
	if (f != (uint8_t)fn) {
		snprintf(err, errlen, "state: holds %s, expected %s", agg_fn_name((enum agg_fn)f),
			 agg_fn_name(fn));
		return -1;
	}
	agg_state_init(fn, st);
	switch (fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX: {
		struct st_num *s = st;
		uint8_t kind = agg_r_u8(&r);
		if (kind == NUM_INT)
			s->v.i = agg_r_svarint(&r);
		else if (kind == NUM_FLOAT)
			s->v.f = agg_r_f64(&r);
		else if (kind != NUM_NONE)
			goto bad;
		s->kind = kind;
		break;
	}
	case AGG_FN_COUNT:
		((struct st_count *)st)->n = agg_r_varint(&r);
		break;
	case AGG_FN_AVG: {
		struct st_avg *s = st;
		s->sum = agg_r_f64(&r);
		s->n = agg_r_varint(&r);
		break;
	}
	case AGG_FN_COUNT_DISTINCT: {
		int rc = agg_cd_deserialize(&r, ver, st, al);
		if (rc == -2) {
			snprintf(err, errlen, "state: out of memory");
			return -1;
		}
		if (rc < 0)
			goto bad;
		break;
	}
	case AGG_FN_STDDEV: {
		struct st_stddev *s = st;
		s->n = agg_r_varint(&r);
		s->mean = agg_r_f64(&r);
		s->m2 = agg_r_f64(&r);
		break;
	}
	case AGG_FN_PERCENTILE: {
		/* Version 1 held the bare sketch. */
		uint8_t mode = ver == 1 ? PCT_WIRE_SKETCH : agg_r_u8(&r);
		if (r.bad)
			goto bad;
		if (mode == PCT_WIRE_SKETCH) {
			if (pct_read_sketch(&r, st, al, err, errlen) < 0)
				return -1;
		} else if (mode > PCT_WIRE_SKETCH || pct_read_inline(&r, st, mode == PCT_WIRE_INT) < 0) {
			goto bad;
		}
		break;
	}
	case AGG_FN_FIRST:
	case AGG_FN_LAST: {
		struct st_fl *s = st;
		struct rf_value v = { .type = agg_r_u8(&r) };
		if (v.type == RF_V_MISSING)
			break;
		int64_t t = agg_r_svarint(&r);
		switch (v.type) {
		case RF_V_STR: {
			uint64_t n = agg_r_varint(&r);
			if (n > UINT32_MAX)
				goto bad;
			v.u.s = (const char *)agg_r_bytes(&r, (size_t)n);
			v.len = (uint32_t)n;
			break;
		}
		case RF_V_IP: {
			v.ip_is_v4 = agg_r_u8(&r);
			const uint8_t *ip = agg_r_bytes(&r, 16);
			if (ip)
				memcpy(v.u.ip, ip, 16);
			break;
		}
		case RF_V_FLOAT:
			v.u.f = agg_r_f64(&r);
			break;
		case RF_V_INT:
		case RF_V_BOOL:
			v.u.i = agg_r_svarint(&r);
			break;
		default:
			goto bad;
		}
		if (r.bad)
			goto bad;
		if (fl_set(s, &v, t, al) < 0) {
			snprintf(err, errlen, "state: out of memory");
			return -1;
		}
		break;
	}
	default:
		goto bad;
	}
	if (r.bad)
		goto bad;
	*used = r.pos;
	return 0;
bad:
	snprintf(err, errlen, "state: malformed %s state", agg_fn_name(fn));
	return -1;
}
