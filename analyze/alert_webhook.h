/*
 * alert_webhook.h — the webhook alert sink: a bounded FIFO of JSON bodies
 * POSTed one at a time through a curl multi handle, with timeout, retries
 * and backoff. Internal to alert_sinks.c (see alert_sinks.h for the
 * behaviour an operator sees); runs in the analyzer host's loop and never
 * blocks it, except an_webhook_wait(), which is for the exit flush.
 */
#ifndef ANALYZE_ALERT_WEBHOOK_H
#define ANALYZE_ALERT_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/alert_sinks.h"

#define AN_WEBHOOK_BACKOFF_NS (200LL * 1000000)    /* first retry after this, doubling */
#define AN_WEBHOOK_BACKOFF_MAX_NS (5LL * 1000000000)

struct an_webhook;

/* c->webhook is the URL; its header, timeout, retries and queue settings
 * apply (defaults for values out of range). Counters go to *stats, which
 * must outlive the sink. NULL with a reason in err. */
struct an_webhook *an_webhook_new(const struct an_alerts_conf *c, const char *name_for_logs,
				  struct an_sink_stats *stats, char *err, size_t errlen);
void an_webhook_free(struct an_webhook *w);    /* NULL is fine; drops the queue */
/* Copies json[0, len) into the queue; -1 when full (counted dropped). */
int an_webhook_push(struct an_webhook *w, const char *json, size_t len);
void an_webhook_service(struct an_webhook *w, int64_t now_ns);
/* Alerts queued or in flight. */
size_t an_webhook_pending(const struct an_webhook *w);
/* Waits up to timeout_ms for socket activity of the transfer (or just the
 * time, when none is running). Exit flush only. */
void an_webhook_wait(struct an_webhook *w, int timeout_ms);
/* "https://example.org" of url into buf: scheme and host, no user info,
 * path or query, so a token in the URL never reaches the log. */
void an_webhook_redact(const char *url, char *buf, size_t cap);

#endif
