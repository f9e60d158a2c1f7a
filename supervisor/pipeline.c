/* pipeline.c — see pipeline.h. Runs in the supervisor (and -t). */
#include "supervisor/pipeline.h"
#include "aggregate/rule.h"
#include "ingest/ingest.h"
#include "transform/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rf_pipeline_load(const char *path, struct rf_pipeline *pl, char *err, size_t errlen)
{
	memset(pl, 0, sizeof *pl);
	if (conf_load(path, &pl->conf, err, errlen))
		return -1;
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

void rf_pipeline_free(struct rf_pipeline *pl)
{
	if (!pl)
		return;
	agg_rules_free(pl->rules);
	xf_plan_free(pl->plan);
	conf_free(&pl->conf);
	memset(pl, 0, sizeof *pl);
}
