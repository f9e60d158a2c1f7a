/*
 * zscore.h — robust z-score detector: median and MAD of the last N values of
 * one (series, field), one value per window.  Pure arithmetic on a caller-
 * owned fixed-size state (no allocation, no I/O); run by ringflow-zscore.
 */
#ifndef ANALYZE_ZSCORE_H
#define ANALYZE_ZSCORE_H

#include <stddef.h>

#include "analyze/detector.h"

#define ZS_MAX_WINDOW 4096

struct zs_params {
	unsigned window;       /* N: values kept (2..ZS_MAX_WINDOW) */
	unsigned min_history;  /* values needed before it speaks (1..window) */
	double warning;        /* |score| that opens a warning episode */
	double critical;       /* |score| that makes it critical (>= warning) */
	double clear_ratio;    /* episode ends when |score| < warning*clear_ratio ... */
	unsigned clear_windows;/* ... for this many consecutive values */
	int exclude;           /* 1: values inside an episode enter the history
	                          clipped to the warning band, so a burst does not
	                          become normal at once (a level shift still does,
	                          in about window/2 windows) */
};

/* The defaults (window 60, warning 6, critical 10; state 976 bytes). */
void zs_params_default(struct zs_params *p);
/* 0, or -1 with a reason in err. */
int zs_params_check(const struct zs_params *p, char *err, size_t errlen);
/* Bytes of state for p (fixed; 8-byte aligned memory expected). */
size_t zs_state_size(const struct zs_params *p);
void zs_init(void *state, const struct zs_params *p);
/* One window's value.  missing != 0, NaN or ±inf: treated as missing (the
 * history is untouched, the episode state kept, changed = 0). */
void zs_update(void *state, const struct zs_params *p, double value, int missing,
	       struct det_verdict *out);

#endif
