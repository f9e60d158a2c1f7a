/*
 * average.c — value vs the mean of the last N values (see average.h).  The
 * state is a header, a running sum and a ring of the last N values.
 *
 * Why the sum is recomputed: sum += new - old rounds on every update, and
 * those errors add up without bound over a long-lived series (months of
 * windows), and after a burst of large values the sum can keep a remainder
 * of them that no longer matches what is in the ring.  So every N updates
 * (once per full turn of the ring) the sum is recomputed from the ring: the
 * error is then that of at most 2N rounded steps, whatever the age of the
 * series, and the cost stays O(1) per update amortised (N additions every N
 * updates), with no per-update loop on the hot path.
 *
 * Run inside ringflow-average; never blocks.
 */
#include "analyze/average.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analyze/pct_band.h"

struct avg_state {
	uint32_t count;   /* values in the ring (<= windows) */
	uint32_t head;    /* next slot to write; once full, the oldest value */
	uint32_t since;   /* pushes since the sum was last recomputed */
	struct det_episode ep;
	double sum;       /* of the ring's count values */
	double ring[];    /* [windows] */
};

void avg_params_default(struct avg_params *p)
{
	p->windows = 10;
	p->percent = 100;
	p->critical_percent = NAN;
	p->clear_windows = 3;
}

int avg_params_check(const struct avg_params *p, char *err, size_t errlen)
{
	if (p->windows < 1 || p->windows > AVG_MAX_WINDOWS) {
		snprintf(err, errlen, "windows %u: must be 1..%u", p->windows, AVG_MAX_WINDOWS);
		return -1;
	}
	return pct_band_check(p->percent, p->critical_percent, p->clear_windows, err, errlen);
}

size_t avg_state_size(const struct avg_params *p)
{
	return sizeof(struct avg_state) + (size_t)p->windows * sizeof(double);
}

void avg_init(void *state, const struct avg_params *p)
{
	memset(state, 0, avg_state_size(p));
}

static void history_push(struct avg_state *st, const struct avg_params *p, double v)
{
	if (st->count == p->windows) {
		st->sum -= st->ring[st->head];
	} else {
		st->count++;
	}
	st->ring[st->head] = v;
	st->sum += v;
	st->head = st->head + 1 == p->windows ? 0 : st->head + 1;
	if (++st->since >= p->windows) {
		double s = 0;
		for (uint32_t i = 0; i < st->count; i++)
			s += st->ring[i];
		st->sum = s;
		st->since = 0;
	}
}

void avg_update(void *state, const struct avg_params *p, double value, int missing,
		struct det_verdict *out)
{
	struct avg_state *st = state;

	out->value = value;
	out->expected = out->lower = out->upper = NAN;
	out->score = 0;
	out->changed = 0;
	out->severity = st->ep.severity;
	if (missing || !isfinite(value)) {
		out->value = NAN;
		return;
	}
	if (st->count == p->windows)
		pct_band_step(&st->ep, st->sum / p->windows, value, p->percent, p->critical_percent,
			      p->clear_windows, out);
	history_push(st, p, value);
}
