/*
 * bench_transform.c — one core running xf_process_line over realistic sFlow
 * CSV lines generated in memory, with the DESIGN.md §3 configuration,
 * without and with GeoIP (country + asn, MaxMind test databases in
 * data/mmdb, or $RF_SRCDIR/data/mmdb).
 *
 * Source addresses are skewed (a few talkers dominate, as in real traffic)
 * and include addresses present in the test databases; ~2% of the lines
 * have packet_size 0 and are filtered. Targets: >= 5 M records/s without
 * GeoIP, >= 3 M/s with GeoIP and its cache. Rates are per CPU second of
 * the benchmark thread (the wall-clock rate is printed too).
 *
 *   build/release/bench/bench_transform [seconds-per-case, default 2] [csv]
 *
 * With "csv" it measures xf_csv_parse alone on the same lines instead, to
 * show what the unused columns cost: every column decoded, only the five
 * the no-geoip case reads decoded and the other typed ones checked (what
 * the transform does), and those five decoded with the rest skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "transform/csv.h"
#include "transform/plan.h"

#define NLINES 200000
#define NSRC 50000

/* The machine is shared: rates use this thread's CPU time, so time spent
 * preempted by other processes is not charged to the transform. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: a fixed stream, so every run measures the same lines. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static const char *known_ips[] = {
	"81.2.69.142", "81.2.69.160", "2.125.160.216", "89.160.20.112", "216.160.83.56",
	"1.128.0.1", "12.81.92.7", "149.101.100.3", "67.43.156.1", "175.16.199.5",
	"2001:0218:0000:0000:0000:0000:0000:0001", "2001:0220:0000:0000:0000:0000:0000:0001",
};

static void make_ip(char *buf, size_t n, uint32_t i)
{
	if (i < sizeof(known_ips) / sizeof(known_ips[0]))
		snprintf(buf, n, "%s", known_ips[i]);
	else
		snprintf(buf, n, "%u.%u.%u.%u", 1 + (i * 2654435761u >> 24) % 223,
			 (i >> 8) & 255, i & 255, (i * 7) & 255);
}

struct corpus {
	char *buf;
	uint32_t off[NLINES], len[NLINES];
};

static void gen(struct corpus *c)
{
	size_t cap = (size_t)NLINES * 200, used = 0;
	c->buf = malloc(cap);
	if (c->buf == NULL) {
		perror("malloc");
		exit(1);
	}
	for (int i = 0; i < NLINES; i++) {
		double u = (double)(rnd() >> 11) / 9007199254740992.0;
		uint32_t src = (uint32_t)(NSRC * u * u * u);   /* skewed toward small indices */
		uint32_t dst = (uint32_t)(rnd() % NSRC);
		char s[64], d[64];
		make_ip(s, sizeof(s), src);
		make_ip(d, sizeof(d), dst);
		int size = rnd() % 50 == 0 ? 0 : 64 + (int)(rnd() % 1450);
		int n = snprintf(c->buf + used, cap - used,
				 "%lld,FLOW,10.0.%u.%u,%u,%u,0025905052a0,00000c9ff001,0x0800,%u,%u,%s,%s,%u,0x00,%u,%u,%u,0x%02x,%d,%d,%u",
				 1700000000LL + i / 1000, (unsigned)(rnd() % 4), (unsigned)(rnd() % 250),
				 (unsigned)(rnd() % 48), (unsigned)(rnd() % 48), (unsigned)(rnd() % 4096),
				 (unsigned)(rnd() % 4096), s, d, rnd() % 3 ? 6u : 17u,
				 (unsigned)(32 + rnd() % 96), (unsigned)(rnd() % 65536),
				 (unsigned)(rnd() % 65536), (unsigned)(rnd() % 64), size,
				 size > 18 ? size - 18 : 0, rnd() % 2 ? 512u : 2048u);
		c->off[i] = (uint32_t)used;
		c->len[i] = (uint32_t)n;
		used += (size_t)n;
	}
}

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

static void design_fields(struct rf_config *c)
{
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
	c->transform.filter = "flow == \"FLOW\" and packet_size > 0";
}

