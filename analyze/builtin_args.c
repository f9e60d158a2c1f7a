/*
 * builtin_args.c — command-line options of the built-in analyzers (see
 * builtin.h): the common ones here, the detector's through its descriptor.
 * Runs once at start in the analyzer executable.
 */
#include "analyze/builtin.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int an_bt_parse_uint(const char *opt, const char *val, unsigned min, unsigned max, unsigned *out,
		     char *err, size_t errlen)
{
	if (!val || !*val) {
		snprintf(err, errlen, "--%s needs a value", opt);
		return -1;
	}
	errno = 0;
	char *end;
	unsigned long long v = strtoull(val, &end, 10);
	if (*end || errno || val[0] == '-' || val[0] == '+' || val[0] == ' ' || v < min || v > max) {
		snprintf(err, errlen, "--%s %s: must be an integer in %u..%u", opt, val, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return AN_BT_OPT_VALUE;
}

int an_bt_parse_double(const char *opt, const char *val, double *out, char *err, size_t errlen)
{
	if (!val || !*val) {
		snprintf(err, errlen, "--%s needs a value", opt);
		return -1;
	}
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (*end || errno || !isfinite(v) || val[0] == ' ') {
		snprintf(err, errlen, "--%s %s: not a finite number", opt, val);
		return -1;
	}
	*out = v;
	return AN_BT_OPT_VALUE;
}

void an_bt_opts_default(struct an_bt_opts *o)
{
	memset(o, 0, sizeof *o);
	o->forget = AN_BT_FORGET_DEFAULT;
	o->max_series = AN_BT_MAX_SERIES_DEFAULT;
}

void an_bt_usage(const struct an_bt_detector *d, FILE *f)
{
	fprintf(f,
		"usage: ringflow-%s [options] < windows > line-protocol\n"
		"Reads ringflow's window protocol on stdin, writes alerts on stdout.\n"
		"Common options:\n"
		"  --field NAME        analyse this field (repeatable; default every numeric one)\n"
		"  --history N         windows of history the detector keeps\n"
		"  --missing-as-zero   a series seen before but absent from a window counts as 0\n"
		"  --forget N          drop a series absent for N windows of its rule (default %u)\n"
		"  --repeat            alert on every anomalous window, not only on changes\n"
		"  --max-series N      at most N (rule, series, field) states (default %u)\n"
		"  --help              this text\n"
		"%s options:\n%s",
		d->name, AN_BT_FORGET_DEFAULT, AN_BT_MAX_SERIES_DEFAULT, d->name, d->usage ? d->usage : "");
}

/* A common option: AN_BT_OPT_* or -1. */
static int common_opt(const struct an_bt_detector *d, void *params, struct an_bt_opts *o, const char *opt,
		      const char *val, char *err, size_t errlen)
{
	unsigned u;
	if (!strcmp(opt, "missing-as-zero")) {
		o->missing_as_zero = 1;
		return AN_BT_OPT_FLAG;
	}
	if (!strcmp(opt, "repeat")) {
		o->repeat = 1;
		return AN_BT_OPT_FLAG;
	}
	if (!strcmp(opt, "field")) {
		if (!val || !*val) {
			snprintf(err, errlen, "--field needs a name");
			return -1;
		}
		if (o->nfields == AN_BT_MAX_FIELDS) {
			snprintf(err, errlen, "--field: at most %d", AN_BT_MAX_FIELDS);
			return -1;
		}
		o->fields[o->nfields++] = val;
		return AN_BT_OPT_VALUE;
	}
	if (!strcmp(opt, "forget"))
		return an_bt_parse_uint(opt, val, 1, UINT32_MAX, &o->forget, err, errlen);
	if (!strcmp(opt, "max-series")) {
		if (an_bt_parse_uint(opt, val, 1, UINT32_MAX, &u, err, errlen) < 0)
			return -1;
		o->max_series = u;
		return AN_BT_OPT_VALUE;
	}
	if (!strcmp(opt, "history")) {
		if (!d->set_history) {
			snprintf(err, errlen, "--history: %s keeps no history", d->name);
			return -1;
		}
		if (an_bt_parse_uint(opt, val, 1, UINT32_MAX, &o->history, err, errlen) < 0)
			return -1;
		/* Applied now, so with --history and a detector's synonym
		 * (zscore --window) the last one given wins. */
		if (d->set_history(params, o->history, err, errlen) < 0)
			return -1;
		return AN_BT_OPT_VALUE;
	}
	return AN_BT_OPT_UNKNOWN;
}

int an_bt_parse_args(const struct an_bt_detector *d, void *params, struct an_bt_opts *o, int argc,
		     char **argv, char *err, size_t errlen)
{
	char name[64];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			snprintf(err, errlen, "%s: not an option (options start with --)", a);
			return -1;
		}
		if (!strcmp(a, "--help")) {
			an_bt_usage(d, stdout);
			return 1;
		}
		const char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nl >= sizeof name) {
			snprintf(err, errlen, "%.40s...: unknown option", a);
			return -1;
		}
		memcpy(name, a + 2, nl);
		name[nl] = '\0';
		/* The next argument is a value unless it is an option itself:
		 * "--field --repeat" is a missing name, not a field "--repeat".
		 * Negative numbers ("-5") stay values. */
		const char *val = eq ? eq + 1 : NULL;
		if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
			val = argv[i + 1];
		int rc = common_opt(d, params, o, name, val, err, errlen);
		if (rc == AN_BT_OPT_UNKNOWN && d->parse_opt)
			rc = d->parse_opt(params, name, val, err, errlen);
		if (rc < 0)
			return -1;
		if (rc == AN_BT_OPT_UNKNOWN) {
			snprintf(err, errlen, "--%s: unknown option (see --help)", name);
			return -1;
		}
		if (rc == AN_BT_OPT_FLAG && eq) {
			snprintf(err, errlen, "--%s takes no value", name);
			return -1;
		}
		if (rc == AN_BT_OPT_VALUE && !eq)
			i++;
	}
	return 0;
}
