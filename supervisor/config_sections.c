/*
 * config_sections.c — the list of config sections: each module declares
 * its own beside its code; the supervisor, which knows every module, puts
 * them in order here. The order is part of the behaviour: plain sections
 * load in it (a file with problems in two sections is refused for the
 * first), checks run in it, and `ringflow --keys` prints in it.
 */
#include "supervisor/config_sections.h"
#include "aggregate/aggregate.h"
#include "analyze/analyze.h"
#include "ingest/ingest.h"
#include "transform/transform.h"
#include "writer/writer.h"

#include <stddef.h>

const struct conf_section *const sup_config_sections[] = {
	&sup_ringflow_section,
	&sup_processes_section,
	&ing_input_section,
	&xf_geoip_section,
	&wr_output_section,
	&wr_metrics_section,
	&an_alerts_section,
	&xf_transform_section,
	&agg_rule_section,
	&an_analyzer_section,
	NULL
};
