/*
 * agg_fixture.h — what the aggregate engine's unit tests share
 * (test_engine.c, test_snapshot.c): the transform output fields their rules
 * read, a record of those fields, and rules compiled from short
 * definitions. Header-only, included by one test file each.
 */
#ifndef TESTS_AGG_FIXTURE_H
#define TESTS_AGG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate/rule.h"
#include "tests/lib/splitmix.h"

#define S 1000000000LL

static const char *const names[] = { "country", "asn", "bytes", "pkt", "name" };
static const enum rf_vtype types[] = { RF_V_STR, RF_V_INT, RF_V_INT, RF_V_INT, RF_V_STR };
#define NOUT 5
static const char *const countries[] = { "DE", "FR", "US", "JP", "BR" };
static const char *const pnames[] = { "alpha", "bravo", "charlie-long-name-over-16", "d" };


struct rec {
	int c;          /* country index */
	int asn;        /* -1 = missing */
	int64_t bytes;  /* -1 = missing */
	int64_t pkt;
	int name;
	int64_t t;
};

/* ---- rule building ---- */

struct rule_def {
	const char *name;
	int64_t window, every, lateness;
	const char *keys;         /* comma list */
	const char *aggs;         /* "name=expr;name=expr" */
	uint64_t max_keys;
	int top_n;
	const char *top_by;
};

static struct agg_rule *compile_rules(const struct rule_def *defs, int n)
{
	struct rf_config *conf = calloc(1, sizeof *conf);
	static char exprs[8][16][64];
	for (int i = 0; i < n; i++) {
		struct conf_rule *cr = &conf->rules[i];
		snprintf(cr->name, sizeof cr->name, "%s", defs[i].name);
		cr->window_ns = defs[i].window;
		cr->every_ns = defs[i].every ? defs[i].every : defs[i].window;
		cr->lateness_ns = defs[i].lateness;
		cr->max_keys = defs[i].max_keys;
		cr->top_n = defs[i].top_n;
		if (defs[i].top_by)
			snprintf(cr->top_by, sizeof cr->top_by, "%s", defs[i].top_by);
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s", defs[i].keys);
		for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ","))
			snprintf(cr->keys[cr->nkeys++], CONF_NAME_MAX, "%s", tok);
		snprintf(tmp, sizeof tmp, "%s", defs[i].aggs);
		for (char *tok = strtok(tmp, ";"); tok; tok = strtok(NULL, ";")) {
			char *eq = strchr(tok, '=');
			*eq = 0;
			snprintf(cr->aggs[cr->naggs].name, CONF_NAME_MAX, "%s", tok);
			snprintf(exprs[i][cr->naggs], 64, "%s", eq + 1);
			cr->aggs[cr->naggs].expr = exprs[i][cr->naggs];
			cr->naggs++;
		}
	}
	conf->nrules = n;
	struct agg_rule *rules;
	int nr;
	char err[256];
	if (agg_rules_compile(conf, names, types, NOUT, &rules, &nr, err, sizeof err) < 0)
		fail_msg("compile: %s", err);
	free(conf);
	return rules;
}

#endif
