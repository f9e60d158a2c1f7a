/*
 * funcs_state.h — the layouts of the fixed-size aggregate states of
 * funcs.h, and what the fold (funcs.c) and the serialisation
 * (funcs_serial.c) share about them. Aggregate processes. Not an API:
 * included by funcs*.c only. The count_distinct state is struct agg_cd
 * (hll.h), the percentile state struct agg_pct (funcs_pct.h).
 */
#ifndef AGG_FUNCS_STATE_H
#define AGG_FUNCS_STATE_H

#include <stdint.h>

#include "aggregate/arena.h"
#include "aggregate/hll.h"
#include "common/value.h"

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

static inline const char *fl_str(const struct st_fl *s)
{
	return s->has_ext ? s->u.ext.p : s->u.inl;
}

/* Stores v (not missing) at time t in a first/last state; -1 when the
 * allocator failed. In funcs.c, for agg_state_deserialize. */
int agg_fl_set(struct st_fl *s, const struct rf_value *v, int64_t t, const struct agg_alloc *al);

#endif
