/*
 * placement.c — the cpu list syntax and the placement formula of
 * [processes] cpu_affinity (placement.h). Pure: no syscall, no allocation;
 * runs in the supervisor before fork and in `ringflow -t`.
 */
#include "supervisor/placement.h"

#include <stdio.h>
#include <string.h>

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A cpu number at *pp: digits only (no sign, no 0x), below SUP_MAX_CPUS. */
static int parse_cpu(const char **pp, int *cpu)
{
	const char *p = *pp;
	long v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v >= SUP_MAX_CPUS)
			return -2;
		p++;
	}
	*cpu = (int)v;
	*pp = p;
	return 0;
}

int sup_cpulist_parse(const char *text, int *cpus, int max, int *n, char *err, size_t errlen)
{
	/* A bitmap first: ranges may overlap and come in any order; the
	 * result is sorted and distinct whatever the writing. */
	unsigned char seen[SUP_MAX_CPUS];
	memset(seen, 0, sizeof seen);
	const char *p = text;
	for (;;) {
		int lo, hi, rc;
		p = skip_blanks(p);
		if ((rc = parse_cpu(&p, &lo)) != 0)
			goto bad_number;
		hi = lo;
		p = skip_blanks(p);
		if (*p == '-') {
			p = skip_blanks(p + 1);
			if ((rc = parse_cpu(&p, &hi)) != 0)
				goto bad_number;
			if (hi < lo) {
				snprintf(err, errlen, "range %d-%d goes backwards", lo, hi);
				return -1;
			}
			p = skip_blanks(p);
		}
		for (int c = lo; c <= hi; c++)
			seen[c] = 1;
		if (*p == '\0')
			break;
		if (*p != ',') {
			snprintf(err, errlen, "unexpected '%c'", *p);
			return -1;
		}
		p++;
		continue;
bad_number:
		if (rc == -2)
			snprintf(err, errlen, "cpu numbers must be below %d", SUP_MAX_CPUS);
		else
			snprintf(err, errlen, "a cpu number is missing");
		return -1;
	}
	int k = 0;
	for (int c = 0; c < SUP_MAX_CPUS; c++)
		if (seen[c]) {
			if (k == max) {
				snprintf(err, errlen, "more than %d cpus", max);
				return -1;
			}
			cpus[k++] = c;
		}
	*n = k;
	return 0;
}

const char *sup_cpulist_format(const int *cpus, int n, char *buf, size_t len)
{
	size_t used = 0;
	if (len)
		buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++) {
		int j = i;
		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		int w = j > i ? snprintf(buf + used, len - used, "%s%d-%d", i ? "," : "", cpus[i], cpus[j])
			      : snprintf(buf + used, len - used, "%s%d", i ? "," : "", cpus[i]);
		if (w < 0)
			break;
		used += (size_t)w;
		i = j;
	}
	return buf;
}

/* Busy roles come first in the process table (see sup_place). */
_Static_assert(RF_ROLE_INGEST == 0 && RF_ROLE_TRANSFORM == 1 && RF_ROLE_AGGREGATE == 2 &&
	       RF_ROLE_WRITER == 3 && RF_ROLE_ANALYZE == 4, "placement relies on the role order");

int sup_place(const int n[RF_ROLE_COUNT], const int *cpus, int ncpus, int *out, int max, char *err,
	      size_t errlen)
{
	if (ncpus < 1) {
		snprintf(err, errlen, "no cpu to place the processes on");
		return -1;
	}
	int busy = 0, total = 0;
	for (int r = 0; r < RF_ROLE_COUNT; r++) {
		total += n[r];
		if (r == RF_ROLE_INGEST || r == RF_ROLE_TRANSFORM || r == RF_ROLE_AGGREGATE)
			busy += n[r];
	}
	if (total > max) {
		snprintf(err, errlen, "%d processes, room for %d", total, max);
		return -1;
	}
	/* The process table is role-major in enum order, the busy roles
	 * first: process p is busy when p < busy, else light number p - busy. */
	for (int p = 0; p < total; p++) {
		if (p < busy)
			out[p] = cpus[p % ncpus];
		else if (ncpus > busy)
			out[p] = cpus[busy + (p - busy) % (ncpus - busy)];
		else
			out[p] = cpus[p % ncpus];
	}
	return total;
}
