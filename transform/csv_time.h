/*
 * csv_time.h — the event time of a record from the text of its time
 * column (transform process; the plan, once per record). Implemented in
 * csv_time.c.
 */
#ifndef XF_CSV_TIME_H
#define XF_CSV_TIME_H

#include <stddef.h>
#include <stdint.h>
#include "common/config.h"

/* Event time of a column as nanoseconds since the epoch, for the
 * time_format values of the config. Returns 0 or -1. */
int xf_parse_time(const char *p, size_t n, enum conf_time_format fmt, int64_t *ns);

#endif
