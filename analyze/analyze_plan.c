/*
 * analyze_plan.c — compiles [analyzer.*] (analyze.h). Runs in the
 * supervisor before fork and in `ringflow -t`, so -t refuses what the
 * host could not start: an unknown built-in, a path that is no executable
 * file, bad args quoting, an input naming no rule.
 */
#include "analyze/analyze.h"
#include "analyze/alerts_from_config.h"
#include "analyze/args_split.h"
#include "analyze/exec_resolve.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an analyzer may rely on besides §5's variables. */
#define AN_PATH_ENV "PATH=/usr/local/bin:/usr/bin:/bin"

/* "NAME=value", or NULL on ENOMEM. */
static char *env_var(const char *name, const char *value)
{
	char *s;
	return asprintf(&s, "%s=%s", name, value) < 0 ? NULL : s;
}

/* input = "r1, r2": their bits; absent: every rule. */
static int parse_input(const struct rf_config *conf, const struct conf_analyzer *a, uint64_t *out,
		       char *err, size_t errlen)
{
	if (!a->input) {
		*out = conf->nrules >= 64 ? ~0ull : (1ull << conf->nrules) - 1;
		return 0;
	}
	uint64_t m = 0;
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", a->input);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		char *e = t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*t)
			continue;
		int found = -1;
		for (int r = 0; r < conf->nrules; r++)
			if (!strcmp(conf->rules[r].name, t))
				found = r;
		if (found < 0) {
			snprintf(err, errlen, "[analyzer.%s] input: '%s' is no [aggregate.*] rule", a->name, t);
			return -1;
		}
		m |= 1ull << found;
	}
	if (!m) {
		snprintf(err, errlen, "[analyzer.%s] input: names no rule", a->name);
		return -1;
	}
	*out = m;
	return 0;
}

static char **make_env(const struct rf_config *conf, const char *name)
{
	char **env = calloc(6, sizeof *env);
	if (!env)
		return NULL;
	int n = 0;
	env[n++] = strdup(AN_PATH_ENV);
	env[n++] = env_var("RINGFLOW_ANALYZER", name);
	const struct conf_output *o = &conf->output;
	if (o->type == CONF_OUTPUT_INFLUXDB) {
		if (o->url)
			env[n++] = env_var("RINGFLOW_INFLUX_URL", o->url);
		if (o->database || o->bucket)
			env[n++] = env_var("RINGFLOW_INFLUX_DB", o->database ? o->database : o->bucket);
		if (o->token && *o->token)
			env[n++] = env_var("RINGFLOW_INFLUX_TOKEN", o->token);
	}
	for (int i = 0; i < n; i++)
		if (!env[i]) {
			for (int j = 0; j < n; j++)
				free(env[j]);
			free(env);
			return NULL;
		}
	return env;
}

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

struct an_plan *an_plan_compile(const struct rf_config *conf, const char *self_dir, int nhosts,
				uint64_t host_rules[RF_MAX_PER_ROLE], char *err, size_t errlen)
{
	struct an_plan *plan = calloc(1, sizeof *plan);
	if (!plan) {
		snprintf(err, errlen, "[analyzer] out of memory");
		return NULL;
	}
	plan->nhosts = nhosts < 1 ? 1 : nhosts;
	char path_copy[PATH_MAX], conf_dir[PATH_MAX];
	snprintf(path_copy, sizeof path_copy, "%s", conf->path ? conf->path : ".");
	snprintf(conf_dir, sizeof conf_dir, "%s", dirname(path_copy));
	for (int k = 0; k < conf->nanalyzers; k++) {
		const struct conf_analyzer *a = &conf->analyzers[k];
		struct an_spec *s = &plan->a[plan->n++];
		s->name = a->name;
		s->host = k % plan->nhosts;
		s->queue = a->queue;
		s->timeout_ns = a->timeout_ns;
		char why[PATH_MAX + 128];
		if (an_resolve_exec(a->exec, self_dir, conf_dir, s->path, sizeof s->path, why, sizeof why)) {
			snprintf(err, errlen, "[analyzer.%s] exec: %s", a->name, why);
			goto fail;
		}
		char **args = NULL;
		int nargs = 0;
		if (an_split_args(a->args ? a->args : "", &args, &nargs, why, sizeof why)) {
			snprintf(err, errlen, "[analyzer.%s] args: %s", a->name, why);
			goto fail;
		}
		s->argv = calloc((size_t)nargs + 2, sizeof *s->argv);
		int ok = s->argv != NULL;
		for (int i = 0; ok && i <= nargs; i++)
			ok = (s->argv[i] = strdup(i ? args[i - 1] : s->path)) != NULL;
		an_free_args(args);
		s->envp = make_env(conf, a->name);
		if (!ok || !s->envp) {
			snprintf(err, errlen, "[analyzer.%s] out of memory", a->name);
			goto fail;
		}
		if (parse_input(conf, a, &s->rules, err, errlen))
			goto fail;
		if (host_rules)
			host_rules[s->host] |= s->rules;
	}
	/* What the host's sinks would refuse (a bad kafka.* key), without
	 * creating the producer, which would connect at once. */
	if (an_sinks_check_config(&conf->alerts, err, errlen))
		goto fail;
	return plan;
fail:
	an_plan_free(plan);
	return NULL;
}

void an_plan_free(struct an_plan *plan)
{
	if (!plan)
		return;
	for (int k = 0; k < plan->n; k++) {
		free_strv(plan->a[k].argv);
		free_strv(plan->a[k].envp);
	}
	free(plan);
}
