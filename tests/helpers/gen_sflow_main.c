/*
 * gen_sflow_main.c — gen-sflow: deterministic synthetic sFlow CSV traffic.
 *
 * Writes the record layout of DESIGN.md §3 to stdout: a unix timestamp
 * (integer seconds) followed by the 20 fields of an `sflowtool -l` FLOW line,
 * plus per-agent CNTR lines (the 21 fields of sflowtool's CNTR line after the
 * timestamp, so 22 columns) and, on request, malformed lines. Used by tests,
 * benchmarks and the demo; a test's expected values are computed by a separate
 * script reading this output, so the same options and seed always give the
 * same bytes (no wall clock in the data unless --start is left to "now").
 *
 * Traffic model, chosen so aggregates look like a real edge:
 *  - sources: --sources distinct addresses, popularity Zipf-skewed (alias
 *    table, O(1) per draw); each source has its own packet-size profile and
 *    TTL. About 60% of them sit in networks that the MaxMind *test*
 *    databases map to a country (GB, SE, US, PH, BT; JP, KR, CN, TW, DE, SE,
 *    FR, RU, PL over IPv6 — see docs/TESTING-KAFKA.md), the rest in ranges
 *    that map to nothing (198.18.0.0/15, 2001:db8::/32).
 *  - destinations: 64 servers in networks of GeoLite2-ASN-Test (Google,
 *    Telstra, AT&T, Akamai, ...), Zipf popularity, each with a service port.
 *  - agents: 10.0.x.y, each with its own sampling rate; event time advances
 *    by 1/--rate seconds per ordinary record.
 *  - --burst-country: between --burst-at and +--burst-for seconds of event
 *    time, --burst-factor extra records per ordinary record come from that
 *    country's networks to one victim (UDP, large packets).
 *  - --disorder D: each timestamp is moved back by 0..D seconds, so records
 *    arrive out of order but never more than D behind the newest one.
 *
 * Output goes through one large buffer and write(2), no stdio per line.
 */
#include "common/hash.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- options ----------------------------------------------------------- */

struct gen_opts {
	uint64_t seed;
	uint64_t records;       /* total lines; 0 = endless */
	double rate;            /* ordinary records per second of event time */
	int realtime;
	int64_t start;
	uint32_t agents;
	uint32_t sources;
	double zipf_s;
	const char *burst_cc;
	double burst_at, burst_for, burst_factor;
	int burst_at_set, burst_for_set;
	uint32_t disorder;
	double ipv6_share;
	double junk;
	uint32_t counter_interval; /* seconds of event time; 0 = no CNTR lines */
};

/* ---- random numbers: splitmix64, counter based, fast and seedable ------- */

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return rf_mix64(r->s);
}

/* Uniform in [0, n), n < 2^32, by multiply-shift (bias < 2^-32, irrelevant). */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- Zipf sampling via Vose's alias method ----------------------------- */

struct alias_table {
	uint32_t n;
	uint32_t *alias;
	uint32_t *threshold; /* probability scaled to 2^32 - 1 */
};

static void alias_free(struct alias_table *t)
{
	free(t->alias);
	free(t->threshold);
	t->alias = t->threshold = NULL;
}

/* Weights 1/(k+1)^s for k in [0,n). Returns 0 or -1 on allocation failure. */
static int alias_build_zipf(struct alias_table *t, uint32_t n, double s)
{
	double *p = malloc(sizeof *p * n);
	uint32_t *small = malloc(sizeof *small * n), *large = malloc(sizeof *large * n);
	t->n = n;
	t->alias = malloc(sizeof *t->alias * n);
	t->threshold = malloc(sizeof *t->threshold * n);
	int rc = -1;
	if (!p || !small || !large || !t->alias || !t->threshold)
		goto out;
	double sum = 0;
	for (uint32_t k = 0; k < n; k++)
		sum += p[k] = 1.0 / pow((double)k + 1.0, s);
	uint32_t ns = 0, nl = 0;
	for (uint32_t k = 0; k < n; k++) {
		p[k] = p[k] * n / sum;
		if (p[k] < 1.0)
			small[ns++] = k;
		else
			large[nl++] = k;
	}
	while (ns && nl) {
		uint32_t a = small[--ns], b = large[nl - 1];
		t->threshold[a] = (uint32_t)(p[a] * 4294967295.0);
		t->alias[a] = b;
		p[b] -= 1.0 - p[a];
		if (p[b] < 1.0) {
			nl--;
			small[ns++] = b;
		}
	}
	/* Leftovers are 1.0 up to rounding. */
	while (nl) {
		uint32_t b = large[--nl];
		t->threshold[b] = UINT32_MAX;
		t->alias[b] = b;
	}
	while (ns) {
		uint32_t a = small[--ns];
		t->threshold[a] = UINT32_MAX;
		t->alias[a] = a;
	}
	rc = 0;
out:
	free(p);
	free(small);
	free(large);
	if (rc < 0)
		alias_free(t);
	return rc;
}

