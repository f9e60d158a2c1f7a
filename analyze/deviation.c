/*
 * deviation.c — value vs the value N values earlier (see deviation.h).  The
 * state is a header and a ring of the last N values; once full, the slot
 * about to be overwritten holds the reference.  Run inside
 * ringflow-deviation; never blocks.
 */
#include "analyze/deviation.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analyze/pct_band.h"

struct dev_state {
	uint32_t count;   /* values in the ring (<= windows) */
	uint32_t head;    /* next slot to write; once full, the oldest value */
	struct det_episode ep;
	double ring[];    /* [windows] */
};

void dev_params_default(struct dev_params *p)
{
	p->windows = 1;
	p->percent = 100;
	p->critical_percent = NAN;
	p->clear_windows = 3;
}

int dev_params_check(const struct dev_params *p, char *err, size_t errlen)
{
	if (p->windows < 1 || p->windows > DEV_MAX_WINDOWS) {
		snprintf(err, errlen, "windows %u: must be 1..%u", p->windows, DEV_MAX_WINDOWS);
		return -1;
	}
	return pct_band_check(p->percent, p->critical_percent, p->clear_windows, err, errlen);
}

size_t dev_state_size(const struct dev_params *p)
{
	return sizeof(struct dev_state) + (size_t)p->windows * sizeof(double);
}

void dev_init(void *state, const struct dev_params *p)
{
	memset(state, 0, dev_state_size(p));
}

void dev_update(void *state, const struct dev_params *p, double value, int missing,
		struct det_verdict *out)
{
	struct dev_state *st = state;

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
		pct_band_step(&st->ep, st->ring[st->head], value, p->percent, p->critical_percent,
			      p->clear_windows, out);
	else
		st->count++;
	st->ring[st->head] = value;
	st->head = st->head + 1 == p->windows ? 0 : st->head + 1;
}
