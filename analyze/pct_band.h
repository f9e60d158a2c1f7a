/*
 * pct_band.h — the verdict shared by the prototype-style detectors
 * (deviation, average): a value against a reference ± a percentage of it.
 * Pure arithmetic; run inside ringflow-deviation and ringflow-average.
 */
#ifndef ANALYZE_PCT_BAND_H
#define ANALYZE_PCT_BAND_H

#include <stddef.h>

#include "analyze/detector.h"

/* 0, or -1 with a reason in err: 0 <= percent, finite; critical_percent NaN
 * (meaning 2 * percent) or finite and >= percent; clear_windows >= 1. */
int pct_band_check(double percent, double critical_percent, unsigned clear_windows,
		   char *err, size_t errlen);

/* Judge value (finite) against ref (finite):
 *   band     = ref * (1 ∓ percent/100), ordered so lower <= upper (a
 *              negative ref flips the two ends);
 *   critical = the same with critical_percent (NaN: 2 * percent);
 * edges are inside (value == upper is ok), so a value strictly outside the
 * band is a warning and strictly outside the critical band is critical.
 * Sets expected = ref, lower/upper = the band, score = the relative change
 * (value - ref) / |ref| (so |score| <= percent/100 inside the band), and the
 * episode (calm = inside the band).
 * A zero ref gives no band (a percentage of 0 is 0, so every change would be
 * "infinitely" far, and sparse counters would alert on every non-zero
 * window; the prototype skipped these too): level ok, lower/upper NaN,
 * score 0, and the value counts as calm only when it is 0 as well. */
void pct_band_step(struct det_episode *ep, double ref, double value, double percent,
		   double critical_percent, unsigned clear_windows, struct det_verdict *out);

#endif