static inline uint32_t alias_draw(const struct alias_table *t, struct rng *r)
{
	uint64_t x = rng_next(r);
	uint32_t k = (uint32_t)(((x >> 32) * (uint64_t)t->n) >> 32);
	return (uint32_t)x <= t->threshold[k] ? k : t->alias[k];
}

/* ---- addresses --------------------------------------------------------- */

struct ip {
	uint8_t v6;
	uint8_t b[16]; /* v4 in b[0..3], network order */
};

struct net {
	const char *cc;   /* country the MaxMind test DBs give, "" = none */
	uint8_t v6;
	uint8_t b[16];    /* base address */
	uint8_t bits;     /* prefix length */
};

#define V4(a, b, c, d) { a, b, c, d }
#define V6(a, b, c, d) { (a) >> 8, (a) & 0xff, (b) >> 8, (b) & 0xff, (c) >> 8, (c) & 0xff, (d) >> 8, (d) & 0xff }

/*
 * Networks that GeoLite2-Country-Test, GeoLite2-City-Test, GeoIP2-Country-Test
 * and GeoIP2-City-Test all map to the same country (checked with
 * libmaxminddb against /work/shared/data/mmdb/test-data). Ranges that only
 * some of them know (CN 175.16.199.0/24, US 214.78.0.0/19) are left out so
 * the demo gives the same answer whichever database it is pointed at.
 */
static const struct net geo_nets[] = {
	{ "GB", 0, V4(81, 2, 69, 160), 27 },
	{ "GB", 0, V4(81, 2, 69, 144), 28 },
	{ "GB", 0, V4(81, 2, 69, 192), 28 },
	{ "GB", 0, V4(2, 125, 160, 216), 29 },
	{ "SE", 0, V4(89, 160, 20, 128), 25 },
	{ "SE", 0, V4(89, 160, 20, 112), 28 },
	{ "US", 0, V4(216, 160, 83, 56), 29 },
	{ "PH", 0, V4(202, 196, 224, 0), 20 },
	{ "BT", 0, V4(67, 43, 156, 0), 24 },
	{ "JP", 1, V6(0x2001, 0x0218, 0, 0), 32 },
	{ "JP", 1, V6(0x2001, 0x0240, 0, 0), 32 },
	{ "KR", 1, V6(0x2001, 0x0220, 0, 0), 32 },
	{ "KR", 1, V6(0x2001, 0x0230, 0, 0), 32 },
	{ "CN", 1, V6(0x2001, 0x0250, 0, 0), 31 },
	{ "CN", 1, V6(0x2001, 0x0252, 0, 0), 32 },
	{ "TW", 1, V6(0x2001, 0x0238, 0, 0), 32 },
	{ "DE", 1, V6(0x2a02, 0xd180, 0, 0), 29 },
	{ "SE", 1, V6(0x2a02, 0xd040, 0, 0), 29 },
	{ "FR", 1, V6(0x2a02, 0xcfc0, 0, 0), 29 },
	{ "RU", 1, V6(0x2a02, 0xd0c0, 0, 0), 29 },
	{ "PL", 1, V6(0x2a02, 0xd100, 0, 0), 29 },
};
#define N_GEO_NETS (sizeof geo_nets / sizeof geo_nets[0])

/* Unmapped space: benchmark range and the IPv6 documentation prefix. */
static const struct net other_v4 = { "", 0, V4(198, 18, 0, 0), 15 };
static const struct net other_v6 = { "", 1, V6(0x2001, 0x0db8, 0, 0), 32 };

/* Destinations: networks of GeoLite2-ASN-Test (ASN in the comment). */
static const struct net asn_v4[] = {
	{ "", 0, V4(1, 0, 0, 0), 24 },      /* 15169 Google */
	{ "", 0, V4(1, 128, 0, 0), 11 },    /* 1221 Telstra */
	{ "", 0, V4(12, 81, 96, 0), 19 },   /* 7018 AT&T */
	{ "", 0, V4(18, 0, 0, 0), 8 },      /* 3 MIT */
	{ "", 0, V4(23, 32, 0, 0), 11 },    /* 35994 Akamai */
	{ "", 0, V4(38, 0, 0, 0), 10 },     /* 174 Cogent */
	{ "", 0, V4(31, 224, 0, 0), 11 },   /* 3320 Deutsche Telekom */
	{ "", 0, V4(27, 192, 0, 0), 11 },   /* 4837 China169 */
	{ "", 0, V4(35, 0, 0, 0), 9 },      /* 237 Merit */
	{ "", 0, V4(15, 0, 0, 0), 8 },      /* 71 HP */
};
static const struct net asn_v6[] = {
	{ "", 1, V6(0x2001, 0x2000, 0, 0), 20 }, /* 1299 Telia */
	{ "", 1, V6(0x2003, 0, 0, 0), 19 },      /* 3320 Deutsche Telekom */
	{ "", 1, V6(0x2400, 0, 0, 0), 20 },      /* 4766 Korea Telecom */
	{ "", 1, V6(0x2001, 0x4600, 0, 0), 24 }, /* 2119 Telenor */
};

/* Host number h inside net (wraps within the prefix for v4; v6 uses the
 * low 64 bits, which every prefix here leaves free). */
