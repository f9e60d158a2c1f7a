/*
 * rule_config.c — the [aggregate.NAME] sections, one rule each: the option
 * keys (measurement, window, every, lateness, key, max_keys, top) with
 * their defaults, and every other key an aggregate NAME = FUNC(field),
 * kept as written. The window bounds of config.h are checked here;
 * agg_rules_compile (rule.c) compiles the aggregates against the
 * transform's outputs after the load. Runs in the supervisor before fork
 * and in `ringflow -t`; aggregate processes only read the result.
 */
#include "aggregate/aggregate.h"
#include "common/config_table.h"
#include "common/config_value.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ROFF(f) offsetof(struct conf_rule, f)
#define STR_(x) #x
#define STR(x) STR_(x)

static int parse_measurement(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			     size_t errlen)
{
	struct conf_rule *r = s->base;
	if (strlen(v) >= sizeof r->measurement)
		return conf_fail(err, errlen, "[%s] measurement: longer than %zu characters", s->sec,
				 sizeof r->measurement - 1);
	snprintf(r->measurement, sizeof r->measurement, "%s", v);
	return 0;
}

/* window and every: at least 1ms, so 0 still means "not given" at close. */
static int parse_window(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen)
{
	int64_t *ns = (int64_t *)((char *)s->base + k->off);
	if (rf_parse_duration(v, ns) || *ns < RF_NS_PER_MS)
		return conf_fail(err, errlen, "[%s] %s: '%s' is not a duration of at least 1ms", s->sec, k->key, v);
	return 0;
}

static int parse_lateness(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			  size_t errlen)
{
	struct conf_rule *r = s->base;
	if (rf_parse_duration(v, &r->lateness_ns))
		return conf_fail(err, errlen, "[%s] lateness: '%s' is not a duration", s->sec, v);
	return 0;
}

/* key = a, b, c — names only; empty: one series for the whole stream. */
static int parse_key_list(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			  size_t errlen)
{
	struct conf_rule *r = s->base;
	char *copy = conf_strdup(v), *save = NULL;
	int rc = 0;
	r->nkeys = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *f = conf_trim(tok);
		if (!*f)
			continue;
		if (!conf_valid_name(f)) {
			rc = conf_fail(err, errlen, "[%s] key: '%s' is not a valid field name", s->sec, f);
			break;
		}
		if (r->nkeys >= CONF_MAX_KEYS) {
			rc = conf_fail(err, errlen, "[%s] key: more than %d key fields", s->sec, CONF_MAX_KEYS);
			break;
		}
		snprintf(r->keys[r->nkeys++], CONF_NAME_MAX, "%s", f);
	}
	free(copy);
	return rc;
}

static int parse_max_keys(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			  size_t errlen)
{
	struct conf_rule *r = s->base;
	long long x;
	if (conf_parse_int(v, 1, 1000000000LL, &x))
		return conf_fail(err, errlen, "[%s] max_keys: '%s' is not a count from 1 to 1000000000", s->sec, v);
	r->max_keys = (uint64_t)x;
	return 0;
}

/* top = N by FIELD; whether FIELD is an aggregate of the rule is
 * agg_rules_compile's to say. */
static int parse_top(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen)
{
	struct conf_rule *r = s->base;
	char by[16], field[CONF_NAME_MAX];
	int nn = 0, consumed = 0;
	if (sscanf(v, "%d %15s %63s %n", &nn, by, field, &consumed) != 3 || v[consumed] || strcasecmp(by, "by") ||
	    nn < 1 || nn > 1000000)
		return conf_fail(err, errlen, "[%s] top: '%s' is not 'N by FIELD' with N from 1 to 1000000", s->sec, v);
	r->top_n = nn;
	snprintf(r->top_by, sizeof r->top_by, "%s", field);
	return 0;
}

/* Offsets into struct conf_rule. */
static const struct conf_key rule_keys[] = {
	{ "measurement", CONF_K_CUSTOM, NULL, "InfluxDB measurement (default: the rule name)", ROFF(measurement),
	  parse_measurement, 0 },
	{ "window", CONF_K_CUSTOM, NULL, "window length, at least 1ms (required)", ROFF(window_ns), parse_window, 0 },
	{ "every", CONF_K_CUSTOM, NULL, "a window starts every this long: at least 1ms, divides window "
	  "(default: window, tumbling)", ROFF(every_ns), parse_window, 0 },
	{ "lateness", CONF_K_CUSTOM, "0", "event time a window waits past its end before it is emitted",
	  ROFF(lateness_ns), parse_lateness, 0 },
	{ .key = "key", .kind = CONF_K_CUSTOM, .def = NULL,
	  .desc = "comma list of up to " STR(CONF_MAX_KEYS) " output fields, one series per combination "
		  "(empty: one series)",
	  .off = ROFF(keys), .parse = parse_key_list, .empty_ok = 1 },
	{ "max_keys", CONF_K_CUSTOM, "1000000", "keys per window, 1 to 1000000000; further keys go to an overflow "
	  "series", ROFF(max_keys), parse_max_keys, 0 },
	{ "top", CONF_K_CUSTOM, NULL, "N by AGGREGATE: emit only the N keys with its largest values per window "
	  "(default: all keys)", ROFF(top_n), parse_top, 0 },
	CONF_KEYS_END
};

