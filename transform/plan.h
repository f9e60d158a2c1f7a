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
#include "transform/transform.h"

/* Index of the output called name (case-insensitive), -1 if none. */
int xf_plan_find_out(const struct xf_plan *plan, const char *name);
/* XF_GEO_BIT mask of GeoIP answers the plan uses. */
unsigned xf_plan_geo_needs(const struct xf_plan *plan);

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