static void net_host(const struct net *n, uint64_t h, struct ip *out)
{
	memcpy(out->b, n->b, 16);
	out->v6 = n->v6;
	if (!n->v6) {
		uint32_t base = (uint32_t)n->b[0] << 24 | (uint32_t)n->b[1] << 16 |
				(uint32_t)n->b[2] << 8 | n->b[3];
		uint32_t size = n->bits >= 32 ? 1u : 1u << (32 - n->bits);
		uint32_t a = base + (uint32_t)(h % size);
		out->b[0] = (uint8_t)(a >> 24);
		out->b[1] = (uint8_t)(a >> 16);
		out->b[2] = (uint8_t)(a >> 8);
		out->b[3] = (uint8_t)a;
	} else {
		for (int i = 0; i < 8; i++)
			out->b[15 - i] = (uint8_t)(h >> (8 * i));
	}
}

static uint64_t net_size_v4(const struct net *n)
{
	return (uint64_t)1 << (32 - n->bits);
}

/* ---- the model --------------------------------------------------------- */

struct source {
	struct ip ip;
	uint8_t ttl;
	uint8_t bulk_pct;  /* share of large packets, percent */
	uint16_t in_if;
	uint16_t in_vlan;
};

struct dest {
	struct ip ip;
	uint8_t proto;
	uint16_t port;
	uint16_t out_if;
};

struct agent {
	uint32_t ip;
	uint32_t sampling;
	uint64_t in_octets, in_pkts, out_octets, out_pkts;
};

#define N_DESTS 64

struct model {
	struct source *src4, *src6;
	uint32_t n4, n6;
	struct alias_table z4, z6;
	struct dest dst4[N_DESTS], dst6[N_DESTS];
	struct alias_table zd;
	struct agent *agents;
	const struct net *burst_nets[N_GEO_NETS];
	uint32_t n_burst_nets;
};

static void source_init(struct source *s, struct rng *r)
{
	static const uint8_t ttl_base[] = { 64, 128, 255 };
	static const uint16_t vlans[] = { 0, 100, 200, 514 };
	s->ttl = (uint8_t)(ttl_base[rng_below(r, 3)] - 1 - rng_below(r, 20));
	/* A few heavy bulk senders, many interactive ones. */
	s->bulk_pct = (uint8_t)(rng_below(r, 4) == 0 ? 60 + rng_below(r, 35) : 5 + rng_below(r, 40));
	s->in_if = (uint16_t)(1 + rng_below(r, 48));
	s->in_vlan = vlans[rng_below(r, 4)];
}

static void shuffle_sources(struct source *s, uint32_t n, struct rng *r)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rng_below(r, i);
		struct source t = s[i - 1];
		s[i - 1] = s[j];
		s[j] = t;
	}
}

/* Distinct v4 sources: 3 in 5 from the country networks (while their
 * addresses last), the rest from 198.18.0.0/15. */
static void build_v4_sources(struct model *m, struct rng *r)
{
	uint64_t next_host[N_GEO_NETS] = { 0 };
	uint64_t other = 1;
	uint32_t net_rr = 0;
	for (uint32_t j = 0; j < m->n4; j++) {
		struct source *s = &m->src4[j];
		int placed = 0;
		if (j % 5 < 3) {
			for (uint32_t tries = 0; tries < N_GEO_NETS && !placed; tries++) {
				uint32_t k = net_rr++ % N_GEO_NETS;
				if (geo_nets[k].v6 || next_host[k] >= net_size_v4(&geo_nets[k]))
					continue;
				net_host(&geo_nets[k], next_host[k]++, &s->ip);
				placed = 1;
			}
		}
		if (!placed)
			net_host(&other_v4, other++, &s->ip);
		source_init(s, r);
	}
	shuffle_sources(m->src4, m->n4, r);
}

static void build_v6_sources(struct model *m, struct rng *r)
{
	uint32_t v6nets[N_GEO_NETS], nv6 = 0;
	for (uint32_t k = 0; k < N_GEO_NETS; k++)
		if (geo_nets[k].v6)
			v6nets[nv6++] = k;
	for (uint32_t j = 0; j < m->n6; j++) {
		struct source *s = &m->src6[j];
		/* Host part: index in the high half keeps addresses distinct, random
		 * low half makes them look like SLAAC addresses. */
		uint64_t host = (uint64_t)(j + 1) << 32 | rng_below(r, UINT32_MAX);
		if (j % 5 < 3)
			net_host(&geo_nets[v6nets[j % nv6]], host, &s->ip);
		else
			net_host(&other_v6, host, &s->ip);
		source_init(s, r);
	}
	shuffle_sources(m->src6, m->n6, r);
}

