/*
 * alert_state.h — state_changes_only ([alerts], DESIGN.md §5): a series
 * alerts when its severity changes, not on every window, and sends one `ok`
 * when it returns to normal.
 *
 * Per series identity (an_alert_series_key) the table keeps the last
 * severity sent; a series that is absent counts as ok. Series that went ok
 * are removed again, so memory follows the series in trouble; a hard cap
 * (max_series) evicts the series updated longest ago, counted: that series
 * then alerts again on its next non-ok window, and its `ok` is lost.
 *
 * Runs in the analyzer host's loop, single-threaded. Allocates one entry per
 * series in trouble (alerts are rare next to records; nothing per record).
 */
#ifndef ANALYZE_ALERT_STATE_H
#define ANALYZE_ALERT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/alert.h"

#define AN_ALERT_STATE_DEFAULT_MAX 100000

struct an_alert_state;

/* max_series 0 = AN_ALERT_STATE_DEFAULT_MAX. NULL on ENOMEM. */
struct an_alert_state *an_alert_state_new(size_t max_series);
void an_alert_state_free(struct an_alert_state *st); /* NULL is fine */

/*
 * 1: send a (its severity differs from the last one sent for its series),
 * and the table now remembers it; 0: suppress it (same severity again, or
 * an `ok` for a series that was never alerted); -1: a->severity is not a
 * det_severity (nothing changed). Aborts on ENOMEM, like lp_buf.
 */
int an_alert_state_pass(struct an_alert_state *st, const struct an_alert *a);

/* Series remembered now (all of them non-ok), and evictions so far. */
size_t an_alert_state_count(const struct an_alert_state *st);
uint64_t an_alert_state_evictions(const struct an_alert_state *st);

#endif
