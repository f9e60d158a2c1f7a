/*
 * transform.h — the transform stage as the supervisor sees it: compile the
 * plan before fork (and for `ringflow -t`), open what it needs once to
 * prove it opens, run a transform process, name its rejection reasons
 * (status and metrics), and declare its config sections. The rest of transform/ is the stage's own;
 * plan.h has the per-record API.
 */
#ifndef XF_TRANSFORM_H
#define XF_TRANSFORM_H

#include <stddef.h>

#include "common/config.h"
#include "common/value.h"
#include "pipeline/proc.h"


/* Outcome of one line. Values after XF_FILTERED are rejections (counted by
 * reason); they follow enum xf_csv_err in the same order. */
enum xf_result {
	XF_OK = 0,
	XF_FILTERED,
	XF_EMPTY_LINE,
	XF_WRONG_COLUMN_COUNT,
	XF_BAD_INT,
	XF_BAD_FLOAT,
	XF_BAD_IP,
	XF_BAD_TIMESTAMP,
	XF_LINE_TOO_LONG,
	XF_BINARY_JUNK,
	XF_RESULT_COUNT
};

/* snake_case names, used as Prometheus label values ("bad_ip"). */
const char *xf_result_name(enum xf_result r);

struct xf_plan;
struct xf_ctx;

/* [geoip] and [transform]: their keys (transform_config.c), for the
 * supervisor's section list. */
extern const struct conf_section xf_geoip_section;
extern const struct conf_section xf_transform_section;

/*
 * Compiles the [input] layout, [transform] filter and outputs, and checks
 * that every configured GeoIP database opens. Errors name where:
 * "[transform] bytes: unknown field 'x' at column 3",
 * "[transform] filter: ...", "[geoip] country: cannot open '...': ...".
 * Caller frees with xf_plan_free(). The plan does not point into conf.
 */
struct xf_plan *xf_plan_compile(const struct rf_config *conf, char *err, size_t errlen);
void xf_plan_free(struct xf_plan *plan);

int xf_plan_nout(const struct xf_plan *plan);
const char *xf_plan_out_name(const struct xf_plan *plan, int i);
/* Static type: RF_V_INT, RF_V_FLOAT, RF_V_STR, RF_V_IP, RF_V_BOOL or
 * RF_V_ANY. An RF_V_INT output may carry a float after int64 overflow. */
enum rf_vtype xf_plan_out_type(const struct xf_plan *plan, int i);

/* Per process: opens the GeoIP databases the plan uses. Caller frees with
 * xf_ctx_destroy(); the plan must outlive the context. */
struct xf_ctx *xf_ctx_create(const struct xf_plan *plan, char *err, size_t errlen);
void xf_ctx_destroy(struct xf_ctx *ctx);

/* Returns the process exit status. */
int xf_run(const struct rf_proc *p);

#endif