static void build_dests(struct model *m, struct rng *r)
{
	static const struct { uint8_t proto; uint16_t port; } svc[] = {
		{ 6, 443 }, { 6, 443 }, { 6, 443 }, { 6, 80 }, { 17, 53 }, { 17, 443 },
		{ 6, 22 }, { 17, 123 }, { 6, 9092 }, { 6, 25 }, { 1, 0 }, { 6, 3306 },
	};
	const uint32_t nsvc = sizeof svc / sizeof svc[0];
	for (uint32_t j = 0; j < N_DESTS; j++) {
		struct dest *d4 = &m->dst4[j], *d6 = &m->dst6[j];
		net_host(&asn_v4[j % (sizeof asn_v4 / sizeof asn_v4[0])], 1 + rng_below(r, 1u << 20), &d4->ip);
		net_host(&asn_v6[j % (sizeof asn_v6 / sizeof asn_v6[0])], 1 + rng_next(r) % 65535, &d6->ip);
		uint32_t k = rng_below(r, nsvc);
		d4->proto = d6->proto = svc[k].proto;
		d4->port = d6->port = svc[k].port;
		d4->out_if = d6->out_if = (uint16_t)(1 + rng_below(r, 48));
	}
}

static int model_build(struct model *m, const struct gen_opts *o, struct rng *r, char *err, size_t errlen)
{
	static const uint32_t rates[] = { 1000, 2000, 4096, 512, 16384 };
	memset(m, 0, sizeof *m);
	m->n6 = (uint32_t)llround(o->sources * o->ipv6_share);
	if (o->ipv6_share > 0 && m->n6 == 0)
		m->n6 = 1;
	m->n4 = o->sources - m->n6;
	if (o->ipv6_share < 1 && m->n4 == 0) {
		m->n4 = 1;
		m->n6 = o->sources > 1 ? o->sources - 1 : 0;
	}
	m->src4 = calloc(m->n4 ? m->n4 : 1, sizeof *m->src4);
	m->src6 = calloc(m->n6 ? m->n6 : 1, sizeof *m->src6);
	m->agents = calloc(o->agents, sizeof *m->agents);
	if (!m->src4 || !m->src6 || !m->agents)
		goto nomem;
	if (m->n4 && alias_build_zipf(&m->z4, m->n4, o->zipf_s) < 0)
		goto nomem;
	if (m->n6 && alias_build_zipf(&m->z6, m->n6, o->zipf_s) < 0)
		goto nomem;
	if (alias_build_zipf(&m->zd, N_DESTS, o->zipf_s) < 0)
		goto nomem;
	build_v4_sources(m, r);
	build_v6_sources(m, r);
	build_dests(m, r);
	for (uint32_t a = 0; a < o->agents; a++) {
		m->agents[a].ip = 10u << 24 | (a / 250) << 8 | (a % 250 + 1);
		m->agents[a].sampling = rates[a % (sizeof rates / sizeof rates[0])];
	}
	if (o->burst_cc) {
		/* Prefer IPv4 networks for the burst; fall back to IPv6 for countries
		 * the test databases only know over IPv6 (JP, CN, ...). */
		for (int want6 = 0; want6 <= 1 && !m->n_burst_nets; want6++)
			for (uint32_t k = 0; k < N_GEO_NETS; k++)
				if (geo_nets[k].v6 == want6 && strcmp(geo_nets[k].cc, o->burst_cc) == 0)
					m->burst_nets[m->n_burst_nets++] = &geo_nets[k];
		if (!m->n_burst_nets) {
			int n = snprintf(err, errlen, "--burst-country %s: no test network; known:", o->burst_cc);
			for (uint32_t k = 0; k < N_GEO_NETS && n > 0 && (size_t)n < errlen; k++)
				if (k == 0 || strcmp(geo_nets[k].cc, geo_nets[k - 1].cc) != 0)
					n += snprintf(err + n, errlen - (size_t)n, " %s", geo_nets[k].cc);
			return -1;
		}
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for %u sources", o->sources);
	return -1;
}

static void model_free(struct model *m)
{
	free(m->src4);
	free(m->src6);
	free(m->agents);
	alias_free(&m->z4);
	alias_free(&m->z6);
	alias_free(&m->zd);
}

/* ---- output ------------------------------------------------------------ */

#define OUT_CAP (1u << 20)
#define LINE_MAX_LEN 8192 /* longest line we ever write (junk included) */

struct out {
	char *buf;
	size_t len;
	int failed;
};

static void out_flush(struct out *o)
{
	size_t off = 0;
	while (off < o->len && !o->failed) {
		ssize_t n = write(STDOUT_FILENO, o->buf + off, o->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "gen-sflow: write(stdout): %s\n", strerror(errno));
			o->failed = 1;
			break;
		}
		off += (size_t)n;
	}
	o->len = 0;
}

/* Every line is built in place; make room for the longest one first. */
static inline char *out_reserve(struct out *o)
{
	if (OUT_CAP - o->len < LINE_MAX_LEN)
		out_flush(o);
	return o->buf + o->len;
}

static const char hexd[] = "0123456789abcdef";

static inline char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static inline char *put_hex_fixed(char *p, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		*p++ = hexd[(v >> (4 * i)) & 0xf];
	return p;
}

