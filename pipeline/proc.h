/*
 * proc.h — the stage layer's main header: what the supervisor and every
 * pipeline process share. Roles, the compiled pipeline (inherited through
 * fork), the layout of the shared segment (offsets only; the segment holds
 * no pointers), the process context a stage runs with, and the flags the
 * supervisor's signals set.
 *
 * Why a layer of its own (pipeline/): every stage needs the same floor —
 * its role and context, attaching to its rings (attach.c), the input loop
 * with barrier alignment (stage_input.h), the checkpoint control block and
 * acks (checkpoint.h), source ids (sources.h) and the formats that cross a
 * ring with their encoders and decoders (frames.h, row.h, lineproto.h) —
 * and none of it is the supervisor's business or one stage's. So stages
 * include pipeline/, shm/ and common/, never each other or supervisor/;
 * the supervisor carves the segment (supervisor/layout.c) and includes the
 * stages' entry headers only. It is not in shm/ because shm/ knows no
 * roles: a ring does not care what a frame means.
 */
#ifndef PL_PROC_H
#define PL_PROC_H

#include <signal.h>
#include <stdint.h>

#include "common/config.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/stats.h"

/* The analyzer host comes last although it sits between aggregate and
 * writer: it is the one optional role (0 processes without analyzers), and
 * the others keep their indexes. */
enum rf_role { RF_ROLE_INGEST = 0, RF_ROLE_TRANSFORM, RF_ROLE_AGGREGATE, RF_ROLE_WRITER, RF_ROLE_ANALYZE,
	       RF_ROLE_COUNT };

enum rf_proc_state { RF_PS_DOWN = 0, RF_PS_RUNNING, RF_PS_EXITED, RF_PS_CRASHED, RF_PS_STATE_COUNT };

#define RF_MAX_PER_ROLE 64
/* Rings: ingest->transform, transform->aggregate, aggregate->writer,
 * aggregate->analyze and analyze->writer, each every pair. */
/* Rings one process reads or writes at most: a writer reads every
 * aggregate and every analyzer host. */
#define RF_MAX_PEERS (2 * RF_MAX_PER_ROLE)
#define RF_MAX_RINGS (5 * RF_MAX_PER_ROLE * RF_MAX_PER_ROLE)

extern const char *const rf_role_names[RF_ROLE_COUNT];
extern const char *const rf_proc_state_names[RF_PS_STATE_COUNT];

struct xf_plan;
struct an_plan;
struct agg_rule;
struct rf_row_shape;

/* Everything compiled from the config before fork. */
struct rf_pipeline {
	struct rf_config conf;
	struct xf_plan *plan;
	struct agg_rule *rules;
	int nrules;
	/* [nrules]: each rule's row shape (pipeline/row.h), pointing into
	 * rules: what the transform needs of a rule to encode and route. */
	const struct rf_row_shape **row_shapes;
	/* The analyzers (analyze/analyze.h), NULL without any; and for each
	 * analyzer host the rules its analyzers read (bit r = rule r), which
	 * the aggregates send it. */
	struct an_plan *analyzers;
	uint64_t an_host_rules[RF_MAX_PER_ROLE];
};

/* One SPSC ring of the layout and the two processes it links. */
struct rf_ring_ref {
	uint64_t off;
	uint8_t from_role, from, to_role, to;
};

/* Offsets of every shared object; computed once, inherited by children. */
struct rf_layout {
	int n[RF_ROLE_COUNT];
	uint64_t ring_size;
	/* in_bell: the process sleeps here waiting for input;
	 * out_bell: it sleeps here waiting for space in an output ring. */
	uint64_t in_bell[RF_ROLE_COUNT][RF_MAX_PER_ROLE];
	uint64_t out_bell[RF_ROLE_COUNT][RF_MAX_PER_ROLE];
	uint64_t stats[RF_ROLE_COUNT][RF_MAX_PER_ROLE];
	/* Every ring, grouped by link (producer role, consumer role) in the
	 * order of rf_links, then by producer, then by consumer. So a
	 * process's inputs come in link order (a writer reads the aggregates,
	 * then the analyzer hosts) and so do its outputs (an aggregate feeds
	 * the writers, then the hosts). */
	struct rf_ring_ref rings[RF_MAX_RINGS];
	int nrings;
	uint64_t ckpt;     /* struct rf_ckpt_ctl (checkpoint.h) */
	uint64_t analyzers; /* struct rf_an_slot[CONF_MAX_ANALYZERS] (analyzers.h) */
};

/* The context a pipeline process runs with. */
struct rf_proc {
	const struct rf_pipeline *pl;
	struct shm_segment *seg;
	const struct rf_layout *lay;
	enum rf_role role;
	int index;
	struct rf_stats_slot *stats;
};

/* Set by the supervisor's stop signal (SIGRTMIN+1, from the supervisor's
 * pid only; supervisor.c) in a pipeline process. Ingest treats it as "stop
 * consuming and drain"; the other stages stop at once. A SIGTERM from
 * anyone (systemd's control group, kill -TERM -- -PGID) is ignored by the
 * children: the supervisor got it too and runs the graceful stop. */
extern volatile sig_atomic_t rf_stop_requested;
/* Same flag as an int pointer for ring/writer waits. */
extern volatile int rf_stop_flag;
/* Ingest only. The abort signal, SIGRTMIN+2 (rf_abort_flag): the whole data plane restarts
 * after a crash; the ingest leaves the consumer group at once (so the
 * restarted one is assigned without waiting for a session timeout) and
 * sends nothing more. The park signal, SIGRTMIN+3 (rf_park_flag): a stage behind the ingest
 * crashed; the ingest parks, keeps its group membership and rewinds to the
 * checkpoint when the supervisor has restarted the stages
 * (pipeline/checkpoint.h). Either sets rf_interrupt_flag, on which the
 * ingest's ring waits give up. */
extern volatile int rf_abort_flag;
extern volatile int rf_park_flag;
extern volatile int rf_interrupt_flag;

/* The links between roles, in layout order: {producer, consumer}. */
#define RF_NLINKS 5
extern const enum rf_role rf_links[RF_NLINKS][2];

/* The ring from process `from` of role fr to process `to` of role tr; 0 if
 * there is none. */
uint64_t rf_layout_ring(const struct rf_layout *lay, enum rf_role fr, int from, enum rf_role tr, int to);

/* This process's stats slot (or any process's, for the supervisor). */
struct rf_stats_slot *rf_layout_stats(struct shm_segment *seg, const struct rf_layout *lay,
				      enum rf_role role, int index);

/* Attach handles to this process's input rings (from every process of
 * every role that feeds it) or output rings (to every process of every role
 * it feeds), in layout order. from (may be NULL) gets each input's producer.
 * Returns the count, or -1 with err set. */
struct rf_peer {
	uint8_t role, index;
};
int rf_attach_inputs(const struct rf_proc *p, struct shm_ring_handle *hs, struct rf_peer *from,
		     char *err, size_t errlen);
int rf_attach_outputs(const struct rf_proc *p, struct shm_ring_handle *hs, char *err, size_t errlen);

/* The ingest and the stage loop (stage_loop.h): send EOS of `kind` on
 * every handle. */
int rf_send_eos(struct shm_ring_handle *hs, int n, uint32_t kind);

#endif
