/*
 * config.c — loads the INI file into struct rf_config and validates
 * everything that does not need another module (expressions and rules are
 * compiled by transform/ and aggregate/, see supervisor/pipeline.c).
 *
 * The only user of iniparser. Runs in the supervisor before fork and in
 * `ringflow -t`. Each fixed section declares its keys in a table (key, kind,
 * default, description, where the value goes); the table both validates the
 * file and documents it (`ringflow --keys` prints it). Errors read
 * "[section] key: problem" and stop at the first one.
 */
#include "common/config.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <iniparser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>

enum key_kind { K_STR, K_DURATION, K_SIZE, K_INT, K_BOOL, K_PROCS, K_CUSTOM };

struct key_def {
	const char *key;
	enum key_kind kind;
	const char *def;   /* NULL = no default (value stays NULL/0) */
	const char *desc;
	size_t off;        /* offset in struct rf_config */
};

#define OFF(f) offsetof(struct rf_config, f)

static const struct key_def ringflow_keys[] = {
	{ "name", K_STR, "ringflow", "instance name: socket and state file names", OFF(ringflow.name) },
	{ "state_dir", K_STR, "/var/lib/ringflow", "LMDB environment (checkpoints)", OFF(ringflow.state_dir) },
	{ "run_dir", K_STR, "/run/ringflow", "control socket <run_dir>/<name>.sock", OFF(ringflow.run_dir) },
	{ "log_level", K_CUSTOM, "info", "error|warn|info|debug", OFF(ringflow.log_level) },
	{ "checkpoint_interval", K_DURATION, "5s",
	  "time between checkpoints (Kafka input), 100ms to 1d; 0 is refused, not \"never\": it would "
	  "checkpoint back to back (to checkpoint less often, make it longer)",
	  OFF(ringflow.checkpoint_interval_ns) },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct key_def processes_keys[] = {
	{ "ingest", K_PROCS, "1", "ingest processes (or auto)", OFF(processes.ingest) },
	{ "transform", K_PROCS, "auto", "transform processes (or auto)", OFF(processes.transform) },
	{ "aggregate", K_PROCS, "auto", "aggregate processes (or auto)", OFF(processes.aggregate) },
	{ "writer", K_PROCS, "1", "writer processes (or auto)", OFF(processes.writer) },
	{ "ring_size", K_SIZE, "4M", "bytes per ring: a power of two from 64K to 1G (a frame is ring_size / 4)",
	  OFF(processes.ring_size) },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct key_def input_keys[] = {
	{ "type", K_CUSTOM, "kafka", "kafka | file", OFF(input.type) },
	{ "brokers", K_STR, "127.0.0.1:9092", "Kafka bootstrap servers", OFF(input.brokers) },
	{ "topic", K_STR, NULL, "topic, or comma list of topics", OFF(input.topics) },
	{ "group", K_STR, "ringflow", "Kafka consumer group", OFF(input.group) },
	{ "assignment", K_CUSTOM, "ringflow", "ringflow: partitions dealt to the ingests by ringflow, positions from "
	  "the checkpoint (no group rebalances) | group: Kafka's consumer-group balancing (several hosts)",
	  OFF(input.assignment) },
	{ "metadata_refresh", K_DURATION, "30s", "assignment = ringflow: how often new partitions and topics are looked "
	  "for", OFF(input.metadata_refresh_ns) },
	{ "start", K_CUSTOM, "earliest", "earliest | latest: where to begin without a checkpoint", OFF(input.start) },
	{ "path", K_STR, NULL, "type = file: input path, - for stdin", OFF(input.path) },
	{ "separator", K_CUSTOM, ",", "column separator (one character; \\t for tab)", OFF(input.separator) },
	{ "fields", K_CUSTOM, NULL, "columns in order: name[:str|int|float|ip], ...", OFF(input.fields) },
	{ "time_field", K_CUSTOM, NULL, "field holding event time; absent = processing time", OFF(input.time_field) },
	{ "time_format", K_CUSTOM, "unix", "unix | unix_ms | unix_us | unix_ns | rfc3339", OFF(input.time_format) },
	{ "idle_timeout", K_DURATION, "30s", "a partition quiet this long stops holding windows back", OFF(input.idle_timeout_ns) },
	{ "max_skew", K_DURATION, "2m", "kafka: pause a partition whose event time runs this far ahead of the slowest "
	  "one holding windows back (bounds open windows on a backlog); 0 = never", OFF(input.max_skew_ns) },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct key_def geoip_keys[] = {
	{ "country", K_STR, NULL, "country .mmdb", OFF(geoip.country) },
	{ "city", K_STR, NULL, "city .mmdb", OFF(geoip.city) },
	{ "asn", K_STR, NULL, "ASN .mmdb", OFF(geoip.asn) },
	{ "country_path", K_STR, NULL, "answer path in the country db (default country/iso_code)", OFF(geoip.country_path) },
	{ "city_path", K_STR, NULL, "answer path in the city db (default city/names/en)", OFF(geoip.city_path) },
	{ "asn_path", K_STR, NULL, "answer path in the ASN db (default autonomous_system_number)", OFF(geoip.asn_path) },
	{ "as_org_path", K_STR, NULL, "answer path in the ASN db (default autonomous_system_organization)", OFF(geoip.as_org_path) },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct key_def output_keys[] = {
	{ "type", K_CUSTOM, "influxdb", "influxdb | file", OFF(output.type) },
	{ "url", K_STR, "http://127.0.0.1:8086", "InfluxDB base URL", OFF(output.url) },
	{ "database", K_STR, NULL, "v1 database (created if missing)", OFF(output.database) },
	{ "retention", K_CUSTOM, NULL, "v1 default retention of the created database (e.g. 30d; inf)", OFF(output.retention) },
	{ "org", K_STR, NULL, "v2 organisation", OFF(output.org) },
	{ "bucket", K_STR, NULL, "v2 bucket", OFF(output.bucket) },
	{ "token", K_STR, NULL, "v2 token (secret)", OFF(output.token) },
	{ "token_file", K_STR, NULL, "file whose first line is the v2 token", OFF(output.token_file) },
	{ "username", K_STR, NULL, "v1 user", OFF(output.username) },
	{ "password", K_STR, NULL, "v1 password (secret)", OFF(output.password) },
	{ "batch_points", K_INT, "5000", "points per write request", OFF(output.batch_points) },
	{ "flush_interval", K_DURATION, "1s", "longest a point waits for a batch", OFF(output.flush_interval_ns) },
	{ "timeout", K_DURATION, "10s", "HTTP request timeout", OFF(output.timeout_ns) },
	{ "gzip", K_BOOL, "yes", "compress write requests", OFF(output.gzip) },
	{ "path", K_STR, NULL, "type = file: output path, - for stdout", OFF(output.path) },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct key_def alerts_keys[] = {
	{ "log", K_BOOL, "yes", "log every alert", OFF(alerts.log) },
	{ "kafka.brokers", K_STR, NULL, "alert sink: Kafka brokers", OFF(alerts.kafka_brokers) },
	{ "kafka.topic", K_STR, NULL, "alert sink: Kafka topic", OFF(alerts.kafka_topic) },
	{ "webhook", K_STR, NULL, "alert sink: URL receiving JSON", OFF(alerts.webhook) },
	{ "measurement", K_STR, NULL, "alerts also written to InfluxDB under this measurement", OFF(alerts.measurement) },
	{ "state_changes_only", K_BOOL, "no", "alert only when a series changes severity", OFF(alerts.state_changes_only) },
	{ NULL, 0, NULL, NULL, 0 }
};

/* Rule sections: these keys are options; every other key is an aggregate. */
static const char *const rule_option_keys[] = {
	"measurement", "window", "every", "lateness", "key", "max_keys", "top", NULL
};
static const char *const analyzer_keys[] = { "exec", "args", "input", NULL };

struct section_def {
	const char *name;
	const struct key_def *keys;
	const char *desc;
};

static const struct section_def fixed_sections[] = {
	{ "ringflow", ringflow_keys, "instance" },
	{ "processes", processes_keys, "process counts" },
	{ "input", input_keys, "where records come from" },
	{ "geoip", geoip_keys, "GeoIP databases" },
	{ "output", output_keys, "where aggregates go" },
	{ "alerts", alerts_keys, "alert sinks (accepted, not acted on yet: analyzers are not built in this version)" },
	{ NULL, NULL, NULL }
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

/* ns as the largest unit that divides it evenly ("90s", "1500ms"), for
 * messages that quote computed bounds. */
static const char *fmt_ns(char *buf, size_t len, int64_t ns)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "d", 86400 * RF_NS_PER_SEC }, { "h", 3600 * RF_NS_PER_SEC }, { "m", 60 * RF_NS_PER_SEC },
		{ "s", RF_NS_PER_SEC }, { "ms", RF_NS_PER_MS }, { "us", 1000 }, { "ns", 1 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ns != 0 && ns % units[i].ns == 0) {
			snprintf(buf, len, "%lld%s", (long long)(ns / units[i].ns), units[i].unit);
			return buf;
		}
	snprintf(buf, len, "0s");
	return buf;
}

static void warn(struct rf_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct rf_config *c, const char *fmt, ...)
{
	if (c->nwarnings >= CONF_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->warnings[c->nwarnings++], CONF_WARNING_MAX, fmt, ap);
	va_end(ap);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int valid_name(const char *s)
{
	if (!*s || strlen(s) >= CONF_NAME_MAX)
		return 0;
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static int auto_processes(const char *role)
{
	/* Decisions in docs/OPERATIONS.md: transform is the CPU-heavy stage. */
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	long n = 1;
	if (strcmp(role, "transform") == 0)
		n = cores / 3;
	else if (strcmp(role, "aggregate") == 0)
		n = cores / 4;
	else if (strcmp(role, "ingest") == 0)
		n = cores / 16;
	/* The layout has room for CONF_MAX_PROCESSES per role: a 256-core
	 * host must not size past it. */
	if (n > CONF_MAX_PROCESSES)
		n = CONF_MAX_PROCESSES;
	return n > 1 ? (int)n : 1;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_int(const char *v, long long lo, long long hi, long long *out)
{
	errno = 0;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || errno || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static int parse_fields(struct conf_input *in, const char *v, char *err, size_t errlen)
{
	char *copy = xstrdup(v), *save = NULL;
	int rc = 0;
	in->nfields = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *f = trim(tok);
		if (!*f) {
			rc = fail(err, errlen, "[input] fields: empty field name in the list");
			goto out;
		}
		if (in->nfields >= CONF_MAX_FIELDS) {
			rc = fail(err, errlen, "[input] fields: more than %d fields", CONF_MAX_FIELDS);
			goto out;
		}
		struct conf_field *cf = &in->fields[in->nfields];
		char *colon = strchr(f, ':');
		cf->type = RF_V_STR;
		if (colon) {
			*colon = '\0';
			char *t = trim(colon + 1);
			if (!strcasecmp(t, "str") || !strcasecmp(t, "string"))
				cf->type = RF_V_STR;
			else if (!strcasecmp(t, "int"))
				cf->type = RF_V_INT;
			else if (!strcasecmp(t, "float"))
				cf->type = RF_V_FLOAT;
			else if (!strcasecmp(t, "ip"))
				cf->type = RF_V_IP;
			else {
				rc = fail(err, errlen, "[input] fields: field '%s' has unknown type '%s' (str, int, float or ip)", trim(f), t);
				goto out;
			}
		}
		f = trim(f);
		if (!valid_name(f)) {
			rc = fail(err, errlen, "[input] fields: '%s' is not a valid field name", f);
			goto out;
		}
		for (int i = 0; i < in->nfields; i++)
			if (!strcmp(in->fields[i].name, f)) {
				rc = fail(err, errlen, "[input] fields: field '%s' listed twice", f);
				goto out;
			}
		snprintf(cf->name, sizeof cf->name, "%s", f);
		in->nfields++;
	}
	if (in->nfields == 0)
		rc = fail(err, errlen, "[input] fields: no fields listed");
out:
	free(copy);
	return rc;
}

/* Values of K_CUSTOM keys; time_field is resolved after fields. */
static int set_custom(struct rf_config *c, const char *sec, const char *key, const char *v,
		      char **time_field, char *err, size_t errlen)
{
	if (!strcmp(sec, "ringflow") && !strcmp(key, "log_level")) {
		enum rf_log_level lvl;
		if (rf_log_parse_level(v, &lvl))
			return fail(err, errlen, "[ringflow] log_level: '%s' is not one of error, warn, info, debug", v);
		c->ringflow.log_level = (int)lvl;
	} else if (!strcmp(sec, "input") && !strcmp(key, "type")) {
		if (!strcasecmp(v, "kafka"))
			c->input.type = CONF_INPUT_KAFKA;
		else if (!strcasecmp(v, "file"))
			c->input.type = CONF_INPUT_FILE;
		else if (!strcasecmp(v, "sflow"))
			return fail(err, errlen, "[input] type: 'sflow' (native sFlow UDP) is not implemented yet; use kafka or file");
		else
			return fail(err, errlen, "[input] type: '%s' is not kafka or file", v);
	} else if (!strcmp(sec, "input") && !strcmp(key, "assignment")) {
		if (!strcasecmp(v, "ringflow"))
			c->input.assignment = CONF_ASSIGN_RINGFLOW;
		else if (!strcasecmp(v, "group"))
			c->input.assignment = CONF_ASSIGN_GROUP;
		else
			return fail(err, errlen, "[input] assignment: '%s' is not ringflow or group", v);
	} else if (!strcmp(sec, "input") && !strcmp(key, "start")) {
		if (strcasecmp(v, "earliest") && strcasecmp(v, "latest"))
			return fail(err, errlen, "[input] start: '%s' is not earliest or latest", v);
		free(c->input.start);
		c->input.start = xstrdup(v);
	} else if (!strcmp(sec, "input") && !strcmp(key, "separator")) {
		if (!strcmp(v, "\\t") || !strcasecmp(v, "tab"))
			c->input.separator = '\t';
		else if (strlen(v) == 1 && v[0] != '\n' && v[0] != '\r')
			c->input.separator = v[0];
		else
			return fail(err, errlen, "[input] separator: '%s' must be one character (or \\t)", v);
	} else if (!strcmp(sec, "input") && !strcmp(key, "fields")) {
		return parse_fields(&c->input, v, err, errlen);
	} else if (!strcmp(sec, "input") && !strcmp(key, "time_field")) {
		free(*time_field);
		*time_field = xstrdup(v);
	} else if (!strcmp(sec, "input") && !strcmp(key, "time_format")) {
		static const char *names[CONF_TIME_FORMAT_COUNT] = { "unix", "unix_ms", "unix_us", "unix_ns", "rfc3339" };
		for (int i = 0; i < CONF_TIME_FORMAT_COUNT; i++)
			if (!strcasecmp(v, names[i])) {
				c->input.time_format = (enum conf_time_format)i;
				return 0;
			}
		return fail(err, errlen, "[input] time_format: '%s' is not one of unix, unix_ms, unix_us, unix_ns, rfc3339", v);
	} else if (!strcmp(sec, "output") && !strcmp(key, "type")) {
		if (!strcasecmp(v, "influxdb"))
			c->output.type = CONF_OUTPUT_INFLUXDB;
		else if (!strcasecmp(v, "file"))
			c->output.type = CONF_OUTPUT_FILE;
		else
			return fail(err, errlen, "[output] type: '%s' is not influxdb or file", v);
	} else if (!strcmp(sec, "output") && !strcmp(key, "retention")) {
		if (!strcasecmp(v, "inf") || !strcasecmp(v, "infinite") || !strcmp(v, "0")) {
			c->output.retention_ns = 0;
		} else if (rf_parse_duration(v, &c->output.retention_ns) || c->output.retention_ns < 3600 * RF_NS_PER_SEC) {
			return fail(err, errlen, "[output] retention: '%s' is not a duration of at least 1h (InfluxDB's minimum) or inf", v);
		}
		free(c->output.retention);
		c->output.retention = xstrdup(v);
	}
	return 0;
}

static int set_key(struct rf_config *c, const char *sec, const struct key_def *k, const char *v,
		   char **time_field, char *err, size_t errlen)
{
	void *dst = (char *)c + k->off;
	switch (k->kind) {
	case K_STR:
		free(*(char **)dst);
		*(char **)dst = xstrdup(v);
		return 0;
	case K_DURATION:
		if (rf_parse_duration(v, (int64_t *)dst))
			return fail(err, errlen, "[%s] %s: '%s' is not a duration (e.g. 500ms, 10s, 5m, 1h, 30d)", sec, k->key, v);
		return 0;
	case K_SIZE:
		if (rf_parse_size(v, (uint64_t *)dst))
			return fail(err, errlen, "[%s] %s: '%s' is not a size (e.g. 4096, 64K, 4M, 1G)", sec, k->key, v);
		return 0;
	case K_INT: {
		long long x;
		if (parse_int(v, 1, 100000000, &x))
			return fail(err, errlen, "[%s] %s: '%s' is not a positive integer", sec, k->key, v);
		*(int *)dst = (int)x;
		return 0;
	}
	case K_BOOL:
		if (parse_bool(v, (int *)dst))
			return fail(err, errlen, "[%s] %s: '%s' is not yes or no", sec, k->key, v);
		return 0;
	case K_PROCS: {
		long long x;
		if (!strcasecmp(v, "auto")) {
			*(int *)dst = auto_processes(k->key);
			return 0;
		}
		if (parse_int(v, 1, CONF_MAX_PROCESSES, &x))
			return fail(err, errlen, "[%s] %s: '%s' is not auto or a count from 1 to %d", sec, k->key, v,
				    CONF_MAX_PROCESSES);
		*(int *)dst = (int)x;
		return 0;
	}
	case K_CUSTOM:
		return set_custom(c, sec, k->key, v, time_field, err, errlen);
	}
	return 0;
}

/* iniparser keys come as "section:key"; returns the part after the colon. */
static const char *bare_key(const char *full)
{
	const char *c = strchr(full, ':');
	return c ? c + 1 : full;
}

/* The keys of a section as "section:key" strings, in file order; *n gets
 * their count. Caller frees the array (not the strings). */
static const char **section_keys(dictionary *d, const char *sec, int *n)
{
	*n = iniparser_getsecnkeys(d, sec);
	if (*n < 0)
		*n = 0;
	const char **keys = calloc(*n > 0 ? (size_t)*n : 1, sizeof *keys);
	if (!keys)
		abort();
	if (*n > 0)
		iniparser_getseckeys(d, sec, keys);
	return keys;
}

static int load_fixed_section(dictionary *d, struct rf_config *c, const struct section_def *sd,
			      char **time_field, char *err, size_t errlen)
{
	/* Defaults first, then the file's values. */
	for (const struct key_def *k = sd->keys; k->key; k++)
		if (k->def && set_key(c, sd->name, k, k->def, time_field, err, errlen))
			return -1;
	int n;
	const char **keys = section_keys(d, sd->name, &n);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *key = bare_key(keys[i]);
		const char *v = iniparser_getstring(d, keys[i], "");
		if (!strcmp(sd->name, "input") && !strncmp(key, "kafka.", 6)) {
			if (!key[6]) {
				rc = fail(err, errlen, "[input] %s: empty librdkafka property name", key);
			} else if (c->input.nkafka >= CONF_MAX_KV) {
				rc = fail(err, errlen, "[input] %s: more than %d kafka.* keys", key, CONF_MAX_KV);
			} else {
				c->input.kafka[c->input.nkafka].key = xstrdup(key + 6);
				c->input.kafka[c->input.nkafka].value = xstrdup(v);
				c->input.nkafka++;
			}
			continue;
		}
		const struct key_def *k = sd->keys;
		while (k->key && strcmp(k->key, key))
			k++;
		if (!k->key) {
			rc = fail(err, errlen, "[%s] %s: unknown key", sd->name, key);
			break;
		}
		if (!*v && k->kind != K_STR) {
			rc = fail(err, errlen, "[%s] %s: empty value", sd->name, key);
			break;
		}
		rc = set_key(c, sd->name, k, v, time_field, err, errlen);
	}
	free(keys);
	return rc;
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* key = a, b, c — names only. */
static int parse_key_list(struct conf_rule *r, const char *sec, const char *v, char *err, size_t errlen)
{
	char *copy = xstrdup(v), *save = NULL;
	int rc = 0;
	r->nkeys = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *f = trim(tok);
		if (!*f)
			continue;
		if (!valid_name(f)) {
			rc = fail(err, errlen, "[%s] key: '%s' is not a valid field name", sec, f);
			break;
		}
		if (r->nkeys >= CONF_MAX_KEYS) {
			rc = fail(err, errlen, "[%s] key: more than %d key fields", sec, CONF_MAX_KEYS);
			break;
		}
		snprintf(r->keys[r->nkeys++], CONF_NAME_MAX, "%s", f);
	}
	free(copy);
	return rc;
}

/* The CONF_MAX_WINDOWS_PER_RECORD and CONF_MAX_OPEN_WINDOWS bounds
 * (config.h says why); every divides window when this runs. */
static int window_bounds(const struct conf_rule *r, const char *sec, char *err, size_t errlen)
{
	char w[32], e[32], l[32];
	fmt_ns(w, sizeof w, r->window_ns);
	fmt_ns(e, sizeof e, r->every_ns);
	int64_t per_record = r->window_ns / r->every_ns;
	if (per_record > CONF_MAX_WINDOWS_PER_RECORD)
		return fail(err, errlen,
			    "[%s] every: window %s / every %s = %lld windows per record, at most %d "
			    "(each record updates every window containing it; use a longer every or a shorter window)",
			    sec, w, e, (long long)per_record, CONF_MAX_WINDOWS_PER_RECORD);
	/* Windows whose end is within lateness of the newest event stay open. */
	int64_t open = per_record + r->lateness_ns / r->every_ns + (r->lateness_ns % r->every_ns != 0);
	if (open > CONF_MAX_OPEN_WINDOWS)
		return fail(err, errlen,
			    "[%s] lateness: window %s + lateness %s keeps %lld windows of every %s open at once, at most %d "
			    "(each holds a record per key and at least 64 KiB; use a shorter lateness or a longer every)",
			    sec, w, fmt_ns(l, sizeof l, r->lateness_ns), (long long)open, e, CONF_MAX_OPEN_WINDOWS);
	return 0;
}

static int load_rule(dictionary *d, const char *sec, struct rf_config *c, char *err, size_t errlen)
{
	const char *rname = sec + strlen("aggregate.");
	if (c->nrules >= CONF_MAX_RULES)
		return fail(err, errlen, "[%s]: more than %d aggregate rules", sec, CONF_MAX_RULES);
	if (!valid_name(rname))
		return fail(err, errlen, "[%s]: '%s' is not a valid rule name", sec, rname);
	struct conf_rule *r = &c->rules[c->nrules];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", rname);
	snprintf(r->measurement, sizeof r->measurement, "%s", rname);
	r->lateness_ns = 0;
	r->max_keys = 1000000;
	int n;
	const char **keys = section_keys(d, sec, &n);
	int rc = 0;
	int have_window = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *key = bare_key(keys[i]);
		const char *v = iniparser_getstring(d, keys[i], "");
		if (!in_list(rule_option_keys, key)) {
			if (!valid_name(key)) {
				rc = fail(err, errlen, "[%s] %s: not a valid field name for an aggregate", sec, key);
			} else if (!*v) {
				rc = fail(err, errlen, "[%s] %s: empty aggregate (write e.g. sum(bytes))", sec, key);
			} else if (r->naggs >= CONF_MAX_AGGS) {
				rc = fail(err, errlen, "[%s] %s: more than %d aggregates", sec, key, CONF_MAX_AGGS);
			} else {
				snprintf(r->aggs[r->naggs].name, CONF_NAME_MAX, "%s", key);
				r->aggs[r->naggs].expr = xstrdup(v);
				r->naggs++;
			}
			continue;
		}
		if (!strcmp(key, "key")) {
			rc = parse_key_list(r, sec, v, err, errlen);
			continue;
		}
		if (!*v) {
			rc = fail(err, errlen, "[%s] %s: empty value", sec, key);
			break;
		}
		if (!strcmp(key, "measurement")) {
			if (strlen(v) >= sizeof r->measurement)
				rc = fail(err, errlen, "[%s] measurement: longer than %zu characters", sec, sizeof r->measurement - 1);
			else
				snprintf(r->measurement, sizeof r->measurement, "%s", v);
		} else if (!strcmp(key, "window")) {
			if (rf_parse_duration(v, &r->window_ns) || r->window_ns < RF_NS_PER_MS)
				rc = fail(err, errlen, "[%s] window: '%s' is not a duration of at least 1ms", sec, v);
			have_window = 1;
		} else if (!strcmp(key, "every")) {
			if (rf_parse_duration(v, &r->every_ns) || r->every_ns < RF_NS_PER_MS)
				rc = fail(err, errlen, "[%s] every: '%s' is not a duration of at least 1ms", sec, v);
		} else if (!strcmp(key, "lateness")) {
			if (rf_parse_duration(v, &r->lateness_ns))
				rc = fail(err, errlen, "[%s] lateness: '%s' is not a duration", sec, v);
		} else if (!strcmp(key, "max_keys")) {
			long long x;
			if (parse_int(v, 1, 1000000000LL, &x))
				rc = fail(err, errlen, "[%s] max_keys: '%s' is not a count from 1 to 1000000000", sec, v);
			else
				r->max_keys = (uint64_t)x;
		} else if (!strcmp(key, "top")) {
			/* top = N by FIELD */
			char by[16], field[CONF_NAME_MAX];
			int nn = 0, consumed = 0;
			if (sscanf(v, "%d %15s %63s %n", &nn, by, field, &consumed) != 3 || v[consumed] ||
			    strcasecmp(by, "by") || nn < 1 || nn > 1000000)
				rc = fail(err, errlen, "[%s] top: '%s' is not 'N by FIELD' with N from 1 to 1000000", sec, v);
			else {
				r->top_n = nn;
				snprintf(r->top_by, sizeof r->top_by, "%s", field);
			}
		}
	}
	free(keys);
	if (rc)
		goto bad;
	rc = -1;
	if (!have_window) {
		fail(err, errlen, "[%s] window: missing (every rule needs a window, e.g. window = 10s)", sec);
		goto bad;
	}
	if (r->every_ns == 0)
		r->every_ns = r->window_ns;
	if (r->every_ns > r->window_ns) {
		fail(err, errlen, "[%s] every: longer than the window", sec);
		goto bad;
	}
	if (r->window_ns % r->every_ns) {
		fail(err, errlen, "[%s] every: must divide the window evenly", sec);
		goto bad;
	}
	if (window_bounds(r, sec, err, errlen))
		goto bad;
	if (r->naggs == 0) {
		fail(err, errlen, "[%s]: no aggregates (add e.g. flows = count())", sec);
		goto bad;
	}
	for (int i = 0; i < c->nrules; i++)
		if (!strcmp(c->rules[i].name, r->name)) {
			fail(err, errlen, "[%s]: rule defined twice", sec);
			goto bad;
		}
	c->nrules++;
	return 0;
bad:
	/* Not counted in nrules yet, so conf_free() would not see these. */
	for (int i = 0; i < r->naggs; i++)
		free(r->aggs[i].expr);
	memset(r, 0, sizeof *r);
	return rc;
}

static int load_analyzer(dictionary *d, const char *sec, struct rf_config *c, char *err, size_t errlen)
{
	const char *aname = sec + strlen("analyzer.");
	if (c->nanalyzers >= CONF_MAX_ANALYZERS)
		return fail(err, errlen, "[%s]: more than %d analyzers", sec, CONF_MAX_ANALYZERS);
	if (!valid_name(aname))
		return fail(err, errlen, "[%s]: '%s' is not a valid analyzer name", sec, aname);
	struct conf_analyzer *a = &c->analyzers[c->nanalyzers];
	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "%s", aname);
	int n;
	const char **keys = section_keys(d, sec, &n);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *key = bare_key(keys[i]);
		const char *v = iniparser_getstring(d, keys[i], "");
		if (!in_list(analyzer_keys, key))
			rc = fail(err, errlen, "[%s] %s: unknown key (exec, args, input)", sec, key);
		else if (!strcmp(key, "exec"))
			a->exec = xstrdup(v);
		else if (!strcmp(key, "args"))
			a->args = xstrdup(v);
		else
			a->input = xstrdup(v);
	}
	free(keys);
	if (rc == 0 && (!a->exec || !*a->exec))
		rc = fail(err, errlen, "[%s] exec: missing (a built-in name or a path)", sec);
	if (rc) {
		/* Not counted in nanalyzers yet, so conf_free() would not see these. */
		free(a->exec);
		free(a->args);
		free(a->input);
		memset(a, 0, sizeof *a);
		return rc;
	}
	c->nanalyzers++;
	return 0;
}

/* [transform]: filter plus output fields, in file order. */
static int load_transform(dictionary *d, struct rf_config *c, char *err, size_t errlen)
{
	int n, rc = 0;
	const char **keys = section_keys(d, "transform", &n);
	for (int i = 0; i < n && rc == 0; i++) {
		const char *key = bare_key(keys[i]);
		const char *v = iniparser_getstring(d, keys[i], "");
		if (!*v) {
			rc = fail(err, errlen, "[transform] %s: empty expression", key);
		} else if (!strcmp(key, "filter")) {
			c->transform.filter = xstrdup(v);
		} else if (!valid_name(key)) {
			rc = fail(err, errlen, "[transform] %s: not a valid output field name", key);
		} else if (c->transform.nout >= CONF_MAX_OUTPUTS) {
			rc = fail(err, errlen, "[transform] %s: more than %d output fields", key, CONF_MAX_OUTPUTS);
		} else {
			struct conf_output_field *of = &c->transform.out[c->transform.nout++];
			snprintf(of->name, sizeof of->name, "%s", key);
			of->expr = xstrdup(v);
		}
	}
	free(keys);
	return rc;
}

static char last_ini_error[512];
static int ini_error_cb(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_ini_error, sizeof last_ini_error, fmt, ap);
	va_end(ap);
	size_t l = strlen(last_ini_error);
	while (l && (last_ini_error[l - 1] == '\n'))
		last_ini_error[--l] = '\0';
	return n;
}

/*
 * iniparser 4.1 takes a line as a section only when its last character is
 * ']', so "[aggregate.by_country]   ; comment" (as DESIGN.md section 3 writes
 * it) is a syntax error. Hands iniparser a copy (a memfd, same line
 * numbers) with comments after section names cut. Returns the fd, or -1.
 */
static int copy_without_section_comments(const char *path, char *err, size_t errlen)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	int fd = memfd_create("ringflow-conf", MFD_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fclose(in);
		return fail(err, errlen, "%s: memfd_create: %s", path, strerror(e));
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int cont = 0, rc = 0;
	while ((len = getline(&line, &cap, in)) >= 0) {
		size_t n = (size_t)len;
		while (n && isspace((unsigned char)line[n - 1]))
			n--;
		int next_cont = n && line[n - 1] == '\\';
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		char *rb = !cont && *p == '[' ? strchr(p, ']') : NULL;
		if (rb) {
			char *q = rb + 1;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == ';' || *q == '#') {
				rb[1] = '\n';
				rb[2] = '\0';
				len = rb + 2 - line;
			}
		}
		cont = next_cont;
		if (write(fd, line, (size_t)len) != len) {
			rc = fail(err, errlen, "%s: copying for the parser: %s", path, strerror(errno));
			break;
		}
	}
	free(line);
	fclose(in);
	if (rc) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What the start would refuse about [ringflow]: the control socket path
 * must fit sun_path (supervisor/control.c) and the checkpoint store's
 * "<state_dir>/<name>.mdb-lock" its path buffer (common/ckpt_store.c,
 * CONF_STATE_PATH_MAX), or it would open a truncated path. */
#define CONF_STATE_PATH_MAX 512
static int ringflow_checks(const struct rf_config *c, char *err, size_t errlen)
{
	const struct conf_ringflow *rc = &c->ringflow;
	char e[32], lo[32], hi[32];
	if (rc->checkpoint_interval_ns < CONF_CHECKPOINT_MIN_NS || rc->checkpoint_interval_ns > CONF_CHECKPOINT_MAX_NS)
		return fail(err, errlen, "[ringflow] checkpoint_interval: %s is outside %s to %s",
			    fmt_ns(e, sizeof e, rc->checkpoint_interval_ns), fmt_ns(lo, sizeof lo, CONF_CHECKPOINT_MIN_NS),
			    fmt_ns(hi, sizeof hi, CONF_CHECKPOINT_MAX_NS));
	size_t sun_max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	size_t sock_len = strlen(rc->run_dir) + 1 + strlen(rc->name) + strlen(".sock");
	if (sock_len > sun_max)
		return fail(err, errlen, "[ringflow] run_dir: the control socket '%s/%s.sock' is %zu characters, "
			    "a unix socket path holds at most %zu", rc->run_dir, rc->name, sock_len, sun_max);
	size_t store_len = strlen(rc->state_dir) + 1 + strlen(rc->name) + strlen(".mdb-lock");
	if (store_len >= CONF_STATE_PATH_MAX)
		return fail(err, errlen, "[ringflow] state_dir: '%s/%s.mdb-lock' is %zu characters, at most %d",
			    rc->state_dir, rc->name, store_len, CONF_STATE_PATH_MAX - 1);
	return 0;
}

static int cross_checks(struct rf_config *c, const char *time_field, char *err, size_t errlen)
{
	struct conf_input *in = &c->input;
	if (in->nfields == 0)
		return fail(err, errlen, "[input] fields: missing (list the CSV columns)");
	in->time_field = -1;
	if (time_field && *time_field) {
		for (int i = 0; i < in->nfields; i++)
			if (!strcmp(in->fields[i].name, time_field))
				in->time_field = i;
		if (in->time_field < 0)
			return fail(err, errlen, "[input] time_field: '%s' is not one of the fields", time_field);
		/* Combinations that would reject every record at run time. */
		enum rf_vtype tt = in->fields[in->time_field].type;
		if (tt == RF_V_IP)
			return fail(err, errlen, "[input] time_field: '%s' is declared ip; a time is int, float or str",
				    time_field);
		if (in->time_format == CONF_TIME_RFC3339 && tt != RF_V_STR)
			return fail(err, errlen, "[input] time_format: rfc3339 needs the time field '%s' declared str "
				    "(it is declared %s)", time_field, tt == RF_V_INT ? "int" : "float");
	}
	if (in->type == CONF_INPUT_KAFKA && (!in->topics || !*in->topics))
		return fail(err, errlen, "[input] topic: missing (type = kafka needs a topic)");
	/* ingest/partitions.c splits on commas and blanks. */
	if (in->type == CONF_INPUT_KAFKA && !in->topics[strspn(in->topics, ", \t")])
		return fail(err, errlen, "[input] topic: '%s' names no topic", in->topics);
	if (in->type == CONF_INPUT_FILE && (!in->path || !*in->path))
		return fail(err, errlen, "[input] path: missing (type = file needs a path, or - for stdin)");
	if (in->type == CONF_INPUT_FILE && strcmp(in->path, "-") && access(in->path, R_OK))
		return fail(err, errlen, "[input] path: cannot read '%s': %s", in->path, strerror(errno));
	/* A file has one reader: more ingest processes would only idle. */
	if (in->type == CONF_INPUT_FILE)
		c->processes.ingest = 1;
	if (in->idle_timeout_ns < RF_NS_PER_MS)
		return fail(err, errlen, "[input] idle_timeout: must be at least 1ms");
	if (in->metadata_refresh_ns < 100 * RF_NS_PER_MS || in->metadata_refresh_ns > RF_NS_PER_SEC * 86400)
		return fail(err, errlen, "[input] metadata_refresh: must be from 100ms to 1d");

	struct conf_output *o = &c->output;
	if (o->type == CONF_OUTPUT_FILE && (!o->path || !*o->path))
		return fail(err, errlen, "[output] path: missing (type = file needs a path, or - for stdout)");
	if (o->type == CONF_OUTPUT_INFLUXDB) {
		int v2 = (o->bucket && *o->bucket) || (o->org && *o->org);
		if (!o->url || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)))
			return fail(err, errlen, "[output] url: '%s' is not an http:// or https:// URL", o->url ? o->url : "");
		if (v2) {
			if (!o->bucket || !*o->bucket)
				return fail(err, errlen, "[output] bucket: missing (org is set, so this is an InfluxDB v2 output)");
			if (!o->org || !*o->org)
				return fail(err, errlen, "[output] org: missing (bucket is set, so this is an InfluxDB v2 output)");
			if (o->token && o->token_file)
				return fail(err, errlen, "[output] token_file: set together with token; keep one");
			if (o->token_file && access(o->token_file, R_OK))
				return fail(err, errlen, "[output] token_file: cannot read '%s': %s", o->token_file, strerror(errno));
			if (o->database)
				return fail(err, errlen, "[output] database: v1 key mixed with v2 bucket/org");
		} else if (!o->database || !*o->database) {
			return fail(err, errlen, "[output] database: missing (or set org and bucket for InfluxDB v2)");
		}
		if ((o->username != NULL) != (o->password != NULL))
			return fail(err, errlen, "[output] %s: set without %s", o->username ? "username" : "password",
				    o->username ? "password" : "username");
	}
	if (c->nrules == 0)
		return fail(err, errlen, "[aggregate.NAME]: no aggregate rule (add e.g. [aggregate.total] with window and an aggregate)");
	/* [processes] ring_size is checked against the ring's own limits by the
	 * segment layout (supervisor/layout.c, rf_layout_plan), which -t runs
	 * too: shm/ owns those bounds. */
	if (!valid_name(c->ringflow.name))
		return fail(err, errlen, "[ringflow] name: '%s' is not a valid instance name", c->ringflow.name);
	return ringflow_checks(c, err, errlen);
}

