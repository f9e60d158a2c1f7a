/*
 * ringflow_forecast_main.c — ringflow-forecast, the Holt-Winters built-in
 * analyzer: analyze/holtwinters.h run by the shared driver analyze/builtin.h
 * on ringflow's window protocol (stdin). Alerts (the driver's) when a value
 * leaves the forecast band; after every window, for each (series, field)
 * with a fitted model, a forecast of the next --horizon windows:
 *   <measurement>_forecast,<series tags>,field=<field> prediction=..,lower=..,upper=.. <time>
 * Standalone:
 *   ringflow-forecast --field bytes --season 288 --horizon 12 < windows.txt
 *
 * Forecast times: window start + k * step, k = 1..horizon. The step is the
 * smallest positive gap between the starts of two windows of the rule seen
 * so far (for hopping windows that is the hop, and a window missing from
 * the input only makes one gap larger, which the minimum ignores); until a
 * second window has been seen, it is the header's end - start (exact for
 * tumbling windows). A series tag named "field" is left out of forecast
 * points (their own tag has that name), as alerts leave out theirs.
 *
 * The per-rule step table is this file's (the executable is single-
 * threaded); names are prefixed (fcm_) so tests can compile several mains
 * into one file.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/builtin.h"
#include "analyze/holtwinters.h"

static const char fcm_usage[] =
	"  --season S          windows per season (0: none, else 2..2016; default 0)\n"
	"  --horizon H         windows forecast after each window (1..64, default 3)\n"
	"  --band B            |residual| in robust sd that opens a warning, and the\n"
	"                      half-width of the forecast band (default 5.5)\n"
	"  --critical C        ... that makes it critical (>= band; default 12)\n"
	"  --history N         values kept for fitting (0: auto = 64, with a season\n"
	"                      max(64, 4*S); >= 3*S) and windows of history loaded\n"
	"  --min-history N     values before the first fit (default 24, raised to 3*S)\n"
	"  --refit N           windows between refits (0: auto = history / 2)\n"
	"  --clip K            values enter the model clipped to forecast +- K sd (default 3)\n"
	"  --clear-ratio R     calm = |score| < band * R (0 < R <= 1, default 0.6)\n"
	"  --clear-windows N   calm windows before ok (default 3)\n"
	"  --scale-rate R      learning rate of the residual scale (0 < R <= 1, default 0.05)\n"
	"  --relearn N         a shift lasting N windows becomes normal (0: never; default 100)\n"
	"  --no-exclude        plain Holt-Winters: anomalies enter the model as they are\n";

static int fcm_set_history(void *pp, unsigned n, char *err, size_t errlen)
{
	struct hw_params *p = pp;
	if (n > HW_MAX_HISTORY) {
		snprintf(err, errlen, "--history %u: at most %u", n, HW_MAX_HISTORY);
		return -1;
	}
	p->history = n;
	return 0;
}

static int fcm_opt(void *pp, const char *opt, const char *val, char *err, size_t errlen)
{
	struct hw_params *p = pp;
	if (!strcmp(opt, "season"))
		return an_bt_parse_uint(opt, val, 0, HW_MAX_SEASON, &p->season, err, errlen);
	if (!strcmp(opt, "horizon"))
		return an_bt_parse_uint(opt, val, 1, HW_MAX_HORIZON, &p->horizon, err, errlen);
	if (!strcmp(opt, "min-history"))
		return an_bt_parse_uint(opt, val, 4, HW_MAX_HISTORY, &p->min_history, err, errlen);
	if (!strcmp(opt, "refit"))
		return an_bt_parse_uint(opt, val, 0, 1000000, &p->refit, err, errlen);
	if (!strcmp(opt, "clear-windows"))
		return an_bt_parse_uint(opt, val, 1, 1000000, &p->clear_windows, err, errlen);
	if (!strcmp(opt, "relearn"))
		return an_bt_parse_uint(opt, val, 0, 1000000, &p->relearn, err, errlen);
	if (!strcmp(opt, "band"))
		return an_bt_parse_double(opt, val, &p->band, err, errlen);
	if (!strcmp(opt, "critical"))
		return an_bt_parse_double(opt, val, &p->critical, err, errlen);
	if (!strcmp(opt, "clip"))
		return an_bt_parse_double(opt, val, &p->clip, err, errlen);
	if (!strcmp(opt, "clear-ratio"))
		return an_bt_parse_double(opt, val, &p->clear_ratio, err, errlen);
	if (!strcmp(opt, "scale-rate"))
		return an_bt_parse_double(opt, val, &p->scale_rate, err, errlen);
	if (!strcmp(opt, "no-exclude")) {
		p->exclude = 0;
		return AN_BT_OPT_FLAG;
	}
	return AN_BT_OPT_UNKNOWN;
}

/* The history the model keeps, as holtwinters.c resolves history 0 (auto);
 * repeated here because that is what is worth loading at start. */
