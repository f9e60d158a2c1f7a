/*
 * csv.h — split one CSV line and parse its typed columns (transform process).
 *
 * The format is the one sflowtool -l writes: a fixed number of columns per
 * record, one separator byte, and NO quoting — sflowtool never quotes, so a
 * '"' is an ordinary byte and a separator inside a column is impossible.
 * Parsing never allocates and never reads outside [line, line + len); string
 * values point into the line.
 *
 * The columns and what to do with each are a layout (csv_layout.h); typed
 * columns are decoded as csv_value.h says; the time column is left to the
 * plan (csv_time.h). An empty column or "-" is a missing value, never an
 * error. Implemented in csv.c.
 */
#ifndef XF_CSV_H
#define XF_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "common/value.h"
#include "transform/csv_layout.h"

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

/* A column's raw text, for callers that need it (the time column). */
struct xf_csv_col {
	uint32_t off, len;
};

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

#endif