static int run_case(const char *name, const struct rf_config *conf, const struct corpus *c, double secs)
{
	char err[1024];
	struct xf_plan *plan = xf_plan_compile(conf, err, sizeof(err));
	if (plan == NULL) {
		fprintf(stderr, "bench_transform: %s\n", err);
		return -1;
	}
	struct xf_ctx *ctx = xf_ctx_create(plan, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "bench_transform: %s\n", err);
		xf_plan_free(plan);
		return -1;
	}
	struct rf_value outs[CONF_MAX_OUTPUTS];
	uint64_t n = 0, results[XF_RESULT_COUNT] = { 0 }, sink = 0;
	double t0 = cpu_s(), w0 = wall_s(), t1;
	do {
		for (int i = 0; i < NLINES; i++) {
			int64_t t;
			enum xf_result r = xf_process_line(plan, ctx, c->buf + c->off[i], c->len[i],
							   0, outs, &t);
			results[r]++;
			sink += (uint64_t)outs[0].type + (uint64_t)t;
		}
		n += NLINES;
		t1 = cpu_s();
	} while (t1 - t0 < secs);
	double s = t1 - t0, w = wall_s() - w0;
	printf("transform %s: %llu records in %.2f s = %.2f M records/s (%.1f ns/record)\n",
	       name, (unsigned long long)n, s, n / s / 1e6, s * 1e9 / n);
	printf("  (CPU time of this thread; wall clock %.2f s = %.2f M records/s)\n", w, n / w / 1e6);
	const struct xf_counters *k = xf_ctx_counters(ctx);
	printf("  ok %llu, filtered %llu, rejected %llu, geoip_unknown %llu (sink %llu)\n",
	       (unsigned long long)results[XF_OK], (unsigned long long)results[XF_FILTERED],
	       (unsigned long long)(n - results[XF_OK] - results[XF_FILTERED]),
	       (unsigned long long)k->geoip_unknown, (unsigned long long)(sink & 1));
	xf_ctx_destroy(ctx);
	xf_plan_free(plan);
	return 0;
}

/* xf_csv_parse alone; used == NULL decodes every column. */
static int run_csv_case(const char *name, const struct rf_config *conf, const uint8_t *used,
			enum xf_csv_unused unused, const struct corpus *c, double secs)
{
	enum rf_vtype types[CONF_MAX_FIELDS];
	struct xf_csv csv;
	char err[256];
	for (int i = 0; i < conf->input.nfields; i++)
		types[i] = conf->input.fields[i].type;
	if (xf_csv_init(&csv, conf->input.separator, types, conf->input.nfields, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_transform: %s\n", err);
		return -1;
	}
	if (used != NULL)
		xf_csv_use(&csv, used, unused);
	static struct rf_value vals[CONF_MAX_FIELDS];
	uint64_t n = 0, ok = 0;
	double t0 = cpu_s(), t1;
	do {
		for (int i = 0; i < NLINES; i++)
			ok += xf_csv_parse(&csv, c->buf + c->off[i], c->len[i], vals, NULL, NULL) == XF_CSV_OK;
		n += NLINES;
		t1 = cpu_s();
	} while (t1 - t0 < secs);
	double s = t1 - t0;
	printf("csv %s: %.2f M lines/s (%.1f ns/line, %llu ok)\n", name, n / s / 1e6, s * 1e9 / n,
	       (unsigned long long)ok);
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	if (secs <= 0)
		secs = 2.0;
	const char *root = getenv("RF_SRCDIR") ? getenv("RF_SRCDIR") : ".";
	static struct corpus c;
	gen(&c);

	static struct rf_config plain, geo;
	design_fields(&plain);
	add_out(&plain, "src_ip", "src_ip");
	add_out(&plain, "packet_size", "packet_size");
	add_out(&plain, "bytes", "packet_size * sampling_rate");

	char country[1024], asn[1024];
	snprintf(country, sizeof(country), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root);
	snprintf(asn, sizeof(asn), "%s/data/mmdb/GeoLite2-ASN-Test.mmdb", root);
	design_fields(&geo);
	geo.geoip.country = country;
	geo.geoip.asn = asn;
	add_out(&geo, "src_country", "country(src_ip)");
	add_out(&geo, "dst_asn", "asn(dst_ip)");
	add_out(&geo, "src_ip", "src_ip");
	add_out(&geo, "packet_size", "packet_size");
	add_out(&geo, "bytes", "packet_size * sampling_rate");

	int rc = 0;
	if (argc > 2 && strcmp(argv[2], "csv") == 0) {
		/* timestamp, flow, src_ip, packet_size, sampling_rate */
		uint8_t used[CONF_MAX_FIELDS] = { [0] = 1, [1] = 1, [10] = 1, [18] = 1, [20] = 1 };
		rc |= run_csv_case("all columns decoded", &plain, NULL, XF_CSV_UNUSED_VALIDATE, &c, secs);
		rc |= run_csv_case("5 decoded, other typed columns checked", &plain, used,
				   XF_CSV_UNUSED_VALIDATE, &c, secs);
		rc |= run_csv_case("5 decoded, others skipped", &plain, used, XF_CSV_UNUSED_SKIP, &c, secs);
		free(c.buf);
		return rc ? 1 : 0;
	}
	rc |= run_case("no-geoip", &plain, &c, secs);
	rc |= run_case("geoip", &geo, &c, secs);
	free(c.buf);
	return rc ? 1 : 0;
}
