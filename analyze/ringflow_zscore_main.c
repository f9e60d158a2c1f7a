/*
 * ringflow_zscore_main.c — ringflow-zscore, the robust z-score built-in
 * analyzer: analyze/zscore.h run by the shared driver analyze/builtin.h on
 * ringflow's window protocol (stdin) with alerts on stdout. Standalone:
 *   ringflow-zscore --window 30 --warning 5 < windows.txt
 */
#include <string.h>

#include "analyze/builtin.h"
#include "analyze/zscore.h"

static const char usage[] =
	"  --window N          values kept per series and field (alias of --history; default 60)\n"
	"  --min-history N     values needed before it alerts (default 12, at most the window)\n"
	"  --warning S         |score| that opens a warning (default 6)\n"
	"  --critical S        |score| that makes it critical (default 10)\n"
	"  --clear-windows N   calm windows before ok (default 3)\n"
	"  --no-exclude        let values inside an episode enter the history as they are\n";

static int set_window(void *pp, unsigned n, char *err, size_t errlen)
{
	struct zs_params *p = pp;
	p->window = n;
	if (p->min_history > n)  /* keep the default usable for short windows */
		p->min_history = n;
	return zs_params_check(p, err, errlen);
}

static int zs_opt(void *pp, const char *opt, const char *val, char *err, size_t errlen)
{
	struct zs_params *p = pp;
	unsigned u;
	if (!strcmp(opt, "window")) {
		if (an_bt_parse_uint(opt, val, 2, ZS_MAX_WINDOW, &u, err, errlen) < 0 ||
		    set_window(p, u, err, errlen) < 0)
			return -1;
		return AN_BT_OPT_VALUE;
	}
	if (!strcmp(opt, "min-history"))
		return an_bt_parse_uint(opt, val, 1, ZS_MAX_WINDOW, &p->min_history, err, errlen);
	if (!strcmp(opt, "clear-windows"))
		return an_bt_parse_uint(opt, val, 1, 1000000, &p->clear_windows, err, errlen);
	if (!strcmp(opt, "warning"))
		return an_bt_parse_double(opt, val, &p->warning, err, errlen);
	if (!strcmp(opt, "critical"))
		return an_bt_parse_double(opt, val, &p->critical, err, errlen);
	if (!strcmp(opt, "no-exclude")) {
		p->exclude = 0;
		return AN_BT_OPT_FLAG;
	}
	return AN_BT_OPT_UNKNOWN;
}

static unsigned history_windows(const void *p) { return ((const struct zs_params *)p)->window; }
static int check(const void *p, char *err, size_t errlen) { return zs_params_check(p, err, errlen); }
static size_t state_size(const void *p) { return zs_state_size(p); }
static void init(void *s, const void *p) { zs_init(s, p); }
static void update(void *s, const void *p, double v, int missing, struct det_verdict *out)
{
	zs_update(s, p, v, missing, out);
}

static const struct an_bt_detector zscore = {
	.name = "zscore",
	.usage = usage,
	.parse_opt = zs_opt,
	.set_history = set_window,
	.history_windows = history_windows,
	.check = check,
	.state_size = state_size,
	.init = init,
	.update = update,
};

int main(int argc, char **argv)
{
	static struct zs_params params;
	zs_params_default(&params);
	return an_builtin_main(&zscore, &params, argc, argv);
}
