/* pipeline.c — see pipeline.h. Runs in the supervisor (and -t). */
#include "supervisor/pipeline.h"
#include "supervisor/config_sections.h"
#include "supervisor/layout.h"
#include "aggregate/aggregate.h"
#include "analyze/analyze.h"
#include "analyze/exec_resolve.h"
#include "ingest/ingest.h"
#include "transform/transform.h"
#include "writer/writer.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *rf_builtin_dir;

int rf_pipeline_load(const char *path, struct rf_pipeline *pl, char *err, size_t errlen)
{
	memset(pl, 0, sizeof *pl);
	if (conf_load(path, sup_config_sections, &pl->conf, err, errlen))
		return -1;
	size_t seg_bytes;
	if (rf_layout_plan(&pl->conf, &seg_bytes, err, errlen))
		goto fail;
	if (pl->conf.input.type == CONF_INPUT_KAFKA && ing_kafka_check(&pl->conf.input, err, errlen))
		goto fail;
	pl->plan = xf_plan_compile(&pl->conf, err, errlen);
	if (!pl->plan)
		goto fail;
	int nout = xf_plan_nout(pl->plan);
	const char *names[CONF_MAX_OUTPUTS];
	enum rf_vtype types[CONF_MAX_OUTPUTS];
	for (int i = 0; i < nout && i < CONF_MAX_OUTPUTS; i++) {
		names[i] = xf_plan_out_name(pl->plan, i);
		types[i] = xf_plan_out_type(pl->plan, i);
	}
	if (agg_rules_compile(&pl->conf, names, types, nout, &pl->rules, &pl->nrules, err, errlen))
		goto fail;
	pl->row_shapes = agg_rules_row_shapes(pl->rules, pl->nrules);
	if (!pl->row_shapes) {
		snprintf(err, errlen, "[aggregate] out of memory");
		goto fail;
	}
	if (pl->conf.nanalyzers) {
		char self[4096];
		if (rf_builtin_dir)
			snprintf(self, sizeof self, "%s", rf_builtin_dir);
		else if (an_self_dir(self, sizeof self)) {
			snprintf(err, errlen, "[analyzer.%s] exec: cannot tell where the ringflow binary is "
				 "(/proc/self/exe), so built-ins cannot be found", pl->conf.analyzers[0].name);
			goto fail;
		}
		int n[RF_ROLE_COUNT];
		rf_layout_counts(&pl->conf, n);
		pl->analyzers = an_plan_compile(&pl->conf, self, n[RF_ROLE_ANALYZE], pl->an_host_rules, err, errlen);
		if (!pl->analyzers)
			goto fail;
	}
	return 0;
fail:
	rf_pipeline_free(pl);
	return -1;
}

int rf_mkdir_p(const char *dir, mode_t mode)
{
	char path[4096];
	snprintf(path, sizeof path, "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, mode) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(path, mode) && errno != EEXIST ? -1 : 0;
}

/* A directory is usable if it is writable, or can be created because its
 * nearest existing ancestor is writable. */
static int dir_usable(const char *section_key, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s", dir);
	for (;;) {
		if (access(path, F_OK) == 0) {
			if (access(path, W_OK | X_OK) == 0)
				return 0;
			snprintf(err, errlen, "%s: '%s' is not writable (%s)", section_key, path, strerror(errno));
			return -1;
		}
		char *slash = strrchr(path, '/');
		if (!slash)
			snprintf(path, sizeof path, ".");
		else if (slash == path)
			path[1] = '\0';
		else
			*slash = '\0';
	}
}

int rf_pipeline_check_dirs(const struct rf_pipeline *pl, char *err, size_t errlen)
{
	if (dir_usable("[ringflow] state_dir", pl->conf.ringflow.state_dir, err, errlen))
		return -1;
	return dir_usable("[ringflow] run_dir", pl->conf.ringflow.run_dir, err, errlen);
}

/* The writer opens the file with O_APPEND|O_CREAT: it must be writable, or
 * creatable in a writable directory. Creates nothing. */
static int output_file_usable(const char *path, char *err, size_t errlen)
{
	if (!strcmp(path, "-"))
		return 0;
	if (access(path, F_OK) == 0) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "[output] path: '%s' is a directory", path);
			return -1;
		}
		if (access(path, W_OK)) {
			snprintf(err, errlen, "[output] path: cannot write '%s': %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", path);
	const char *dir = dirname(copy);
	if (access(dir, W_OK | X_OK)) {
		snprintf(err, errlen, "[output] path: cannot create '%s': directory '%s': %s", path, dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int rf_pipeline_check_start(const struct rf_pipeline *pl, char *err, size_t errlen)
{
	if (rf_pipeline_check_dirs(pl, err, errlen))
		return -1;
	const struct conf_output *oc = &pl->conf.output;
	if (oc->type == CONF_OUTPUT_FILE) {
		if (output_file_usable(oc->path, err, errlen))
			return -1;
	} else {
		if (wr_output_check(oc, err, errlen))
			return -1;
	}
	/* The segment start maps: the kernel may refuse its size (overcommit
	 * policy, RLIMIT_AS) where arithmetic cannot tell. Anonymous shared
	 * memory is only committed when touched, so the trial is cheap. */
	struct rf_layout *lay = calloc(1, sizeof *lay);
	if (!lay) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char why[512];
	struct shm_segment *seg = rf_layout_create(&pl->conf, lay, why, sizeof why);
	free(lay);
	if (!seg) {
		snprintf(err, errlen, "[processes] ring_size: the shared memory for these rings cannot be mapped: %s",
			 why);
		return -1;
	}
	shm_segment_destroy(seg);
	return 0;
}

void rf_pipeline_free(struct rf_pipeline *pl)
{
	if (!pl)
		return;
	free(pl->row_shapes);
	an_plan_free(pl->analyzers);
	agg_rules_free(pl->rules);
	xf_plan_free(pl->plan);
	conf_free(&pl->conf);
	memset(pl, 0, sizeof *pl);
}