static unsigned fcm_history_windows(const void *pp)
{
	const struct hw_params *p = pp;
	unsigned s = p->season <= 1 ? 0 : p->season;
	if (p->history)
		return p->history;
	if (!s)
		return 64;
	unsigned h = 4 * s < 64 ? 64 : 4 * s;
	return h > HW_MAX_HISTORY ? HW_MAX_HISTORY : h;
}

static int fcm_check(const void *p, char *err, size_t errlen) { return hw_params_check(p, err, errlen); }
static size_t fcm_state_size(const void *p) { return hw_state_size(p); }
static void fcm_init(void *s, const void *p) { hw_init(s, p); }
static void fcm_update(void *s, const void *p, double v, int missing, struct det_verdict *out)
{
	hw_update(s, p, v, missing, out);
}

/* ---- forecast times ---- */

#define FCM_MAX_RULES 1024

struct fcm_rule {
	char *name;
	int64_t last_start;
	int64_t step;               /* 0 until two starts have been seen */
};

static struct fcm_rule fcm_rules[FCM_MAX_RULES];
static unsigned fcm_nrules, fcm_cached;

/* The rule's entry (one strdup per rule, ever), or NULL when the table is
 * full or memory ran out. Consecutive calls are mostly for one rule. */
static struct fcm_rule *fcm_rule(const char *name)
{
	if (fcm_cached < fcm_nrules && !strcmp(fcm_rules[fcm_cached].name, name))
		return &fcm_rules[fcm_cached];
	for (unsigned i = 0; i < fcm_nrules; i++)
		if (!strcmp(fcm_rules[i].name, name)) {
			fcm_cached = i;
			return &fcm_rules[i];
		}
	if (fcm_nrules == FCM_MAX_RULES)
		return NULL;
	struct fcm_rule *r = &fcm_rules[fcm_nrules];
	r->name = strdup(name);
	if (!r->name)
		return NULL;
	r->last_start = INT64_MIN;
	r->step = 0;
	fcm_cached = fcm_nrules++;
	return r;
}

/* The spacing of window w's rule (see the file comment); learns from w. */
static int64_t fcm_step(const struct rfa_window *w)
{
	int64_t len = w->end_ns - w->start_ns;
	struct fcm_rule *r = fcm_rule(w->rule);
	if (!r)
		return len;
	if (r->last_start != INT64_MIN && w->start_ns > r->last_start) {
		int64_t gap = w->start_ns - r->last_start;
		if (r->step == 0 || gap < r->step)
			r->step = gap;
	}
	if (r->last_start == INT64_MIN || w->start_ns > r->last_start)
		r->last_start = w->start_ns;
	return r->step ? r->step : len;
}

static void fcm_emit(const void *state, const void *pp, const struct an_bt_ctx *c, struct rfa_out *out)
{
	const struct hw_params *p = pp;
	static char mname[LP_LINE_MAX + 16];
	int64_t step = fcm_step(c->w);
	double pred, lo, hi;
	if (hw_forecast(state, p, 1, &pred, &lo, &hi) < 0)
		return;  /* no model yet */
	snprintf(mname, sizeof mname, "%s_forecast", c->w->measurement);
	for (unsigned k = 1; k <= p->horizon; k++) {
		if (hw_forecast(state, p, k, &pred, &lo, &hi) < 0)
			break;
		rfa_point_begin(out, mname);
		for (int i = 0; i < c->ntags; i++)
			if (strcmp(c->tag_keys[i], "field") != 0)
				rfa_point_tag(out, c->tag_keys[i], c->tag_values[i]);
		rfa_point_tag(out, "field", c->field);
		rfa_point_field(out, "prediction", pred);
		rfa_point_field(out, "lower", lo);
		rfa_point_field(out, "upper", hi);
		rfa_point_end(out, c->w->start_ns + (int64_t)k * step);
	}
}

static const struct an_bt_detector fcm_detector = {
	.name = "forecast",
	.usage = fcm_usage,
	.parse_opt = fcm_opt,
	.set_history = fcm_set_history,
	.history_windows = fcm_history_windows,
	.check = fcm_check,
	.state_size = fcm_state_size,
	.init = fcm_init,
	.update = fcm_update,
	.emit = fcm_emit,
};

int main(int argc, char **argv)
{
	static struct hw_params params;
	hw_params_default(&params);
	return an_builtin_main(&fcm_detector, &params, argc, argv);
}
