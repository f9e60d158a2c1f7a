/*
 * aggregate.h — the aggregate stage as the supervisor sees it: declare the
 * [aggregate.*] section, compile its rules before fork (and for `ringflow
 * -t`) and run an aggregate process. rule.h has what a compiled rule holds.
 */
#ifndef AGG_AGGREGATE_H
#define AGG_AGGREGATE_H

#include <stddef.h>

#include "common/config.h"
#include "common/value.h"
#include "pipeline/proc.h"

struct agg_rule;
struct rf_row_shape;

/* [aggregate.NAME]: the rule options, aggregates and window bounds
 * (rule_config.c), for the supervisor's section list. */
extern const struct conf_section agg_rule_section;

/*
 * Compiles conf->rules[] against the transform's output fields (names and
 * static types, RF_V_ANY for "any"). On success *rules is an array of
 * *nrules rules (free with agg_rules_free). On error returns -1 and err says
 * "[aggregate.NAME] KEY: problem".
 */
int agg_rules_compile(const struct rf_config *conf, const char *const *out_names,
		      const enum rf_vtype *out_types, int nout, struct agg_rule **rules,
		      int *nrules, char *err, size_t errlen);
void agg_rules_free(struct agg_rule *rules);

/* The row shape (pipeline/row.h) of each of the nrules rules: an array of
 * pointers into rules, indexed by rule, for the transform's encoder and the
 * aggregate's decoder. NULL on ENOMEM; the caller frees the array with
 * free(), rules stay the caller's. */
const struct rf_row_shape **agg_rules_row_shapes(const struct agg_rule *rules, int nrules);

/* Returns the process exit status. */
int agg_run(const struct rf_proc *p);

#endif
