/*
 * supervisor_config.c — the supervisor's own sections: [ringflow] (the
 * instance: names, directories, log level, checkpoint interval) and
 * [processes] (how many of each role, ring size). Their tables, how "auto"
 * and log_level are read, and what the start would refuse about
 * [ringflow]. Runs in the supervisor before fork and in `ringflow -t`.
 */
#include "supervisor/config_sections.h"
#include "common/config_table.h"
#include "common/config_value.h"
#include "common/log.h"
#include "supervisor/placement.h"

#include <sched.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#define OFF(f) offsetof(struct rf_config, f)

static int parse_log_level(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			   size_t errlen)
{
	enum rf_log_level lvl;
	if (rf_log_parse_level(v, &lvl))
		return conf_fail(err, errlen, "[ringflow] log_level: '%s' is not one of error, warn, info, debug", v);
	s->conf->ringflow.log_level = (int)lvl;
	return 0;
}

static int auto_processes(const char *role)
{
	/* Decisions in docs/OPERATIONS.md: transform is the CPU-heavy stage. */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	long n = 1;
	if (strcmp(role, "transform") == 0)
		n = cores / 3;
	else if (strcmp(role, "aggregate") == 0)
		n = cores / 4;
	else if (strcmp(role, "ingest") == 0)
		n = cores / 16;
	/* The layout has room for CONF_MAX_PROCESSES per role: a 256-core
	 * host must not size past it. */
	if (n > CONF_MAX_PROCESSES)
		n = CONF_MAX_PROCESSES;
	return n > 1 ? (int)n : 1;
}

/* A process count, or auto (sized by role: the key is the role's name).
 * analyze differs twice: 0 is allowed (no analyzer host, analyzers not
 * run), and auto stays CONF_ANALYZE_AUTO, as its size depends on the
 * analyzers, which the analyzer host resolves once it is built. */
static int parse_processes(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			   size_t errlen)
{
	int *dst = (int *)((char *)s->base + k->off);
	int analyze = strcmp(k->key, "analyze") == 0;
	long long x;
	if (!strcasecmp(v, "auto")) {
		*dst = analyze ? CONF_ANALYZE_AUTO : auto_processes(k->key);
		return 0;
	}
	if (conf_parse_int(v, analyze ? 0 : 1, CONF_MAX_PROCESSES, &x))
		return conf_fail(err, errlen, "[%s] %s: '%s' is not auto or a count from %d to %d", s->sec, k->key, v,
				 analyze ? 0 : 1, CONF_MAX_PROCESSES);
	*dst = (int)x;
	return 0;
}

_Static_assert(CONF_MAX_CPUS == SUP_MAX_CPUS && SUP_MAX_CPUS <= CPU_SETSIZE, "one cpu number range");

/* auto, no, or a cpulist. A list must name only cpus this process may run
 * on now (online and in its affinity mask, which taskset, cpusets and
 * systemd's CPUAffinity= narrow): the supervisor checks the same set
 * when it places the processes, and a pin to any other cpu would fail in
 * every child. */
static int parse_cpu_affinity(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			      size_t errlen)
{
	struct conf_processes *pc = &s->conf->processes;
	char e[160];
	pc->ncpus = 0;
	if (!strcasecmp(v, "auto")) {
		pc->cpu_affinity = CONF_AFFINITY_AUTO;
		return 0;
	}
	if (!strcasecmp(v, "no")) {
		pc->cpu_affinity = CONF_AFFINITY_NO;
		return 0;
	}
	if (sup_cpulist_parse(v, pc->cpus, CONF_MAX_CPUS, &pc->ncpus, e, sizeof e))
		return conf_fail(err, errlen, "[processes] %s: '%s' is not auto, no or a cpu list such as 0-3,6: %s",
				 k->key, v, e);
	cpu_set_t allowed;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return conf_fail(err, errlen, "[processes] %s: sched_getaffinity() failed, cannot check '%s'", k->key, v);
	for (int i = 0; i < pc->ncpus; i++)
		if (!CPU_ISSET(pc->cpus[i], &allowed)) {
			int ok[CONF_MAX_CPUS], nok = 0;
			for (int c = 0; c < CONF_MAX_CPUS; c++)
				if (CPU_ISSET(c, &allowed))
					ok[nok++] = c;
			char list[128];
			return conf_fail(err, errlen, "[processes] %s: cpu %d is not online or not allowed to ringflow "
					 "(allowed: %s)", k->key, pc->cpus[i], sup_cpulist_format(ok, nok, list, sizeof list));
		}
	pc->cpu_affinity = CONF_AFFINITY_LIST;
	return 0;
}

