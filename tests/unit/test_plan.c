/*
 * test_plan.c — unit tests of transform/plan.c: the whole transform on one
 * line at a time, with the DESIGN.md §3 configuration. The realistic corpus
 * is real sflowtool -l output (every *.sflowtool-l.csv under
 * $RF_SFLOW_DIR, default /work/shared/data/sflow) with a timestamp column
 * prepended: all FLOW lines parse with the 21-field layout, CNTR lines are
 * wrong_column_count. Expected values are recomputed from the raw text.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transform/geoip.h"
#include "transform/plan.h"

#define S(x) x, strlen(x)

static const char *root(void)
{
	const char *r = getenv("RF_SRCDIR");
	return r != NULL ? r : ".";
}

static char db_country[1024], db_asn[1024];

static void add_field(struct rf_config *c, const char *name, enum rf_vtype t)
{
	struct conf_field *f = &c->input.fields[c->input.nfields++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = t;
}

static void add_out(struct rf_config *c, const char *name, const char *expr)
{
	struct conf_output_field *o = &c->transform.out[c->transform.nout++];
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->expr = (char *)expr;
}

/* DESIGN.md §3: fields, time, [geoip] country+asn, [transform]. */
static struct rf_config *design_config(void)
{
	struct rf_config *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	static const struct { const char *n; enum rf_vtype t; } fl[] = {
		{ "timestamp", RF_V_INT }, { "flow", RF_V_STR }, { "agent", RF_V_IP },
		{ "in_if", RF_V_INT }, { "out_if", RF_V_INT }, { "src_mac", RF_V_STR },
		{ "dst_mac", RF_V_STR }, { "eth_type", RF_V_STR }, { "in_vlan", RF_V_INT },
		{ "out_vlan", RF_V_INT }, { "src_ip", RF_V_IP }, { "dst_ip", RF_V_IP },
		{ "proto", RF_V_INT }, { "tos", RF_V_INT }, { "ttl", RF_V_INT },
		{ "src_port", RF_V_INT }, { "dst_port", RF_V_INT }, { "tcp_flags", RF_V_STR },
		{ "packet_size", RF_V_INT }, { "ip_size", RF_V_INT }, { "sampling_rate", RF_V_INT },
	};
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		add_field(c, fl[i].n, fl[i].t);
	c->input.separator = ',';
	c->input.time_field = 0;
	c->input.time_format = CONF_TIME_UNIX;
	snprintf(db_country, sizeof(db_country), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root());
	snprintf(db_asn, sizeof(db_asn), "%s/data/mmdb/GeoLite2-ASN-Test.mmdb", root());
	c->geoip.country = db_country;
	c->geoip.asn = db_asn;
	c->transform.filter = "flow == \"FLOW\" and packet_size > 0";
	add_out(c, "src_country", "country(src_ip)");
	add_out(c, "dst_asn", "asn(dst_ip)");
	add_out(c, "src_ip", "src_ip");
	add_out(c, "packet_size", "packet_size");
	add_out(c, "bytes", "packet_size * sampling_rate");
	return c;
}

static struct xf_plan *compile_ok(const struct rf_config *c)
{
	char err[1024];
	struct xf_plan *p = xf_plan_compile(c, err, sizeof(err));
	if (p == NULL)
		fail_msg("compile: %s", err);
	return p;
}

static struct xf_ctx *ctx_ok(const struct xf_plan *p)
{
	char err[1024];
	struct xf_ctx *x = xf_ctx_create(p, err, sizeof(err));
	if (x == NULL)
		fail_msg("ctx: %s", err);
	return x;
}