int conf_load(const char *path, struct rf_config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->path = xstrdup(path);
	char *time_field = NULL;
	int rc = -1;

	if (access(path, R_OK)) {
		fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		conf_free(c);
		return -1;
	}
	int fd = copy_without_section_comments(path, err, errlen);
	if (fd < 0) {
		conf_free(c);
		return -1;
	}
	char fdpath[64];
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	last_ini_error[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	dictionary *d = iniparser_load(fdpath);
	iniparser_set_error_callback(NULL);
	close(fd);
	if (!d) {
		fail(err, errlen, "%s: %s", path, last_ini_error[0] ? last_ini_error : "cannot parse");
		conf_free(c);
		return -1;
	}
	if (last_ini_error[0]) {
		fail(err, errlen, "%s: %s", path, last_ini_error);
		goto out;
	}

	/* Unknown sections first, so a typo'd section name is named as such. */
	int nsec = iniparser_getnsec(d);
	for (int i = 0; i < nsec; i++) {
		const char *s = iniparser_getsecname(d, i);
		int known = !strncmp(s, "aggregate.", 10) || !strncmp(s, "analyzer.", 9) || !strcmp(s, "transform");
		for (const struct section_def *sd = fixed_sections; sd->name && !known; sd++)
			known = !strcmp(sd->name, s);
		if (!known) {
			fail(err, errlen, "[%s]: unknown section", s);
			goto out;
		}
	}
	for (const struct section_def *sd = fixed_sections; sd->name; sd++)
		if (load_fixed_section(d, c, sd, &time_field, err, errlen))
			goto out;

	if (load_transform(d, c, err, errlen))
		goto out;
	for (int i = 0; i < nsec; i++) {
		const char *s = iniparser_getsecname(d, i);
		if (!strncmp(s, "aggregate.", 10) && load_rule(d, s, c, err, errlen))
			goto out;
		if (!strncmp(s, "analyzer.", 9) && load_analyzer(d, s, c, err, errlen))
			goto out;
	}
	if (cross_checks(c, time_field, err, errlen))
		goto out;
	/* docs/DESIGN.md §7: sections that this version parses and validates but
	 * does not run: say so rather than let an operator wait for alerts. */
	if (c->nanalyzers == 1)
		warn(c, "[analyzer.%s]: accepted but not acted on yet: analyzers are not built in this version, "
		     "so it will not run", c->analyzers[0].name);
	else if (c->nanalyzers > 1)
		warn(c, "[analyzer.%s] and %d more [analyzer.*] sections: accepted but not acted on yet: "
		     "analyzers are not built in this version, so none will run", c->analyzers[0].name,
		     c->nanalyzers - 1);
	if (iniparser_find_entry(d, "alerts"))
		warn(c, "[alerts]: accepted but not acted on yet: analyzers are not built in this version, "
		     "so no alert is sent");
	rc = 0;
out:
	free(time_field);
	iniparser_freedict(d);
	if (rc)
		conf_free(c);
	return rc;
}

static void free_table_strings(struct rf_config *c, const struct key_def *keys)
{
	for (const struct key_def *k = keys; k->key; k++)
		if (k->kind == K_STR) {
			char **p = (char **)((char *)c + k->off);
			free(*p);
			*p = NULL;
		}
}

void conf_free(struct rf_config *c)
{
	if (!c)
		return;
	for (const struct section_def *sd = fixed_sections; sd->name; sd++)
		free_table_strings(c, sd->keys);
	free(c->path);
	free(c->input.start);
	free(c->output.retention);
	for (int i = 0; i < c->input.nkafka; i++) {
		free(c->input.kafka[i].key);
		free(c->input.kafka[i].value);
	}
	free(c->transform.filter);
	for (int i = 0; i < c->transform.nout; i++)
		free(c->transform.out[i].expr);
	for (int r = 0; r < c->nrules; r++)
		for (int i = 0; i < c->rules[r].naggs; i++)
			free(c->rules[r].aggs[i].expr);
	for (int i = 0; i < c->nanalyzers; i++) {
		free(c->analyzers[i].exec);
		free(c->analyzers[i].args);
		free(c->analyzers[i].input);
	}
	memset(c, 0, sizeof *c);
}

void conf_print_keys(FILE *out)
{
	for (const struct section_def *sd = fixed_sections; sd->name; sd++) {
		fprintf(out, "[%s]  ; %s\n", sd->name, sd->desc);
		for (const struct key_def *k = sd->keys; k->key; k++)
			fprintf(out, "%-20s = %-22s ; %s\n", k->key, k->def ? k->def : "", k->desc);
		fprintf(out, "\n");
	}
	fprintf(out, "[transform]  ; filter = EXPR, then NAME = EXPR output fields in order\n\n");
	fprintf(out, "[aggregate.NAME]  ; measurement, window, every, lateness, key, max_keys, top = N by FIELD,\n"
		     "                  ; then NAME = FUNC(field) aggregates\n"
		     "                  ; window and every >= 1ms, every divides window; window / every <= %d\n"
		     "                  ; (windows a record updates); window / every + ceil(lateness / every) <= %d\n"
		     "                  ; (windows open at once)\n\n",
		CONF_MAX_WINDOWS_PER_RECORD, CONF_MAX_OPEN_WINDOWS);
	fprintf(out, "[analyzer.NAME]  ; exec, args, input (accepted, not run yet: analyzers are not built in this version)\n");
}
