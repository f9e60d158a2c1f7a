/*
 * detector.h — the verdict every built-in detector (zscore, forecast) gives
 * for one value of one (series, field) per window.  Pure data: no I/O.  Used
 * by the analyzer executables (ringflow-zscore, ringflow-forecast).
 */
#ifndef ANALYZE_DETECTOR_H
#define ANALYZE_DETECTOR_H

enum det_severity { DET_OK = 0, DET_INFO = 1, DET_WARNING = 2, DET_CRITICAL = 3, DET_SEVERITY_COUNT };

struct det_verdict {
	int severity;     /* enum det_severity of the current episode (0 outside one) */
	int changed;      /* 1 = alert now: episode start, escalation or recovery */
	double value;     /* the value seen (NaN when missing) */
	double expected;  /* what the detector expected (NaN while it is silent) */
	double lower;     /* band of normal values at warning level */
	double upper;
	double score;     /* signed deviation in robust standard deviations */
};

/* Episode state shared by the detectors: one alert at the start of an
 * anomalous episode, one per escalation, one `ok` at recovery, and hysteresis
 * (recovery only after `clear_windows` calm values) so it does not flap. */
struct det_episode {
	int severity;
	unsigned calm;
};

/* level: severity this value alone deserves (0, 2 or 3); calm: the value is
 * well inside the band (below the clear threshold).  Sets out->severity and
 * out->changed. */
void det_episode_step(struct det_episode *e, int level, int calm, unsigned clear_windows,
		      struct det_verdict *out);

#endif
