/*
 * csv.h — split one CSV line and parse its typed columns (transform process).
 *
 * The format is the one sflowtool -l writes: a fixed number of columns per
 * record, one separator byte, and NO quoting — sflowtool never quotes, so a
 * '"' is an ordinary byte and a separator inside a column is impossible.
 * Parsing never allocates and never reads outside [line, line + len); string
 * values point into the line.
 *
 * Column values: `int` is decimal or 0x hexadecimal with an optional sign
 * (sflowtool prints tos and tcp_flags as 0x18), `float` a decimal number
 * parsed independently of the locale, `ip` IPv4 (dotted quad) or IPv6 in any
 * form inet_pton accepts, stored as 16 bytes (IPv4 as ::ffff:a.b.c.d with
 * ip_is_v4 set), `str` the bytes as they are. An empty column or "-" is a
 * missing value, never an error.
 */
#ifndef XF_CSV_H
#define XF_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "common/value.h"
#include "common/config.h"

#define XF_CSV_LINE_MAX 65536 /* longer lines are rejected, not truncated */

/* Why a line was rejected. The order is part of enum xf_result (plan.h). */
enum xf_csv_err {
	XF_CSV_OK = 0,
	XF_CSV_EMPTY_LINE,
	XF_CSV_WRONG_COLUMN_COUNT, /* also CNTR lines under the FLOW layout */
	XF_CSV_BAD_INT,
	XF_CSV_BAD_FLOAT,
	XF_CSV_BAD_IP,
	XF_CSV_BAD_TIMESTAMP,      /* reported by the plan, not by xf_csv_parse */
	XF_CSV_LINE_TOO_LONG,
	XF_CSV_BINARY_JUNK,        /* NUL or a control byte other than tab */
	XF_CSV_ERR_COUNT
};

/* snake_case names ("bad_int"), for logs and metric labels. */
const char *xf_csv_err_name(enum xf_csv_err e);

/* What the second pass does with one column (private to csv.c). */
enum xf_csv_op {
	XF_CSV_OP_STR = 0,   /* decode: the value points into the line */
	XF_CSV_OP_INT,
	XF_CSV_OP_FLOAT,
	XF_CSV_OP_IP,
	XF_CSV_OP_CHECK_INT, /* validate only: an unused typed column */
	XF_CSV_OP_CHECK_FLOAT,
	XF_CSV_OP_CHECK_IP,
};

/* A column layout, built once from the config. */
struct xf_csv {
	int ncols;
	char sep;
	uint8_t types[CONF_MAX_FIELDS]; /* enum rf_vtype per column */
	/* The second pass walks only this list, in column order, so a column
	 * with nothing to do (an unused str column) costs nothing. */
	int nwork;
	uint8_t work_col[CONF_MAX_FIELDS];
	uint8_t work_op[CONF_MAX_FIELDS];  /* enum xf_csv_op */
};

/* What xf_csv_use() does with the typed columns nobody reads. */
enum xf_csv_unused {
	/* Checked with the same rules as a decoded column, value not stored:
	 * a line is accepted or rejected (same reason, same column) exactly
	 * as if every column were decoded. What the transform uses. */
	XF_CSV_UNUSED_VALIDATE = 0,
	/* Not looked at: only the column count and junk bytes are checked.
	 * Kept to measure what validation costs (bench_transform csv). */
	XF_CSV_UNUSED_SKIP,
};

/* A column's raw text, for callers that need it (the time column). */
struct xf_csv_col {
	uint32_t off, len;
};

/*
 * types[i] is RF_V_STR, RF_V_INT, RF_V_FLOAT or RF_V_IP. The separator may
 * be any byte except NUL, '\r' and '\n'. Returns 0 or -1 with err set.
 */
int xf_csv_init(struct xf_csv *c, char sep, const enum rf_vtype *types, int ncols,
		char *err, size_t errlen);

/*
 * Decode only the columns with used[i] != 0 (used holds c->ncols flags);
 * the others are validated or skipped as `unused` says. Until this is
 * called every column is decoded. A plan calls it once with the columns its
 * filter, outputs and time field read.
 */
void xf_csv_use(struct xf_csv *c, const uint8_t *used, enum xf_csv_unused unused);

/*
 * Parses one line (without its '\n'; a trailing '\r' is ignored). On
 * XF_CSV_OK vals[i] holds the value of every decoded column i (all of them
 * unless xf_csv_use() said otherwise; vals[i] of another column is not
 * written) and, if cols is not NULL, cols[0..ncols) the raw spans of all
 * columns. On a typed-value error *bad_col (if not NULL) is the 0-based
 * column. vals and cols must hold c->ncols entries.
 */
enum xf_csv_err xf_csv_parse(const struct xf_csv *c, const char *line, size_t len,
		struct rf_value *vals, struct xf_csv_col *cols, int *bad_col);

/* The single-value parsers behind xf_csv_parse; the whole span must be
 * consumed. Each returns 0 or -1; none reads outside [p, p + n). */
int xf_parse_int(const char *p, size_t n, int64_t *out);
int xf_parse_float(const char *p, size_t n, double *out);
int xf_parse_ip(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4);

/* Event time of a column as nanoseconds since the epoch, for the
 * time_format values of the config. Returns 0 or -1. */
int xf_parse_time(const char *p, size_t n, enum conf_time_format fmt, int64_t *ns);

#endif
