/*
 * csv_layout.c — compiling the column layout of a CSV source from the
 * config (transform process, once at start-up, when the plan is built):
 * checks the separator and the column types, then lists the columns the
 * second pass of xf_csv_parse (csv.c) has work on and what to do with each.
 */
#include <stdio.h>
#include <string.h>

#include "transform/csv_layout.h"

int xf_csv_init(struct xf_csv *c, char sep, const enum rf_vtype *types, int ncols,
		char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (sep == '\0' || sep == '\r' || sep == '\n') {
		snprintf(err, errlen, "separator cannot be NUL, CR or LF");
		return -1;
	}
	if (ncols < 1 || ncols > CONF_MAX_FIELDS) {
		snprintf(err, errlen, "need 1 to %d fields, got %d", CONF_MAX_FIELDS, ncols);
		return -1;
	}
	for (int i = 0; i < ncols; i++) {
		if (types[i] != RF_V_STR && types[i] != RF_V_INT &&
		    types[i] != RF_V_FLOAT && types[i] != RF_V_IP) {
			snprintf(err, errlen, "field %d: type must be str, int, float or ip", i + 1);
			return -1;
		}
		c->types[i] = (uint8_t)types[i];
	}
	c->ncols = ncols;
	c->sep = sep;
	xf_csv_use(c, NULL, XF_CSV_UNUSED_VALIDATE);
	return 0;
}

void xf_csv_use(struct xf_csv *c, const uint8_t *used, enum xf_csv_unused unused)
{
	static const uint8_t decode[RF_V_TYPE_COUNT] = {
		[RF_V_STR] = XF_CSV_OP_STR, [RF_V_INT] = XF_CSV_OP_INT,
		[RF_V_FLOAT] = XF_CSV_OP_FLOAT, [RF_V_IP] = XF_CSV_OP_IP,
	};
	static const uint8_t check[RF_V_TYPE_COUNT] = {
		[RF_V_INT] = XF_CSV_OP_CHECK_INT, [RF_V_FLOAT] = XF_CSV_OP_CHECK_FLOAT,
		[RF_V_IP] = XF_CSV_OP_CHECK_IP,
	};
	c->nwork = 0;
	for (int i = 0; i < c->ncols; i++) {
		int t = c->types[i];
		if (used == NULL || used[i]) {
			c->work_op[c->nwork] = decode[t];
		} else if (unused == XF_CSV_UNUSED_VALIDATE && t != RF_V_STR) {
			c->work_op[c->nwork] = check[t];
		} else {
			continue;      /* a str column cannot be wrong */
		}
		c->work_col[c->nwork++] = (uint8_t)i;
	}
}
