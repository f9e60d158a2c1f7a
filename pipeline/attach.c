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

#include <stdio.h>

const char *const rf_role_names[RF_ROLE_COUNT] = { "ingest", "transform", "aggregate", "writer", "analyze" };
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

const enum rf_role rf_links[RF_NLINKS][2] = {
	{ RF_ROLE_INGEST, RF_ROLE_TRANSFORM },
	{ RF_ROLE_TRANSFORM, RF_ROLE_AGGREGATE },
	{ RF_ROLE_AGGREGATE, RF_ROLE_WRITER },
	{ RF_ROLE_AGGREGATE, RF_ROLE_ANALYZE },
	{ RF_ROLE_ANALYZE, RF_ROLE_WRITER },
};

uint64_t rf_layout_ring(const struct rf_layout *lay, enum rf_role fr, int from, enum rf_role tr, int to)
{
	for (int k = 0; k < lay->nrings; k++) {
		const struct rf_ring_ref *r = &lay->rings[k];
		if (r->from_role == fr && r->from == from && r->to_role == tr && r->to == to)
			return r->off;
	}
	return 0;
}

int rf_attach_inputs(const struct rf_proc *p, struct shm_ring_handle *hs, struct rf_peer *from,
		     char *err, size_t errlen)
{
	int n = 0;
	for (int k = 0; k < p->lay->nrings; k++) {
		const struct rf_ring_ref *r = &p->lay->rings[k];
		if (r->to_role != p->role || r->to != p->index)
			continue;
		if (n == RF_MAX_PEERS) {
			snprintf(err, errlen, "more than %d input rings", RF_MAX_PEERS);
			return -1;
		}
		if (shm_ring_handle_init(&hs[n], p->seg, r->off, err, errlen))
			return -1;
		if (from)
			from[n] = (struct rf_peer){ r->from_role, r->from };
		n++;
	}
	return n;
}

int rf_attach_outputs(const struct rf_proc *p, struct shm_ring_handle *hs, char *err, size_t errlen)
{
	int n = 0;
	for (int k = 0; k < p->lay->nrings; k++) {
		const struct rf_ring_ref *r = &p->lay->rings[k];
		if (r->from_role != p->role || r->from != p->index)
			continue;
		if (n == RF_MAX_PEERS) {
			snprintf(err, errlen, "more than %d output rings", RF_MAX_PEERS);
			return -1;
		}
		if (shm_ring_handle_init(&hs[n++], p->seg, r->off, err, errlen))
			return -1;
	}
	return n;
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
