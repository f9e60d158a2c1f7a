/*
 * placement.h — where each pipeline process runs ([processes]
 * cpu_affinity): the cpu list syntax and the placement formula. Pure
 * functions (no syscall): the supervisor (affinity.c) feeds them the
 * counts and the cpus it may use, `ringflow -t` the config's list.
 */
#ifndef SUP_PLACEMENT_H
#define SUP_PLACEMENT_H

#include <stddef.h>

#include "pipeline/proc.h"

/* The largest cpu number a list may name, plus one (glibc's CPU_SETSIZE). */
#define SUP_MAX_CPUS 1024

/*
 * Parses a Linux cpulist ("0-3,6": numbers and ranges A-B with A <= B,
 * separated by commas, blanks around the items allowed) into the sorted,
 * distinct cpus[] (at most max), *n their count. Accepts any text; returns
 * 0, or -1 with the problem in err, short ("a cpu number is missing"):
 * the caller names the key and the text. Cpus must be below SUP_MAX_CPUS.
 */
int sup_cpulist_parse(const char *text, int *cpus, int max, int *n, char *err, size_t errlen);

/* cpus[0..n-1] (ascending) written back as a cpulist ("0-3,6") into buf,
 * truncated to len; returns buf. */
const char *sup_cpulist_format(const int *cpus, int n, char *buf, size_t len);

/*
 * The placement formula (also docs/OPERATIONS.md "CPU placement").
 * Processes are taken in pipeline order, the order of the supervisor's
 * process table: every ingest, every transform, every aggregate, every
 * writer, every analyzer host, each role by index. Ingest, transform and
 * aggregate are the busy roles (per record work); writer and analyzer hosts
 * handle per-window output, far less, and are the light ones. With B busy
 * processes, L light ones and C cpus (cpus[0..C-1], ascending):
 *
 *   busy process k (0 <= k < B)   -> cpus[k mod C]
 *   light process j (0 <= j < L)  -> cpus[B + j mod (C - B)]  when C > B
 *                                    cpus[(B + j) mod C]      when C <= B
 *
 * So with C >= B + L every process has a cpu of its own, and neighbours in
 * the pipeline (which share rings) sit on neighbouring cpus; with
 * B < C < B + L the busy processes still have one each and the light ones
 * share the cpus left over; with C <= B it is plain round robin over all
 * processes in pipeline order (process p on cpus[p mod C]).
 *
 * n[] holds the counts per role (rf_layout_counts). Writes out[p] for each
 * process p in pipeline order and returns their number, or -1 with err
 * when there are more than max processes or no cpu (ncpus < 1).
 */
int sup_place(const int n[RF_ROLE_COUNT], const int *cpus, int ncpus, int *out, int max, char *err,
	      size_t errlen);

#endif
