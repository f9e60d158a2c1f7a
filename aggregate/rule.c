/*
 * rule.c — compiles [aggregate.NAME] sections (see rule.h). Runs once at
 * start in the supervisor and before forking; never on a hot path.
 */
#include "aggregate/rule.h"
#include "common/hash.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *type_name(enum rf_vtype t)
{
	switch (t) {
	case RF_V_INT: return "int";
	case RF_V_FLOAT: return "float";
	case RF_V_STR: return "str";
	case RF_V_IP: return "ip";
	case RF_V_BOOL: return "bool";
	case RF_V_MISSING: return "missing";
	default: return "any";
	}
}

static int is_numeric(enum rf_vtype t)
{
	return t == RF_V_INT || t == RF_V_FLOAT || t == RF_V_BOOL || t == RF_V_ANY;
}

struct fn_entry {
	const char *name;
	enum agg_fn fn;
	double q;          /* fixed quantile for p50..p99, < 0 = given as argument */
	int numeric;       /* needs a numeric field */
};

static const struct fn_entry fn_table[] = {
	{ "sum", AGG_FN_SUM, 0, 1 },
	{ "mult", AGG_FN_MULT, 0, 1 },
	{ "min", AGG_FN_MIN, 0, 1 },
	{ "max", AGG_FN_MAX, 0, 1 },
	{ "count", AGG_FN_COUNT, 0, 0 },
	{ "avg", AGG_FN_AVG, 0, 1 },
	{ "count_distinct", AGG_FN_COUNT_DISTINCT, 0, 0 },
	{ "stddev", AGG_FN_STDDEV, 0, 1 },
	{ "p50", AGG_FN_PERCENTILE, 0.50, 1 },
	{ "p90", AGG_FN_PERCENTILE, 0.90, 1 },
	{ "p95", AGG_FN_PERCENTILE, 0.95, 1 },
	{ "p99", AGG_FN_PERCENTILE, 0.99, 1 },
	{ "percentile", AGG_FN_PERCENTILE, -1, 1 },
	{ "first", AGG_FN_FIRST, 0, 0 },
	{ "last", AGG_FN_LAST, 0, 0 },
};

static int find_field(const char *name, size_t len, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
			return i;
	return -1;
}

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *scan_ident(const char *p)
{
	while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
		p++;
	return p;
}

/* Parses "fn(field)" / "count()" / "percentile(field, q)" into *spec and
 * the output-field index of its argument (-1 for none). */
static int parse_agg(const char *sec, const struct conf_agg *ca, const char *const *names,
		     const enum rf_vtype *types, int nout, struct agg_spec *spec, int *field,
		     char *err, size_t errlen)
{
	const char *e = ca->expr ? ca->expr : "";
	const char *p = skip_ws(e), *fs = p, *fe = scan_ident(p);
	if (fe == fs) {
		snprintf(err, errlen, "[aggregate.%s] %s: expected function(field), got '%s'",
			 sec, ca->name, e);
		return -1;
	}
	const struct fn_entry *fn = NULL;
	for (size_t i = 0; i < sizeof fn_table / sizeof fn_table[0]; i++)
		if (strlen(fn_table[i].name) == (size_t)(fe - fs) &&
		    strncasecmp(fn_table[i].name, fs, (size_t)(fe - fs)) == 0)
			fn = &fn_table[i];
	if (!fn) {
		snprintf(err, errlen, "[aggregate.%s] %s: unknown function '%.*s'", sec, ca->name,
			 (int)(fe - fs), fs);
		return -1;
	}
	p = skip_ws(fe);
	if (*p != '(') {
		snprintf(err, errlen, "[aggregate.%s] %s: expected '(' after %s", sec, ca->name, fn->name);
		return -1;
	}
	p = skip_ws(p + 1);
	const char *as = p, *ae = scan_ident(p);
	p = skip_ws(ae);
	double q = fn->q;
	if (fn->q < 0) {
		char *end;
		if (*p != ',') {
			snprintf(err, errlen, "[aggregate.%s] %s: percentile() needs a field and a "
				 "percentage, as in percentile(x, 99.9)", sec, ca->name);
			return -1;
		}
		p = skip_ws(p + 1);
		double pct = strtod(p, &end);
		if (end == p || !(pct >= 0 && pct <= 100)) {
			snprintf(err, errlen, "[aggregate.%s] %s: percentile must be a number from 0 "
				 "to 100", sec, ca->name);
			return -1;
		}
		q = pct / 100.0;
		p = skip_ws(end);
	}
	if (*p != ')' || *skip_ws(p + 1) != '\0') {
		snprintf(err, errlen, "[aggregate.%s] %s: expected %s(field%s) and nothing after it",
			 sec, ca->name, fn->name, fn->q < 0 ? ", percentage" : "");
		return -1;
	}
	memset(spec, 0, sizeof *spec);
	snprintf(spec->name, sizeof spec->name, "%s", ca->name);
	spec->fn = fn->fn;
	spec->q = q;
	*field = -1;
	if (ae == as) {
		if (fn->fn != AGG_FN_COUNT) {
			snprintf(err, errlen, "[aggregate.%s] %s: %s() needs a field", sec, ca->name,
				 fn->name);
			return -1;
		}
		spec->out_type = RF_V_INT;
		return 0;
	}
	int f = find_field(as, (size_t)(ae - as), names, nout);
	if (f < 0) {
		snprintf(err, errlen, "[aggregate.%s] %s: unknown field '%.*s'", sec, ca->name,
			 (int)(ae - as), as);
		return -1;
	}
	enum rf_vtype t = types[f];
	if (fn->numeric && !is_numeric(t)) {
		snprintf(err, errlen, "[aggregate.%s] %s: %s() needs a numeric field, '%s' is %s",
			 sec, ca->name, fn->name, names[f], type_name(t));
		return -1;
	}
	switch (fn->fn) {
	case AGG_FN_SUM: case AGG_FN_MULT: case AGG_FN_MIN: case AGG_FN_MAX:
		spec->out_type = t == RF_V_BOOL ? RF_V_INT : t;
		break;
	case AGG_FN_COUNT: case AGG_FN_COUNT_DISTINCT:
		spec->out_type = RF_V_INT;
		break;
	case AGG_FN_FIRST: case AGG_FN_LAST:
		spec->out_type = t;
		break;
	default:
		spec->out_type = RF_V_FLOAT;
		break;
	}
	*field = f;
	return 0;
}

