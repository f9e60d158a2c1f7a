/*
 * inputs.h — the two inputs an ingest process runs (ingest_proc.c picks
 * one): a file or stdin (file_source.c) and Kafka (kafka_source.c). Each
 * returns the process exit status.
 */
#ifndef ING_INPUTS_H
#define ING_INPUTS_H

#include "ingest/framer.h"
#include "pipeline/proc.h"

int ing_file_run(const struct rf_proc *p, struct ing_framer *fr);
int ing_kafka_run(const struct rf_proc *p, struct ing_framer *fr);

#endif
