/*
 * plan.c — compiles the transform part of the config into a plan and runs
 * it per line (transform processes; the supervisor compiles it to check the
 * config). See plan.h for the life cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transform/csv_time.h"
#include "transform/expr.h"
#include "transform/geoip.h"
#include "transform/plan.h"

_Static_assert(XF_EMPTY_LINE == XF_CSV_EMPTY_LINE + 1 &&
	       XF_BAD_TIMESTAMP == XF_CSV_BAD_TIMESTAMP + 1 &&
	       XF_BINARY_JUNK == XF_CSV_BINARY_JUNK + 1 &&
	       XF_RESULT_COUNT == XF_CSV_ERR_COUNT + 1,
	       "enum xf_result must mirror enum xf_csv_err after XF_FILTERED");
_Static_assert(RF_V_ANY == RF_V_ANY, "one ANY type");

struct xf_plan {
	struct xf_csv csv;
	int time_field;
	enum conf_time_format time_format;
	int64_t time_scale;      /* ns per unit when the time column is an int, else 0 */
	struct xf_expr *filter;
	int nout;
	char names[CONF_MAX_OUTPUTS][CONF_NAME_MAX];
	struct xf_expr *out[CONF_MAX_OUTPUTS];
	int16_t out_field[CONF_MAX_OUTPUTS]; /* column copied as is, or -1: evaluate */
	unsigned geo_needs;
	struct conf_geoip geo;   /* private copies of the paths */
};

struct xf_ctx {
	struct xf_counters cnt;
	struct xf_geoip *geo;
	int bad_col;
	struct rf_value fields[CONF_MAX_FIELDS];
	struct xf_csv_col cols[CONF_MAX_FIELDS];
	struct xf_eval ev;
};

static const char *const result_names[XF_RESULT_COUNT] = {
	[XF_OK] = "ok",
	[XF_FILTERED] = "filtered",
	[XF_EMPTY_LINE] = "empty_line",
	[XF_WRONG_COLUMN_COUNT] = "wrong_column_count",
	[XF_BAD_INT] = "bad_int",
	[XF_BAD_FLOAT] = "bad_float",
	[XF_BAD_IP] = "bad_ip",
	[XF_BAD_TIMESTAMP] = "bad_timestamp",
	[XF_LINE_TOO_LONG] = "line_too_long",
	[XF_BINARY_JUNK] = "binary_junk",
};

const char *xf_result_name(enum xf_result r)
{
	if ((unsigned)r >= XF_RESULT_COUNT)
		return "unknown";
	return result_names[r];
}

static void free_geo_conf(struct conf_geoip *g)
{
	free(g->country);
	free(g->city);
	free(g->asn);
	free(g->country_path);
	free(g->city_path);
	free(g->asn_path);
	free(g->as_org_path);
}

void xf_plan_free(struct xf_plan *plan)
{
	if (plan == NULL)
		return;
	xf_expr_free(plan->filter);
	for (int i = 0; i < plan->nout; i++)
		xf_expr_free(plan->out[i]);
	free_geo_conf(&plan->geo);
	free(plan);
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? -1 : 0;
}

static int copy_geo_conf(struct conf_geoip *d, const struct conf_geoip *s)
{
	return dup_str(&d->country, s->country) | dup_str(&d->city, s->city) |
	       dup_str(&d->asn, s->asn) | dup_str(&d->country_path, s->country_path) |
	       dup_str(&d->city_path, s->city_path) | dup_str(&d->asn_path, s->asn_path) |
	       dup_str(&d->as_org_path, s->as_org_path);
}

struct xf_plan *xf_plan_compile(const struct rf_config *conf, char *err, size_t errlen)
{
	const struct conf_input *in = &conf->input;
	const struct conf_transform *tr = &conf->transform;
	struct xf_sym syms[CONF_MAX_FIELDS + CONF_MAX_OUTPUTS];
	enum rf_vtype types[CONF_MAX_FIELDS];
	char sub[512];
	struct xf_plan *plan = calloc(1, sizeof(*plan));

