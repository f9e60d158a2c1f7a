/*
 * detector.c — the episode logic shared by the built-in detectors (zscore,
 * forecast): turns per-value severity levels into alerts at episode start,
 * escalation and recovery.  Pure; run inside the analyzer executables.
 */
#include "analyze/detector.h"

void det_episode_step(struct det_episode *e, int level, int calm, unsigned clear_windows,
		      struct det_verdict *out)
{
	out->changed = 0;
	if (e->severity == DET_OK) {
		if (level > DET_OK) {
			e->severity = level;
			e->calm = 0;
			out->changed = 1;
		}
	} else if (level > e->severity) {
		e->severity = level;       /* escalation: one more alert */
		e->calm = 0;
		out->changed = 1;
	} else if (calm) {
		if (++e->calm >= clear_windows) {
			e->severity = DET_OK;  /* recovery, reported once */
			e->calm = 0;
			out->changed = 1;
		}
	} else {
		e->calm = 0;               /* still disturbed: no de-escalation alert */
	}
	out->severity = e->severity;
}
