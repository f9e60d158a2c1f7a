/*
 * rfa_history.h — the history half of the analyzer-author library: query an
 * InfluxDB 1.x server with InfluxQL over HTTP (libcurl) and get the answer
 * row by row, as it arrives.
 *
 * Runs in analyzer processes (not in the pipeline).  rfa_history_query blocks
 * for the whole request, bounded by timeout_ms.  Answers are asked for in
 * chunks (chunked=true) and parsed while they stream in, so memory stays at
 * one series header plus one row whatever the size of the answer.  Safe to
 * call from several threads at once (each call has its own curl handle).
 * The token is sent only as an Authorization header: never logged, never
 * written into err.
 */
#ifndef ANALYZE_RFA_HISTORY_H
#define ANALYZE_RFA_HISTORY_H

#include <stddef.h>
#include <stdint.h>

/* Where to ask.  The strings are not copied: they must outlive the calls. */
struct rfa_influx {
	const char *url;    /* http://host:port, without /query */
	const char *db;
	const char *token;  /* NULL or "": no Authorization header */
	long timeout_ms;    /* whole request; 0: no limit (connect still 10 s,
	                       and a transfer stalled for 60 s is aborted) */
};

/* Fills c from RINGFLOW_INFLUX_URL, RINGFLOW_INFLUX_DB and
 * RINGFLOW_INFLUX_TOKEN (optional; sent as "Authorization: Token ..."); the
 * pointers are getenv()'s, timeout_ms is 0.  0 when url and db are set and
 * not empty, -1 otherwise (c is filled either way). */
int rfa_influx_from_env(struct rfa_influx *c);

/* One row of an answer, valid only during the callback.  cols/vals leave out
 * the "time" column, which is time_ns (0 if the series has none). */
struct rfa_hist_row {
	const char *measurement;          /* the series' name ("" if none) */
	int ntags;
	const char *const *tag_keys, *const *tag_values;  /* GROUP BY tags */
	int64_t time_ns;
	int ncols;
	const char *const *cols;
	const double *vals;               /* NaN for null or non-numeric */
	int statement_id;
};

/* Nonzero stops the query. */
typedef int (*rfa_hist_fn)(void *arg, const struct rfa_hist_row *row);

/* Runs influxql against c->db (POST /query, epoch=ns, chunked) and calls fn
 * for every row, in the order of the answer.  Returns 0 when the answer was
 * read to its end, 1 when fn stopped it, -1 with a reason in err: connection
 * failures (curl's text, e.g. "Connection refused"), "HTTP <status>: <error
 * text of InfluxDB>", an error InfluxDB reported inside the answer, or
 * "malformed JSON at byte N: why".  Rows delivered before an error stand. */
int rfa_history_query(const struct rfa_influx *c, const char *influxql, rfa_hist_fn fn,
		      void *arg, char *err, size_t errlen);

/* Writes into buf the query for every point of measurement in [from_ns,
 * to_ns), one series per tag set:
 *   SELECT * FROM "m" WHERE time >= from AND time < to GROUP BY *
 * with the name quoted as an InfluxQL identifier.  Returns the length, or -1
 * if it does not fit in len (buf then holds "") or from_ns >= to_ns. */
int rfa_history_window_query(char *buf, size_t len, const char *measurement, int64_t from_ns,
			     int64_t to_ns);

#endif