static void t_design_config(void **state)
{
	struct rf_config *c = design_config();
	struct xf_plan *p = compile_ok(c);
	struct xf_ctx *x = ctx_ok(p);
	assert_int_equal(xf_plan_nout(p), 5);
	assert_string_equal(xf_plan_out_name(p, 4), "bytes");
	assert_null(xf_plan_out_name(p, 5));
	assert_int_equal(xf_plan_out_type(p, 0), RF_V_STR);
	assert_int_equal(xf_plan_out_type(p, 1), RF_V_INT);
	assert_int_equal(xf_plan_out_type(p, 2), RF_V_IP);
	assert_int_equal(xf_plan_out_type(p, 4), RF_V_INT);
	assert_int_equal(xf_plan_find_out(p, "dst_asn"), 1);
	assert_int_equal(xf_plan_find_out(p, "BYTES"), 4);
	assert_int_equal(xf_plan_find_out(p, "nope"), -1);
	assert_int_equal(xf_plan_geo_needs(p), XF_GEO_BIT(XF_GEO_COUNTRY) | XF_GEO_BIT(XF_GEO_ASN));

	struct rf_value outs[5];
	int64_t t = 0;
	const char *line = "1700000000,FLOW,10.0.0.1,3,1,0025905052a0,00000c9ff001,0x0800,16,16,"
			   "81.2.69.142,1.128.0.1,6,0x00,64,80,53202,0x10,64,46,512";
	assert_int_equal(xf_process_line(p, x, S(line), 5, outs, &t), XF_OK);
	assert_true(t == 1700000000LL * 1000000000LL);
	assert_int_equal(outs[0].type, RF_V_STR);
	assert_int_equal(outs[0].len, 2);
	assert_memory_equal(outs[0].u.s, "GB", 2);
	assert_int_equal(outs[1].type, RF_V_INT);
	assert_int_equal(outs[1].u.i, 1221);
	assert_int_equal(outs[2].type, RF_V_IP);
	assert_int_equal(outs[2].ip_is_v4, 1);
	assert_int_equal(outs[3].u.i, 64);
	assert_int_equal(outs[4].u.i, 64 * 512);

	/* filter: CNTR-like flow value and zero packet size */
	const char *zero = "1700000000,FLOW,10.0.0.1,3,1,0025905052a0,00000c9ff001,0x0800,16,16,"
			   "81.2.69.142,1.128.0.1,6,0x00,64,80,53202,0x10,0,46,512";
	assert_int_equal(xf_process_line(p, x, S(zero), 5, outs, &t), XF_FILTERED);
	const char *other = "1700000000,XXXX,10.0.0.1,3,1,0025905052a0,00000c9ff001,0x0800,16,16,"
			    "81.2.69.142,1.128.0.1,6,0x00,64,80,53202,0x10,10,46,512";
	assert_int_equal(xf_process_line(p, x, S(other), 5, outs, &t), XF_FILTERED);
	/* unknown address: empty country, asn 0, counted */
	const char *unknown = "1700000000,FLOW,10.0.0.1,3,1,0025905052a0,00000c9ff001,0x0800,16,16,"
			      "10.9.9.9,10.9.9.8,6,0x00,64,80,53202,0x10,10,46,512";
	assert_int_equal(xf_process_line(p, x, S(unknown), 5, outs, &t), XF_OK);
	assert_int_equal(outs[0].type, RF_V_STR);
	assert_int_equal(outs[0].len, 0);
	assert_int_equal(outs[1].u.i, 0);
	assert_int_equal(xf_ctx_counters(x)->geoip_unknown, 2);
	/* rejections */
	assert_int_equal(xf_process_line(p, x, "", 0, 5, outs, &t), XF_EMPTY_LINE);
	const char *badts = "17000x0000,FLOW,10.0.0.1,3,1,a,b,c,16,16,1.1.1.1,1.1.1.1,6,0,64,80,1,0,10,46,1";
	assert_int_equal(xf_process_line(p, x, S(badts), 5, outs, &t), XF_BAD_INT);
	assert_int_equal(xf_ctx_bad_column(x), 0);
	const char *noip = "1700000000,FLOW,10.0.0.1,3,1,a,b,c,16,16,1.1.1,1.1.1.1,6,0,64,80,1,0,10,46,1";
	assert_int_equal(xf_process_line(p, x, S(noip), 5, outs, &t), XF_BAD_IP);
	assert_int_equal(xf_ctx_bad_column(x), 10);
	const char *nots = "-,FLOW,10.0.0.1,3,1,a,b,c,16,16,1.1.1.1,1.1.1.1,6,0,64,80,1,0,10,46,1";
	assert_int_equal(xf_process_line(p, x, S(nots), 5, outs, &t), XF_BAD_TIMESTAMP);
	assert_int_equal(xf_ctx_bad_column(x), 0);
	xf_ctx_destroy(x);
	xf_plan_free(p);
	free(c);
}

static int corpus_flow, corpus_cntr, corpus_ok, corpus_filtered;

