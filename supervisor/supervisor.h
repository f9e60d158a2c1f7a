/*
 * supervisor.h — the master process: forks the pipeline, reaps it, restarts
 * the data plane after a crash, serves the control socket.
 */
#ifndef SUP_SUPERVISOR_H
#define SUP_SUPERVISOR_H

#include <sys/types.h>

#include "supervisor/proc.h"

enum sup_state {
	SUP_RUNNING = 0,   /* data plane up */
	SUP_RESTARTING,    /* a process crashed: killing the rest, then restart */
	SUP_BACKOFF,       /* everything down, waiting before the restart */
	SUP_STOPPING,      /* graceful stop: ingest told to stop, stages draining */
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

struct sup {
	struct rf_pipeline *pl;
	struct shm_segment *seg;
	struct rf_layout lay;
	struct sup_child children[RF_ROLE_COUNT * RF_MAX_PER_ROLE];
	int nchildren;
	enum sup_state state;
	int listen_fd;
	char sock_path[108];
	int64_t started_ns, plane_started_ns, backoff_until_ns, stop_deadline_ns;
	int64_t backoff_ns;
	unsigned quick_crashes;   /* crashes soon after a start, in a row */
	unsigned restarts;        /* data-plane restarts since start */
	int exit_code;            /* set when the supervisor should exit */
	int done;
	struct sup_rate rate[RF_ROLE_COUNT * RF_MAX_PER_ROLE];
	int64_t last_rate_ns;
};

extern const char *const sup_state_names[SUP_STATE_COUNT];

/* Runs until stopped; returns the process exit status. */
int sup_run(struct rf_pipeline *pl, int argc, char **argv);

/* supervisor/control.c */
int sup_control_open(struct sup *s, char *err, size_t errlen);
void sup_control_accept(struct sup *s);
void sup_control_close(struct sup *s);
void sup_request_stop(struct sup *s, const char *why);

#endif
