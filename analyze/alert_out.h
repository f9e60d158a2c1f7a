/*
 * alert_out.h — where the analyzer host sends the alerts its analyzers
 * print: the [alerts] sinks (log, Kafka, webhook; DESIGN.md §5). The
 * InfluxDB measurement is the host's own (analyze_proc.c): it goes to the
 * writers with the other points.
 *
 * Runs in the analyzer host; never blocks (service drives the sinks).
 */
#ifndef AN_ALERT_OUT_H
#define AN_ALERT_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "pipeline/lineproto_parse.h"

struct an_alert_out;

/* NULL with err if a sink cannot be set up. */
struct an_alert_out *an_alert_out_open(const struct rf_config *conf, char *err, size_t errlen);
/* pt: an `alert` point whose severity tag is valid; t: its time. */
void an_alert_out_send(struct an_alert_out *o, const char *analyzer, const struct lp_point *pt, int64_t t);
void an_alert_out_service(struct an_alert_out *o, int64_t now_ns);
/* At the end: deliver what is queued, waiting at most timeout_ns. */
void an_alert_out_flush(struct an_alert_out *o, int64_t timeout_ns);
void an_alert_out_close(struct an_alert_out *o);

#endif
