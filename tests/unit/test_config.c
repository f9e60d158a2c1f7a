/*
 * test_config.c — unit tests of the config loader (common/config_load.c
 * with the sections of supervisor/config_sections.c) and of
 * the whole compile that `ringflow -t` runs (supervisor/pipeline.c: config,
 * librdkafka property check, transform plan, aggregate rules).
 *
 * Every case writes a small INI file into a mkdtemp() directory. A case is
 * the minimal good file below with some sections replaced; bad cases assert
 * that loading fails and that the message names the section, the key and
 * the problem, as the loader words it. GeoIP databases come from data/mmdb
 * under the repository root ($RF_SRCDIR, default the current directory).
 * Nothing here contacts a server: librdkafka only validates properties.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "aggregate/rule.h"
#include "analyze/analyze.h"
#include "analyze/exec_resolve.h"
#include "common/config.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "supervisor/config_sections.h"
#include "supervisor/layout.h"
#include "supervisor/pipeline.h"
#include "transform/plan.h"

static char tmpdir[256];
static char mmdb_dir[1024];

static const char *root(void)
{
	const char *r = getenv("RF_SRCDIR");
	return r != NULL && *r ? r : ".";
}

/*
 * One config file, by section. NULL means "the minimal good section";
 * "" means "leave the section out". extra is appended as is (more rules,
 * analyzers, stray sections). @DIR@ and @MMDB@ are replaced by the temp
 * directory and data/mmdb.
 */
struct ini {
	const char *ringflow, *processes, *input, *geoip, *transform, *rules, *output, *extra;
};

static const char good_ringflow[] =
	"name = unit\n"
	"state_dir = @DIR@/state\n"
	"run_dir = @DIR@/run\n";
static const char good_input[] =
	"topic = flows\n"
	"fields = ts:int, src_ip:ip, bytes:int, proto\n"
	"time_field = ts\n";
static const char good_geoip[] =
	"country = @MMDB@/GeoIP2-Country-Test.mmdb\n"
	"asn = @MMDB@/GeoLite2-ASN-Test.mmdb\n";
static const char good_transform[] =
	"src_country = country(src_ip)\n"
	"bytes = bytes\n"
	"proto = proto\n";
static const char good_rules[] =
	"[aggregate.total]\n"
	"window = 10s\n"
	"flows = count()\n"
	"bytes = sum(bytes)\n";
static const char good_output[] = "database = unit\n";

static void put_expanded(FILE *f, const char *s)
{
	while (*s) {
		if (!strncmp(s, "@DIR@", 5)) {
			fputs(tmpdir, f);
			s += 5;
		} else if (!strncmp(s, "@MMDB@", 6)) {
			fputs(mmdb_dir, f);
			s += 6;
		} else {
			fputc(*s++, f);
		}
	}
}

static void put_section(FILE *f, const char *name, const char *body, const char *def)
{
	if (body == NULL)
		body = def;
	if (!*body)
		return;
	if (name)
		fprintf(f, "[%s]\n", name);
	put_expanded(f, body);
	fputs("\n", f);
}

/* Writes the file and returns its path (static buffer). */
static const char *write_ini(const struct ini *c)
{
	static char path[512];
	static int seq;
	snprintf(path, sizeof path, "%s/case%d.ini", tmpdir, seq++);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	put_section(f, "ringflow", c->ringflow, good_ringflow);
	put_section(f, "processes", c->processes, "");
	put_section(f, "input", c->input, good_input);
	put_section(f, "geoip", c->geoip, good_geoip);
	put_section(f, "transform", c->transform, good_transform);
	put_section(f, NULL, c->rules, good_rules);
	put_section(f, "output", c->output, good_output);
	put_section(f, NULL, c->extra, "");
	assert_int_equal(fclose(f), 0);
	return path;
}

