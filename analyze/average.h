/*
 * average.h — the prototype's AverageAnalysis as a detector: a value
 * against the mean of the last N values ± percent.  Pure arithmetic on a
 * caller-owned fixed-size state (no allocation, no I/O); run by
 * ringflow-average, one state per (series, field).
 */
#ifndef ANALYZE_AVERAGE_H
#define ANALYZE_AVERAGE_H

#include <stddef.h>

#include "analyze/detector.h"

#define AVG_MAX_WINDOWS 120

struct avg_params {
	unsigned windows;        /* N (1..AVG_MAX_WINDOWS): the mean of the last N
	                            values (missing ones are skipped), not
	                            counting the value judged */
	double percent;          /* allowed distance, percent of the mean (>= 0) */
	double critical_percent; /* critical beyond this band (>= percent);
	                            NaN = 2 * percent, whatever percent is set to */
	unsigned clear_windows;  /* episode ends after this many values inside
	                            the band (>= 1) */
};

/* The defaults (windows 10, percent 100, critical 2 * percent, clear_windows
 * 3; state 112 bytes, 992 at windows 120). */
void avg_params_default(struct avg_params *p);
/* 0, or -1 with a reason in err. */
int avg_params_check(const struct avg_params *p, char *err, size_t errlen);
/* Bytes of state for p (fixed; 8-byte aligned memory expected). */
size_t avg_state_size(const struct avg_params *p);
void avg_init(void *state, const struct avg_params *p);
/* One window's value.  Silent (expected NaN, changed 0) until N values have
 * been seen; then judged against their mean by pct_band_step (see
 * pct_band.h: edges inside, expected = the mean, score = relative change,
 * zero mean not judged), and the value joins the history.  missing != 0,
 * NaN or ±inf: treated as missing (the history is untouched, the episode
 * state kept, changed = 0). */
void avg_update(void *state, const struct avg_params *p, double value, int missing,
		struct det_verdict *out);

#endif
