/*
 * deviation.h — the prototype's SimpleAnalysis as a detector: a value
 * against the value N values earlier ± percent.  Pure arithmetic on a
 * caller-owned fixed-size state (no allocation, no I/O); run by
 * ringflow-deviation, one state per (series, field).
 */
#ifndef ANALYZE_DEVIATION_H
#define ANALYZE_DEVIATION_H

#include <stddef.h>

#include "analyze/detector.h"

#define DEV_MAX_WINDOWS 120

struct dev_params {
	unsigned windows;        /* N (1..DEV_MAX_WINDOWS): compare with the value
	                            N values earlier (missing ones are skipped) */
	double percent;          /* allowed change, percent of the reference (>= 0) */
	double critical_percent; /* critical beyond this band (>= percent);
	                            NaN = 2 * percent, whatever percent is set to */
	unsigned clear_windows;  /* episode ends after this many values inside
	                            the band (>= 1) */
};

/* The defaults (windows 1, percent 100, critical 2 * percent, clear_windows
 * 3; state 24 bytes). */
void dev_params_default(struct dev_params *p);
/* 0, or -1 with a reason in err. */
int dev_params_check(const struct dev_params *p, char *err, size_t errlen);
/* Bytes of state for p (fixed; 8-byte aligned memory expected). */
size_t dev_state_size(const struct dev_params *p);
void dev_init(void *state, const struct dev_params *p);
/* One window's value.  Silent (expected NaN, changed 0) until N values have
 * been seen; then judged by pct_band_step (see pct_band.h: edges inside,
 * expected = the reference, score = relative change, zero reference not
 * judged).  missing != 0, NaN or ±inf: treated as missing (the history is
 * untouched, the episode state kept, changed = 0). */
void dev_update(void *state, const struct dev_params *p, double value, int missing,
		struct det_verdict *out);

#endif
