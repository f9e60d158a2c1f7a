/*
 * ringflow_threshold_main.c — ringflow-threshold, the static-limit built-in
 * analyzer: analyze/threshold.h run by the shared driver analyze/builtin.h
 * on ringflow's window protocol (stdin), alerts on stdout. With no limit
 * given, a value <= 0 is critical (a dead link, a stopped counter), so it is
 * useful with no args. Standalone:
 *   ringflow-threshold --field bytes --warning-high 1e9 --critical-high 5e9 < windows.txt
 * A threshold keeps no history: --history is refused, none is loaded.
 * Names are prefixed (thm_) so tests can compile several mains into one
 * file.
 */
#include <string.h>

#include "analyze/builtin.h"
#include "analyze/threshold.h"

static const char thm_usage[] =
	"  --warning-high X    value >= X is a warning (default unset)\n"
	"  --critical-high X   value >= X is critical (default unset; >= warning-high)\n"
	"  --warning-low X     value <= X is a warning (default unset)\n"
	"  --critical-low X    value <= X is critical (default unset; with no limit\n"
	"                      at all, critical-low 0: a dead link or stopped counter)\n"
	"  --hysteresis H      an episode clears only inside every limit L by H*|L|,\n"
	"                      0 <= H < 1 (default 0.05)\n"
	"  --clear-windows N   calm windows before ok (default 1)\n";

static int thm_opt(void *pp, const char *opt, const char *val, char *err, size_t errlen)
{
	struct th_params *p = pp;
	if (!strcmp(opt, "warning-high"))
		return an_bt_parse_double(opt, val, &p->warning_high, err, errlen);
	if (!strcmp(opt, "critical-high"))
		return an_bt_parse_double(opt, val, &p->critical_high, err, errlen);
	if (!strcmp(opt, "warning-low"))
		return an_bt_parse_double(opt, val, &p->warning_low, err, errlen);
	if (!strcmp(opt, "critical-low"))
		return an_bt_parse_double(opt, val, &p->critical_low, err, errlen);
	if (!strcmp(opt, "hysteresis"))
		return an_bt_parse_double(opt, val, &p->hysteresis, err, errlen);
	if (!strcmp(opt, "clear-windows"))
		return an_bt_parse_uint(opt, val, 1, 1000000, &p->clear_windows, err, errlen);
	return AN_BT_OPT_UNKNOWN;
}

static unsigned thm_history_windows(const void *p) { (void)p; return 0; }
static int thm_check(const void *p, char *err, size_t errlen) { return th_params_check(p, err, errlen); }
static size_t thm_state_size(const void *p) { return th_state_size(p); }
static void thm_init(void *s, const void *p) { th_init(s, p); }
static void thm_update(void *s, const void *p, double v, int missing, struct det_verdict *out)
{
	th_update(s, p, v, missing, out);
}

static const struct an_bt_detector thm_detector = {
	.name = "threshold",
	.usage = thm_usage,
	.parse_opt = thm_opt,
	.history_windows = thm_history_windows,
	.check = thm_check,
	.state_size = thm_state_size,
	.init = thm_init,
	.update = thm_update,
};

int main(int argc, char **argv)
{
	static struct th_params params;
	th_params_default(&params);
	return an_builtin_main(&thm_detector, &params, argc, argv);
}
