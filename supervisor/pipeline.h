/*
 * pipeline.h — loads the config and compiles everything a pipeline needs
 * (transform plan, aggregate rules) before fork; the same code is what
 * `ringflow -t` runs, so a file that passes -t starts.
 */
#ifndef SUP_PIPELINE_H
#define SUP_PIPELINE_H

#include <sys/types.h>
#include "supervisor/proc.h"

/* Returns 0, or -1 with "[section] key: problem" in err. offline_checks also
 * verifies directories (state_dir, run_dir) are usable. */
int rf_pipeline_load(const char *path, struct rf_pipeline *pl, char *err, size_t errlen);
int rf_pipeline_check_dirs(const struct rf_pipeline *pl, char *err, size_t errlen);
/* mkdir -p; 0 or -1 with errno. */
int rf_mkdir_p(const char *dir, mode_t mode);
void rf_pipeline_free(struct rf_pipeline *pl);

#endif
