/*
 * counters.h — the transform's per-process counters of things that did not
 * stop a record but are worth watching (division by zero, GeoIP misses...).
 *
 * One instance lives in each transform process's struct xf_ctx; the
 * expression evaluator and the GeoIP cache increment it, the process main
 * loop reads it and publishes it as Prometheus counters. Plain integers:
 * only the owning process ever writes them.
 */
#ifndef XF_COUNTERS_H
#define XF_COUNTERS_H

#include <stdint.h>

struct xf_counters {
	uint64_t div_by_zero;      /* x / 0, x % 0, div(x, 0): result missing */
	uint64_t geoip_unknown;    /* address or answer path not in the database */
	uint64_t geoip_error;      /* libmaxminddb failed on (corrupt) data */
	uint64_t scratch_overflow; /* lower/upper result did not fit the scratch */
};

#endif
