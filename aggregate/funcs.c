/*
 * funcs.c — the aggregate functions (semantics in funcs.h): their table
 * (names, state sizes) and the fold of one record into a state, the merge
 * of two states and the result of one, for every family. Aggregate
 * processes; update runs once per record and state, so nothing here
 * allocates except through the window arena when a state grows. State
 * layouts: funcs_state.h; the percentile state: funcs_pct.c; serialisation:
 * funcs_serial.c.
 */
#include "aggregate/funcs.h"
#include "aggregate/funcs_pct.h"
#include "aggregate/funcs_state.h"
#include "aggregate/hll.h"
#include "common/hash.h"

#include <math.h>
#include <string.h>

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
	case AGG_FN_PERCENTILE: return sizeof(struct agg_pct);
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

int agg_fl_set(struct st_fl *s, const struct rf_value *v, int64_t t, const struct agg_alloc *al)
{
	/* A wrapper, so fl_set stays static and inline in agg_state_update. */
	return fl_set(s, v, t, al);
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
		return agg_pct_add(st, k == NUM_INT ? (double)i : f, al);
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
		return agg_pct_merge(a, b, al);
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
		if (agg_pct_quantile(st, q, &v) == 0) {
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
