/*
 * input_config.c — the [input] section: its keys, how the values that are
 * not plain strings or durations are read (type, assignment, stop_at, start,
 * separator, fields, time_field, time_format, kafka.* passthrough), and
 * the checks that need the whole section. Runs in the supervisor before
 * fork and in `ringflow -t`; ingest processes only read the result
 * (struct conf_input). librdkafka's own judgement of the kafka.* keys is
 * ing_kafka_check (kafka_source.c), run after the load.
 */
#include "ingest/ingest.h"
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
	struct conf_input *in = &s->conf->input;
	if (!strcasecmp(v, "kafka"))
		in->type = CONF_INPUT_KAFKA;
	else if (!strcasecmp(v, "file"))
		in->type = CONF_INPUT_FILE;
	else if (!strcasecmp(v, "sflow"))
		return conf_fail(err, errlen, "[input] type: 'sflow' (native sFlow UDP) is not implemented yet; use kafka or file");
	else
		return conf_fail(err, errlen, "[input] type: '%s' is not kafka or file", v);
	return 0;
}

static int parse_assignment(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			    size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	if (!strcasecmp(v, "ringflow"))
		in->assignment = CONF_ASSIGN_RINGFLOW;
	else if (!strcasecmp(v, "group"))
		in->assignment = CONF_ASSIGN_GROUP;
	else
		return conf_fail(err, errlen, "[input] assignment: '%s' is not ringflow or group", v);
	return 0;
}

static int parse_stop_at(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			 size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	if (!strcasecmp(v, "never"))
		in->stop_at = CONF_STOP_NEVER;
	else if (!strcasecmp(v, "end"))
		in->stop_at = CONF_STOP_END;
	else
		return conf_fail(err, errlen, "[input] stop_at: '%s' is not never or end", v);
	return 0;
}

static int parse_start(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	if (strcasecmp(v, "earliest") && strcasecmp(v, "latest"))
		return conf_fail(err, errlen, "[input] start: '%s' is not earliest or latest", v);
	free(in->start);
	in->start = conf_strdup(v);
	return 0;
}

static int parse_separator(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			   size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	if (!strcmp(v, "\\t") || !strcasecmp(v, "tab"))
		in->separator = '\t';
	else if (strlen(v) == 1 && v[0] != '\n' && v[0] != '\r')
		in->separator = v[0];
	else
		return conf_fail(err, errlen, "[input] separator: '%s' must be one character (or \\t)", v);
	return 0;
}

static int parse_fields(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	char *copy = conf_strdup(v), *save = NULL;
	int rc = 0;
	in->nfields = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *f = conf_trim(tok);
		if (!*f) {
			rc = conf_fail(err, errlen, "[input] fields: empty field name in the list");
			goto out;
		}
		if (in->nfields >= CONF_MAX_FIELDS) {
			rc = conf_fail(err, errlen, "[input] fields: more than %d fields", CONF_MAX_FIELDS);
			goto out;
		}
		struct conf_field *cf = &in->fields[in->nfields];
		char *colon = strchr(f, ':');
		cf->type = RF_V_STR;
		if (colon) {
			*colon = '\0';
			char *t = conf_trim(colon + 1);
			if (!strcasecmp(t, "str") || !strcasecmp(t, "string"))
				cf->type = RF_V_STR;
			else if (!strcasecmp(t, "int"))
				cf->type = RF_V_INT;
			else if (!strcasecmp(t, "float"))
				cf->type = RF_V_FLOAT;
			else if (!strcasecmp(t, "ip"))
				cf->type = RF_V_IP;
			else {
				rc = conf_fail(err, errlen, "[input] fields: field '%s' has unknown type '%s' (str, int, float or ip)",
					       conf_trim(f), t);
				goto out;
			}
		}
		f = conf_trim(f);
		if (!conf_valid_name(f)) {
			rc = conf_fail(err, errlen, "[input] fields: '%s' is not a valid field name", f);
			goto out;
		}
		for (int i = 0; i < in->nfields; i++)
			if (!strcmp(in->fields[i].name, f)) {
				rc = conf_fail(err, errlen, "[input] fields: field '%s' listed twice", f);
				goto out;
			}
		snprintf(cf->name, sizeof cf->name, "%s", f);
		in->nfields++;
	}
	if (in->nfields == 0)
		rc = conf_fail(err, errlen, "[input] fields: no fields listed");
