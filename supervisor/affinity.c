/*
 * affinity.c — [processes] cpu_affinity applied: the supervisor works out
 * each child's cpu once, before the first fork (sup_affinity_plan, with
 * the formula of placement.h); each child pins itself right after fork,
 * before its role runs (sup_affinity_apply); status reads back where each
 * child runs (sup_child_cpu). The supervisor itself is never pinned: it
 * keeps the mask it was started with, so a restarted child can be placed
 * on any cpu of the plan.
 */
#include "supervisor/supervisor.h"
#include "common/log.h"
#include "supervisor/layout.h"
#include "supervisor/pipeline.h"
#include "supervisor/placement.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sup_affinity_plan(struct sup *s)
{
	const struct conf_processes *pc = &s->pl->conf.processes;
	for (int i = 0; i < RF_ROLE_COUNT * RF_MAX_PER_ROLE; i++)
		s->pin[i] = -1;
	if (pc->cpu_affinity == CONF_AFFINITY_NO)
		return;
	static int cpus[CONF_MAX_CPUS];
	int ncpus = 0;
	if (pc->cpu_affinity == CONF_AFFINITY_LIST) {
		memcpy(cpus, pc->cpus, (size_t)pc->ncpus * sizeof cpus[0]);
		ncpus = pc->ncpus;
	} else {
		/* auto: the cpus this process may use (taskset, cpusets and
		 * CPUAffinity= narrow them), not every online one. */
		cpu_set_t set;
		CPU_ZERO(&set);
		if (sched_getaffinity(0, sizeof set, &set) != 0) {
			rf_warn("cpu_affinity = auto: sched_getaffinity() failed: %s; processes not pinned",
				strerror(errno));
			return;
		}
		for (int c = 0; c < CONF_MAX_CPUS; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpus++] = c;
	}
	char err[128];
	int n = sup_place(s->lay.n, cpus, ncpus, s->pin, RF_ROLE_COUNT * RF_MAX_PER_ROLE, err, sizeof err);
	if (n != s->nchildren) {
		rf_warn("cpu placement: %s; processes not pinned", n < 0 ? err : "process table and counts differ");
		for (int i = 0; i < RF_ROLE_COUNT * RF_MAX_PER_ROLE; i++)
			s->pin[i] = -1;
		return;
	}
	char line[1024], list[128];
	size_t used = 0;
	line[0] = '\0';
	for (int i = 0; i < s->nchildren && used < sizeof line; i++) {
		int w = snprintf(line + used, sizeof line - used, "%s%s %d on %d", i ? ", " : "",
				 rf_role_names[s->children[i].role], s->children[i].index, s->pin[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	rf_info("cpu placement (cpu_affinity = %s, cpus %s): %s",
		pc->cpu_affinity == CONF_AFFINITY_AUTO ? "auto" : "list",
		sup_cpulist_format(cpus, ncpus, list, sizeof list), line);
}

void sup_affinity_apply(const struct sup *s, int i)
{
	if (s->pin[i] < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(s->pin[i], &set);
	/* A cpu taken offline (or out of our cpuset) since the start: the
	 * process runs unpinned rather than not at all. */
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		rf_warn("sched_setaffinity(cpu %d) failed: %s; running unpinned", s->pin[i], strerror(errno));
}

/* Field 39 of /proc/PID/stat, "processor": the cpu it last ran on. The
 * second field (comm) is in parentheses and may hold blanks or ')', so
 * fields are counted from the last ')'. */
static int last_cpu(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	/* After ')' come fields 3, 4, ...: field 39 is the 37th. */
	for (int field = 3; field < 39; field++) {
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return -1;
	}
	while (*p == ' ')
		p++;
	int cpu = -1;
	if (sscanf(p, "%d", &cpu) != 1)
		return -1;
	return cpu;
}

int sup_child_cpu(const struct sup *s, int i, int *last, int *pinned)
{
	const struct sup_child *c = &s->children[i];
	*last = -1;
	*pinned = -1;
	if (c->pid <= 0)
		return -1;
	*last = last_cpu(c->pid);
	/* Pinned as planned only if the kernel says so: a pin that failed
	 * in the child (logged there) shows as not pinned. */
	cpu_set_t set;
	CPU_ZERO(&set);
	if (s->pin[i] >= 0 && sched_getaffinity(c->pid, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 &&
	    CPU_ISSET(s->pin[i], &set))
		*pinned = s->pin[i];
	return *last < 0 ? -1 : 0;
}