static inline char *put_ip(char *p, const struct ip *ip)
{
	if (!ip->v6) {
		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = put_u64(p, ip->b[i]);
		}
		return p;
	}
	/* sflowtool prints eight zero-padded groups. */
	for (int i = 0; i < 8; i++) {
		if (i)
			*p++ = ':';
		p = put_hex_fixed(p, (uint64_t)ip->b[2 * i] << 8 | ip->b[2 * i + 1], 4);
	}
	return p;
}

static inline char *put_v4(char *p, uint32_t a)
{
	struct ip ip = { 0, { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a } };
	return put_ip(p, &ip);
}

#define PUT_LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

/* ---- records ----------------------------------------------------------- */

struct flow {
	int64_t ts;
	struct agent *agent;
	struct ip src, dst;
	uint32_t in_if, out_if, in_vlan, out_vlan;
	uint32_t proto, tos, ttl, sport, dport, tcp_flags, pkt;
};

static char *put_flow(char *p, const struct flow *f)
{
	uint64_t amac = rf_mix64(f->agent->ip);
	p = put_u64(p, (uint64_t)f->ts);
	p = PUT_LIT(p, ",FLOW,");
	p = put_v4(p, f->agent->ip);
	*p++ = ',';
	p = put_u64(p, f->in_if);
	*p++ = ',';
	p = put_u64(p, f->out_if);
	/* Router interface MACs: two real OUIs seen in the sample captures. */
	p = PUT_LIT(p, ",b8ca3a");
	p = put_hex_fixed(p, (amac + f->in_if) & 0xffffff, 6);
	p = PUT_LIT(p, ",3c8ab0");
	p = put_hex_fixed(p, (amac >> 24) + f->out_if, 6);
	p = f->src.v6 ? PUT_LIT(p, ",0x86dd,") : PUT_LIT(p, ",0x0800,");
	p = put_u64(p, f->in_vlan);
	*p++ = ',';
	p = put_u64(p, f->out_vlan);
	*p++ = ',';
	p = put_ip(p, &f->src);
	*p++ = ',';
	p = put_ip(p, &f->dst);
	*p++ = ',';
	p = put_u64(p, f->proto);
	p = PUT_LIT(p, ",0x");
	p = put_hex_fixed(p, f->tos, 2);
	*p++ = ',';
	p = put_u64(p, f->ttl);
	*p++ = ',';
	p = put_u64(p, f->sport);
	*p++ = ',';
	p = put_u64(p, f->dport);
	p = PUT_LIT(p, ",0x");
	p = put_hex_fixed(p, f->tcp_flags, 2);
	*p++ = ',';
	p = put_u64(p, f->pkt);
	*p++ = ',';
	p = put_u64(p, f->pkt - 18); /* ip_size: frame minus Ethernet+802.1Q header */
	*p++ = ',';
	p = put_u64(p, f->agent->sampling);
	*p++ = '\n';
	return p;
}

static uint32_t packet_size(struct rng *r, uint32_t bulk_pct)
{
	uint32_t x = rng_below(r, 100);
	if (x < bulk_pct)
		return 1400 + rng_below(r, 119);  /* 1400..1518 */
	if (x < bulk_pct + (100 - bulk_pct) / 4)
		return 200 + rng_below(r, 1000);  /* mid-sized */
	return 64 + rng_below(r, 100);            /* ACKs, DNS, ... */
}

static void fill_ports(struct flow *f, struct rng *r, uint32_t proto, uint32_t port)
{
	f->proto = proto;
	if (proto == 1 || proto == 58) {
		/* sflowtool puts ICMP type and code in the port columns. */
		f->sport = 8;
		f->dport = 0;
		f->tcp_flags = 0;
		return;
	}
	f->sport = 32768 + rng_below(r, 28232);
	f->dport = port;
	if (proto == 6) {
		static const uint8_t flags[] = { 0x10, 0x10, 0x10, 0x18, 0x18, 0x02, 0x11, 0x12 };
		f->tcp_flags = flags[rng_below(r, sizeof flags)];
	} else {
		f->tcp_flags = 0;
	}
}

static void make_ordinary(struct model *m, const struct gen_opts *o, struct rng *r, struct flow *f)
{
	int v6 = m->n6 && (m->n4 == 0 || rng_unit(r) < o->ipv6_share);
	const struct source *s = v6 ? &m->src6[alias_draw(&m->z6, r)] : &m->src4[alias_draw(&m->z4, r)];
	uint32_t dk = alias_draw(&m->zd, r);
	const struct dest *d = v6 ? &m->dst6[dk] : &m->dst4[dk];
	f->agent = &m->agents[rng_below(r, o->agents)];
	f->src = s->ip;
	f->dst = d->ip;
	f->in_if = s->in_if;
	f->out_if = d->out_if;
	f->in_vlan = s->in_vlan;
	f->out_vlan = 0;
	fill_ports(f, r, v6 && d->proto == 1 ? 58 : d->proto, d->port);
	uint32_t t = rng_below(r, 100);
	f->tos = t < 90 ? 0x00 : t < 97 ? 0x10 : 0xb8;
	f->ttl = s->ttl;
	f->pkt = d->proto == 1 ? 98 : packet_size(r, s->bulk_pct);
}

