/*
 * builtin.h — the driver every built-in analyzer executable shares
 * (ringflow-zscore, -threshold, -deviation, -average, -forecast): common
 * options, the (rule, series, field) state table, the window read loop and
 * alert output. A built-in is a static descriptor (struct an_bt_detector)
 * plus a main of a few lines that calls an_builtin_main().
 *
 * Runs single-threaded in the analyzer process: reads windows on stdin
 * (rfa.h), writes alerts on stdout, logs on stderr. Blocks only in read()
 * and write().
 *
 * Per window of a rule: each point's numeric fields (all of them, or the
 * --field ones) go through the detector's update(), one state per (rule,
 * series, field); a state is created the first time its value is seen
 * (one malloc, freed when forgotten: none per point in steady state).
 * After a complete window ("# end" seen) every state of that rule that got
 * no value is updated as missing — or with 0 under --missing-as-zero — and
 * dropped once it has been absent for --forget windows of its rule. A
 * window cut short (EOF, or a header before its "# end") skips that sweep:
 * absence from a partial window means nothing. A second value for the same
 * state in one window is counted and ignored.
 *
 * An alert goes out when the verdict says `changed` (episode start,
 * escalation, recovery), or with --repeat on every window while an episode
 * lasts (verdict severity > 0, including its calm windows before the ok);
 * tags rule, field, severity and the series' tags; fields message, value,
 * expected, lower, upper, score; time = the window start.
 *
 * History: at a rule's first window, before its points, the history hook
 * (an_bt_set_history) may feed stored values through an_bt_feed(). An
 * an_bt from an_bt_new() loads nothing (an_bt_history_none); the
 * executables (an_builtin_main) use an_bt_history_influx (builtin_history.c).
 */
#ifndef ANALYZE_BUILTIN_H
#define ANALYZE_BUILTIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyze/detector.h"
#include "analyze/rfa.h"

#define AN_BT_MAX_FIELDS 64
#define AN_BT_FORGET_DEFAULT 1000
#define AN_BT_MAX_SERIES_DEFAULT 200000

/* What a detector's option parser returns. */
enum an_bt_opt {
	AN_BT_OPT_UNKNOWN = 0,  /* not one of mine */
	AN_BT_OPT_FLAG,         /* mine, takes no value */
	AN_BT_OPT_VALUE,        /* mine, its value was used */
	AN_BT_OPT_COUNT
};

/* What the emit hook sees of one updated (series, field). */
struct an_bt_ctx {
	const struct rfa_window *w;
	const char *field;
	int ntags;
	const char *const *tag_keys, *const *tag_values;
	const struct det_verdict *v;
};

/* A built-in, static and const. Every function gets the params object the
 * main passed to an_builtin_main (its detector's own struct). */
struct an_bt_detector {
	const char *name;    /* "zscore": logs, usage */
	const char *usage;   /* its own options, one per line, for --help */
	/* opt is the name without "--"; val the next argument or the part
	 * after '=' (NULL when there is none). -1 with err on a bad value. */
	int (*parse_opt)(void *params, const char *opt, const char *val, char *err, size_t errlen);
	/* --history N: how many windows the detector keeps. NULL: the detector
	 * keeps no history and --history is refused. */
	int (*set_history)(void *params, unsigned windows, char *err, size_t errlen);
	/* Windows of stored history worth loading at start (0: none). */
	unsigned (*history_windows)(const void *params);
	int (*check)(const void *params, char *err, size_t errlen);
	size_t (*state_size)(const void *params);
	void (*init)(void *state, const void *params);
	void (*update)(void *state, const void *params, double value, int missing, struct det_verdict *out);
	/* Optional: after each update of a live window, to write more points
	 * (forecasts); also for a state absent from the window (ctx->v->value
	 * NaN, or 0 under --missing-as-zero), not for history. */
	void (*emit)(const void *state, const void *params, const struct an_bt_ctx *ctx, struct rfa_out *out);
};

struct an_bt_opts {
	int nfields;                       /* 0: every numeric field */
	const char *fields[AN_BT_MAX_FIELDS];
	unsigned history;                  /* --history, 0 if not given */
	int missing_as_zero;
	unsigned forget;                   /* windows of its rule */
	int repeat;
	size_t max_series;                 /* (rule, series, field) states */
};

