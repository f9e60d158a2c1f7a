/*
 * ringflow_average_main.c — ringflow-average, the prototype's AverageAnalysis as a built-in
 * analyzer: analyze/average.h (a value against the mean of the last N windows, ± a
 * percentage) run by the shared driver analyze/builtin.h on ringflow's
 * window protocol (stdin), alerts on stdout. Standalone:
 *   ringflow-average --field bytes --percent 50 --windows 12 < windows.txt
 * --history is the same knob as --windows (the last one given wins), and
 * the history hook loads that many windows. Names are prefixed (avm_) so
 * tests can compile several mains into one file.
 */
#include <stdio.h>
#include <string.h>

#include "analyze/builtin.h"
#include "analyze/average.h"

static const char avm_usage[] =
	"  --windows N         the mean of the last N values (1..120, default 10;\n"
	"                      alias of --history)\n"
	"  --percent P         allowed change, percent of the reference (default 100)\n"
	"  --critical-percent C  critical beyond this change (>= P; default 2 * P)\n"
	"  --clear-windows N   calm windows before ok (default 3)\n";

static int avm_set_windows(void *pp, unsigned n, char *err, size_t errlen)
{
	struct avg_params *p = pp;
	if (n < 1 || n > AVG_MAX_WINDOWS) {
		snprintf(err, errlen, "--windows/--history %u: must be 1..%u", n, AVG_MAX_WINDOWS);
		return -1;
	}
	p->windows = n;
	return 0;
}

static int avm_opt(void *pp, const char *opt, const char *val, char *err, size_t errlen)
{
	struct avg_params *p = pp;
	if (!strcmp(opt, "windows")) {
		unsigned u;
		if (an_bt_parse_uint(opt, val, 1, AVG_MAX_WINDOWS, &u, err, errlen) < 0 ||
		    avm_set_windows(p, u, err, errlen) < 0)
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

static unsigned avm_history_windows(const void *p) { return ((const struct avg_params *)p)->windows; }
static int avm_check(const void *p, char *err, size_t errlen) { return avg_params_check(p, err, errlen); }
static size_t avm_state_size(const void *p) { return avg_state_size(p); }
static void avm_init(void *s, const void *p) { avg_init(s, p); }
static void avm_update(void *s, const void *p, double v, int missing, struct det_verdict *out)
{
	avg_update(s, p, v, missing, out);
}

static const struct an_bt_detector avm_detector = {
	.name = "average",
	.usage = avm_usage,
	.parse_opt = avm_opt,
	.set_history = avm_set_windows,
	.history_windows = avm_history_windows,
	.check = avm_check,
	.state_size = avm_state_size,
	.init = avm_init,
	.update = avm_update,
};

int main(int argc, char **argv)
{
	static struct avg_params params;
	avg_params_default(&params);
	return an_builtin_main(&avm_detector, &params, argc, argv);
}