/* Every key that is not an option is an aggregate: NAME = FUNC(field). */
static int rule_aggregate(const struct conf_scope *s, const char *key, const char *v, char *err, size_t errlen)
{
	struct conf_rule *r = s->base;
	if (!conf_valid_name(key))
		return conf_fail(err, errlen, "[%s] %s: not a valid field name for an aggregate", s->sec, key);
	if (!*v)
		return conf_fail(err, errlen, "[%s] %s: empty aggregate (write e.g. sum(bytes))", s->sec, key);
	if (r->naggs >= CONF_MAX_AGGS)
		return conf_fail(err, errlen, "[%s] %s: more than %d aggregates", s->sec, key, CONF_MAX_AGGS);
	snprintf(r->aggs[r->naggs].name, CONF_NAME_MAX, "%s", key);
	r->aggs[r->naggs].expr = conf_strdup(v);
	r->naggs++;
	return 0;
}

static void *rule_open(struct rf_config *c, const char *sec, const char *name, char *err, size_t errlen)
{
	if (c->nrules >= CONF_MAX_RULES) {
		conf_fail(err, errlen, "[%s]: more than %d aggregate rules", sec, CONF_MAX_RULES);
		return NULL;
	}
	if (!conf_valid_name(name)) {
		conf_fail(err, errlen, "[%s]: '%s' is not a valid rule name", sec, name);
		return NULL;
	}
	struct conf_rule *r = &c->rules[c->nrules];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->measurement, sizeof r->measurement, "%s", name);
	return r;
}

/* The CONF_MAX_WINDOWS_PER_RECORD and CONF_MAX_OPEN_WINDOWS bounds
 * (config.h says why); every divides window when this runs. */
static int window_bounds(const struct conf_rule *r, const char *sec, char *err, size_t errlen)
{
	char w[32], e[32], l[32];
	conf_fmt_ns(w, sizeof w, r->window_ns);
	conf_fmt_ns(e, sizeof e, r->every_ns);
	int64_t per_record = r->window_ns / r->every_ns;
	if (per_record > CONF_MAX_WINDOWS_PER_RECORD)
		return conf_fail(err, errlen,
				 "[%s] every: window %s / every %s = %lld windows per record, at most %d "
				 "(each record updates every window containing it; use a longer every or a shorter window)",
				 sec, w, e, (long long)per_record, CONF_MAX_WINDOWS_PER_RECORD);
	/* Windows whose end is within lateness of the newest event stay open. */
	int64_t open = per_record + r->lateness_ns / r->every_ns + (r->lateness_ns % r->every_ns != 0);
	if (open > CONF_MAX_OPEN_WINDOWS)
		return conf_fail(err, errlen,
				 "[%s] lateness: window %s + lateness %s keeps %lld windows of every %s open at once, at most %d "
				 "(each holds a record per key and at least 64 KiB; use a shorter lateness or a longer every)",
				 sec, w, conf_fmt_ns(l, sizeof l, r->lateness_ns), (long long)open, e,
				 CONF_MAX_OPEN_WINDOWS);
	return 0;
}

static int rule_close(const struct conf_scope *s, char *err, size_t errlen)
{
	struct rf_config *c = s->conf;
	struct conf_rule *r = s->base;
	if (r->window_ns == 0)
		return conf_fail(err, errlen, "[%s] window: missing (every rule needs a window, e.g. window = 10s)", s->sec);
	if (r->every_ns == 0)
		r->every_ns = r->window_ns;
	if (r->every_ns > r->window_ns)
		return conf_fail(err, errlen, "[%s] every: longer than the window", s->sec);
	if (r->window_ns % r->every_ns)
		return conf_fail(err, errlen, "[%s] every: must divide the window evenly", s->sec);
	if (window_bounds(r, s->sec, err, errlen))
		return -1;
	if (r->naggs == 0)
		return conf_fail(err, errlen, "[%s]: no aggregates (add e.g. flows = count())", s->sec);
	for (int i = 0; i < c->nrules; i++)
		if (!strcmp(c->rules[i].name, r->name))
			return conf_fail(err, errlen, "[%s]: rule defined twice", s->sec);
	c->nrules++;
	return 0;
}

static void free_rule(struct conf_rule *r)
{
	for (int i = 0; i < r->naggs; i++)
		free(r->aggs[i].expr);
	memset(r, 0, sizeof *r);
}

/* Not counted in nrules yet, so release would not see it. */
static void rule_discard(const struct conf_scope *s)
{
	free_rule(s->base);
}

static void rule_release(struct rf_config *c)
{
	for (int i = 0; i < c->nrules; i++)
		free_rule(&c->rules[i]);
}

static int rule_check(struct rf_config *c, int found, char *err, size_t errlen)
{
	if (c->nrules == 0)
		return conf_fail(err, errlen, "[aggregate.NAME]: no aggregate rule (add e.g. [aggregate.total] with window "
				 "and an aggregate)");
	return 0;
}

const struct conf_section agg_rule_section = {
	.name = "aggregate",
	.named = 1,
	/* The bounds are plain integer literals (config.h), so STR() spells
	 * them as the loader compares them. */
	.desc = "measurement, window, every, lateness, key, max_keys, top = N by FIELD,\n"
		"then NAME = FUNC(field) aggregates\n"
		"window and every >= 1ms, every divides window; window / every <= " STR(CONF_MAX_WINDOWS_PER_RECORD) "\n"
		"(windows a record updates); window / every + ceil(lateness / every) <= " STR(CONF_MAX_OPEN_WINDOWS) "\n"
		"(windows open at once)",
	.keys = rule_keys,
	.other_key = rule_aggregate,
	.open = rule_open,
	.close = rule_close,
	.discard = rule_discard,
	.check = rule_check,
	.release = rule_release,
};
