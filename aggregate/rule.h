/*
 * rule.h — an [aggregate.NAME] section compiled against the transform's
 * output fields: which fields form the key, which fields the aggregates
 * read, where each aggregate's state sits in a key record, and a fingerprint
 * of the definition (checkpoints refuse state from a different definition).
 *
 * Compiled once at start (supervisor for `ringflow -t`, then inherited by
 * the processes: aggregates read the whole rule, transforms only its row
 * shape, through rf_pipeline.row_shapes). Read-only afterwards.
 */
#ifndef AGG_RULE_H
#define AGG_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate/aggregate.h"
#include "aggregate/funcs.h"
#include "common/config.h"
#include "common/value.h"
#include "pipeline/row.h"

/* Longest window or lateness accepted (10 years). */
#define AGG_WINDOW_MAX_NS (INT64_C(3650) * 86400 * 1000000000)

/* "Any type" for an output field whose type is only known per record. */

struct agg_spec {                 /* one output field of the point */
	char name[CONF_NAME_MAX];
	enum agg_fn fn;
	int arg;                      /* index into shape.arg_fields, -1 for count() */
	int state;                    /* index into states[] */
	double q;                     /* quantile 0..1 (AGG_FN_PERCENTILE) */
	enum rf_vtype out_type;       /* static output type; RF_V_ANY when it
	                               * depends on the values (ANY input) */
};

struct agg_state_desc {           /* one state in the key record */
	enum agg_fn fn;
	int arg;                      /* index into shape.arg_fields, -1 for count() */
	uint32_t offset;              /* bytes from the record start, 8-aligned */
};

struct agg_rule {
	char name[CONF_NAME_MAX];
	char measurement[CONF_NAME_MAX * 2];
	int64_t window_ns, every_ns, lateness_ns;
	uint64_t max_keys;            /* 0 = unlimited */
	int top_n;                    /* 0 = keep every key */
	int top_agg;                  /* index into aggs, -1 without top */

	/* Key fields and argument fields, as the rows carry them (row.h);
	 * one_owner = agg_rule_is_top. */
	struct rf_row_shape shape;
	char key_names[CONF_MAX_KEYS][CONF_NAME_MAX]; /* tag keys of the points, */
	enum rf_vtype key_types[CONF_MAX_KEYS];       /* per shape.key_fields */

	struct agg_spec aggs[CONF_MAX_AGGS];
	int naggs;
	/* Percentiles of one field share one sketch, so states <= aggs. */
	struct agg_state_desc states[CONF_MAX_AGGS];
	int nstates;
	uint32_t state_size;          /* sum of the states, multiple of 8 */

	uint64_t fingerprint;
};

/* True for a rule with `top = N by FIELD`. */
static inline int agg_rule_is_top(const struct agg_rule *r)
{
	return r->top_n > 0;
}

/* Compiles one rule (what agg_rules_compile does per section). */
int agg_rule_compile(const struct conf_rule *cr, const char *const *out_names,
		     const enum rf_vtype *out_types, int nout, struct agg_rule *r,
		     char *err, size_t errlen);

#endif
