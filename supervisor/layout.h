/*
 * layout.h — the supervisor carves the shared segment (layout.c) before
 * fork; pipeline processes only attach to it (pipeline/attach.c).
 */
#ifndef SUP_LAYOUT_H
#define SUP_LAYOUT_H

#include <stddef.h>

#include "pipeline/proc.h"

/* Processes per role for conf: [processes], and for the analyzer hosts
 * `analyze` (auto: 1) but never more than there are analyzers, 0 without. */
void rf_layout_counts(const struct rf_config *conf, int n[RF_ROLE_COUNT]);
/* Whether [processes] can be laid out in a segment (ring_size against the
 * ring's limits, process counts against the layout's tables); *bytes gets
 * the segment size. 0, or -1 with "[processes] key: problem" in err.
 * rf_pipeline_load() and rf_layout_create() run it. */
int rf_layout_plan(const struct rf_config *conf, size_t *bytes, char *err, size_t errlen);
/* Builds the segment for the counts in conf->processes. */
struct shm_segment *rf_layout_create(const struct rf_config *conf, struct rf_layout *lay,
				     char *err, size_t errlen);
/* Empties every ring (data-plane restart, nobody attached). */
void rf_layout_reset_rings(struct shm_segment *seg, const struct rf_layout *lay);

#endif