static void check_corpus_line(const struct xf_plan *p, struct xf_ctx *x, const char *raw)
{
	char line[4096], copy[4096];
	struct rf_value outs[5];
	int64_t t;
	int n = snprintf(line, sizeof(line), "1700000001,%s", raw);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	enum xf_result r = xf_process_line(p, x, line, (size_t)n, 0, outs, &t);
	if (strncmp(raw, "CNTR,", 5) == 0) {
		corpus_cntr++;
		if (r != XF_WRONG_COLUMN_COUNT)
			fail_msg("CNTR line gave %s: %s", xf_result_name(r), raw);
		return;
	}
	assert_true(strncmp(raw, "FLOW,", 5) == 0);
	corpus_flow++;
	/* Independent view of the line: strtok on a copy. */
	snprintf(copy, sizeof(copy), "%s", raw);
	char *col[32];
	int nc = 0;
	for (char *s = strtok(copy, ","); s != NULL && nc < 32; s = strtok(NULL, ","))
		col[nc++] = s;
	assert_int_equal(nc, 20);
	long long size = atoll(col[17]), rate = atoll(col[19]);
	if (r == XF_FILTERED) {
		corpus_filtered++;
		assert_true(size <= 0);
		return;
	}
	if (r != XF_OK)
		fail_msg("FLOW line gave %s: %s", xf_result_name(r), raw);
	corpus_ok++;
	assert_true(t == 1700000001LL * 1000000000LL);
	assert_int_equal(outs[3].u.i, size);
	assert_int_equal(outs[4].type, RF_V_INT);
	assert_true(outs[4].u.i == size * rate);
	if (strcmp(col[9], "-") == 0) {
		assert_int_equal(outs[2].type, RF_V_MISSING);
		assert_int_equal(outs[0].type, RF_V_MISSING);
	} else {
		char buf[INET6_ADDRSTRLEN];
		assert_int_equal(outs[2].type, RF_V_IP);
		if (outs[2].ip_is_v4)
			inet_ntop(AF_INET, outs[2].u.ip + 12, buf, sizeof(buf));
		else
			inet_ntop(AF_INET6, outs[2].u.ip, buf, sizeof(buf));
		if (strchr(col[9], ':') == NULL)
			assert_string_equal(buf, col[9]);
		assert_int_equal(outs[0].type, RF_V_STR);
	}
}

static void walk(const char *dir, const struct xf_plan *p, struct xf_ctx *x, int *files)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		size_t n = strlen(de->d_name);
		const char *suffix = ".sflowtool-l.csv";
		if (n > strlen(suffix) && strcmp(de->d_name + n - strlen(suffix), suffix) == 0) {
			FILE *f = fopen(path, "r");
			assert_non_null(f);
			char line[4096];
			while (fgets(line, sizeof(line), f) != NULL) {
				line[strcspn(line, "\n")] = '\0';
				if (line[0] != '\0')
					check_corpus_line(p, x, line);
			}
			fclose(f);
			(*files)++;
		} else if (strchr(de->d_name, '.') == NULL) {
			walk(path, p, x, files);
		}
	}
	closedir(d);
}

static void t_sflowtool_corpus(void **state)
{
	const char *dir = getenv("RF_SFLOW_DIR") ? getenv("RF_SFLOW_DIR") : "/work/shared/data/sflow";
	DIR *d = opendir(dir);
	if (d == NULL) {
		print_message("no sflowtool corpus at %s (set RF_SFLOW_DIR)\n", dir);
		skip();
	}
	closedir(d);
	struct rf_config *c = design_config();
	struct xf_plan *p = compile_ok(c);
	struct xf_ctx *x = ctx_ok(p);
	int files = 0;
	walk(dir, p, x, &files);
	print_message("corpus: %d files, %d FLOW (%d ok, %d filtered), %d CNTR\n",
		      files, corpus_flow, corpus_ok, corpus_filtered, corpus_cntr);
	assert_true(files > 10);
	assert_true(corpus_flow >= 41);
	assert_true(corpus_cntr >= 175);
	assert_true(corpus_ok > corpus_filtered);
	xf_ctx_destroy(x);
	xf_plan_free(p);
	free(c);
}

