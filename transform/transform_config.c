/*
 * transform_config.c — the transform's sections: [geoip] (which MaxMind
 * databases, and where in them each answer sits) and [transform] (filter,
 * then the output fields in file order). Here they are only read and
 * stored; xf_plan_compile (plan.c) compiles the expressions and opens the
 * databases after the load. Runs in the supervisor before fork and in
 * `ringflow -t`; transform processes only read the result.
 */
#include "transform/transform.h"
#include "common/config_table.h"
#include "common/config_value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct rf_config, f)

static const struct conf_key geoip_keys[] = {
	{ "country", CONF_K_STR, NULL, "country .mmdb", OFF(geoip.country), NULL, 0 },
	{ "city", CONF_K_STR, NULL, "city .mmdb", OFF(geoip.city), NULL, 0 },
	{ "asn", CONF_K_STR, NULL, "ASN .mmdb", OFF(geoip.asn), NULL, 0 },
	{ "country_path", CONF_K_STR, NULL, "answer path in the country db (default country/iso_code)",
	  OFF(geoip.country_path), NULL, 0 },
	{ "city_path", CONF_K_STR, NULL, "answer path in the city db (default city/names/en)", OFF(geoip.city_path),
	  NULL, 0 },
	{ "asn_path", CONF_K_STR, NULL, "answer path in the ASN db (default autonomous_system_number)",
	  OFF(geoip.asn_path), NULL, 0 },
	{ "as_org_path", CONF_K_STR, NULL, "answer path in the ASN db (default autonomous_system_organization)",
	  OFF(geoip.as_org_path), NULL, 0 },
	CONF_KEYS_END
};

const struct conf_section xf_geoip_section = {
	.name = "geoip",
	.desc = "GeoIP databases",
	.keys = geoip_keys,
};

/* [transform] has no fixed keys: filter = EXPR, and every other key is an
 * output field NAME = EXPR, kept in file order (an output may use the ones
 * before it). */
static int transform_key(const struct conf_scope *s, const char *key, const char *v, char *err, size_t errlen)
{
	struct conf_transform *t = &s->conf->transform;
	if (!*v)
		return conf_fail(err, errlen, "[transform] %s: empty expression", key);
	if (!strcmp(key, "filter")) {
		free(t->filter);
		t->filter = conf_strdup(v);
		return 0;
	}
	if (!conf_valid_name(key))
		return conf_fail(err, errlen, "[transform] %s: not a valid output field name", key);
	if (t->nout >= CONF_MAX_OUTPUTS)
		return conf_fail(err, errlen, "[transform] %s: more than %d output fields", key, CONF_MAX_OUTPUTS);
	struct conf_output_field *of = &t->out[t->nout++];
	snprintf(of->name, sizeof of->name, "%s", key);
	of->expr = conf_strdup(v);
	return 0;
}

static void transform_release(struct rf_config *c)
{
	struct conf_transform *t = &c->transform;
	free(t->filter);
	t->filter = NULL;
	for (int i = 0; i < t->nout; i++)
		free(t->out[i].expr);
	t->nout = 0;
}

const struct conf_section xf_transform_section = {
	.name = "transform",
	.desc = "filter = EXPR, then NAME = EXPR output fields in order",
	.other_key = transform_key,
	.release = transform_release,
};
