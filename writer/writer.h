/*
 * writer.h — the writer stage as the supervisor sees it: declare the
 * [output] section, check the output offline (for `ringflow -t`) and run a
 * writer process.
 */
#ifndef WR_WRITER_H
#define WR_WRITER_H

#include <stddef.h>

#include "common/config.h"
#include "pipeline/proc.h"

/* [output]: its keys, parsers and checks (output_config.c), for the
 * supervisor's section list. */
extern const struct conf_section wr_output_section;
extern const struct conf_section wr_metrics_section;  /* [metrics] */

/* Opens the output as a writer would and closes it again: a file must be
 * writable; for InfluxDB the settings must be usable (token_file read) —
 * nothing is sent. 0, or -1 with err. */
int wr_output_check(const struct conf_output *conf, char *err, size_t errlen);
/* Returns the process exit status. */
int wr_run(const struct rf_proc *p);

#endif