static void t_outputs_see_earlier_outputs(void **state)
{
	struct rf_config *c = design_config();
	c->transform.nout = 0;
	c->transform.filter = NULL;
	c->geoip.country = c->geoip.asn = NULL;
	add_out(c, "bytes", "packet_size * sampling_rate");
	add_out(c, "kb", "bytes / 1024");
	add_out(c, "packet_size", "packet_size * 2");      /* shadows the column from here on */
	add_out(c, "double_plus", "packet_size + 1");
	add_out(c, "ratio", "bytes % (packet_size - 128)");
	add_out(c, "flow_l", "lower(flow)");
	add_out(c, "net", "subnet(src_ip, 24)");
	add_out(c, "mixed", "if(packet_size > 100, flow, packet_size)");
	struct xf_plan *p = compile_ok(c);
	struct xf_ctx *x = ctx_ok(p);
	assert_int_equal(xf_plan_out_type(p, 1), RF_V_FLOAT);
	assert_int_equal(xf_plan_out_type(p, 7), RF_V_ANY);
	assert_int_equal(xf_plan_find_out(p, "packet_size"), 2);
	struct rf_value outs[8];
	int64_t t;
	const char *line = "1700000000,FLOW,10.0.0.1,3,1,a,b,c,16,16,10.1.2.3,1.1.1.1,6,0,64,80,1,0,64,46,512";
	assert_int_equal(xf_process_line(p, x, S(line), 0, outs, &t), XF_OK);
	assert_int_equal(outs[0].u.i, 32768);
	assert_true(outs[1].type == RF_V_FLOAT && outs[1].u.f == 32.0);
	assert_int_equal(outs[2].u.i, 128);
	assert_int_equal(outs[3].u.i, 129);
	assert_int_equal(outs[4].type, RF_V_MISSING);       /* % 0 */
	assert_int_equal(xf_ctx_counters(x)->div_by_zero, 1);
	assert_int_equal(outs[5].len, 4);
	assert_memory_equal(outs[5].u.s, "flow", 4);
	static const uint8_t net[16] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff,10,1,2,0 };
	assert_memory_equal(outs[6].u.ip, net, 16);
	assert_int_equal(outs[7].type, RF_V_STR);
	/* the scratch is reset per record: many records never overflow it */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(xf_process_line(p, x, S(line), 0, outs, &t), XF_OK);
	assert_int_equal(xf_ctx_counters(x)->scratch_overflow, 0);
	xf_ctx_destroy(x);
	xf_plan_free(p);
	free(c);
}

static void t_time_fields(void **state)
{
	struct rf_config *c = calloc(1, sizeof(*c));
	add_field(c, "when", RF_V_STR);
	add_field(c, "v", RF_V_INT);
	c->input.separator = ';';
	c->input.time_field = 0;
	c->input.time_format = CONF_TIME_RFC3339;
	add_out(c, "v", "v");
	struct xf_plan *p = compile_ok(c);
	struct xf_ctx *x = ctx_ok(p);
	struct rf_value outs[1];
	int64_t t = 0;
	assert_int_equal(xf_process_line(p, x, S("2024-01-02T03:04:05.123Z;7"), 0, outs, &t), XF_OK);
	/* 2024-01-02T03:04:05Z = 19724 days * 86400 + 3h 4m 5s */
	assert_true(t == (19724LL * 86400 + 3 * 3600 + 4 * 60 + 5) * 1000000000LL + 123000000);
	assert_int_equal(xf_process_line(p, x, S("2024-01-02T03:04:05+01:00;7"), 0, outs, &t), XF_OK);
	assert_true(t == (19724LL * 86400 + 2 * 3600 + 4 * 60 + 5) * 1000000000LL);
	assert_int_equal(xf_process_line(p, x, S("yesterday;7"), 0, outs, &t), XF_BAD_TIMESTAMP);
	assert_int_equal(xf_process_line(p, x, S(";7"), 0, outs, &t), XF_BAD_TIMESTAMP);
	xf_ctx_destroy(x);
	xf_plan_free(p);

	c->input.time_format = CONF_TIME_UNIX_MS;
	p = compile_ok(c);
	x = ctx_ok(p);
	assert_int_equal(xf_process_line(p, x, S("1700000000123;7"), 0, outs, &t), XF_OK);
	assert_true(t == 1700000000123000000LL);
	xf_ctx_destroy(x);
	xf_plan_free(p);

	c->input.time_field = -1;           /* processing time */
	p = compile_ok(c);
	x = ctx_ok(p);
	assert_int_equal(xf_process_line(p, x, S("whenever;7"), 42, outs, &t), XF_OK);
	assert_true(t == 42);
	assert_int_equal(outs[0].u.i, 7);
	xf_ctx_destroy(x);
	xf_plan_free(p);
	free(c);
}