struct an_bt_stats {
	uint64_t windows, partial_windows;  /* partial: cut before "# end" */
	uint64_t values;                    /* updates with a value present */
	uint64_t missing;                   /* updates for an absent state */
	uint64_t alerts, duplicates, table_full, forgotten, history_values;
	uint64_t states;                    /* live now */
};

/* Helpers for detectors' option parsers: AN_BT_OPT_VALUE, or -1 with err
 * naming the option. Unsigned: decimal in [min, max]; double: finite. */
int an_bt_parse_uint(const char *opt, const char *val, unsigned min, unsigned max, unsigned *out,
		     char *err, size_t errlen);
int an_bt_parse_double(const char *opt, const char *val, double *out, char *err, size_t errlen);

void an_bt_opts_default(struct an_bt_opts *o);
/* Parses argv[1..] (common options, then the detector's). 0, 1 when --help
 * printed the usage to stdout (exit 0), -1 with err (exit EX_CONFIG).
 * o->fields point into argv. */
int an_bt_parse_args(const struct an_bt_detector *d, void *params, struct an_bt_opts *o, int argc,
		     char **argv, char *err, size_t errlen);
void an_bt_usage(const struct an_bt_detector *d, FILE *f);

struct an_bt;

/* NULL with err (out of memory). d, params and o are kept by reference. */
struct an_bt *an_bt_new(const struct an_bt_detector *d, const void *params, const struct an_bt_opts *o,
			char *err, size_t errlen);
void an_bt_free(struct an_bt *b);

/* Called at the first window of each rule, before its points; feeds
 * values with an_bt_feed(), oldest first per series. 0, or -1 with err
 * (logged; the analyzer goes on without history). */
typedef int (*an_bt_history_fn)(struct an_bt *b, void *arg, const struct rfa_window *w, unsigned windows,
				char *err, size_t errlen);
/* The default: "history: none loaded". */
int an_bt_history_none(struct an_bt *b, void *arg, const struct rfa_window *w, unsigned windows, char *err,
		       size_t errlen);
void an_bt_set_history(struct an_bt *b, an_bt_history_fn fn, void *arg);

/* The executables' hook (builtin_history.c). With RINGFLOW_INFLUX_URL and
 * RINGFLOW_INFLUX_DB set it asks InfluxDB for the `windows` windows of the
 * rule's measurement before the first one (time >= start - windows * (end -
 * start) AND time < start, GROUP BY *) and feeds every numeric field the
 * analyzer looks at (--field) of every series, oldest first, at most
 * `windows` values per (series, field). Not configured, unreachable, or any
 * error before any value: one line "history: ...: starting empty" on stderr
 * for the whole process, and the analyzer starts empty (an error after some
 * values keeps them, with a warning); it always returns 0. arg: a
 * struct an_bt_hist, zeroed before the first call, outliving the run. */
struct an_bt_hist {
	int said;           /* the "starting empty" line was written */
	uint64_t loaded;    /* values fed, over all rules */
	long timeout_ms;    /* per query; 0: AN_BT_HIST_TIMEOUT_MS */
};
#define AN_BT_HIST_TIMEOUT_MS 30000
int an_bt_history_influx(struct an_bt *b, void *arg, const struct rfa_window *w, unsigned windows,
			 char *err, size_t errlen);
/* 1 when the analyzer looks at field `name` (every field without --field). */
int an_bt_field_wanted(const struct an_bt *b, const char *name);
/* One stored value of (rule, series, field) through update(), no output.
 * The series is ntags tags in any order. 0, or -1 when the state table is
 * full. */
int an_bt_feed(struct an_bt *b, const char *rule, int ntags, const char *const *keys,
	       const char *const *vals, const char *field, double value);

/* Reads windows from in_fd until EOF, writes to out_fd. 0 at EOF, -1 with
 * err on a read or write error. */
int an_bt_run(struct an_bt *b, int in_fd, int out_fd, char *err, size_t errlen);
void an_bt_get_stats(const struct an_bt *b, struct an_bt_stats *out);
/* The reader's counters of the last run (zero before). */
void an_bt_skip_stats(const struct an_bt *b, struct rfa_skip_stats *out);

/* The whole executable: parse, check, run on stdin/stdout, log a summary.
 * Returns the exit code: 0, 1 (I/O error, out of memory), 78 (bad
 * options: EX_CONFIG, do not respawn). */
int an_builtin_main(const struct an_bt_detector *d, void *params, int argc, char **argv);

#endif
