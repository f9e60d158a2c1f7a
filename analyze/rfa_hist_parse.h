/*
 * rfa_hist_parse.h — turns InfluxDB 1.x /query answers (a stream of JSON
 * objects {"results":[{"statement_id":N,"series":[{"name","tags","columns",
 * "values"}],"error"}]} or {"error":"..."}) into rows, while they stream in.
 *
 * Used by rfa_history.c inside libcurl's write callback, and by tests fed by
 * hand.  Holds one series header (name, tags, columns; at most
 * RFA_HIST_MAX_HEADER bytes) and one row; no allocation per row.  A series'
 * keys must come in InfluxDB's order (name, tags and columns before values),
 * as rows are handed out while "values" is read.
 */
#ifndef ANALYZE_RFA_HIST_PARSE_H
#define ANALYZE_RFA_HIST_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/rfa_history.h"

#define RFA_HIST_MAX_HEADER (4 * 1024 * 1024)  /* name + tags + column names */
#define RFA_HIST_MAX_COLS 65536
#define RFA_HIST_MAX_TAGS 65536

/* Results of feed/finish, apart from 0 (fine so far / complete). */
enum {
	RFA_HIST_STOPPED = 1,   /* fn returned nonzero */
	RFA_HIST_MALFORMED = -1,/* not JSON, or not an answer's shape; err says where */
	RFA_HIST_INFLUX = -2,   /* InfluxDB's own error; err holds its text */
};

struct rfa_hist_parser;

/* deliver 0: rows are parsed but fn is not called (an error answer's body,
 * read only for its error text).  NULL when out of memory. */
struct rfa_hist_parser *rfa_hist_parser_new(rfa_hist_fn fn, void *arg, int deliver);
void rfa_hist_parser_free(struct rfa_hist_parser *p);
/* 0 or one of the codes above; after a nonzero result the parser refuses
 * more input.  err gets text for MALFORMED and INFLUX. */
int rfa_hist_parser_feed(struct rfa_hist_parser *p, const char *data, size_t len, char *err,
			 size_t errlen);
/* End of the answer: 0 if it was complete (at least one object, nothing
 * left open), else as feed ("empty answer" is MALFORMED). */
int rfa_hist_parser_finish(struct rfa_hist_parser *p, char *err, size_t errlen);
/* Rows seen (delivered or, with deliver 0, parsed). */
uint64_t rfa_hist_parser_rows(const struct rfa_hist_parser *p);

#endif
