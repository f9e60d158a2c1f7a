/*
 * child.h — one analyzer executable as a child of the analyzer host.
 *
 * The host owns one struct an_child per [analyzer.NAME] it runs. The child
 * module does everything that is about the process, so the host only
 * decides what goes in and what to do with what comes out:
 *
 *   start    fork + execve of the resolved path with the configured argv
 *            and environment (never a shell); in the child: its own
 *            process group, PR_SET_PDEATHSIG so it dies with the host,
 *            default signal dispositions and an empty mask, stdin, stdout
 *            and stderr as pipes, every other descriptor closed. An execve
 *            failure reaches the parent through a close-on-exec pipe, so
 *            "No such file" is an error with the name, not a silent exit.
 *   input    a bounded queue of whole window blocks (queue_max windows);
 *            written with writev() into a non-blocking pipe as room comes,
 *            many blocks per call. A block cut by the child's death is
 *            sent again, whole, to the next instance; a block written whole
 *            counts as delivered and is never sent again.
 *   output   stdout split into lines for the host's callback; a line over
 *            AN_LINE_MAX bytes is skipped to its newline and reported once
 *            as over-long, never buffered whole. stderr lines go to the log
 *            prefixed with the analyzer's name, rate-limited, control bytes
 *            replaced.
 *   timeout  a child that has input waiting and takes none of it for
 *            timeout_ns is killed (its whole process group) and restarted.
 *   restart  after an exit, a restart waits 100 ms, doubling to 30 s while
 *            the instances keep dying young (a run of 30 s or more resets
 *            it); three or more such exits in a row is a crash loop, which
 *            the host shows in status.
 *   finish   finite input: once the queue is empty stdin is closed; the
 *            child gets timeout_ns to exit before it is killed.
 *
 * Runs in the analyzer host process. Single-threaded: the host polls the
 * descriptors an_child_pollfds() gives and calls an_child_service() when
 * one is ready or an_child_next_due() has passed. The host must ignore
 * SIGPIPE (a write into a dead child's stdin is EPIPE, handled here) and
 * must not reap children itself: service does, by pid.
 */
#ifndef AN_CHILD_H
#define AN_CHILD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define AN_LINE_MAX 65536             /* bytes of one stdout line, without '\n' */
#define AN_BACKOFF_MIN_NS (100LL * 1000000)
#define AN_BACKOFF_MAX_NS (30LL * 1000000000)
#define AN_CRASH_LOOP_EXITS 3

enum an_child_state {
	AN_CHILD_WAITING = 0,  /* not running: starts when its backoff ends */
	AN_CHILD_RUNNING,
	AN_CHILD_CLOSING,      /* finishing: stdin closed, waiting for the exit */
	AN_CHILD_FINISHED,     /* finished (finite input): never restarted */
	AN_CHILD_STATE_COUNT
};

extern const char *const an_child_state_names[AN_CHILD_STATE_COUNT];

struct an_child_spec {
	const char *name;        /* [analyzer.NAME]: log prefix */
	const char *path;        /* the executable (exec_resolve.h) */
	char *const *argv;       /* NULL-terminated, argv[0] included */
	char *const *envp;       /* NULL-terminated: the whole environment */
	int queue_max;           /* windows */
	int64_t timeout_ns;
};

struct an_child_stats {
	uint64_t starts;           /* successful execs */
	uint64_t exits;            /* instances that ended, killed ones included */
	uint64_t timeouts;         /* killed for not reading */
	uint64_t windows_delivered;
	uint64_t windows_resent;   /* cut by a death, queued again whole */
	uint64_t lines_out;        /* stdout lines handed to the host */
	uint64_t lines_too_long;
	uint64_t stderr_lines;
	uint64_t bytes_in;         /* written into its stdin */
	int crash_loop;            /* AN_CRASH_LOOP_EXITS short runs in a row */
	int pid;                   /* 0 when not running */
	char last_error[200];      /* "" until something went wrong */
};

/* One stdout line, without its '\n' (NULL, 0 and too_long = 1 for an
 * over-long one). The text is valid during the call only. */
typedef void (*an_line_fn)(void *arg, const char *line, size_t len, int too_long);

struct an_child;

/* Copies nothing of spec but the two numbers: the strings and arrays must
 * outlive the child. NULL on ENOMEM. Nothing is started yet: the first
 * an_child_service() starts it. */
struct an_child *an_child_new(const struct an_child_spec *spec);
/* Kills a running instance (process group, SIGKILL), reaps it, frees. */
void an_child_free(struct an_child *c);

/* Queues one whole window block (copied). 0, or -1 when the queue holds
 * queue_max windows already (the host drops it, or waits with finite
 * input) or on ENOMEM. Refused once an_child_finish() was called. */
int an_child_enqueue(struct an_child *c, const char *text, size_t len);
int an_child_queue_len(const struct an_child *c);

/* Descriptors to poll (at most 3). Returns how many were filled. */
int an_child_pollfds(const struct an_child *c, struct pollfd *pfd, int max);
/* Does what is due: (re)start, write, read stdout into fn, log stderr,
 * reap, kill on timeout. now: CLOCK_MONOTONIC ns. */
void an_child_service(struct an_child *c, int64_t now, an_line_fn fn, void *arg);
/* When service must run next without descriptor activity; INT64_MAX if
 * nothing is pending by time. */
int64_t an_child_next_due(const struct an_child *c, int64_t now);

/* Finite input: no more windows come. */
void an_child_finish(struct an_child *c);
enum an_child_state an_child_state(const struct an_child *c);
const struct an_child_stats *an_child_stats(const struct an_child *c);

#endif
