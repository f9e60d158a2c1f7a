/*
 * attach.c — what a pipeline process does with the segment the supervisor
 * carved (supervisor/layout.c): find its stats slot, attach to its input
 * and output rings, reach the checkpoint control block, and send the
 * control frames every stage sends (BARRIER, EOS). Also the flags the
 * supervisor's signals set in every pipeline process.
 */
#include "pipeline/checkpoint.h"
#include "pipeline/frames.h"
#include "pipeline/proc.h"

const char *const rf_role_names[RF_ROLE_COUNT] = { "ingest", "transform", "aggregate", "writer" };
const char *const rf_proc_state_names[RF_PS_STATE_COUNT] = { "down", "running", "exited", "crashed" };

volatile sig_atomic_t rf_stop_requested;
volatile int rf_stop_flag;
volatile int rf_abort_flag;
volatile int rf_park_flag;
volatile int rf_interrupt_flag;

struct rf_stats_slot *rf_layout_stats(struct shm_segment *seg, const struct rf_layout *lay,
				      enum rf_role role, int index)
{
	return shm_at(seg, lay->stats[role][index]);
}

int rf_attach_inputs(const struct rf_proc *p, struct shm_ring_handle *hs, char *err, size_t errlen)
{
	if (p->role == RF_ROLE_INGEST)
		return 0;
	int prev = p->role - 1;
	for (int i = 0; i < p->lay->n[prev]; i++)
		if (shm_ring_handle_init(&hs[i], p->seg, p->lay->edge[prev][i][p->index], err, errlen))
			return -1;
	return p->lay->n[prev];
}

int rf_attach_outputs(const struct rf_proc *p, struct shm_ring_handle *hs, char *err, size_t errlen)
{
	if (p->role == RF_ROLE_WRITER)
		return 0;
	int next = p->role + 1;
	for (int j = 0; j < p->lay->n[next]; j++)
		if (shm_ring_handle_init(&hs[j], p->seg, p->lay->edge[p->role][p->index][j], err, errlen))
			return -1;
	return p->lay->n[next];
}

struct rf_ckpt_ctl *rf_ckpt_ctl(const struct rf_proc *p)
{
	return shm_at(p->seg, p->lay->ckpt);
}

int rf_ckpt_input_reading(const struct rf_proc *p)
{
	const struct rf_ckpt_ctl *c = rf_ckpt_ctl(p);
	for (int i = 0; i < p->lay->n[RF_ROLE_INGEST]; i++)
		if (!atomic_load_explicit(&c->reading[i], memory_order_acquire))
			return 0;
	return 1;
}

int rf_send_barrier(struct shm_ring_handle *hs, int n, uint64_t id)
{
	for (int j = 0; j < n; j++) {
		struct rf_barrier *b = shm_ring_reserve(&hs[j], sizeof *b, RF_FRAME_BARRIER, &rf_interrupt_flag);
		if (!b)
			return -1;
		b->id = id;
		shm_ring_commit(&hs[j]);
	}
	return 0;
}

int rf_send_eos(struct shm_ring_handle *hs, int n, uint32_t kind)
{
	for (int j = 0; j < n; j++) {
		struct rf_eos *e = shm_ring_reserve(&hs[j], sizeof *e, RF_FRAME_EOS, NULL);
		if (!e)
			return -1;
		e->kind = kind;
		e->pad = 0;
		shm_ring_commit(&hs[j]);
	}
	return 0;
}