static uint64_t fp_str(uint64_t h, const char *s)
{
	return rf_hash64(s, strlen(s) + 1, h);
}

static uint64_t fp_i64(uint64_t h, int64_t v)
{
	return rf_hash64(&v, sizeof v, h);
}

static uint64_t rule_fingerprint(const struct agg_rule *r, const char *const *names)
{
	uint64_t h = fp_str(0x72696e67666c6f77ULL, "agg_rule v1");
	h = fp_str(h, r->name);
	h = fp_str(h, r->measurement);
	h = fp_i64(h, r->window_ns);
	h = fp_i64(h, r->every_ns);
	h = fp_i64(h, r->lateness_ns);
	h = fp_i64(h, (int64_t)r->max_keys);
	h = fp_i64(h, r->top_n);
	h = fp_i64(h, r->top_agg);
	for (int i = 0; i < r->shape.nkeys; i++) {
		h = fp_str(h, names[r->shape.key_fields[i]]);
		h = fp_i64(h, r->key_types[i]);
	}
	for (int i = 0; i < r->naggs; i++) {
		const struct agg_spec *a = &r->aggs[i];
		h = fp_str(h, a->name);
		h = fp_i64(h, a->fn);
		h = fp_i64(h, (int64_t)(a->q * 1e9));
		if (a->arg >= 0) {
			h = fp_str(h, names[r->shape.arg_fields[a->arg]]);
			h = fp_i64(h, r->shape.arg_types[a->arg]);
		}
	}
	return h;
}

