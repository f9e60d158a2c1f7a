/*
 * analyze.h — the analyzer host as the supervisor sees it: compile the
 * [analyzer.*] sections before fork (and for `ringflow -t`) and run an
 * analyzer host process (analyze_proc.c; DESIGN.md §5).
 *
 * Compiling resolves each exec (a built-in name or a path, exec_resolve.h),
 * splits args into an argv (args_split.h), maps input to rule indexes,
 * builds the environment, and gives each analyzer to a host: analyzer k
 * runs in host k % nhosts.
 */
#ifndef AN_ANALYZE_H
#define AN_ANALYZE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "pipeline/proc.h"

/* [alerts] and [analyzer.NAME] (analyzer_config.c). */
extern const struct conf_section an_alerts_section;
extern const struct conf_section an_analyzer_section;

struct an_spec {
	const char *name;          /* [analyzer.NAME], points into the config */
	char path[PATH_MAX];       /* resolved executable */
	char **argv;               /* path, then the split args; NULL-ended */
	char **envp;               /* the §5 environment; NULL-ended */
	uint64_t rules;            /* bit r: it reads rule r */
	int host;                  /* analyzer host index running it */
	int queue;                 /* windows */
	int64_t timeout_ns;
};

struct an_plan {
	int n;
	int nhosts;
	struct an_spec a[CONF_MAX_ANALYZERS];
};

/* NULL (with err "[analyzer.NAME] key: problem") or the plan. nhosts:
 * analyzer host processes (supervisor/layout.h rf_layout_counts), >= 1.
 * host_rules[j] gets the rules host j needs. self_dir: where ringflow's
 * binary is (built-ins are looked up beside it, then in ../libexec). */
struct an_plan *an_plan_compile(const struct rf_config *conf, const char *self_dir, int nhosts,
				uint64_t host_rules[RF_MAX_PER_ROLE], char *err, size_t errlen);
void an_plan_free(struct an_plan *plan);

/* Runs analyzer host p->index; returns the process exit status. */
int an_run(const struct rf_proc *p);

#endif
