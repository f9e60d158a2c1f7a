/*
 * pipeline.h — loads the config and compiles everything a pipeline needs
 * (transform plan, aggregate rules) before fork; the same code is what
 * `ringflow -t` runs, so a file that passes -t starts.
 */
#ifndef SUP_PIPELINE_H
#define SUP_PIPELINE_H

#include <sys/types.h>
#include "pipeline/proc.h"

/*
 * [processes] ring_size bounds. The largest is the ring's own
 * (SHM_RING_MAX_CAPACITY, asserted in layout.c). The smallest is what the
 * stages need: a frame is ring_size / 4, and 64K gives 16K frames, which
 * hold an ordinary input line, row or point (layout.c asserts the largest
 * ordinary point fits); smaller rings would reject much of a normal stream
 * as too long.
 */
#define RF_RING_SIZE_MIN (64u << 10)
#define RF_RING_SIZE_MAX (1u << 30)

/* Where built-in analyzers are looked up as ringflow-NAME (then in
 * ../libexec/ringflow from there). NULL, the default: the directory of the
 * running binary. Unit tests, whose binary is elsewhere, point it at stubs. */
extern const char *rf_builtin_dir;

/* Returns 0, or -1 with "[section] key: problem" in err. Includes
 * rf_layout_plan, so every [processes] value start would refuse is refused
 * here. */
int rf_pipeline_load(const char *path, struct rf_pipeline *pl, char *err, size_t errlen);
/* state_dir and run_dir are writable or can be created. */
int rf_pipeline_check_dirs(const struct rf_pipeline *pl, char *err, size_t errlen);
/* What `ringflow -t` adds to rf_pipeline_load, offline and without side
 * effects: the directories, the output (file: writable; InfluxDB: opened
 * as the writer opens it, which reads token_file but sends nothing), and a
 * trial of the shared segment start would map (then unmapped). */
int rf_pipeline_check_start(const struct rf_pipeline *pl, char *err, size_t errlen);
/* mkdir -p; 0 or -1 with errno. */
int rf_mkdir_p(const char *dir, mode_t mode);
void rf_pipeline_free(struct rf_pipeline *pl);

#endif
