/*
 * ringflow_deviation_main.c — ringflow-deviation, the prototype's SimpleAnalysis as a built-in
 * analyzer: analyze/deviation.h (a value against the value N windows earlier, ± a
 * percentage) run by the shared driver analyze/builtin.h on ringflow's
 * window protocol (stdin), alerts on stdout. Standalone:
 *   ringflow-deviation --field bytes --percent 200 --windows 1 < windows.txt
 * --history is the same knob as --windows (the last one given wins), and
 * the history hook loads that many windows. Names are prefixed (dvm_) so
 * tests can compile several mains into one file.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/builtin.h"
#include "analyze/deviation.h"

static const char dvm_usage[] =
	"  --windows N         compare with the value N values earlier (1..120, default 1;\n"
	"                      alias of --history)\n"
	"  --percent P         allowed change, percent of the reference (default 100)\n"
	"  --critical-percent C  critical beyond this change (>= P; default 2 * P)\n"
	"  --clear-windows N   calm windows before ok (default 3)\n";

static int dvm_set_windows(void *pp, unsigned n, char *err, size_t errlen)
{
	struct dev_params *p = pp;
	if (n < 1 || n > DEV_MAX_WINDOWS) {
		snprintf(err, errlen, "--windows/--history %u: must be 1..%u", n, DEV_MAX_WINDOWS);
		return -1;
	}
	p->windows = n;
	return 0;
}

static int dvm_opt(void *pp, const char *opt, const char *val, char *err, size_t errlen)
{
	struct dev_params *p = pp;
	if (!strcmp(opt, "windows")) {
		unsigned u;
		if (an_bt_parse_uint(opt, val, 1, DEV_MAX_WINDOWS, &u, err, errlen) < 0 ||
		    dvm_set_windows(p, u, err, errlen) < 0)
			return -1;
		return AN_BT_OPT_VALUE;
	}
	if (!strcmp(opt, "percent"))
		return an_bt_parse_double(opt, val, &p->percent, err, errlen);
	if (!strcmp(opt, "critical-percent"))
		return an_bt_parse_double(opt, val, &p->critical_percent, err, errlen);
	if (!strcmp(opt, "clear-windows"))
		return an_bt_parse_uint(opt, val, 1, 1000000, &p->clear_windows, err, errlen);
	return AN_BT_OPT_UNKNOWN;
}

static unsigned dvm_history_windows(const void *p) { return ((const struct dev_params *)p)->windows; }
static int dvm_check(const void *p, char *err, size_t errlen) { return dev_params_check(p, err, errlen); }
static size_t dvm_state_size(const void *p) { return dev_state_size(p); }
static void dvm_init(void *s, const void *p) { dev_init(s, p); }
static void dvm_update(void *s, const void *p, double v, int missing, struct det_verdict *out)
{
	dev_update(s, p, v, missing, out);
}

static const struct an_bt_detector dvm_detector = {
	.name = "deviation",
	.usage = dvm_usage,
	.parse_opt = dvm_opt,
	.set_history = dvm_set_windows,
	.history_windows = dvm_history_windows,
	.check = dvm_check,
	.state_size = dvm_state_size,
	.init = dvm_init,
	.update = dvm_update,
};

int main(int argc, char **argv)
{
	static struct dev_params params;
	dev_params_default(&params);
	return an_builtin_main(&dvm_detector, &params, argc, argv);
}