static const struct conf_key ringflow_keys[] = {
	{ "name", CONF_K_STR, "ringflow", "instance name: socket and state file names", OFF(ringflow.name), NULL, 0 },
	{ "state_dir", CONF_K_STR, "/var/lib/ringflow", "LMDB environment (checkpoints)", OFF(ringflow.state_dir), NULL, 0 },
	{ "run_dir", CONF_K_STR, "/run/ringflow", "control socket <run_dir>/<name>.sock", OFF(ringflow.run_dir), NULL, 0 },
	{ "log_level", CONF_K_CUSTOM, "info", "error|warn|info|debug", OFF(ringflow.log_level), parse_log_level, 0 },
	{ "checkpoint_interval", CONF_K_DURATION, "5s",
	  "time between checkpoints (Kafka input), 100ms to 1d; 0 is refused, not \"never\": it would "
	  "checkpoint back to back (to checkpoint less often, make it longer)",
	  OFF(ringflow.checkpoint_interval_ns), NULL, 0 },
	CONF_KEYS_END
};

/* What the start would refuse about [ringflow]: the control socket path
 * must fit sun_path (supervisor/control.c) and the checkpoint store's
 * "<state_dir>/<name>.mdb-lock" its path buffer (common/ckpt_store.c,
 * CONF_STATE_PATH_MAX), or it would open a truncated path. A late check:
 * these have always come after the checks of [input], [output] and the
 * rules, so a file with several problems is refused for the same one. */
#define CONF_STATE_PATH_MAX 512
static int ringflow_check(struct rf_config *c, int found, char *err, size_t errlen)
{
	const struct conf_ringflow *rc = &c->ringflow;
	if (!conf_valid_name(rc->name))
		return conf_fail(err, errlen, "[ringflow] name: '%s' is not a valid instance name", rc->name);
	char e[32], lo[32], hi[32];
	if (rc->checkpoint_interval_ns < CONF_CHECKPOINT_MIN_NS || rc->checkpoint_interval_ns > CONF_CHECKPOINT_MAX_NS)
		return conf_fail(err, errlen, "[ringflow] checkpoint_interval: %s is outside %s to %s",
				 conf_fmt_ns(e, sizeof e, rc->checkpoint_interval_ns),
				 conf_fmt_ns(lo, sizeof lo, CONF_CHECKPOINT_MIN_NS),
				 conf_fmt_ns(hi, sizeof hi, CONF_CHECKPOINT_MAX_NS));
	size_t sun_max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	size_t sock_len = strlen(rc->run_dir) + 1 + strlen(rc->name) + strlen(".sock");
	if (sock_len > sun_max)
		return conf_fail(err, errlen, "[ringflow] run_dir: the control socket '%s/%s.sock' is %zu characters, "
				 "a unix socket path holds at most %zu", rc->run_dir, rc->name, sock_len, sun_max);
	size_t store_len = strlen(rc->state_dir) + 1 + strlen(rc->name) + strlen(".mdb-lock");
	if (store_len >= CONF_STATE_PATH_MAX)
		return conf_fail(err, errlen, "[ringflow] state_dir: '%s/%s.mdb-lock' is %zu characters, at most %d",
				 rc->state_dir, rc->name, store_len, CONF_STATE_PATH_MAX - 1);
	return 0;
}

const struct conf_section sup_ringflow_section = {
	.name = "ringflow",
	.desc = "instance",
	.keys = ringflow_keys,
	.check = ringflow_check,
	.late_check = 1,
};

/* ring_size is checked against the ring's own limits by the segment layout
 * (supervisor/layout.c, rf_layout_plan), which -t runs too: shm/ owns
 * those bounds. */
static const struct conf_key processes_keys[] = {
	{ "ingest", CONF_K_CUSTOM, "1", "ingest processes (or auto)", OFF(processes.ingest), parse_processes, 0 },
	{ "transform", CONF_K_CUSTOM, "auto", "transform processes (or auto)", OFF(processes.transform),
	  parse_processes, 0 },
	{ "aggregate", CONF_K_CUSTOM, "auto", "aggregate processes (or auto)", OFF(processes.aggregate),
	  parse_processes, 0 },
	{ "writer", CONF_K_CUSTOM, "1", "writer processes (or auto)", OFF(processes.writer), parse_processes, 0 },
	{ "analyze", CONF_K_CUSTOM, "auto", "analyzer host processes, 0 to 64 or auto (not used yet)",
	  OFF(processes.analyze), parse_processes, 0 },
	{ "cpu_affinity", CONF_K_CUSTOM, "auto",
	  "auto (spread over the allowed cpus), no (no pinning) or a cpu list such as 0-3,6 to spread over",
	  OFF(processes.cpu_affinity), parse_cpu_affinity, 0 },
	{ "ring_size", CONF_K_SIZE, "4M", "bytes per ring: a power of two from 64K to 1G (a frame is ring_size / 4)",
	  OFF(processes.ring_size), NULL, 0 },
	CONF_KEYS_END
};

const struct conf_section sup_processes_section = {
	.name = "processes",
	.desc = "process counts",
	.keys = processes_keys,
};