out:
	free(copy);
	return rc;
}

/* Only the name here: fields may come after it; input_check resolves it. */
static int parse_time_field(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			    size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	free(in->time_field_name);
	in->time_field_name = conf_strdup(v);
	return 0;
}

static int parse_time_format(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err,
			     size_t errlen)
{
	static const char *names[CONF_TIME_FORMAT_COUNT] = { "unix", "unix_ms", "unix_us", "unix_ns", "rfc3339" };
	for (int i = 0; i < CONF_TIME_FORMAT_COUNT; i++)
		if (!strcasecmp(v, names[i])) {
			s->conf->input.time_format = (enum conf_time_format)i;
			return 0;
		}
	return conf_fail(err, errlen, "[input] time_format: '%s' is not one of unix, unix_ms, unix_us, unix_ns, rfc3339", v);
}

static const struct conf_key input_keys[] = {
	{ "type", CONF_K_CUSTOM, "kafka", "kafka | file", OFF(input.type), parse_type, 0 },
	{ "brokers", CONF_K_STR, "127.0.0.1:9092", "Kafka bootstrap servers", OFF(input.brokers), NULL, 0 },
	{ "topic", CONF_K_STR, NULL, "topic, or comma list of topics", OFF(input.topics), NULL, 0 },
	{ "group", CONF_K_STR, "ringflow", "Kafka consumer group", OFF(input.group), NULL, 0 },
	{ "assignment", CONF_K_CUSTOM, "ringflow", "ringflow: partitions dealt to the ingests by ringflow, positions from "
	  "the checkpoint (no group rebalances) | group: Kafka's consumer-group balancing (several hosts)",
	  OFF(input.assignment), parse_assignment, 0 },
	{ "metadata_refresh", CONF_K_DURATION, "30s", "assignment = ringflow: how often new partitions and topics are "
	  "looked for", OFF(input.metadata_refresh_ns), NULL, 0 },
	{ "start", CONF_K_CUSTOM, "earliest", "earliest | latest: where to begin without a checkpoint", OFF(input.start),
	  parse_start, 0 },
	{ "stop_at", CONF_K_CUSTOM, "never", "never | end (kafka, assignment = ringflow): read every partition up to "
	  "where it ended when ringflow first assigned it, close every window, write, and exit 0", OFF(input.stop_at),
	  parse_stop_at, 0 },
	{ "path", CONF_K_STR, NULL, "type = file: input path, - for stdin", OFF(input.path), NULL, 0 },
	{ "separator", CONF_K_CUSTOM, ",", "column separator (one character; \\t for tab)", OFF(input.separator),
	  parse_separator, 0 },
	{ "fields", CONF_K_CUSTOM, NULL, "columns in order: name[:str|int|float|ip], ...", OFF(input.fields),
	  parse_fields, 0 },
	{ "time_field", CONF_K_CUSTOM, NULL, "field holding event time; absent = processing time",
	  OFF(input.time_field_name), parse_time_field, 0 },
	{ "time_format", CONF_K_CUSTOM, "unix", "unix | unix_ms | unix_us | unix_ns | rfc3339", OFF(input.time_format),
	  parse_time_format, 0 },
	{ "idle_timeout", CONF_K_DURATION, "30s", "a partition quiet this long stops holding windows back",
	  OFF(input.idle_timeout_ns), NULL, 0 },
	{ "max_skew", CONF_K_DURATION, "10m", "kafka: pause a partition whose event time runs this far ahead of the "
	  "slowest one holding windows back (bounds open windows on a backlog); 0 = never", OFF(input.max_skew_ns),
	  NULL, 0 },
	CONF_KEYS_END
};

