/*
 * output_config.c — the [output] section: its keys, how type and retention
 * are read, and the checks that need the whole section (file vs InfluxDB,
 * v1 vs v2, credentials in pairs). Runs in the supervisor before fork and
 * in `ringflow -t`; writer processes only read the result (struct
 * conf_output). wr_output_check (output.c) opens the output after the load.
 * token and password are secrets: no message quotes them.
 */
#include "writer/writer.h"
#include "common/config_table.h"
#include "common/config_value.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OFF(f) offsetof(struct rf_config, f)

static int parse_type(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen)
{
	struct conf_output *o = &s->conf->output;
	if (!strcasecmp(v, "influxdb"))
		o->type = CONF_OUTPUT_INFLUXDB;
	else if (!strcasecmp(v, "file"))
		o->type = CONF_OUTPUT_FILE;
	else
		return conf_fail(err, errlen, "[output] type: '%s' is not influxdb or file", v);
	return 0;
}

/* Kept as written too, for CREATE RETENTION POLICY. */
static int parse_retention(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			   size_t errlen)
{
	struct conf_output *o = &s->conf->output;
	if (!strcasecmp(v, "inf") || !strcasecmp(v, "infinite") || !strcmp(v, "0")) {
		o->retention_ns = 0;
	} else if (rf_parse_duration(v, &o->retention_ns) || o->retention_ns < 3600 * RF_NS_PER_SEC) {
		return conf_fail(err, errlen, "[output] retention: '%s' is not a duration of at least 1h (InfluxDB's minimum) or inf", v);
	}
	free(o->retention);
	o->retention = conf_strdup(v);
	return 0;
}

static const struct conf_key output_keys[] = {
	{ "type", CONF_K_CUSTOM, "influxdb", "influxdb | file", OFF(output.type), parse_type, 0 },
	{ "url", CONF_K_STR, "http://127.0.0.1:8086", "InfluxDB base URL", OFF(output.url), NULL, 0 },
	{ "database", CONF_K_STR, NULL, "v1 database (created if missing)", OFF(output.database), NULL, 0 },
	{ "retention", CONF_K_CUSTOM, NULL, "v1 default retention of the created database (e.g. 30d; inf)",
	  OFF(output.retention), parse_retention, 0 },
	{ "org", CONF_K_STR, NULL, "v2 organisation", OFF(output.org), NULL, 0 },
	{ "bucket", CONF_K_STR, NULL, "v2 bucket", OFF(output.bucket), NULL, 0 },
	{ "token", CONF_K_STR, NULL, "v2 token (secret)", OFF(output.token), NULL, 0 },
	{ "token_file", CONF_K_STR, NULL, "file whose first line is the v2 token", OFF(output.token_file), NULL, 0 },
	{ "username", CONF_K_STR, NULL, "v1 user", OFF(output.username), NULL, 0 },
	{ "password", CONF_K_STR, NULL, "v1 password (secret)", OFF(output.password), NULL, 0 },
	{ "batch_points", CONF_K_INT, "5000", "points per write request", OFF(output.batch_points), NULL, 0 },
	{ "flush_interval", CONF_K_DURATION, "1s", "longest a point waits for a batch", OFF(output.flush_interval_ns),
	  NULL, 0 },
	{ "timeout", CONF_K_DURATION, "10s", "HTTP request timeout", OFF(output.timeout_ns), NULL, 0 },
	{ "gzip", CONF_K_BOOL, "yes", "compress write requests", OFF(output.gzip), NULL, 0 },
	{ "path", CONF_K_STR, NULL, "type = file: output path, - for stdout", OFF(output.path), NULL, 0 },
	CONF_KEYS_END
};

static int output_check(struct rf_config *c, int found, char *err, size_t errlen)
{
	const struct conf_output *o = &c->output;
	if (o->type == CONF_OUTPUT_FILE && (!o->path || !*o->path))
		return conf_fail(err, errlen, "[output] path: missing (type = file needs a path, or - for stdout)");
	if (o->type != CONF_OUTPUT_INFLUXDB)
		return 0;
	int v2 = (o->bucket && *o->bucket) || (o->org && *o->org);
	if (!o->url || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)))
		return conf_fail(err, errlen, "[output] url: '%s' is not an http:// or https:// URL", o->url ? o->url : "");
	if (v2) {
		if (!o->bucket || !*o->bucket)
			return conf_fail(err, errlen, "[output] bucket: missing (org is set, so this is an InfluxDB v2 output)");
		if (!o->org || !*o->org)
			return conf_fail(err, errlen, "[output] org: missing (bucket is set, so this is an InfluxDB v2 output)");
		if (o->token && o->token_file)
			return conf_fail(err, errlen, "[output] token_file: set together with token; keep one");
		if (o->token_file && access(o->token_file, R_OK))
			return conf_fail(err, errlen, "[output] token_file: cannot read '%s': %s", o->token_file,
					 strerror(errno));
		if (o->database)
			return conf_fail(err, errlen, "[output] database: v1 key mixed with v2 bucket/org");
	} else if (!o->database || !*o->database) {
		return conf_fail(err, errlen, "[output] database: missing (or set org and bucket for InfluxDB v2)");
	}
	if ((o->username != NULL) != (o->password != NULL))
		return conf_fail(err, errlen, "[output] %s: set without %s", o->username ? "username" : "password",
				 o->username ? "password" : "username");
	return 0;
}

static void output_release(struct rf_config *c)
{
	free(c->output.retention);
	c->output.retention = NULL;
}

const struct conf_section wr_output_section = {
	.name = "output",
	.desc = "where aggregates go",
	.keys = output_keys,
	.check = output_check,
	.release = output_release,
};