static void write_raw(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	put_expanded(f, text);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/rf-test-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(mmdb_dir, sizeof mmdb_dir, "%s/data/mmdb", root());
	if (access(mmdb_dir, R_OK)) {
		fprintf(stderr, "test_config: %s not found (run from the repository root or set RF_SRCDIR)\n", mmdb_dir);
		return -1;
	}
	/* Stub built-ins: the test binary has none beside it. */
	static char bin[sizeof tmpdir + 8];
	snprintf(bin, sizeof bin, "%s/bin", tmpdir);
	if (mkdir(bin, 0755))
		return -1;
	for (const char *const *b = an_builtin_names; *b; b++) {
		char stub[sizeof bin + 64];
		snprintf(stub, sizeof stub, "%s/ringflow-%s", bin, *b);
		FILE *f = fopen(stub, "w");
		if (!f || fputs("#!/bin/sh\n", f) < 0 || fclose(f) || chmod(stub, 0755))
			return -1;
	}
	rf_builtin_dir = bin;
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* rf_pipeline embeds the whole config (hundreds of KB): keep it off the stack. */
static struct rf_pipeline *load_ok(const struct ini *c)
{
	struct rf_pipeline *pl = calloc(1, sizeof *pl);
	char err[1024] = "";
	assert_non_null(pl);
	int rc = rf_pipeline_load(write_ini(c), pl, err, sizeof err);
	if (rc)
		fail_msg("expected the config to load, got: %s", err);
	return pl;
}

static void unload(struct rf_pipeline *pl)
{
	rf_pipeline_free(pl);
	free(pl);
}

/* ---------------------------------------------------------------- good */

static void test_minimal_defaults(void **state)
{
	struct rf_pipeline *pl = load_ok(&(struct ini){ 0 });
	const struct rf_config *c = &pl->conf;

	assert_string_equal(c->ringflow.name, "unit");
	assert_int_equal(c->ringflow.log_level, RF_LOG_INFO);
	assert_true(c->ringflow.checkpoint_interval_ns == 5 * RF_NS_PER_SEC);
	assert_int_equal(c->processes.ingest, 1);
	assert_true(c->processes.transform >= 1);
	assert_true(c->processes.aggregate >= 1);
	assert_int_equal(c->processes.writer, 1);
	assert_int_equal(c->processes.analyze, CONF_ANALYZE_AUTO);
	assert_true(c->processes.ring_size == 4u << 20);

	assert_int_equal(c->input.type, CONF_INPUT_KAFKA);
	assert_string_equal(c->input.brokers, "127.0.0.1:9092");
	assert_string_equal(c->input.topics, "flows");
	assert_string_equal(c->input.group, "ringflow");
	assert_string_equal(c->input.start, "earliest");
	assert_int_equal(c->input.separator, ',');
	assert_int_equal(c->input.nkafka, 0);
	assert_int_equal(c->input.time_format, CONF_TIME_UNIX);
	assert_true(c->input.idle_timeout_ns == 30 * RF_NS_PER_SEC);
	assert_int_equal(c->input.assignment, CONF_ASSIGN_RINGFLOW);
	assert_int_equal(c->input.stop_at, CONF_STOP_NEVER);
	assert_true(c->input.metadata_refresh_ns == 30 * RF_NS_PER_SEC);
	assert_null(c->input.path);

	assert_non_null(c->geoip.country);
	assert_null(c->geoip.city);
	assert_null(c->geoip.country_path);

	assert_null(c->transform.filter);
	assert_int_equal(c->transform.nout, 3);

	assert_int_equal(c->output.type, CONF_OUTPUT_INFLUXDB);
	assert_string_equal(c->output.url, "http://127.0.0.1:8086");
	assert_string_equal(c->output.database, "unit");
	assert_null(c->output.retention);
	assert_true(c->output.retention_ns == 0);
	assert_int_equal(c->output.batch_points, 5000);
	assert_true(c->output.flush_interval_ns == RF_NS_PER_SEC);
	assert_true(c->output.timeout_ns == 10 * RF_NS_PER_SEC);
	assert_int_equal(c->output.gzip, 1);
	assert_null(c->output.username);

	assert_int_equal(c->alerts.log, 1);
	assert_int_equal(c->alerts.state_changes_only, 0);
	assert_int_equal(c->nanalyzers, 0);
	assert_int_equal(c->nwarnings, 0);

	/* A rule with only a window is tumbling, on time, over the whole stream. */
	assert_int_equal(c->nrules, 1);
	const struct conf_rule *r = &c->rules[0];
	assert_string_equal(r->name, "total");
	assert_string_equal(r->measurement, "total");
	assert_true(r->window_ns == 10 * RF_NS_PER_SEC);
	assert_true(r->every_ns == r->window_ns);
	assert_true(r->lateness_ns == 0);
	assert_int_equal(r->nkeys, 0);
	assert_true(r->max_keys == 1000000);
	assert_int_equal(r->top_n, 0);
	assert_int_equal(r->naggs, 2);

	assert_non_null(pl->plan);
	assert_int_equal(xf_plan_nout(pl->plan), 3);
	assert_int_equal(pl->nrules, 1);
	assert_int_equal(pl->rules[0].top_agg, -1);
	unload(pl);
}

static void test_full_values(void **state)
{
	struct ini c = {
		.ringflow = "name = edge-1\n"
			    "state_dir = @DIR@/state\n"
			    "run_dir = @DIR@/run\n"
			    "log_level = DEBUG\n"
			    "checkpoint_interval = 2500ms\n",
		.processes = "ingest = 2\n"
			     "transform = auto\n"
			     "aggregate = auto\n"
			     "writer = 3\n"
			     "ring_size = 1M\n",
		/* Mixed case keys (iniparser lowercases), a continued line, a tab
		 * separator, kafka.* properties and a comment after a value. */
		.input = "Type = kafka\n"
			 "brokers = 10.0.0.1:9092,10.0.0.2:9092\n"
			 "topic = a, b\n"
			 "group = g1\n"
			 "start = latest\n"
			 "kafka.fetch.max.bytes = 1048576\n"
			 "kafka.client.rack = rack-7   ; passed through as is\n"
			 "separator = \\t\n"
			 "fields = when:float, flow, agent:ip, \\\n"
			 "         bytes:int, ratio:float, \\\n"
			 "         src_ip:ip, note:str, name:string\n"
			 "time_field = when\n"
			 "time_format = unix_ms\n"
			 "idle_timeout = 1m\n",
		.geoip = "country = @MMDB@/GeoIP2-Country-Test.mmdb\n"
			 "city = @MMDB@/GeoIP2-City-Test.mmdb\n"
			 "asn = @MMDB@/GeoLite2-ASN-Test.mmdb\n",
		.transform = "filter = flow == \"FLOW\" and bytes > 0\n"
			     "src_country = country(src_ip)\n"
			     "src_asn = asn(src_ip)\n"
			     "agent = agent\n"
			     "bytes = bytes\n"
			     "kbytes = bytes / 1024\n",
		.rules = "[aggregate.by_country]\n"
			 "measurement = traffic_by_country\n"
			 "window = 1m\n"
			 "every = 15s\n"
			 "lateness = 2h\n"
			 "key = src_country, src_asn\n"
			 "max_keys = 500\n"
			 "top = 10 by bytes\n"
			 "bytes = sum(bytes)\n"
			 "flows = count()\n"
			 "p = p99(kbytes)\n"
			 "sources = count_distinct(agent)\n"
			 "\n"
			 "[Aggregate.Whole]\n"
			 "window = 500ms\n"
			 "key =\n"
			 "avg_bytes = avg(bytes)\n",
		.output = "url = https://influx.example.org:8086/\n"
			  "database = flows\n"
			  "retention = 30d\n"
			  "username = writer\n"
			  "password = secret\n"
			  "batch_points = 100\n"
			  "flush_interval = 250ms\n"
			  "timeout = 3s\n"
			  "gzip = no\n",
		.extra = "[analyzer.spikes]\n"
			 "exec = deviation\n"
			 "args = --field bytes --percent 200 --windows 1\n"
			 "input = by_country\n"
			 "\n"
			 "[analyzer.all]\n"
			 "exec = /bin/true\n"
			 "\n"
			 "[alerts]\n"
			 "log = no\n"
			 "kafka.brokers = 127.0.0.1:9092\n"
			 "kafka.topic = alerts\n"
			 "webhook = https://example.org/hook\n"
			 "measurement = ringflow_alerts\n"
			 "state_changes_only = yes\n",
	};
	struct rf_pipeline *pl = load_ok(&c);
	const struct rf_config *cf = &pl->conf;

	assert_string_equal(cf->ringflow.name, "edge-1");
	assert_int_equal(cf->ringflow.log_level, RF_LOG_DEBUG);
	assert_true(cf->ringflow.checkpoint_interval_ns == 2500 * RF_NS_PER_MS);
	char want[600];
	snprintf(want, sizeof want, "%s/state", tmpdir);
	assert_string_equal(cf->ringflow.state_dir, want);

	assert_int_equal(cf->processes.ingest, 2);
	assert_true(cf->processes.transform >= 1 && cf->processes.transform <= 64);
	assert_true(cf->processes.aggregate >= 1 && cf->processes.aggregate <= 64);
	assert_int_equal(cf->processes.writer, 3);
	assert_true(cf->processes.ring_size == 1u << 20);

	const struct conf_input *in = &cf->input;
	assert_int_equal(in->type, CONF_INPUT_KAFKA);
	assert_string_equal(in->brokers, "10.0.0.1:9092,10.0.0.2:9092");
	assert_string_equal(in->topics, "a, b");
	assert_string_equal(in->group, "g1");
	assert_string_equal(in->start, "latest");
	assert_int_equal(in->separator, '\t');
	assert_int_equal(in->nkafka, 2);
	assert_string_equal(in->kafka[0].key, "fetch.max.bytes");
	assert_string_equal(in->kafka[0].value, "1048576");
	assert_string_equal(in->kafka[1].key, "client.rack");
	assert_string_equal(in->kafka[1].value, "rack-7");
	static const struct { const char *name; enum rf_vtype type; } fl[] = {
		{ "when", RF_V_FLOAT }, { "flow", RF_V_STR }, { "agent", RF_V_IP },
		{ "bytes", RF_V_INT }, { "ratio", RF_V_FLOAT }, { "src_ip", RF_V_IP },
		{ "note", RF_V_STR }, { "name", RF_V_STR },
	};
	assert_int_equal(in->nfields, (int)(sizeof fl / sizeof fl[0]));
	for (int i = 0; i < in->nfields; i++) {
		assert_string_equal(in->fields[i].name, fl[i].name);
		assert_int_equal(in->fields[i].type, fl[i].type);
	}
	assert_int_equal(in->time_field, 0);
	assert_int_equal(in->time_format, CONF_TIME_UNIX_MS);
	assert_true(in->idle_timeout_ns == 60 * RF_NS_PER_SEC);

	assert_non_null(cf->geoip.city);
	assert_string_equal(cf->transform.filter, "flow == \"FLOW\" and bytes > 0");
	assert_int_equal(cf->transform.nout, 5);
	assert_string_equal(cf->transform.out[0].name, "src_country");
	assert_string_equal(cf->transform.out[0].expr, "country(src_ip)");
	assert_string_equal(cf->transform.out[4].name, "kbytes");

	assert_int_equal(cf->output.type, CONF_OUTPUT_INFLUXDB);
	assert_string_equal(cf->output.url, "https://influx.example.org:8086/");
	assert_string_equal(cf->output.retention, "30d");
	assert_true(cf->output.retention_ns == 30 * 86400 * RF_NS_PER_SEC);
	assert_string_equal(cf->output.username, "writer");
	assert_string_equal(cf->output.password, "secret");
	assert_int_equal(cf->output.batch_points, 100);
	assert_true(cf->output.flush_interval_ns == 250 * RF_NS_PER_MS);
	assert_true(cf->output.timeout_ns == 3 * RF_NS_PER_SEC);
	assert_int_equal(cf->output.gzip, 0);

	assert_int_equal(cf->nrules, 2);
	const struct conf_rule *r = &cf->rules[0];
	assert_string_equal(r->name, "by_country");
	assert_string_equal(r->measurement, "traffic_by_country");
	assert_true(r->window_ns == 60 * RF_NS_PER_SEC);
	assert_true(r->every_ns == 15 * RF_NS_PER_SEC);
	assert_true(r->lateness_ns == 7200 * RF_NS_PER_SEC);
	assert_int_equal(r->nkeys, 2);
	assert_string_equal(r->keys[0], "src_country");
	assert_string_equal(r->keys[1], "src_asn");
	assert_true(r->max_keys == 500);
	assert_int_equal(r->top_n, 10);
	assert_string_equal(r->top_by, "bytes");
	assert_int_equal(r->naggs, 4);
	assert_string_equal(r->aggs[2].name, "p");
	assert_string_equal(r->aggs[2].expr, "p99(kbytes)");
	r = &cf->rules[1];
	assert_string_equal(r->name, "whole");
	assert_true(r->window_ns == 500 * RF_NS_PER_MS);
	assert_true(r->every_ns == r->window_ns);
	assert_int_equal(r->nkeys, 0);

	assert_int_equal(cf->nanalyzers, 2);
	assert_string_equal(cf->analyzers[0].name, "spikes");
	assert_string_equal(cf->analyzers[0].exec, "deviation");
	assert_string_equal(cf->analyzers[0].args, "--field bytes --percent 200 --windows 1");
	assert_string_equal(cf->analyzers[0].input, "by_country");
	assert_string_equal(cf->analyzers[1].name, "all");
	assert_string_equal(cf->analyzers[1].exec, "/bin/true");
	assert_null(cf->analyzers[1].args);
	assert_null(cf->analyzers[1].input);

	assert_int_equal(cf->alerts.log, 0);
	assert_string_equal(cf->alerts.kafka_brokers, "127.0.0.1:9092");
	assert_string_equal(cf->alerts.kafka_topic, "alerts");
	assert_string_equal(cf->alerts.webhook, "https://example.org/hook");
	assert_string_equal(cf->alerts.measurement, "ringflow_alerts");
	assert_int_equal(cf->alerts.state_changes_only, 1);
	assert_int_equal(cf->nwarnings, 0);  /* analyzers and alerts run now */

	/* The compiled side: outputs, keys and the top aggregate resolved. */
	assert_int_equal(xf_plan_nout(pl->plan), 5);
	assert_int_equal(xf_plan_find_out(pl->plan, "kbytes"), 4);
	assert_int_equal(pl->nrules, 2);
	const struct agg_rule *ar = &pl->rules[0];
	assert_string_equal(ar->measurement, "traffic_by_country");
	assert_true(ar->every_ns == 15 * RF_NS_PER_SEC);
	assert_int_equal(ar->shape.nkeys, 2);
	assert_int_equal(ar->shape.key_fields[0], 0);
	assert_int_equal(ar->shape.key_fields[1], 1);
	assert_int_equal(ar->naggs, 4);
	assert_int_equal(ar->top_n, 10);
	assert_int_equal(ar->top_agg, 0);
	assert_int_equal(pl->rules[1].shape.nkeys, 0);
	unload(pl);
}

/* DESIGN.md section 3 puts a comment after a section name:
 * "[aggregate.by_country]   ; one section per rule; ...". */
static void test_comment_after_section_name(void **state)
{
	struct rf_pipeline *pl = load_ok(&(struct ini){
		.rules = "[aggregate.by_country]            ; one section per rule; the rule name is the default measurement\n"
			 "window = 10s   # tumbling\n"
			 "key = src_country\n"
			 "flows = count()\n",
		.extra = "[analyzer.spikes] # a comment\n"
			 "exec = deviation\n",
	});
	assert_int_equal(pl->conf.nrules, 1);
	assert_string_equal(pl->conf.rules[0].name, "by_country");
	assert_true(pl->conf.rules[0].window_ns == 10 * RF_NS_PER_SEC);
	assert_int_equal(pl->conf.nanalyzers, 1);
	assert_string_equal(pl->conf.analyzers[0].exec, "deviation");
	unload(pl);
}

/* type = file: the path must be readable, and one ingest process is enough. */
static void test_file_input(void **state)
{
	char csv[600], body[1400];
	snprintf(csv, sizeof csv, "%s/flows.csv", tmpdir);
	write_raw(csv, "1,10.0.0.1,100,6\n");
	snprintf(body, sizeof body,
		 "type = file\npath = %s\nfields = ts:int, src_ip:ip, bytes:int, proto\n"
		 "time_field = ts\ntime_format = unix_ns\n", csv);
	struct rf_pipeline *pl = load_ok(&(struct ini){
		.processes = "ingest = 4\n",
		.input = body,
		.output = "type = file\npath = -\n",
	});
	assert_int_equal(pl->conf.input.type, CONF_INPUT_FILE);
	assert_string_equal(pl->conf.input.path, csv);
	assert_int_equal(pl->conf.processes.ingest, 1);
	assert_int_equal(pl->conf.input.time_format, CONF_TIME_UNIX_NS);
	assert_int_equal(pl->conf.output.type, CONF_OUTPUT_FILE);
	assert_string_equal(pl->conf.output.path, "-");
	unload(pl);
}

/* InfluxDB v2 output, processing time (no time_field), no [geoip]. */
static void test_v2_output_processing_time(void **state)
{
	struct rf_pipeline *pl = load_ok(&(struct ini){
		.input = "topic = flows\nfields = src_ip:ip, bytes:int\n",
		.geoip = "",
		.transform = "bytes = bytes\n",
		.output = "org = acme\nbucket = flows\ntoken = t0k3n\nretention = inf\n",
	});
	assert_int_equal(pl->conf.input.time_field, -1);
	assert_string_equal(pl->conf.output.org, "acme");
	assert_string_equal(pl->conf.output.bucket, "flows");
	assert_null(pl->conf.output.database);
	assert_null(pl->conf.geoip.country);
	unload(pl);
}

/* The largest and smallest values each bound allows load, and plan a
 * segment (rf_layout_plan, part of rf_pipeline_load): what -t passes,
 * start can lay out. tests/integration/test_config_edges.sh runs them. */
static void test_boundaries_accepted(void **state)
{
	static const struct ini cases[] = {
		{ .processes = "ring_size = 64K\n" },
		{ .processes = "ring_size = 1G\n" },
		{ .ringflow = "name = unit\nstate_dir = @DIR@/state\nrun_dir = @DIR@/run\ncheckpoint_interval = 100ms\n" },
		{ .ringflow = "name = unit\nstate_dir = @DIR@/state\nrun_dir = @DIR@/run\ncheckpoint_interval = 1d\n" },
		/* window / every = 1000, open windows 1000 + 9000 = 10000 */
		{ .rules = "[aggregate.total]\nwindow = 1000s\nevery = 1s\nlateness = 9000s\nflows = count()\n" },
		/* 1 + ceil(9998.5) = 10000 */
		{ .rules = "[aggregate.total]\nwindow = 1s\nlateness = 9998500ms\nflows = count()\n" },
		{ .rules = "[aggregate.total]\nwindow = 1000ms\nevery = 1ms\nflows = count()\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rf_pipeline *pl = load_ok(&cases[i]);
		size_t bytes = 0;
		char err[512] = "";
		if (rf_layout_plan(&pl->conf, &bytes, err, sizeof err))
			fail_msg("case %zu: %s", i, err);
		assert_true(bytes > pl->conf.processes.ring_size);
		assert_int_equal(pl->conf.nwarnings, 0);
		unload(pl);
	}
}

static void test_processes_analyze(void **state)
{
	struct rf_pipeline *pl = load_ok(&(struct ini){ .processes = "analyze = 0\n" });
	assert_int_equal(pl->conf.processes.analyze, 0);
	unload(pl);
	pl = load_ok(&(struct ini){ .processes = "analyze = 64\n" });
	assert_int_equal(pl->conf.processes.analyze, 64);
	unload(pl);
	pl = load_ok(&(struct ini){ .processes = "analyze = AUTO\n" });
	assert_int_equal(pl->conf.processes.analyze, CONF_ANALYZE_AUTO);
	unload(pl);
}

/* [analyzer.*] and [alerts] compile without warnings: the built-ins are
 * found (here: the stubs setup() put in rf_builtin_dir), a path is taken
 * relative to the config file, args split into an argv, input maps to
 * rules, and each analyzer gets a host. */
static void test_analyzers_compiled(void **state)
{
	char script[600], extra[2000];
	snprintf(script, sizeof script, "%s/mine.py", tmpdir);
	write_raw(script, "#!/usr/bin/env python3\n");
	assert_int_equal(chmod(script, 0755), 0);
	snprintf(extra, sizeof extra,
		 "[analyzer.spikes]\nexec = deviation\nargs = --field bytes --percent 200 --windows 1\n"
		 "input = total\nqueue = 8\ntimeout = 2s\n\n"
		 "[analyzer.mine]\nexec = ./mine.py\nargs = --name \"a b\" x\n\n"
		 "[alerts]\nlog = yes\nstate_changes_only = yes\n");
	struct rf_pipeline *pl = load_ok(&(struct ini){ .extra = extra });
	assert_int_equal(pl->conf.nwarnings, 0);
	const struct an_plan *an = pl->analyzers;
	assert_non_null(an);
	assert_int_equal(an->n, 2);
	assert_int_equal(an->nhosts, 1);
	char want[700];
	snprintf(want, sizeof want, "%s/bin/ringflow-deviation", tmpdir);
	assert_string_equal(an->a[0].path, want);
	assert_string_equal(an->a[0].argv[0], want);
	assert_string_equal(an->a[0].argv[1], "--field");
	assert_string_equal(an->a[0].argv[6], "1");
	assert_null(an->a[0].argv[7]);
	assert_true(an->a[0].rules == 1);        /* total is rule 0 */
	assert_int_equal(an->a[0].queue, 8);
	assert_true(an->a[0].timeout_ns == 2 * RF_NS_PER_SEC);
	snprintf(want, sizeof want, "%s/./mine.py", tmpdir);  /* relative to the config's directory */
	assert_string_equal(an->a[1].path, want);
	assert_string_equal(an->a[1].argv[2], "a b");
	assert_true(an->a[1].rules == (1ull << pl->conf.nrules) - 1);  /* no input: every rule */
	assert_int_equal(an->a[1].queue, 64);
	assert_true(an->a[1].timeout_ns == 10 * RF_NS_PER_SEC);
	assert_true(pl->an_host_rules[0] == an->a[1].rules);
	int env_name = 0;
	for (char **e = an->a[1].envp; *e; e++)
		env_name |= !strcmp(*e, "RINGFLOW_ANALYZER=mine");
	assert_true(env_name);
	assert_string_equal(pl->conf.alerts.measurement, "ringflow_alerts");
	unload(pl);

	/* Two hosts share three analyzers: k % 2. */
	pl = load_ok(&(struct ini){ .processes = "analyze = 2\n",
		.extra = "[analyzer.a]\nexec = zscore\ninput = total\n\n[analyzer.b]\nexec = zscore\n\n"
			 "[analyzer.c]\nexec = threshold\ninput = total\n" });
	assert_int_equal(pl->analyzers->nhosts, 2);
	assert_int_equal(pl->analyzers->a[2].host, 0);
	assert_int_equal(pl->analyzers->a[1].host, 1);
	assert_true(pl->an_host_rules[0] == 1);
	unload(pl);
}

/* ----------------------------------------------------------------- bad */

enum layer {
	CONF,  /* conf_load itself refuses the file */
	PIPE,  /* conf_load accepts it; rf_pipeline_load (transform, rules, librdkafka) refuses */
};

struct bad_case {
	const char *what;
	enum layer layer;
	struct ini ini;
	const char *want[3];  /* substrings of the message, all required */
};

static const struct bad_case bad_cases[] = {
	{ "unknown section", CONF, { .extra = "[outptu]\ndatabase = x\n" },
	  { "[outptu]: unknown section" } },
	{ "unknown key", CONF, { .input = "topic = flows\nfields = ts:int, src_ip:ip, bytes:int, proto\ncolour = red\n" },
	  { "[input] colour: unknown key" } },
	{ "unknown key in [ringflow]", CONF, { .ringflow = "name = x\nstate_dri = /tmp\n" },
	  { "[ringflow] state_dri: unknown key" } },
	{ "unknown analyzer key", CONF, { .extra = "[analyzer.a]\nexec = threshold\nagrs = -x\n" },
	  { "[analyzer.a] agrs: unknown key" } },
	{ "analyzer without exec", CONF, { .extra = "[analyzer.a]\nargs = -x\n" },
	  { "[analyzer.a] exec: missing" } },
	{ "unknown built-in", PIPE, { .extra = "[analyzer.a]\nexec = zscroe\n" },
	  { "[analyzer.a] exec:", "'zscroe' is not a built-in analyzer" } },
	{ "exec path missing", PIPE, { .extra = "[analyzer.a]\nexec = /nonexistent/an.py\n" },
	  { "[analyzer.a] exec:", "/nonexistent/an.py", "No such file" } },
	{ "exec not executable", PIPE, { .extra = "[analyzer.a]\nexec = @DIR@/case0.ini\n" },
	  { "[analyzer.a] exec:", "case0.ini" } },
	{ "input names no rule", PIPE, { .extra = "[analyzer.a]\nexec = zscore\ninput = total, nope\n" },
	  { "[analyzer.a] input:", "'nope' is no [aggregate.*] rule" } },
	{ "args unclosed quote", PIPE, { .extra = "[analyzer.a]\nexec = zscore\nargs = --x \"open\n" },
	  { "[analyzer.a] args:", "quote" } },
	{ "queue zero", CONF, { .extra = "[analyzer.a]\nexec = zscore\nqueue = 0\n" },
	  { "[analyzer.a] queue:" } },
	{ "bad duration", CONF, { .ringflow = "checkpoint_interval = 5 parsecs\n" },
	  { "[ringflow] checkpoint_interval: '5 parsecs' is not a duration" } },
	{ "negative duration", CONF, { .output = "database = x\nflush_interval = -1s\n" },
	  { "[output] flush_interval: '-1s' is not a duration" } },
	{ "empty duration", CONF, { .input = "topic = flows\nfields = ts:int, src_ip:ip, bytes:int, proto\nidle_timeout =\n" },
	  { "[input] idle_timeout: empty value" } },
	{ "bad size", CONF, { .processes = "ring_size = 4X\n" },
	  { "[processes] ring_size: '4X' is not a size" } },
	{ "analyze too many", CONF, { .processes = "analyze = 65\n" },
	  { "[processes] analyze: '65' is not auto or a count from 0 to 64" } },
	{ "analyze negative", CONF, { .processes = "analyze = -1\n" },
	  { "[processes] analyze: '-1' is not auto or a count" } },
	{ "analyze word", CONF, { .processes = "analyze = some\n" },
	  { "[processes] analyze: 'some' is not auto" } },
	/* ring_size is the ring's business (supervisor/layout.c), so it is
	 * refused by rf_pipeline_load, which is what -t and start both run. */
	{ "ring_size not a power of two", PIPE, { .processes = "ring_size = 3M\n" },
	  { "[processes] ring_size: 3M is not a power of two" } },
	{ "ring_size zero", PIPE, { .processes = "ring_size = 0\n" },
	  { "[processes] ring_size: 0 is not a power of two" } },
	{ "ring_size too small", PIPE, { .processes = "ring_size = 32K\n" },
	  { "[processes] ring_size: 32K is below the minimum of 64K", "a frame is ring_size / 4" } },
	{ "ring_size above the ring maximum", PIPE, { .processes = "ring_size = 2G\n" },
	  { "[processes] ring_size: 2G is above the largest ring, 1G" } },
	{ "checkpoint_interval zero", CONF, { .ringflow = "checkpoint_interval = 0\n" },
	  { "[ringflow] checkpoint_interval: 0s is outside 100ms to 1d" } },
	{ "checkpoint_interval too short", CONF, { .ringflow = "checkpoint_interval = 50ms\n" },
	  { "[ringflow] checkpoint_interval: 50ms is outside 100ms to 1d" } },
	{ "checkpoint_interval too long", CONF, { .ringflow = "checkpoint_interval = 25h\n" },
	  { "[ringflow] checkpoint_interval: 25h is outside 100ms to 1d" } },
	{ "control socket path too long", CONF,
	  { .ringflow = "run_dir = /tmp/" "0123456789012345678901234567890123456789"
			"01234567890123456789012345678901234567890123456789012345678901234567890123456789\n" },
	  { "[ringflow] run_dir: the control socket '/tmp/0123", "a unix socket path holds at most 107" } },
	{ "checkpoint store path too long", CONF,
	  { .ringflow = "state_dir = /tmp/"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n" },
	  { "[ringflow] state_dir: '/tmp/0123", "ringflow.mdb-lock' is 523 characters, at most 511" } },
	{ "topic list without a name", CONF,
	  { .input = "topic = , ,\nfields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] topic: ', ,' names no topic" } },
	{ "process count zero", CONF, { .processes = "transform = 0\n" },
	  { "[processes] transform: '0' is not auto or a count from 1 to 64" } },
	{ "process count too big", CONF, { .processes = "aggregate = 65\n" },
	  { "[processes] aggregate: '65' is not auto or a count from 1 to 64" } },
	{ "process count not a number", CONF, { .processes = "writer = many\n" },
	  { "[processes] writer: 'many' is not auto or a count from 1 to 64" } },
	{ "bad log_level", CONF, { .ringflow = "log_level = loud\n" },
	  { "[ringflow] log_level: 'loud' is not one of error, warn, info, debug" } },
	{ "bad instance name", CONF, { .ringflow = "name = a/b\n" },
	  { "[ringflow] name: 'a/b' is not a valid instance name" } },
	{ "bad bool", CONF, { .output = "database = x\ngzip = maybe\n" },
	  { "[output] gzip: 'maybe' is not yes or no" } },
	{ "bad integer", CONF, { .output = "database = x\nbatch_points = 0\n" },
	  { "[output] batch_points: '0' is not a positive integer" } },
	{ "unknown input type", CONF, { .input = "type = pigeon\ntopic = t\nfields = a\n" },
	  { "[input] type: 'pigeon' is not kafka or file" } },
	{ "input type sflow", CONF, { .input = "type = sflow\ntopic = t\nfields = a\n" },
	  { "[input] type: 'sflow'", "not implemented yet" } },
	{ "bad start", CONF, { .input = "topic = t\nstart = middle\nfields = a\n" },
	  { "[input] start: 'middle' is not earliest or latest" } },
	{ "bad separator", CONF, { .input = "topic = t\nseparator = ;;\nfields = a\n" },
	  /* iniparser cuts the value at ';', so the separator is empty. */
	  { "[input] separator: empty value" } },
	{ "two-character separator", CONF, { .input = "topic = t\nseparator = ab\nfields = a\n" },
	  { "[input] separator: 'ab' must be one character" } },
	{ "missing topic", CONF, { .input = "fields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] topic: missing (type = kafka needs a topic)" } },
	{ "file input without path", CONF, { .input = "type = file\nfields = a\n" },
	  { "[input] path: missing" } },
	{ "stop_at = end on a file", CONF, { .input = "type = file\npath = @DIR@/flows.csv\nfields = a\nstop_at = end\n" },
	  { "[input] stop_at: end is for type = kafka" } },
	{ "file input unreadable", CONF, { .input = "type = file\npath = @DIR@/no-such.csv\nfields = a\n" },
	  { "[input] path: cannot read '", "no-such.csv': No such file or directory" } },
	{ "missing fields", CONF, { .input = "topic = flows\n" },
	  { "[input] fields: missing (list the CSV columns)" } },
	{ "empty field in the list", CONF, { .input = "topic = t\nfields = a, , b\n" },
	  { "[input] fields: empty field name in the list" } },
	{ "unknown field type", CONF, { .input = "topic = t\nfields = ts:int, bytes:long\n" },
	  { "[input] fields: field 'bytes' has unknown type 'long' (str, int, float or ip)" } },
	{ "invalid field name", CONF, { .input = "topic = t\nfields = ts:int, 9lives\n" },
	  { "[input] fields: '9lives' is not a valid field name" } },
	{ "duplicate field", CONF, { .input = "topic = t\nfields = ts:int, src_ip:ip, ts\n" },
	  { "[input] fields: field 'ts' listed twice" } },
	{ "unknown time_field", CONF, { .input = "topic = t\nfields = ts:int, src_ip:ip, bytes:int\ntime_field = when\n" },
	  { "[input] time_field: 'when' is not one of the fields" } },
	{ "rfc3339 on an int column", CONF, { .input = "topic = t\nfields = ts:int, b:int\ntime_field = ts\ntime_format = rfc3339\n" },
	  { "[input] time_format: rfc3339 needs the time field 'ts' declared str (it is declared int)" } },
	{ "time field of type ip", CONF, { .input = "topic = t\nfields = ts:ip, b:int\ntime_field = ts\n" },
	  { "[input] time_field: 'ts' is declared ip; a time is int, float or str" } },
	{ "bad assignment", CONF, { .input = "topic = t\nfields = ts:int\nassignment = kafka\n" },
	  { "[input] assignment: 'kafka' is not ringflow or group" } },
	{ "bad stop_at", CONF, { .input = "topic = t\nfields = ts:int\nstop_at = eof\n" },
	  { "[input] stop_at: 'eof' is not never or end" } },
	{ "stop_at = end with group balancing", CONF,
	  { .input = "topic = t\nfields = ts:int\nassignment = group\nstop_at = end\n" },
	  { "[input] stop_at: end needs assignment = ringflow" } },
	{ "metadata_refresh too short", CONF, { .input = "topic = t\nfields = ts:int\nmetadata_refresh = 10ms\n" },
	  { "[input] metadata_refresh: must be from 100ms to 1d" } },
	{ "bad time_format", CONF, { .input = "topic = t\nfields = ts:int, src_ip:ip, bytes:int\ntime_format = iso\n" },
	  { "[input] time_format: 'iso' is not one of unix, unix_ms, unix_us, unix_ns, rfc3339" } },
	{ "bad output type", CONF, { .output = "type = carbon\n" },
	  { "[output] type: 'carbon' is not influxdb or file" } },
	{ "file output without path", CONF, { .output = "type = file\n" },
	  { "[output] path: missing" } },
	{ "bad url", CONF, { .output = "url = ftp://x\ndatabase = x\n" },
	  { "[output] url: 'ftp://x' is not an http:// or https:// URL" } },
	{ "missing database", CONF, { .output = "url = http://127.0.0.1:8086\n" },
	  { "[output] database: missing (or set org and bucket for InfluxDB v2)" } },
	{ "v2 bucket without org", CONF, { .output = "bucket = flows\ntoken = x\n" },
	  { "[output] org: missing (bucket is set, so this is an InfluxDB v2 output)" } },
	{ "v2 org without bucket", CONF, { .output = "org = acme\n" },
	  { "[output] bucket: missing (org is set, so this is an InfluxDB v2 output)" } },
	{ "v2 with a v1 database", CONF, { .output = "org = acme\nbucket = b\ndatabase = x\n" },
	  { "[output] database: v1 key mixed with v2 bucket/org" } },
	{ "token and token_file", CONF, { .output = "org = acme\nbucket = b\ntoken = t\ntoken_file = /etc/hostname\n" },
	  { "[output] token_file: set together with token" } },
	{ "unreadable token_file", CONF, { .output = "org = acme\nbucket = b\ntoken_file = @DIR@/no-token\n" },
	  { "[output] token_file: cannot read '", "no-token'" } },
	{ "username without password", CONF, { .output = "database = x\nusername = bob\n" },
	  { "[output] username: set without password" } },
	{ "password without username", CONF, { .output = "database = x\npassword = pw\n" },
	  { "[output] password: set without username" } },
	{ "retention too short", CONF, { .output = "database = x\nretention = 30m\n" },
	  { "[output] retention: '30m' is not a duration of at least 1h (InfluxDB's minimum) or inf" } },
	{ "retention not a duration", CONF, { .output = "database = x\nretention = forever\n" },
	  { "[output] retention: 'forever' is not a duration" } },
	{ "bad alerts bool", CONF, { .extra = "[alerts]\nstate_changes_only = sometimes\n" },
	  { "[alerts] state_changes_only: 'sometimes' is not yes or no" } },
	{ "no rule at all", CONF, { .rules = "" },
	  { "[aggregate.NAME]: no aggregate rule" } },
	{ "bad rule name", CONF, { .rules = "[aggregate.9x]\nwindow = 1s\nn = count()\n" },
	  { "[aggregate.9x]: '9x' is not a valid rule name" } },
	{ "rule without window", CONF, { .rules = "[aggregate.total]\nflows = count()\n" },
	  { "[aggregate.total] window: missing (every rule needs a window, e.g. window = 10s)" } },
	{ "bad window", CONF, { .rules = "[aggregate.total]\nwindow = soon\nflows = count()\n" },
	  { "[aggregate.total] window: 'soon' is not a duration of at least 1ms" } },
	{ "bad lateness", CONF, { .rules = "[aggregate.total]\nwindow = 10s\nlateness = late\nflows = count()\n" },
	  { "[aggregate.total] lateness: 'late' is not a duration" } },
	{ "every not dividing the window", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\nevery = 3s\nflows = count()\n" },
	  { "[aggregate.total] every: must divide the window evenly" } },
	{ "too many windows per record", CONF,
	  { .rules = "[aggregate.total]\nwindow = 1001s\nevery = 1s\nflows = count()\n" },
	  { "[aggregate.total] every: window 1001s / every 1s = 1001 windows per record, at most 1000" } },
	{ "a 1ms hop over a 10-year window", CONF,
	  { .rules = "[aggregate.total]\nwindow = 3650d\nevery = 1ms\nflows = count()\n" },
	  { "[aggregate.total] every: window 3650d / every 1ms = 315360000000 windows per record" } },
	{ "too many open windows", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\nevery = 1s\nlateness = 10000s\nflows = count()\n" },
	  { "[aggregate.total] lateness: window 10s + lateness 10000s keeps 10010 windows of every 1s open at once, "
	    "at most 10000" } },
	{ "lateness of years over short tumbling windows", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\nlateness = 3650d\nflows = count()\n" },
	  { "[aggregate.total] lateness: window 10s + lateness 3650d keeps 31536001 windows" } },
	{ "open windows rounded up", CONF,
	  { .rules = "[aggregate.total]\nwindow = 1s\nlateness = 9999500ms\nflows = count()\n" },
	  { "[aggregate.total] lateness: window 1s + lateness 9999500ms keeps 10001 windows" } },
	{ "every longer than the window", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\nevery = 20s\nflows = count()\n" },
	  { "[aggregate.total] every: longer than the window" } },
	{ "bad max_keys", CONF, { .rules = "[aggregate.total]\nwindow = 10s\nmax_keys = 0\nflows = count()\n" },
	  { "[aggregate.total] max_keys: '0' is not a count from 1 to 1000000000" } },
	{ "rule without aggregates", CONF, { .rules = "[aggregate.total]\nwindow = 10s\nkey = proto\n" },
	  { "[aggregate.total]: no aggregates (add e.g. flows = count())" } },
	{ "empty aggregate", CONF, { .rules = "[aggregate.total]\nwindow = 10s\nflows =\n" },
	  { "[aggregate.total] flows: empty aggregate" } },
	{ "bad top syntax", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\ntop = 10 of bytes\nbytes = sum(bytes)\n" },
	  { "[aggregate.total] top: '10 of bytes' is not 'N by FIELD' with N from 1 to 1000000" } },
	{ "top without N", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\ntop = by bytes\nbytes = sum(bytes)\n" },
	  { "[aggregate.total] top: 'by bytes' is not 'N by FIELD'" } },
	{ "top N zero", CONF,
	  { .rules = "[aggregate.total]\nwindow = 10s\ntop = 0 by bytes\nbytes = sum(bytes)\n" },
	  { "[aggregate.total] top: '0 by bytes' is not 'N by FIELD'" } },
	{ "top by something that is not an aggregate", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\ntop = 5 by flows\nbytes = sum(bytes)\n" },
	  { "[aggregate.total] top: 'flows' is not an aggregate of this rule" } },
	{ "unknown aggregate function", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\nmid = median(bytes)\n" },
	  { "[aggregate.total] mid: unknown function 'median'" } },
	{ "aggregate over unknown field", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\nb = sum(byts)\n" },
	  { "[aggregate.total] b: unknown field 'byts'" } },
	{ "aggregate over an input column that is not an output", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\nn = count_distinct(src_ip)\n" },
	  { "[aggregate.total] n: unknown field 'src_ip'" } },
	{ "numeric aggregate over a string", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\ns = sum(src_country)\n" },
	  { "[aggregate.total] s: sum() needs a numeric field, 'src_country' is" } },
	{ "aggregate with trailing junk", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\nb = sum(bytes) + 1\n" },
	  { "[aggregate.total] b: expected sum(field) and nothing after it" } },
	{ "key over unknown field", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\nkey = proto, nope\nflows = count()\n" },
	  { "[aggregate.total] key: unknown field 'nope'" } },
	{ "key listed twice", PIPE,
	  { .rules = "[aggregate.total]\nwindow = 10s\nkey = proto, proto\nflows = count()\n" },
	  { "[aggregate.total] key: 'proto' is listed twice" } },
	{ "second rule broken", PIPE,
	  { .extra = "[aggregate.other]\nwindow = 1m\nkey = src_country\nx = max(nothing)\n" },
	  { "[aggregate.other] x: unknown field 'nothing'" } },
	{ "transform: unknown field", PIPE, { .transform = "bytes = byts * 8\n" },
	  { "[transform] bytes: unknown field 'byts' at column 1" } },
	{ "transform: unknown function", PIPE, { .transform = "bytes = bytes\nc = contry(src_ip)\n" },
	  { "[transform] c: unknown function 'contry' at column 1" } },
	{ "transform: syntax error", PIPE, { .transform = "bytes = (bytes * 8\n" },
	  { "[transform] bytes: unexpected end of expression at column" } },
	{ "transform: single '='", PIPE, { .transform = "bytes = bytes\nis_tcp = proto = \"6\"\n" },
	  { "[transform] is_tcp: unexpected '=' at column 7 (comparison is '==')" } },
	{ "transform: wrong argument count", PIPE, { .transform = "bytes = bytes\nn = subnet(src_ip)\n" },
	  { "[transform] n: subnet() takes 2 arguments, got 1" } },
	{ "transform: GeoIP function without its database", PIPE,
	  { .transform = "bytes = bytes\ncity = city(src_ip)\n" },
	  { "[transform] city: city() used but [geoip] city is not set" } },
	{ "transform: output used before it is defined", PIPE,
	  { .transform = "kb = bytes2 / 1024\nbytes2 = bytes\n" },
	  { "[transform] kb: unknown field 'bytes2' at column 1" } },
	{ "transform: empty expression", CONF, { .transform = "bytes =\n" },
	  { "[transform] bytes: empty expression" } },
	{ "filter: unknown field", PIPE, { .transform = "filter = flow == \"FLOW\"\nbytes = bytes\n" },
	  { "[transform] filter: unknown field 'flow' at column 1" } },
	{ "filter: syntax error", PIPE, { .transform = "filter = bytes > \nbytes = bytes\n" },
	  { "[transform] filter: unexpected end of expression" } },
	{ "filter: not a condition", PIPE, { .transform = "filter = proto\nbytes = bytes\n" },
	  { "[transform] filter: must be a condition, got str" } },
	{ "missing GeoIP file", PIPE, { .geoip = "country = @DIR@/nowhere/GeoLite2-Country.mmdb\n",
					.transform = "bytes = bytes\n" },
	  { "[geoip] country: cannot open '", "nowhere/GeoLite2-Country.mmdb'" } },
	{ "GeoIP file that is not a database", PIPE,
	  { .geoip = "country = @MMDB@/../../Makefile\nasn = @MMDB@/GeoLite2-ASN-Test.mmdb\n" },
	  { "[geoip] country: cannot open '", "Makefile'" } },
	{ "unknown geoip key", CONF, { .geoip = "contry = x.mmdb\n" },
	  { "[geoip] contry: unknown key" } },
	{ "kafka property librdkafka rejects", PIPE,
	  { .input = "topic = flows\nkafka.no.such.property = 1\nfields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] kafka.no.such.property: ", "No such configuration property" } },
	{ "kafka property ringflow owns", PIPE,
	  { .input = "topic = flows\nkafka.enable.auto.commit = true\nfields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] kafka.enable.auto.commit: ringflow sets this itself (ringflow commits checkpointed offsets itself)" } },
	{ "kafka group.id instead of group", PIPE,
	  { .input = "topic = flows\nkafka.group.id = g\nfields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] kafka.group.id: ringflow sets this itself (set it with [input] group)" } },
	{ "kafka property with a bad value", PIPE,
	  { .input = "topic = flows\nkafka.fetch.max.bytes = lots\nfields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] kafka.fetch.max.bytes: " } },
	{ "empty kafka property name", CONF,
	  { .input = "topic = flows\nkafka. = 1\nfields = ts:int, src_ip:ip, bytes:int, proto\n" },
	  { "[input] kafka.: empty librdkafka property name" } },
};

static void expect_refused(const struct bad_case *bc)
{
	const char *path = write_ini(&bc->ini);
	char err[1024];

	struct rf_config *c = calloc(1, sizeof *c);
	assert_non_null(c);
	memset(err, 0, sizeof err);
	int rc = conf_load(path, sup_config_sections, c, err, sizeof err);
	if (bc->layer == CONF && rc == 0)
		fail_msg("%s: conf_load accepted the file", bc->what);
	if (bc->layer == PIPE && rc != 0)
		fail_msg("%s: conf_load already refused it: %s", bc->what, err);
	if (rc == 0)
		conf_free(c);
	free(c);

	struct rf_pipeline *pl = calloc(1, sizeof *pl);
	assert_non_null(pl);
	memset(err, 0, sizeof err);
	rc = rf_pipeline_load(path, pl, err, sizeof err);
	if (rc == 0) {
		rf_pipeline_free(pl);
		free(pl);
		fail_msg("%s: rf_pipeline_load accepted the file", bc->what);
	}
	assert_int_equal(rc, -1);
	for (int i = 0; i < 3 && bc->want[i]; i++)
		if (!strstr(err, bc->want[i]))
			fail_msg("%s: message \"%s\" lacks \"%s\"", bc->what, err, bc->want[i]);
	/* A failed load leaves nothing behind (the asan build checks leaks). */
	free(pl);
}

static void test_bad_cases(void **state)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
		expect_refused(&bad_cases[i]);
}

/* Copies the first n bytes of src to dst (n may exceed src's size). */
static void copy_prefix(const char *src, const char *dst, long n)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	assert_non_null(in);
	assert_non_null(out);
	int c;
	for (long i = 0; i < n && (c = getc(in)) != EOF; i++)
		putc(c, out);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * GeoIP databases that exist but cannot be used: `ringflow -t` (and the
 * start of `ringflow -c`, which loads the same way) must refuse them naming
 * [geoip], the key, the file and why. The table above has the missing file
 * and a file that is not a database; these need files made at run time.
 */
static void test_broken_mmdb(void **state)
{
	char good[1200], path[600];
	snprintf(good, sizeof good, "%s/GeoIP2-Country-Test.mmdb", mmdb_dir);
	FILE *f = fopen(good, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	fclose(f);
	assert_true(size > 1000);

	/* Cut in half: the metadata marker sits at the end, so it is gone. */
	snprintf(path, sizeof path, "%s/truncated.mmdb", tmpdir);
	copy_prefix(good, path, size / 2);
	/* Cut just before the end: the marker survives, the metadata map does not. */
	snprintf(path, sizeof path, "%s/cut-metadata.mmdb", tmpdir);
	copy_prefix(good, path, size - 40);
	snprintf(path, sizeof path, "%s/empty.mmdb", tmpdir);
	copy_prefix(good, path, 0);
	snprintf(path, sizeof path, "%s/dir.mmdb", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);

	static const struct bad_case cases[] = {
		{ "truncated GeoIP file", PIPE,
		  { .geoip = "country = @DIR@/truncated.mmdb\nasn = @MMDB@/GeoLite2-ASN-Test.mmdb\n" },
		  { "[geoip] country: cannot open '", "/truncated.mmdb': ", "invalid metadata" } },
		{ "GeoIP file cut inside its metadata", PIPE,
		  { .geoip = "country = @DIR@/cut-metadata.mmdb\nasn = @MMDB@/GeoLite2-ASN-Test.mmdb\n" },
		  { "[geoip] country: cannot open '", "/cut-metadata.mmdb': " } },
		{ "empty GeoIP file", PIPE,
		  { .geoip = "country = @MMDB@/GeoIP2-Country-Test.mmdb\nasn = @DIR@/empty.mmdb\n",
		    .transform = "src_country = country(src_ip)\nbytes = bytes\nproto = proto\nas = asn(src_ip)\n" },
		  { "[geoip] asn: cannot open '", "/empty.mmdb': ", "the file is empty" } },
		{ "GeoIP path that is a directory", PIPE,
		  { .geoip = "country = @DIR@/dir.mmdb\n" },
		  { "[geoip] country: cannot open '", "/dir.mmdb': ", "is a directory" } },
		/* The reason from the system, not only libmaxminddb's "Error
		 * opening the specified MaxMind DB file". */
		{ "missing GeoIP file says why", PIPE,
		  { .geoip = "country = @DIR@/nowhere.mmdb\n" },
		  { "[geoip] country: cannot open '", "/nowhere.mmdb': ", "No such file or directory" } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_refused(&cases[i]);
}

static void test_missing_file(void **state)
{
	char path[600], err[1024] = "";
	snprintf(path, sizeof path, "%s/does-not-exist.ini", tmpdir);
	struct rf_pipeline *pl = calloc(1, sizeof *pl);
	assert_non_null(pl);
	assert_int_equal(rf_pipeline_load(path, pl, err, sizeof err), -1);
	assert_non_null(strstr(err, "does-not-exist.ini: cannot read: No such file or directory"));
	free(pl);
}

/* A line that is neither a section, a key = value, a comment nor blank. */
static void test_syntax_error(void **state)
{
	char path[600], err[1024] = "";
	snprintf(path, sizeof path, "%s/syntax.ini", tmpdir);
	write_raw(path, "[ringflow]\nname = x\nthis line has no equals sign\n");
	struct rf_pipeline *pl = calloc(1, sizeof *pl);
	assert_non_null(pl);
	assert_int_equal(rf_pipeline_load(path, pl, err, sizeof err), -1);
	assert_non_null(strstr(err, "syntax.ini: "));
	assert_non_null(strstr(err, "syntax error"));
	free(pl);
}

/* `ringflow --keys` prints the tables the loader checks against: every
 * section, the rule options with their defaults among them. */
static void test_print_keys(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	conf_print_keys(f, sup_config_sections);
	assert_int_equal(fclose(f), 0);
	static const char *const want[] = {
		"[ringflow]  ; instance\n",
		"\nname                 = ringflow               ; ",
		"\nring_size            = 4M                     ; ",
		"\n[input]  ; where records come from\n",
		"\ntime_format          = unix                   ; ",
		"\n[geoip]  ; GeoIP databases\n",
		"\ngzip                 = yes                    ; ",
		"\n[alerts]  ; ",
		"\n[transform]  ; filter = EXPR, then NAME = EXPR output fields in order\n",
		"\n[aggregate.NAME]  ; measurement, window, every, lateness, key, max_keys, top = N by FIELD,\n"
		"                  ; then NAME = FUNC(field) aggregates\n",
		"; window and every >= 1ms, every divides window; window / every <= 1000\n",
		"; (windows a record updates); window / every + ceil(lateness / every) <= 10000\n",
		"\nmeasurement          =                        ; ",
		"\nwindow               =                        ; ",
		"\nevery                =                        ; ",
		"\nlateness             = 0                      ; ",
		"\nkey                  =                        ; ",
		"\nmax_keys             = 1000000                ; ",
		"\ntop                  =                        ; ",
		"\n[analyzer.NAME]  ; one analyzer executable: exec, args, input, queue, timeout",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(text, want[i]))
			fail_msg("--keys output lacks \"%s\":\n%s", want[i], text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full_values),
		cmocka_unit_test(test_comment_after_section_name),
		cmocka_unit_test(test_file_input),
		cmocka_unit_test(test_v2_output_processing_time),
		cmocka_unit_test(test_boundaries_accepted),
		cmocka_unit_test(test_analyzers_compiled),
		cmocka_unit_test(test_processes_analyze),
		cmocka_unit_test(test_bad_cases),
		cmocka_unit_test(test_broken_mmdb),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_print_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
