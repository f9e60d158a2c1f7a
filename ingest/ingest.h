/*
 * ingest.h — the ingest stage as the supervisor sees it: run an ingest
 * process, and check the librdkafka settings of [input] offline. An ingest
 * reads records from Kafka or a file and hands lines to the transforms in
 * LINES frames (framer.h). The [input] section is declared here too.
 */
#ifndef ING_INGEST_H
#define ING_INGEST_H

#include <stddef.h>

#include "common/config.h"
#include "pipeline/proc.h"

/* [input]: its keys, parsers and checks (input_config.c), for the
 * supervisor's section list. */
extern const struct conf_section ing_input_section;

/* Returns the process exit status. */
int ing_run(const struct rf_proc *p);
/* Validates the librdkafka settings of [input] offline (for -t and start). */
int ing_kafka_check(const struct conf_input *in, char *err, size_t errlen);

#endif
