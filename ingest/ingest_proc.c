/*
 * ingest_proc.c — entry point of an ingest process: attaches its output
 * rings and runs the configured source until end of input or stop.
 */
#include "ingest/ingest.h"
#include "ingest/inputs.h"
#include "common/log.h"

int ing_run(const struct rf_proc *p)
{
	struct shm_ring_handle outs[RF_MAX_PEERS];
	char err[256];
	int n = rf_attach_outputs(p, outs, err, sizeof err);
	if (n <= 0) {
		rf_error("attach output rings: %s", err);
		return 1;
	}
	struct ing_framer fr;
	ing_framer_init(&fr, outs, n, p->stats);
	if (p->pl->conf.input.type == CONF_INPUT_FILE)
		return ing_file_run(p, &fr);
	return ing_kafka_run(p, &fr);
}
