/*
 * supervisor.h — the master process: forks the pipeline, reaps it, restarts
 * the data plane after a crash, serves the control socket.
 */
#ifndef SUP_SUPERVISOR_H
#define SUP_SUPERVISOR_H

#include <poll.h>
#include <sys/types.h>

#include "common/ckpt_store.h"
#include "pipeline/proc.h"

struct sup_ctl_server;

enum sup_state {
	SUP_RUNNING = 0,   /* data plane up */
	SUP_RESTARTING,    /* a process crashed: killing the rest, then restart */
	SUP_BACKOFF,       /* everything down, waiting before the restart */
	SUP_STOPPING,      /* graceful stop: ingest told to stop, stages draining */
	SUP_REWINDING,     /* a stage behind the ingests crashed: ingests park,
	                    * the other stages restart (checkpoint.h) */
	SUP_STATE_COUNT
};

struct sup_child {
	pid_t pid;           /* 0 when not running */
	enum rf_role role;
	int index;
	enum rf_proc_state state;
	int last_status;     /* wait status of the last exit */
	unsigned restarts;
};

struct sup_rate {
	uint64_t prev;
	double per_sec;
};

/* The checkpoint coordinator's state (coordinator.c). */
struct sup_ckpt {
	struct ckpt_store *store;  /* NULL: no checkpoints (file input) */
	struct ckpt_info last;     /* last complete checkpoint */
	uint64_t inflight;         /* requested, not yet settled (0: none) */
	uint64_t final;            /* the graceful stop's checkpoint (0: none) */
	int final_result;          /* 1 completed, -1 failed, 0 not settled */
	int64_t started_ns[2];     /* request time, by id parity (two at most) */
	int64_t next_due_ns;
	uint64_t completed, failed;
};

struct sup {
	struct rf_pipeline *pl;
	struct shm_segment *seg;
	struct rf_layout lay;
	struct sup_child children[RF_ROLE_COUNT * RF_MAX_PER_ROLE];
	int nchildren;
	enum sup_state state;
	int listen_fd;
	struct sup_ctl_server *ctl;   /* the control socket's connections */
	char sock_path[108];
	int64_t started_ns, plane_started_ns, backoff_until_ns, stop_deadline_ns;
	int64_t backoff_ns;
	int64_t abort_deadline_ns; /* crash restart: SIGKILL what is left then;
	                            * rewind: fall back to a full restart then */
	uint64_t rewind_gen;
	unsigned quick_crashes;   /* crashes soon after a start, in a row */
	uint64_t plane_ckpts;     /* checkpoints completed when the plane started */
	unsigned restarts;        /* data-plane restarts since start */
	int exit_code;            /* set when the supervisor should exit */
	int ending;               /* the stop is a bounded input's end (stop_at = end) */
	int done;
	struct sup_rate rate[RF_ROLE_COUNT * RF_MAX_PER_ROLE];
	int64_t last_rate_ns;
	struct sup_ckpt ckpt;
	/* Full waits counted by each producer's output rings before they were
	 * last reset (a data-plane restart zeroes the rings' counters). */
	uint64_t ring_waits_base[RF_ROLE_COUNT * RF_MAX_PER_ROLE];
	/* The cpu children[i] is pinned to, -1: none ([processes]
	 * cpu_affinity; affinity.c). Set once before the first fork. */
	int pin[RF_ROLE_COUNT * RF_MAX_PER_ROLE];
};

extern const char *const sup_state_names[SUP_STATE_COUNT];

/* Runs until stopped; returns the process exit status. */
int sup_run(struct rf_pipeline *pl, int reset_state);

/* Times children[i] found one of its output rings full, since start. */
uint64_t sup_ring_full_waits(const struct sup *s, int i);
void sup_request_stop(struct sup *s, const char *why);

/* supervisor/control.c: the control socket, served from the loop without
 * blocking (ctl_server.h). */
int sup_control_open(struct sup *s, char *err, size_t errlen);
/* The descriptors to poll (at most max; 1 + SUP_CTL_MAX_CLIENTS suffice). */
int sup_control_pollfds(struct sup *s, struct pollfd *pfd, int max);
/* After poll: serve the entries sup_control_pollfds added, run deadlines. */
void sup_control_serve(struct sup *s, const struct pollfd *pfd, int n);
/* ms, shortened so that poll returns by the next connection deadline. */
int sup_control_timeout_ms(const struct sup *s, int ms);
void sup_control_close(struct sup *s);

/* supervisor/affinity.c: [processes] cpu_affinity (placement.h has the
 * formula). Before the first fork: fills s->pin and logs the placement;
 * a failure is logged and leaves every process unpinned. */
void sup_affinity_plan(struct sup *s);
/* In child i, right after fork: pins it to s->pin[i] (nothing when -1);
 * a failure is logged as a warning and the child runs unpinned. */
void sup_affinity_apply(const struct sup *s, int i);
/* Where children[i] runs: *last the cpu it last ran on (/proc/PID/stat
 * field 39), *pinned the cpu it is pinned to; -1 each when not running,
 * not pinned or unreadable. Returns 0, or -1 when *last is unknown. */
int sup_child_cpu(const struct sup *s, int i, int *last, int *pinned);

/* supervisor/coordinator.c */
int sup_ckpt_open(struct sup *s, int reset_state, char *err, size_t errlen);
void sup_ckpt_close(struct sup *s);
int sup_ckpt_plane_start(struct sup *s, char *err, size_t errlen);
void sup_ckpt_tick(struct sup *s);
/* ringflowctl checkpoint: 0 with msg, or -1 with the reason in msg. */
int sup_ckpt_request(struct sup *s, char *msg, size_t msglen);
/* Before a graceful stop signals the ingests. */
void sup_ckpt_final(struct sup *s);
int sup_ckpt_final_pending(const struct sup *s);
int sup_ckpt_final_failed(const struct sup *s);
/* [input] stop_at = end and every ingest has read its partitions to their
 * end: sets the ingests' finish flag (their stop then ends the input, so
 * every window closes) and returns 1; the caller runs the graceful stop. */
int sup_input_ended(struct sup *s);

#endif