	if (plan == NULL) {
		snprintf(err, errlen, "[transform] out of memory");
		return NULL;
	}
	if (copy_geo_conf(&plan->geo, &conf->geoip) < 0) {
		snprintf(err, errlen, "[transform] out of memory");
		goto fail;
	}
	if (in->nfields < 1 || in->nfields > CONF_MAX_FIELDS) {
		snprintf(err, errlen, "[input] fields: need 1 to %d fields, got %d", CONF_MAX_FIELDS, in->nfields);
		goto fail;
	}
	for (int i = 0; i < in->nfields; i++)
		types[i] = in->fields[i].type;
	if (xf_csv_init(&plan->csv, in->separator, types, in->nfields, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "[input] fields: %s", sub);
		goto fail;
	}
	if (in->time_field < -1 || in->time_field >= in->nfields) {
		snprintf(err, errlen, "[input] time_field: index %d is not a field", in->time_field);
		goto fail;
	}
	if ((unsigned)in->time_format >= CONF_TIME_FORMAT_COUNT) {
		snprintf(err, errlen, "[input] time_format: unknown format %d", (int)in->time_format);
		goto fail;
	}
	plan->time_field = in->time_field;
	plan->time_format = in->time_format;
	if (in->time_field >= 0 && in->fields[in->time_field].type == RF_V_INT) {
		static const int64_t scale[CONF_TIME_FORMAT_COUNT] = {
			[CONF_TIME_UNIX] = 1000000000, [CONF_TIME_UNIX_MS] = 1000000,
			[CONF_TIME_UNIX_US] = 1000, [CONF_TIME_UNIX_NS] = 1,
		};
		plan->time_scale = scale[in->time_format]; /* 0 for rfc3339 */
	}
	if (tr->nout < 0 || tr->nout > CONF_MAX_OUTPUTS) {
		snprintf(err, errlen, "[transform] at most %d output fields", CONF_MAX_OUTPUTS);
		goto fail;
	}

	const struct conf_geoip *g = &conf->geoip;
	struct xf_scope scope = { .syms = syms, .nsyms = in->nfields };
	for (int a = 0; a < XF_GEO_ANSWER_COUNT; a++)
		if (xf_geo_db_path(g, (enum xf_geo_answer)a) != NULL)
			scope.geo_avail |= XF_GEO_BIT(a);
	for (int i = 0; i < in->nfields; i++) {
		syms[i].name = in->fields[i].name;
		syms[i].type = (uint8_t)in->fields[i].type;
		syms[i].is_out = 0;
		syms[i].idx = (uint16_t)i;
	}

	/* The filter sees input columns only. */
	if (tr->filter != NULL) {
		plan->filter = xf_expr_compile(tr->filter, &scope, sub, sizeof(sub));
		if (plan->filter == NULL) {
			snprintf(err, errlen, "[transform] filter: %s", sub);
			goto fail;
		}
		int t = xf_expr_type(plan->filter);
		if (t == RF_V_STR || t == RF_V_IP) {
			snprintf(err, errlen, "[transform] filter: must be a condition, got %s", xf_type_name(t));
			goto fail;
		}
		plan->geo_needs |= xf_expr_geo_needs(plan->filter);
	}
	/* Each output sees the columns and the outputs defined before it. */
	for (int i = 0; i < tr->nout; i++) {
		const struct conf_output_field *o = &tr->out[i];
		if (o->expr == NULL) {
			snprintf(err, errlen, "[transform] %s: no expression", o->name);
			goto fail;
		}
		struct xf_expr *e = xf_expr_compile(o->expr, &scope, sub, sizeof(sub));
		if (e == NULL) {
			snprintf(err, errlen, "[transform] %s: %s", o->name, sub);
			goto fail;
		}
		plan->out[i] = e;
		plan->out_field[i] = (int16_t)xf_expr_field(e);
		plan->nout = i + 1;
		snprintf(plan->names[i], CONF_NAME_MAX, "%s", o->name);
		plan->geo_needs |= xf_expr_geo_needs(e);
		struct xf_sym *s = &syms[scope.nsyms++];
		s->name = plan->names[i];
		s->type = (uint8_t)xf_expr_type(e);
		s->is_out = 1;
		s->idx = (uint16_t)i;
	}

	/* Decode only the columns something reads: the time field, the
	 * filter and the outputs. The other typed columns are still checked
	 * (XF_CSV_UNUSED_VALIDATE), so DESIGN.md's "a record whose column
	 * count or typed value is wrong is rejected" holds for every column;
	 * checking costs a bit over half of decoding (docs/PERFORMANCE.md). */
	uint8_t used[CONF_MAX_FIELDS] = { 0 };
	if (plan->time_field >= 0)
		used[plan->time_field] = 1;
	if (plan->filter != NULL)
		xf_expr_mark_fields(plan->filter, used);
	for (int i = 0; i < plan->nout; i++)
		xf_expr_mark_fields(plan->out[i], used);
	xf_csv_use(&plan->csv, used, XF_CSV_UNUSED_VALIDATE);

