/* stage_input.c — see stage_input.h. */
#include "pipeline/stage_input.h"
#include "common/log.h"
#include "pipeline/frames.h"

#include <errno.h>
#include <string.h>

int rf_stage_input_attach(struct rf_stage_input *in, const struct rf_proc *p, char *err, size_t errlen)
{
	memset(in, 0, sizeof *in);
	in->eos_kind = RF_EOS_END;
	in->n = rf_attach_inputs(p, in->rings, in->from, err, errlen);
	if (in->n <= 0)
		return -1;
	in->bell = shm_at(p->seg, p->lay->in_bell[p->role][p->index]);
	return in->n;
}

/* Hands the barrier on once every open input delivered it. */
static int barrier_check(struct rf_stage_input *in, rf_frame_fn fn, void *arg)
{
	if (!in->barrier)
		return 0;
	for (int i = 0; i < in->n; i++)
		if (!in->eos[i] && !in->blocked[i])
			return 0;
	struct rf_barrier b = { in->barrier };
	memset(in->blocked, 0, sizeof in->blocked);
	in->nblocked = 0;
	in->barrier = 0;
	return fn(arg, -1, RF_FRAME_BARRIER, &b, sizeof b) < 0 ? -1 : 0;
}

static int barrier_arrived(struct rf_stage_input *in, int i, const void *fr, uint32_t len)
{
	uint64_t id = len >= sizeof(struct rf_barrier) ? ((const struct rf_barrier *)fr)->id : 0;
	if (!id || (in->barrier && id != in->barrier)) {
		rf_error("%s %d sent barrier %llu while aligning %llu; restarting the data plane",
			 rf_role_names[in->from[i].role], in->from[i].index,
			 (unsigned long long)id, (unsigned long long)in->barrier);
		return -1;
	}
	in->barrier = id;
	in->blocked[i] = 1;
	in->nblocked++;
	return 0;
}

int rf_stage_input_turn(struct rf_stage_input *in, int per_turn, rf_frame_fn fn, void *arg)
{
	int handled = 0;
	for (int i = 0; i < in->n; i++) {
		struct shm_ring_handle *h = &in->rings[i];
		if (in->eos[i] || in->blocked[i])
			continue;
		for (int f = 0; f < per_turn; f++) {
			uint32_t len;
			uint16_t type;
			const void *fr = shm_ring_peek(h, &len, &type);
			if (!fr) {
				if (errno == EBADMSG) {
					rf_error("ring from %s %d holds a malformed frame; restarting the data plane",
						 rf_role_names[in->from[i].role], in->from[i].index);
					return -1;
				}
				break;
			}
			handled++;
			in->frames++;
			if (type == RF_FRAME_EOS) {
				if (len >= sizeof(struct rf_eos) && ((const struct rf_eos *)fr)->kind == RF_EOS_STOP)
					in->eos_kind = RF_EOS_STOP;
				in->eos[i] = 1;
				in->neos++;
				shm_ring_consume(h);
				break;
			}
			if (type == RF_FRAME_BARRIER) {
				if (barrier_arrived(in, i, fr, len) < 0)
					return -1;
				shm_ring_consume(h);
				break;
			}
			int rc = fn(arg, i, type, fr, len);
			if (rc < 0)
				return -1;
			shm_ring_consume(h);
			if (rc > 0)
				break;
		}
		shm_ring_release(h);
		if (barrier_check(in, fn, arg) < 0)
			return -1;
	}
	return handled;
}

void rf_stage_input_wait(struct rf_stage_input *in, int64_t timeout_ns)
{
	struct shm_ring_handle *open[RF_MAX_PEERS];
	int n = 0;
	for (int i = 0; i < in->n; i++)
		if (!in->eos[i] && !in->blocked[i])
			open[n++] = &in->rings[i];
	if (n)
		shm_rings_wait(open, n, in->bell, timeout_ns);
}
