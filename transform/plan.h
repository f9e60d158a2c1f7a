/*
 * plan.h — the transform stage as one compiled object: CSV layout, event
 * time, filter and output expressions (compiled once from the config), and
 * the per-process context that evaluates them (transform processes).
 *
 * Life cycle: the supervisor calls xf_plan_compile() to check the config
 * (`ringflow -t`) and may keep the plan across fork; each transform child
 * calls xf_ctx_create() after fork (GeoIP databases, cache, scratch and
 * counters are per process) and then xf_process_line() per record. Nothing
 * on that path allocates, locks or makes a syscall.
 */
#ifndef XF_PLAN_H
#define XF_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "common/config.h"
#include "common/value.h"
#include "transform/counters.h"
#include "transform/csv.h"

#define XF_TYPE_ANY RF_V_TYPE_COUNT /* static type of an output of mixed kinds */

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
 * XF_TYPE_ANY. An RF_V_INT output may carry a float after int64 overflow. */
enum rf_vtype xf_plan_out_type(const struct xf_plan *plan, int i);
/* Index of the output called name (case-insensitive), -1 if none. */
int xf_plan_find_out(const struct xf_plan *plan, const char *name);
/* XF_GEO_BIT mask of GeoIP answers the plan uses. */
unsigned xf_plan_geo_needs(const struct xf_plan *plan);

/* Per process: opens the GeoIP databases the plan uses. Caller frees with
 * xf_ctx_destroy(); the plan must outlive the context. */
struct xf_ctx *xf_ctx_create(const struct xf_plan *plan, char *err, size_t errlen);
void xf_ctx_destroy(struct xf_ctx *ctx);
/* Counters since creation; the pointer stays valid for the context's life. */
const struct xf_counters *xf_ctx_counters(const struct xf_ctx *ctx);
/* 0-based column of the last bad_int/bad_float/bad_ip/bad_timestamp
 * rejection (for rate-limited log lines), -1 otherwise. */
int xf_ctx_bad_column(const struct xf_ctx *ctx);

/*
 * Parses line (no '\n'), applies the filter and evaluates the outputs into
 * outs (xf_plan_nout values). *time_ns is the event time from time_field,
 * or now_ns without one. String values point into line, the GeoIP mapping
 * or the context's scratch: valid until the next call with this context.
 */
enum xf_result xf_process_line(const struct xf_plan *plan, struct xf_ctx *ctx,
		const char *line, size_t len, int64_t now_ns,
		struct rf_value *outs, int64_t *time_ns);

#endif
