/*
 * influx.h — InfluxDB HTTP client for the writer process (libcurl, one
 * keep-alive easy handle per client).
 *
 *  v1 (`database` set): creates the database and a retention policy
 *     "ringflow" (DURATION = `retention`, INF when 0) as its default, on the
 *     first delivery and again after a 404 "database not found"; writes with
 *     POST /write?db=..&precision=ns, HTTP basic auth when username/password
 *     are set (never put in URLs, never logged).
 *  v2 (`bucket` set): POST /api/v2/write?org=..&bucket=..&precision=ns with
 *     "Authorization: Token ..." (token, or the first line of token_file read
 *     at open). Buckets are not created.
 *
 * Outcomes of one POST /write:
 *   2xx                 accepted;
 *   400/422 with a count ("partial write: ... dropped=N", plus one per
 *                       "unable to parse" line)  those are rejected, the rest
 *                       accepted, no retry;
 *   400 "unable to parse" (v1, nothing parsed)  the whole batch is rejected;
 *   400/422 otherwise   (e.g. influxd refuses a batch whose points disagree on
 *                       a field's type, writing none of it) the batch is split
 *                       in halves until the bad single lines are found;
 *   413                 split in halves at line boundaries; one line alone
 *                       too large is rejected;
 *   transport errors, timeouts, 5xx, 429, 401/403 (logged as config errors),
 *   any other status    retried with backoff, forever, until *stop.
 *
 * Known limit of InfluxDB 1.6: when a batch has both unparsable lines and
 * points dropped for another reason, the answer only gives the drop count;
 * the unparsable lines are then counted as accepted.
 */
#ifndef WR_INFLUX_H
#define WR_INFLUX_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "writer/output.h"

#define WR_INFLUX_RP_NAME "ringflow"

struct wr_influx;

/* Validates the config and prepares URLs and headers; no network I/O.
 * Calls curl_global_init. Returns NULL with err set. */
struct wr_influx *wr_influx_open(const struct conf_output *conf, char *err, size_t errlen);
void wr_influx_close(struct wr_influx *inf);  /* accepts NULL */
enum wr_result wr_influx_deliver(struct wr_influx *inf, const char *lp, size_t len,
				 uint32_t npoints, const volatile int *stop,
				 struct wr_report *rep);

#endif