/* Burst: many hosts of one country flooding destination 0 with UDP. */
static void make_burst(struct model *m, const struct gen_opts *o, struct rng *r, struct flow *f)
{
	static const uint16_t amp_ports[] = { 53, 123, 19, 1900, 11211 };
	const struct net *n = m->burst_nets[rng_below(r, m->n_burst_nets)];
	net_host(n, n->v6 ? rng_next(r) : rng_below(r, UINT32_MAX), &f->src);
	f->dst = n->v6 ? m->dst6[0].ip : m->dst4[0].ip;
	f->agent = &m->agents[rng_below(r, o->agents)];
	f->in_if = 1;
	f->out_if = m->dst4[0].out_if;
	f->in_vlan = 0;
	f->out_vlan = 0;
	f->proto = 17;
	f->sport = amp_ports[rng_below(r, sizeof amp_ports / sizeof amp_ports[0])];
	f->dport = 1024 + rng_below(r, 64511);
	f->tcp_flags = 0;
	f->tos = 0;
	f->ttl = 40 + rng_below(r, 20);
	f->pkt = 1200 + rng_below(r, 319);
}

static void account(struct agent *a, const struct flow *f)
{
	uint64_t scaled = (uint64_t)f->pkt * a->sampling;
	a->in_octets += scaled;
	a->in_pkts += a->sampling;
	a->out_octets += scaled - scaled / 8;
	a->out_pkts += a->sampling - a->sampling / 8;
}

/* sflowtool's CNTR line: agent, ifIndex, ifType, ifSpeed, ifDirection,
 * ifStatus, 7 input counters, 6 output counters, ifPromiscuousMode. */
static char *put_cntr(char *p, int64_t ts, const struct agent *a)
{
	p = put_u64(p, (uint64_t)ts);
	p = PUT_LIT(p, ",CNTR,");
	p = put_v4(p, a->ip);
	p = PUT_LIT(p, ",1,6,10000000000,1,3,");
	p = put_u64(p, a->in_octets);
	*p++ = ',';
	p = put_u64(p, a->in_pkts);
	*p++ = ',';
	p = put_u64(p, a->in_pkts / 97);      /* multicast */
	*p++ = ',';
	p = put_u64(p, a->in_pkts / 1013);    /* broadcast */
	p = PUT_LIT(p, ",0,0,0,");
	p = put_u64(p, a->out_octets);
	*p++ = ',';
	p = put_u64(p, a->out_pkts);
	*p++ = ',';
	p = put_u64(p, a->out_pkts / 89);
	*p++ = ',';
	p = put_u64(p, a->out_pkts / 977);
	p = PUT_LIT(p, ",0,0,0\n");
	return p;
}

enum junk_kind {
	JUNK_TRUNCATED = 0,
	JUNK_EXTRA_COLUMN,
	JUNK_BAD_INT,
	JUNK_BAD_IP,
	JUNK_EMPTY,
	JUNK_GARBAGE,
	JUNK_HUGE_NUMBER,
	JUNK_LONG_LINE,
	JUNK_KIND_COUNT
};

/* A malformed line built from a valid one, so it looks like real damage. */
static char *put_junk(char *p, struct rng *r, const struct flow *f)
{
	char *start = p;
	enum junk_kind k = (enum junk_kind)rng_below(r, JUNK_KIND_COUNT);
	struct flow g = *f;
	switch (k) {
	case JUNK_TRUNCATED: {
		/* Cut at or before the last comma so at least one column is lost:
		 * cutting digits off the last number would still be a valid line. */
		char *end = put_flow(p, f);
		char *last_comma = end - 1;
		while (*last_comma != ',')
			last_comma--;
		p += 1 + rng_below(r, (uint32_t)(last_comma - p));
		*p++ = '\n';
		return p;
	}
	case JUNK_EXTRA_COLUMN:
		p = put_flow(p, f) - 1;
		return PUT_LIT(p, ",extra\n");
	case JUNK_BAD_INT:
		p = put_flow(p, f);
		/* packet_size column: replace its first digit with a letter. Layout
		 * from the end: ",pkt,ip_size,sampling\n". */
		{
			char *q = p - 2;
			int commas = 0;
			while (q > start && commas < 3)
				if (*q-- == ',')
					commas++;
			q[2] = 'x';
		}
		return p;
	case JUNK_BAD_IP:
		g.src.v6 = 0;
		g.src.b[0] = 0;
		p = put_flow(p, &g);
		/* "0.a.b.c" -> "300.a.b.c": out of range octet in srcIP. */
		{
			char *q = start;
			int commas = 0;
			while (commas < 10)
				if (*q++ == ',')
					commas++;
			memmove(q + 2, q, (size_t)(p - q));
			memcpy(q, "30", 2);
			p += 2;
		}
		return p;
	case JUNK_EMPTY:
		*p++ = '\n';
		return p;
	case JUNK_GARBAGE: {
		uint32_t n = 1 + rng_below(r, 200);
		for (uint32_t i = 0; i < n; i++)
			*p++ = (char)(' ' + 1 + rng_below(r, 94)); /* printable, no space */
		*p++ = '\n';
		return p;
	}
	case JUNK_HUGE_NUMBER:
		g.pkt = 0;
		p = put_flow(p, &g);
		/* Turn the "0" packet_size into a 20-digit overflow; same as BAD_INT
		 * for finding the column. The ip_size column, 0-18 wrapped, is also
		 * out of range, which is fine: it is junk. */
		{
			char *q = p - 2;
			int commas = 0;
			while (q > start && commas < 3)
				if (*q-- == ',')
					commas++;
			q += 2; /* at the '0' of packet_size */
			memmove(q + 19, q, (size_t)(p - q));
			memcpy(q, "9999999999999999999", 19);
			p += 19;
		}
		return p;
	case JUNK_LONG_LINE: {
		p = put_flow(p, f) - 1;
		uint32_t n = 4000 + rng_below(r, 3000);
		memset(p, 'A', n);
		p += n;
		*p++ = '\n';
		return p;
	}
	case JUNK_KIND_COUNT:
		break;
	}
	*p++ = '\n';
	return p;
}