	/* Every configured database must open, used or not: `ringflow -t`
	 * should catch a bad path before a reload starts using it. */
	struct xf_geoip *geo = xf_geoip_open(&plan->geo, scope.geo_avail, err, errlen);
	if (geo == NULL)
		goto fail;
	xf_geoip_close(geo);
	return plan;
fail:
	xf_plan_free(plan);
	return NULL;
}

int xf_plan_nout(const struct xf_plan *plan)
{
	return plan->nout;
}

const char *xf_plan_out_name(const struct xf_plan *plan, int i)
{
	return i >= 0 && i < plan->nout ? plan->names[i] : NULL;
}

enum rf_vtype xf_plan_out_type(const struct xf_plan *plan, int i)
{
	return i >= 0 && i < plan->nout ? (enum rf_vtype)xf_expr_type(plan->out[i]) : RF_V_MISSING;
}

int xf_plan_find_out(const struct xf_plan *plan, const char *name)
{
	for (int i = plan->nout - 1; i >= 0; i--)
		if (strcasecmp(plan->names[i], name) == 0)
			return i;
	return -1;
}

unsigned xf_plan_geo_needs(const struct xf_plan *plan)
{
	return plan->geo_needs;
}

struct xf_ctx *xf_ctx_create(const struct xf_plan *plan, char *err, size_t errlen)
{
	struct xf_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		snprintf(err, errlen, "[transform] out of memory");
		return NULL;
	}
	ctx->bad_col = -1;
	if (plan->geo_needs != 0) {
		ctx->geo = xf_geoip_open(&plan->geo, plan->geo_needs, err, errlen);
		if (ctx->geo == NULL) {
			free(ctx);
			return NULL;
		}
	}
	ctx->ev.fields = ctx->fields;
	ctx->ev.geo = ctx->geo;
	ctx->ev.cnt = &ctx->cnt;
	return ctx;
}

void xf_ctx_destroy(struct xf_ctx *ctx)
{
	if (ctx == NULL)
		return;
	xf_geoip_close(ctx->geo);
	free(ctx);
}

const struct xf_counters *xf_ctx_counters(const struct xf_ctx *ctx)
{
	return &ctx->cnt;
}

int xf_ctx_bad_column(const struct xf_ctx *ctx)
{
	return ctx->bad_col;
}

enum xf_result xf_process_line(const struct xf_plan *plan, struct xf_ctx *ctx,
		const char *line, size_t len, int64_t now_ns,
		struct rf_value *outs, int64_t *time_ns)
{
	ctx->bad_col = -1;
	/* Raw spans are only needed for a time column parsed from its text. */
	struct xf_csv_col *cols = plan->time_field >= 0 && plan->time_scale == 0 ? ctx->cols : NULL;
	enum xf_csv_err ce = xf_csv_parse(&plan->csv, line, len, ctx->fields, cols, &ctx->bad_col);
	if (ce != XF_CSV_OK)
		return (enum xf_result)(ce + 1);

	if (plan->time_field >= 0 && plan->time_scale != 0) {
		/* An int column in a unix format is already parsed. */
		const struct rf_value *tv = &ctx->fields[plan->time_field];
		if (tv->type != RF_V_INT || __builtin_mul_overflow(tv->u.i, plan->time_scale, time_ns)) {
			ctx->bad_col = plan->time_field;
			return XF_BAD_TIMESTAMP;
		}
	} else if (plan->time_field >= 0) {
		const struct xf_csv_col *c = &ctx->cols[plan->time_field];
		const char *p = line + c->off;
		if (c->len == 0 || (c->len == 1 && p[0] == '-') ||
		    xf_parse_time(p, c->len, plan->time_format, time_ns) < 0) {
			ctx->bad_col = plan->time_field;
			return XF_BAD_TIMESTAMP;
		}
	} else {
		*time_ns = now_ns;
	}

	struct xf_eval *ev = &ctx->ev;
	xf_eval_reset(ev);
	ev->outs = outs;
	if (plan->filter != NULL) {
		struct rf_value keep;
		xf_expr_eval(plan->filter, ev, &keep);
		if (!xf_truthy(&keep))
			return XF_FILTERED;
	}
	for (int i = 0; i < plan->nout; i++) {
		if (plan->out_field[i] >= 0)
			outs[i] = ctx->fields[plan->out_field[i]];
		else
			xf_expr_eval(plan->out[i], ev, &outs[i]);
	}
	return XF_OK;
}