static void want_compile_error(const struct rf_config *c, const char *msg)
{
	char err[1024] = "";
	struct xf_plan *p = xf_plan_compile(c, err, sizeof(err));
	if (p != NULL) {
		xf_plan_free(p);
		fail_msg("compiled, want '%s'", msg);
	}
	if (strncmp(err, msg, strlen(msg)) != 0)
		fail_msg("error '%s', want '%s'", err, msg);
}

static void t_compile_errors(void **state)
{
	struct rf_config *c = design_config();
	c->transform.out[4].expr = "packet_sise * sampling_rate";
	want_compile_error(c, "[transform] bytes: unknown field 'packet_sise' at column 1");
	c->transform.out[4].expr = "packet_size * sampling_rate";

	c->transform.filter = "flow == FLOW";
	want_compile_error(c, "[transform] filter: unknown field 'FLOW' at column 9");
	c->transform.filter = "flow";
	want_compile_error(c, "[transform] filter: must be a condition, got str");
	/* the filter sees input columns only, not outputs */
	c->transform.filter = "bytes > 0";
	want_compile_error(c, "[transform] filter: unknown field 'bytes' at column 1");
	c->transform.filter = NULL;
	/* an output cannot use a later one */
	c->transform.out[0].expr = "bytes";
	want_compile_error(c, "[transform] src_country: unknown field 'bytes' at column 1");
	c->transform.out[0].expr = "country(src_ip)";

	c->geoip.country = NULL;
	want_compile_error(c, "[transform] src_country: country() used but [geoip] country is not set");
	c->geoip.country = "/nonexistent/GeoLite2-Country.mmdb";
	want_compile_error(c, "[geoip] country: cannot open '/nonexistent/GeoLite2-Country.mmdb': ");
	c->geoip.country = db_country;
	c->geoip.country_path = "country//iso_code";
	want_compile_error(c, "[geoip] country_path: 'country//iso_code' has an empty component");
	c->geoip.country_path = NULL;
	/* configured but unused databases are checked too */
	c->geoip.city = "/nonexistent/city.mmdb";
	want_compile_error(c, "[geoip] city: cannot open '/nonexistent/city.mmdb': ");
	c->geoip.city = NULL;

	c->input.time_field = 21;
	want_compile_error(c, "[input] time_field: index 21 is not a field");
	c->input.time_field = 0;
	c->input.separator = '\n';
	want_compile_error(c, "[input] fields: separator cannot be NUL, CR or LF");
	c->input.separator = ',';

	struct xf_plan *p = compile_ok(c);
	xf_plan_free(p);
	xf_plan_free(NULL);
	xf_ctx_destroy(NULL);
	free(c);
}

static void t_result_names(void **state)
{
	static const char *want[XF_RESULT_COUNT] = {
		"ok", "filtered", "empty_line", "wrong_column_count", "bad_int", "bad_float",
		"bad_ip", "bad_timestamp", "line_too_long", "binary_junk",
	};
	for (int r = 0; r < XF_RESULT_COUNT; r++)
		assert_string_equal(xf_result_name((enum xf_result)r), want[r]);
	assert_string_equal(xf_result_name(XF_RESULT_COUNT), "unknown");
}

/* The plan decodes only the columns it reads, but a bad value in any other
 * typed column still rejects the record (DESIGN.md: "a record whose column
 * count or typed value is wrong is rejected"). */