/* kafka.NAME = VALUE goes to librdkafka as is (ing_kafka_check judges it). */
static int input_other_key(const struct conf_scope *s, const char *key, const char *v, char *err, size_t errlen)
{
	struct conf_input *in = &s->conf->input;
	if (strncmp(key, "kafka.", 6))
		return 1;
	if (!key[6])
		return conf_fail(err, errlen, "[input] %s: empty librdkafka property name", key);
	if (in->nkafka >= CONF_MAX_KV)
		return conf_fail(err, errlen, "[input] %s: more than %d kafka.* keys", key, CONF_MAX_KV);
	in->kafka[in->nkafka].key = conf_strdup(key + 6);
	in->kafka[in->nkafka].value = conf_strdup(v);
	in->nkafka++;
	return 0;
}

static int input_check(struct rf_config *c, int found, char *err, size_t errlen)
{
	struct conf_input *in = &c->input;
	const char *time_field = in->time_field_name;
	if (in->nfields == 0)
		return conf_fail(err, errlen, "[input] fields: missing (list the CSV columns)");
	in->time_field = -1;
	if (time_field && *time_field) {
		for (int i = 0; i < in->nfields; i++)
			if (!strcmp(in->fields[i].name, time_field))
				in->time_field = i;
		if (in->time_field < 0)
			return conf_fail(err, errlen, "[input] time_field: '%s' is not one of the fields", time_field);
		/* Combinations that would reject every record at run time. */
		enum rf_vtype tt = in->fields[in->time_field].type;
		if (tt == RF_V_IP)
			return conf_fail(err, errlen, "[input] time_field: '%s' is declared ip; a time is int, float or str",
					 time_field);
		if (in->time_format == CONF_TIME_RFC3339 && tt != RF_V_STR)
			return conf_fail(err, errlen, "[input] time_format: rfc3339 needs the time field '%s' declared str "
					 "(it is declared %s)", time_field, tt == RF_V_INT ? "int" : "float");
	}
	if (in->type == CONF_INPUT_KAFKA && (!in->topics || !*in->topics))
		return conf_fail(err, errlen, "[input] topic: missing (type = kafka needs a topic)");
	/* ingest/partitions.c splits on commas and blanks. */
	if (in->type == CONF_INPUT_KAFKA && !in->topics[strspn(in->topics, ", \t")])
		return conf_fail(err, errlen, "[input] topic: '%s' names no topic", in->topics);
	if (in->type == CONF_INPUT_FILE && (!in->path || !*in->path))
		return conf_fail(err, errlen, "[input] path: missing (type = file needs a path, or - for stdin)");
	if (in->type == CONF_INPUT_FILE && strcmp(in->path, "-") && access(in->path, R_OK))
		return conf_fail(err, errlen, "[input] path: cannot read '%s': %s", in->path, strerror(errno));
	/* A file has one reader: more ingest processes would only idle. */
	if (in->type == CONF_INPUT_FILE)
		c->processes.ingest = 1;
	if (in->stop_at == CONF_STOP_END && in->type != CONF_INPUT_KAFKA)
		return conf_fail(err, errlen, "[input] stop_at: end is for type = kafka (a file ends by itself)");
	if (in->stop_at == CONF_STOP_END && in->assignment != CONF_ASSIGN_RINGFLOW)
		return conf_fail(err, errlen, "[input] stop_at: end needs assignment = ringflow (with group, the "
				 "partitions a host reads, and so where it ends, change with every rebalance)");
	if (in->idle_timeout_ns < RF_NS_PER_MS)
		return conf_fail(err, errlen, "[input] idle_timeout: must be at least 1ms");
	if (in->metadata_refresh_ns < 100 * RF_NS_PER_MS || in->metadata_refresh_ns > RF_NS_PER_SEC * 86400)
		return conf_fail(err, errlen, "[input] metadata_refresh: must be from 100ms to 1d");
	return 0;
}

static void input_release(struct rf_config *c)
{
	struct conf_input *in = &c->input;
	free(in->start);
	in->start = NULL;
	free(in->time_field_name);
	in->time_field_name = NULL;
	for (int i = 0; i < in->nkafka; i++) {
		free(in->kafka[i].key);
		free(in->kafka[i].value);
	}
	in->nkafka = 0;
}

const struct conf_section ing_input_section = {
	.name = "input",
	.desc = "where records come from",
	.keys = input_keys,
	.other_key = input_other_key,
	.check = input_check,
	.release = input_release,
};
