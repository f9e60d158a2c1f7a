/*
 * alert.h — one alert as the analyzer host sees it: read from an analyzer's
 * `alert` point (DESIGN.md §5), written as the JSON object every alert sink
 * sends, and named by a series identity (Kafka key, state_changes_only).
 *
 * Runs in the analyzer host process. Pure functions: no I/O, no allocation.
 * An an_alert borrows every string it points at (from the lp_point it was
 * read from, or from the caller); it owns nothing.
 */
#ifndef ANALYZE_ALERT_H
#define ANALYZE_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/detector.h"
#include "pipeline/lineproto_parse.h"

struct an_alert {
	int64_t time_ns;               /* Unix nanoseconds, UTC */
	const char *analyzer;          /* NULL: JSON null */
	const char *rule;              /* NULL: the point had no rule tag */
	const char *field;             /* NULL: the point had no field tag */
	const char *message;           /* NULL: no message field */
	int severity;                  /* enum det_severity */
	int ntags;                     /* series tags (the rule's key), in point order */
	const char *tag_keys[LP_MAX_TAGS], *tag_values[LP_MAX_TAGS];
	/* NaN = absent: JSON null (the keys are always there, so consumers
	 * see one schema), and left out of the log line. */
	double value, expected, lower, upper, score;
};

/* "ok", "info", "warning", "critical"; NULL outside the enum. */
const char *an_severity_name(int severity);
/* The severity named by s[0, len), or -1. */
int an_severity_parse(const char *s, size_t len);

/*
 * Fills *out from a parsed point of measurement `alert`. Tags rule, field
 * and severity are taken out; every other tag is a series tag. Fields:
 * message (string), value/expected/lower/upper/score (float, integer or
 * unsigned); other fields are ignored (an analyzer may add its own), a
 * wrong type for one of these is refused. Refused with a reason in err:
 * another measurement, no severity tag, a severity that is not one of the
 * four names. time = the point's, or default_time_ns (the window start)
 * when it has none. *out borrows pt's text: valid while pt is.
 * Returns 0 or -1.
 */
int an_alert_from_point(const struct lp_point *pt, const char *analyzer, int64_t default_time_ns,
			struct an_alert *out, char *err, size_t errlen);

/*
 * One JSON object, no newline, NUL-terminated:
 *   {"time":"2026-12-03T14:00:00.5Z","analyzer":"spikes","rule":"by_country",
 *    "tags":{"src_country":"DE"},"field":"bytes","value":2e+07,
 *    "expected":1000000,"lower":900000,"upper":1100000,"score":19.3,
 *    "severity":"critical","message":"..."}
 * time is RFC 3339 UTC, with a fraction only when the nanoseconds are not
 * zero (trailing zeros trimmed). Numbers are the shortest of %.15g/%.17g
 * that reads back exactly; NaN and infinities are null. Strings escape '"',
 * '\' and every byte below 0x20 as \u00XX; other bytes are copied (the
 * input is valid UTF-8: lp_parse checks it). Returns the length without
 * the NUL, or 0 if it does not fit in cap (buf then holds junk).
 */
size_t an_alert_json(const struct an_alert *a, char *buf, size_t cap);

/*
 * The series identity: analyzer, rule, field, then the tags sorted by key
 * (then value), as "analyzer,rule,field,key=value,key=value". A backslash
 * escapes ',', '=' and '\' inside the parts, so two different series never
 * share a key (a NULL part reads as empty). Like snprintf: writes at most
 * cap bytes including the NUL, returns the length the whole key needs.
 */
size_t an_alert_series_key(const struct an_alert *a, char *buf, size_t cap);

#endif