static void t_unused_columns_checked(void **state)
{
	struct rf_config *c = design_config();
	struct xf_plan *p = compile_ok(c);
	struct xf_ctx *x = ctx_ok(p);
	struct rf_value outs[5];
	int64_t t;
	static const struct { const char *line; enum xf_result want; int col; } cases[] = {
		/* agent (col 2) is read by nothing */
		{ "1700000000,FLOW,10.0.0,3,1,a,b,c,16,16,81.2.69.142,1.128.0.1,6,0x00,64,80,1,0x10,64,46,512",
		  XF_BAD_IP, 2 },
		/* in_if (3), tos (13, hexadecimal), ip_size (19, just before the last column) */
		{ "1700000000,FLOW,10.0.0.1,3b,1,a,b,c,16,16,81.2.69.142,1.128.0.1,6,0x00,64,80,1,0x10,64,46,512",
		  XF_BAD_INT, 3 },
		{ "1700000000,FLOW,10.0.0.1,3,1,a,b,c,16,16,81.2.69.142,1.128.0.1,6,0x0g,64,80,1,0x10,64,46,512",
		  XF_BAD_INT, 13 },
		{ "1700000000,FLOW,10.0.0.1,3,1,a,b,c,16,16,81.2.69.142,1.128.0.1,6,0x00,64,80,1,0x10,64,4.6,512",
		  XF_BAD_INT, 19 },
		/* the first bad column wins, used (src_ip, 10) or not (in_vlan, 8) */
		{ "1700000000,FLOW,10.0.0.1,3,1,a,b,c,x,16,81.2.69,1.128.0.1,6,0x00,64,80,1,0x10,64,46,512",
		  XF_BAD_INT, 8 },
		/* unused columns may be missing */
		{ "1700000000,FLOW,-,,-,a,b,c,,,81.2.69.142,1.128.0.1,-,,,-,-,0x10,64,,512",
		  XF_OK, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum xf_result r = xf_process_line(p, x, S(cases[i].line), 0, outs, &t);
		if (r != cases[i].want || xf_ctx_bad_column(x) != cases[i].col)
			fail_msg("case %zu: %s column %d, want %s column %d", i, xf_result_name(r),
				 xf_ctx_bad_column(x), xf_result_name(cases[i].want), cases[i].col);
	}
	assert_memory_equal(outs[0].u.s, "GB", 2);
	assert_int_equal(outs[4].u.i, 64 * 512);
	xf_ctx_destroy(x);
	xf_plan_free(p);
	free(c);
}

/* Random junk through the whole plan (ASan build checks reads). Any CSV
 * rejection must be the one a parse of every column gives. */
static void t_fuzz(void **state)
{
	struct rf_config *c = design_config();
	struct xf_plan *p = compile_ok(c);
	struct xf_ctx *x = ctx_ok(p);
	const char *good = "1700000000,FLOW,10.0.0.1,3,1,0025905052a0,00000c9ff001,0x0800,16,16,"
			   "81.2.69.142,1.128.0.1,6,0x00,64,80,53202,0x10,64,46,512";
	size_t glen = strlen(good);
	int seen[XF_RESULT_COUNT] = { 0 };
	enum rf_vtype types[21];
	for (int i = 0; i < 21; i++)
		types[i] = c->input.fields[i].type;
	struct xf_csv every;
	char err[128];
	assert_int_equal(xf_csv_init(&every, ',', types, 21, err, sizeof(err)), 0);
	srand(5);
	for (int i = 0; i < 100000; i++) {
		char *line = malloc(glen);
		memcpy(line, good, glen);
		for (int m = rand() % 3; m >= 0; m--)
			line[rand() % glen] = (char)(rand() % 2 ? rand() % 256 : "0123456789,.-:x"[rand() % 15]);
		struct rf_value outs[5];
		int64_t t;
		enum xf_result r = xf_process_line(p, x, line, glen, 0, outs, &t);
		assert_true((unsigned)r < XF_RESULT_COUNT);
		seen[r]++;
		struct rf_value vals[21];
		int bad = -1;
		enum xf_csv_err ce = xf_csv_parse(&every, line, glen, vals, NULL, &bad);
		if (ce != XF_CSV_OK) {
			assert_int_equal(r, (enum xf_result)(ce + 1));
			assert_int_equal(xf_ctx_bad_column(x), bad);
		} else {
			assert_true(r == XF_OK || r == XF_FILTERED || r == XF_BAD_TIMESTAMP);
		}
		free(line);
	}
	assert_true(seen[XF_OK] > 0);
	assert_true(seen[XF_BINARY_JUNK] > 0);
	assert_true(seen[XF_BAD_IP] > 0);
	assert_true(seen[XF_BAD_INT] > 0);
	xf_ctx_destroy(x);
	xf_plan_free(p);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_design_config),
		cmocka_unit_test(t_sflowtool_corpus),
		cmocka_unit_test(t_outputs_see_earlier_outputs),
		cmocka_unit_test(t_time_fields),
		cmocka_unit_test(t_compile_errors),
		cmocka_unit_test(t_result_names),
		cmocka_unit_test(t_unused_columns_checked),
		cmocka_unit_test(t_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