/* ---- main loop --------------------------------------------------------- */

static void pace(const struct gen_opts *o, struct out *out, int64_t wall0_ns, uint64_t ordinary)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	int64_t due = wall0_ns + (int64_t)((double)ordinary / o->rate * 1e9);
	if (due <= now)
		return;
	/* About to wait: what is buffered must be visible to the reader now. */
	out_flush(out);
	struct timespec d = { (time_t)(due / 1000000000LL), (long)(due % 1000000000LL) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR)
		;
}

static int generate(const struct gen_opts *o, struct model *m, struct rng *r)
{
	struct out out = { malloc(OUT_CAP), 0, 0 };
	if (!out.buf) {
		fprintf(stderr, "gen-sflow: out of memory\n");
		return 1;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t wall0 = (int64_t)t0.tv_sec * 1000000000LL + t0.tv_nsec;
	int64_t burst_lo = o->start + (int64_t)o->burst_at;
	int64_t burst_hi = burst_lo + (int64_t)ceil(o->burst_for);
	int64_t next_cntr = o->counter_interval ? o->start + o->counter_interval : INT64_MAX;
	uint64_t lines = 0, ordinary = 0;
	double burst_credit = 0;

	while ((o->records == 0 || lines < o->records) && !out.failed) {
		if (o->realtime)
			pace(o, &out, wall0, ordinary);
		int64_t base = o->start + (int64_t)((double)ordinary / o->rate);
		ordinary++;

		if (base >= next_cntr) {
			for (uint32_t a = 0; a < o->agents && (o->records == 0 || lines < o->records); a++) {
				char *p = out_reserve(&out);
				out.len += (size_t)(put_cntr(p, next_cntr, &m->agents[a]) - p);
				lines++;
			}
			next_cntr += o->counter_interval;
			continue; /* the ordinary record slot is used by the counters */
		}

		int in_burst = m->n_burst_nets && base >= burst_lo && base < burst_hi;
		uint32_t extra = 0;
		if (in_burst) {
			burst_credit += o->burst_factor;
			extra = (uint32_t)burst_credit;
			burst_credit -= extra;
		}
		for (uint32_t i = 0; i <= extra && (o->records == 0 || lines < o->records); i++) {
			struct flow f;
			if (i == 0)
				make_ordinary(m, o, r, &f);
			else
				make_burst(m, o, r, &f);
			f.ts = base - (o->disorder ? (int64_t)rng_below(r, o->disorder + 1) : 0);
			account(f.agent, &f);
			char *p = out_reserve(&out);
			if (o->junk > 0 && rng_unit(r) < o->junk)
				out.len += (size_t)(put_junk(p, r, &f) - p);
			else
				out.len += (size_t)(put_flow(p, &f) - p);
			lines++;
		}
	}
	out_flush(&out);
	int failed = out.failed;
	free(out.buf);
	return failed ? 1 : 0;
}

/* ---- command line ------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen-sflow [options] > flows.csv\n"
		"  --seed N            PRNG seed (default 1); same seed+options = same output\n"
		"  --records N         lines to write, all kinds (default 0 = endless)\n"
		"  --rate N            ordinary records per second of event time (default 1000)\n"
		"  --realtime          pace output in wall time at --rate\n"
		"  --start UNIX_TS     event time of the first record (default now)\n"
		"  --agents N          sFlow agents 10.0.x.y (default 4)\n"
		"  --sources N         distinct source IPs, Zipf popularity (default 1000)\n"
		"  --zipf S            Zipf exponent (default 1.1)\n"
		"  --ipv6-share F      share of IPv6 sources and records (default 0.1)\n"
		"  --burst-country CC  add a burst from country CC (GB SE US PH BT JP KR CN TW DE FR RU PL)\n"
		"  --burst-at S        burst start, seconds after --start (default: middle of the run)\n"
		"  --burst-for S       burst length in seconds (default: a tenth of the run)\n"
		"  --burst-factor F    extra burst records per ordinary record (default 4)\n"
		"  --disorder S        move timestamps back by 0..S seconds (default 0)\n"
		"  --junk F            share of malformed lines (default 0)\n"
		"  --counters S        CNTR line per agent every S seconds of event time (default 30, 0 = none)\n");
}

static int parse_num(const char *name, const char *s, double lo, double hi, double *out,
		     char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) {
		snprintf(err, errlen, "--%s '%s': expected a number in [%g, %g]", name, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct gen_opts *o, char *err, size_t errlen)
{
	enum { O_SEED = 1, O_RECORDS, O_RATE, O_REALTIME, O_START, O_AGENTS, O_SOURCES, O_ZIPF,
	       O_V6, O_BCC, O_BAT, O_BFOR, O_BFAC, O_DISORDER, O_JUNK, O_CNTR, O_HELP };
	static const struct option lopts[] = {
		{ "seed", required_argument, NULL, O_SEED },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "realtime", no_argument, NULL, O_REALTIME },
		{ "start", required_argument, NULL, O_START },
		{ "agents", required_argument, NULL, O_AGENTS },
		{ "sources", required_argument, NULL, O_SOURCES },
		{ "zipf", required_argument, NULL, O_ZIPF },
		{ "ipv6-share", required_argument, NULL, O_V6 },
		{ "burst-country", required_argument, NULL, O_BCC },
		{ "burst-at", required_argument, NULL, O_BAT },
		{ "burst-for", required_argument, NULL, O_BFOR },
		{ "burst-factor", required_argument, NULL, O_BFAC },
		{ "disorder", required_argument, NULL, O_DISORDER },
		{ "junk", required_argument, NULL, O_JUNK },
		{ "counters", required_argument, NULL, O_CNTR },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof *o);
	o->seed = 1;
	o->rate = 1000;
	o->start = (int64_t)time(NULL);
	o->agents = 4;
	o->sources = 1000;
	o->zipf_s = 1.1;
	o->ipv6_share = 0.1;
	o->burst_factor = 4;
	o->counter_interval = 30;
	int c;
	double v;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		const char *name = c > 0 && c <= O_HELP ? lopts[c - 1].name : "?";
		int rc = 0;
		switch (c) {
		case O_SEED: {
			char *end;
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end) {
				snprintf(err, errlen, "--seed '%s': expected an integer", optarg);
				return -1;
			}
			break;
		}
		case O_RECORDS: rc = parse_num(name, optarg, 0, 1e15, &v, err, errlen); o->records = (uint64_t)v; break;
		case O_RATE: rc = parse_num(name, optarg, 1e-3, 1e9, &o->rate, err, errlen); break;
		case O_REALTIME: o->realtime = 1; break;
		case O_START: rc = parse_num(name, optarg, 0, 1e11, &v, err, errlen); o->start = (int64_t)v; break;
		case O_AGENTS: rc = parse_num(name, optarg, 1, 60000, &v, err, errlen); o->agents = (uint32_t)v; break;
		case O_SOURCES: rc = parse_num(name, optarg, 1, 50e6, &v, err, errlen); o->sources = (uint32_t)v; break;
		case O_ZIPF: rc = parse_num(name, optarg, 0, 10, &o->zipf_s, err, errlen); break;
		case O_V6: rc = parse_num(name, optarg, 0, 1, &o->ipv6_share, err, errlen); break;
		case O_BCC: o->burst_cc = optarg; break;
		case O_BAT: rc = parse_num(name, optarg, 0, 1e9, &o->burst_at, err, errlen); o->burst_at_set = 1; break;
		case O_BFOR: rc = parse_num(name, optarg, 0, 1e9, &o->burst_for, err, errlen); o->burst_for_set = 1; break;
		case O_BFAC: rc = parse_num(name, optarg, 0, 1000, &o->burst_factor, err, errlen); break;
		case O_DISORDER: rc = parse_num(name, optarg, 0, 86400, &v, err, errlen); o->disorder = (uint32_t)v; break;
		case O_JUNK: rc = parse_num(name, optarg, 0, 1, &o->junk, err, errlen); break;
		case O_CNTR: rc = parse_num(name, optarg, 0, 86400, &v, err, errlen); o->counter_interval = (uint32_t)v; break;
		case O_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			snprintf(err, errlen, "bad option (see --help)");
			return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	/* Defaults relative to the run: a bounded run has a known event span. */
	double span = o->records ? (double)o->records / o->rate : 600;
	if (!o->burst_at_set)
		o->burst_at = span / 2;
	if (!o->burst_for_set)
		o->burst_for = span / 10 < 1 ? 1 : span / 10;
	return 0;
}

int main(int argc, char **argv)
{
	struct gen_opts o;
	struct model m;
	char err[512];
	if (parse_args(argc, argv, &o, err, sizeof err) < 0) {
		fprintf(stderr, "gen-sflow: %s\n", err);
		return 2;
	}
	struct rng r = { o.seed * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL };
	if (model_build(&m, &o, &r, err, sizeof err) < 0) {
		fprintf(stderr, "gen-sflow: %s\n", err);
		model_free(&m);
		return 2;
	}
	int rc = generate(&o, &m, &r);
	model_free(&m);
	return rc;
}
