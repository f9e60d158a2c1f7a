/*
 * csv_layout.h — the column layout of a CSV source (transform process):
 * separator, column types and the list of columns the second pass of
 * xf_csv_parse (csv.h) has work on. Built once from the config by
 * csv_layout.c, when the plan is compiled; read-only afterwards.
 */
#ifndef XF_CSV_LAYOUT_H
#define XF_CSV_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include "common/value.h"
#include "common/config.h"

/* What the second pass does with one column (private to csv*.c). */
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

#endif
