/*
 * threshold.h — static-limit detector: a value at or beyond a configured
 * high/low limit is a warning or critical, with hysteresis on recovery.  Pure
 * arithmetic on a caller-owned fixed-size state (no allocation, no I/O); run
 * by ringflow-threshold, one state per (series, field).
 */
#ifndef ANALYZE_THRESHOLD_H
#define ANALYZE_THRESHOLD_H

#include <stddef.h>

#include "analyze/detector.h"

/* Limits are inclusive: value >= a high limit or value <= a low limit is
 * beyond it.  NaN = unset.  With all four unset, th_update behaves as if
 * critical_low = 0 (value <= 0 is critical: a dead link or a stopped
 * counter), so ringflow-threshold with no args is useful; setting any limit
 * replaces that implicit one. */
struct th_params {
	double warning_high;
	double critical_high;  /* >= warning_high when both are set */
	double warning_low;
	double critical_low;   /* <= warning_low when both are set */
	double hysteresis;     /* an episode clears when the value is inside every
	                          set limit L by hysteresis*|L| (0 <= h < 1) ... */
	unsigned clear_windows;/* ... for this many consecutive values (>= 1) */
};

/* The defaults: no limits (so the implicit critical_low = 0), hysteresis
 * 0.05, clear_windows 1.  State 8 bytes. */
void th_params_default(struct th_params *p);
/* 0, or -1 with a reason in err: limits finite or NaN, ordered
 * critical_low <= warning_low < warning_high <= critical_high (among those
 * set), and the hysteresis leaves some value that counts as calm. */
int th_params_check(const struct th_params *p, char *err, size_t errlen);
/* Bytes of state for p (fixed; 8-byte aligned memory expected). */
size_t th_state_size(const struct th_params *p);
void th_init(void *state, const struct th_params *p);
/* One window's value.  Sets out: expected NaN (a threshold expects
 * nothing), lower/upper = warning_low/warning_high (NaN if unset), score =
 * how far past the most severe limit crossed, as a fraction of that limit's
 * magnitude ((value - L) / |L|: > 0 above a high limit, < 0 below a low one;
 * value - L unscaled when L = 0; 0 when inside every limit).  missing != 0,
 * NaN or ±inf: treated as missing (episode state kept, changed = 0). */
void th_update(void *state, const struct th_params *p, double value, int missing,
	       struct det_verdict *out);

#endif
