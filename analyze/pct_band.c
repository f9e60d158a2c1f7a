/*
 * pct_band.c — value vs reference ± percent, shared by deviation and
 * average (see pct_band.h).  Pure; run inside the analyzer executables.
 */
#include "analyze/pct_band.h"

#include <math.h>
#include <stdio.h>

int pct_band_check(double percent, double critical_percent, unsigned clear_windows,
		   char *err, size_t errlen)
{
	if (!(percent >= 0) || !isfinite(percent)) {
		snprintf(err, errlen, "percent %g: must be >= 0, finite", percent);
		return -1;
	}
	if (!isnan(critical_percent) && (!(critical_percent >= percent) || !isfinite(critical_percent))) {
		snprintf(err, errlen, "critical_percent %g: must be >= percent (%g), finite",
			 critical_percent, percent);
		return -1;
	}
	if (clear_windows < 1) {
		snprintf(err, errlen, "clear_windows must be >= 1");
		return -1;
	}
	return 0;
}

/* ref * (1 ∓ f), the brief's formula as written, then ordered. */
static void band(double ref, double f, double *lo, double *hi)
{
	double a = ref * (1 - f), b = ref * (1 + f);
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

void pct_band_step(struct det_episode *ep, double ref, double value, double percent,
		   double critical_percent, unsigned clear_windows, struct det_verdict *out)
{
	double cpct = isnan(critical_percent) ? 2 * percent : critical_percent;
	int level = DET_OK, calm;

	out->expected = ref;
	if (ref == 0) {
		out->lower = out->upper = NAN;
		out->score = 0;
		calm = value == 0;
	} else {
		double clo, chi;
		band(ref, percent / 100, &out->lower, &out->upper);
		band(ref, cpct / 100, &clo, &chi);
		out->score = (value - ref) / fabs(ref);
		/* The decision uses the very doubles reported, so an alert's
		 * value is always outside the lower/upper it carries. */
		if (value < clo || value > chi)
			level = DET_CRITICAL;
		else if (value < out->lower || value > out->upper)
			level = DET_WARNING;
		calm = level == DET_OK;
	}
	det_episode_step(ep, level, calm, clear_windows, out);
}
