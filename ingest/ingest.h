/*
 * ingest.h — the ingest process: reads records from Kafka or a file and
 * hands lines to the transforms in LINES frames (framer.h).
 */
#ifndef ING_INGEST_H
#define ING_INGEST_H

#include "ingest/framer.h"
#include "pipeline/proc.h"

int ing_file_run(const struct rf_proc *p, struct ing_framer *fr);
int ing_kafka_run(const struct rf_proc *p, struct ing_framer *fr);
/* Validates the librdkafka settings of [input] offline (for -t and start). */
int ing_kafka_check(const struct conf_input *in, char *err, size_t errlen);

#endif