int agg_rule_compile(const struct conf_rule *cr, const char *const *names,
		     const enum rf_vtype *types, int nout, struct agg_rule *r,
		     char *err, size_t errlen)
{
	const char *sec = cr->name;
	struct rf_row_shape *sh = &r->shape;
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", cr->name);
	snprintf(r->measurement, sizeof r->measurement, "%s",
		 cr->measurement[0] ? cr->measurement : cr->name);
	if (cr->window_ns <= 0) {
		snprintf(err, errlen, "[aggregate.%s] window: must be positive", sec);
		return -1;
	}
	/* Window arithmetic on event times (+-2^62 ns) must not overflow. */
	if (cr->window_ns > AGG_WINDOW_MAX_NS || cr->lateness_ns > AGG_WINDOW_MAX_NS) {
		snprintf(err, errlen, "[aggregate.%s] %s: longer than 10 years", sec,
			 cr->window_ns > AGG_WINDOW_MAX_NS ? "window" : "lateness");
		return -1;
	}
	if (cr->every_ns <= 0 || cr->every_ns > cr->window_ns || cr->window_ns % cr->every_ns) {
		snprintf(err, errlen, "[aggregate.%s] every: must divide window", sec);
		return -1;
	}
	if (cr->lateness_ns < 0) {
		snprintf(err, errlen, "[aggregate.%s] lateness: must not be negative", sec);
		return -1;
	}
	r->window_ns = cr->window_ns;
	r->every_ns = cr->every_ns;
	r->lateness_ns = cr->lateness_ns;
	r->max_keys = cr->max_keys;

	if (cr->nkeys < 0 || cr->nkeys > CONF_MAX_KEYS || cr->naggs < 0 || cr->naggs > CONF_MAX_AGGS) {
		snprintf(err, errlen, "[aggregate.%s] too many keys or aggregates", sec);
		return -1;
	}
	for (int i = 0; i < cr->nkeys; i++) {
		int f = find_field(cr->keys[i], strlen(cr->keys[i]), names, nout);
		if (f < 0) {
			snprintf(err, errlen, "[aggregate.%s] key: unknown field '%s'", sec, cr->keys[i]);
			return -1;
		}
		for (int j = 0; j < i; j++)
			if (sh->key_fields[j] == f) {
				snprintf(err, errlen, "[aggregate.%s] key: '%s' is listed twice", sec,
					 cr->keys[i]);
				return -1;
			}
		sh->key_fields[i] = f;
		snprintf(r->key_names[i], sizeof r->key_names[i], "%s", names[f]);
		r->key_types[i] = types[f];
	}
	sh->nkeys = cr->nkeys;

	if (cr->naggs == 0) {
		snprintf(err, errlen, "[aggregate.%s] no aggregate defined (add e.g. flows = count())",
			 sec);
		return -1;
	}
	uint32_t off = 0;
	for (int i = 0; i < cr->naggs; i++) {
		struct agg_spec *a = &r->aggs[i];
		int field;
		for (int j = 0; j < i; j++)
			if (strcasecmp(cr->aggs[j].name, cr->aggs[i].name) == 0) {
				snprintf(err, errlen, "[aggregate.%s] %s: defined twice", sec,
					 cr->aggs[i].name);
				return -1;
			}
		if (parse_agg(sec, &cr->aggs[i], names, types, nout, a, &field, err, errlen) < 0)
			return -1;
		a->arg = -1;
		if (field >= 0) {
			for (int j = 0; j < sh->nargs; j++)
				if (sh->arg_fields[j] == field)
					a->arg = j;
			if (a->arg < 0) {
				a->arg = sh->nargs;
				sh->arg_fields[sh->nargs] = field;
				sh->arg_types[sh->nargs++] = types[field];
			}
		}
		a->state = -1;
		if (a->fn == AGG_FN_PERCENTILE)
			for (int s = 0; s < r->nstates; s++)
				if (r->states[s].fn == AGG_FN_PERCENTILE && r->states[s].arg == a->arg)
					a->state = s;
		if (a->state < 0) {
			struct agg_state_desc *sd = &r->states[r->nstates];
			sd->fn = a->fn;
			sd->arg = a->arg;
			sd->offset = off;
			off += (uint32_t)agg_state_size(a->fn);
			a->state = r->nstates++;
		}
	}
	r->naggs = cr->naggs;
	r->state_size = off;

	r->top_agg = -1;
	if (cr->top_n < 0) {
		snprintf(err, errlen, "[aggregate.%s] top: N must be positive", sec);
		return -1;
	}
	if (cr->top_n > 0) {
		for (int i = 0; i < r->naggs; i++)
			if (strcasecmp(r->aggs[i].name, cr->top_by) == 0)
				r->top_agg = i;
		if (r->top_agg < 0) {
			snprintf(err, errlen, "[aggregate.%s] top: '%s' is not an aggregate of this rule",
				 sec, cr->top_by);
			return -1;
		}
		if (!is_numeric(r->aggs[r->top_agg].out_type)) {
			snprintf(err, errlen, "[aggregate.%s] top: '%s' is not numeric, cannot rank by it",
				 sec, cr->top_by);
			return -1;
		}
		r->top_n = cr->top_n;
	}
	sh->one_owner = agg_rule_is_top(r);
	r->fingerprint = rule_fingerprint(r, names);
	return 0;
}

int agg_rules_compile(const struct rf_config *conf, const char *const *out_names,
		      const enum rf_vtype *out_types, int nout, struct agg_rule **rules,
		      int *nrules, char *err, size_t errlen)
{
	*rules = NULL;
	*nrules = 0;
	if (conf->nrules < 0 || conf->nrules > CONF_MAX_RULES || conf->nrules > UINT16_MAX) {
		snprintf(err, errlen, "[aggregate] too many rules");
		return -1;
	}
	struct agg_rule *r = calloc(conf->nrules ? (size_t)conf->nrules : 1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "[aggregate] out of memory");
		return -1;
	}
	for (int i = 0; i < conf->nrules; i++)
		if (agg_rule_compile(&conf->rules[i], out_names, out_types, nout, &r[i], err, errlen) < 0) {
			free(r);
			return -1;
		}
	*rules = r;
	*nrules = conf->nrules;
	return 0;
}

void agg_rules_free(struct agg_rule *rules)
{
	free(rules);
}

const struct rf_row_shape **agg_rules_row_shapes(const struct agg_rule *rules, int nrules)
{
	const struct rf_row_shape **s = calloc(nrules > 0 ? (size_t)nrules : 1, sizeof *s);
	if (!s)
		return NULL;
	for (int i = 0; i < nrules; i++)
		s[i] = &rules[i].shape;
	return s;
}
