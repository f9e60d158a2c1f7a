/*
 * geoip.c — libmaxminddb lookups behind a per-process direct-mapped cache
 * (transform process; opened by xf_ctx_create after fork, and briefly by
 * xf_plan_compile to check the files for `ringflow -t`).
 *
 * Cache entries hold every needed answer of one address; string answers are
 * pointers into the database mapping, so an entry is a few words and a hit
 * costs one hash and one 16-byte compare. The cache is never invalidated:
 * databases only change by closing this handle and opening a new one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "transform/geoip.h"

enum { DB_COUNTRY = 0, DB_CITY, DB_ASN, DB_COUNT };
enum { ST_FOUND = 0, ST_UNKNOWN, ST_ERROR };

#define PATH_MAX_PARTS 16

/* 40 bytes, so the 64 Ki entries (2.5 MiB) stay mostly in L2/L3 cache:
 * strings are kept as offsets into their database mapping. */
struct geo_entry {
	uint8_t ip[16];
	uint32_t asn;
	uint32_t off[XF_GEO_ANSWER_COUNT - 1]; /* string answers, by str_slot() */
	uint16_t len[XF_GEO_ANSWER_COUNT - 1];
	uint8_t status;  /* 2 bits per answer: ST_* */
	uint8_t flags;   /* ENTRY_VALID | ENTRY_V4 */
};
_Static_assert(sizeof(struct geo_entry) == 40, "cache entry size");

#define ENTRY_VALID 1u
#define ENTRY_V4 2u

/* Slot of a string answer in off[]/len[]: country 0, city 1, as_org 2. */
static inline int str_slot(int a)
{
	return a == XF_GEO_AS_ORG ? 2 : a;
}

static inline int entry_status(const struct geo_entry *e, int a)
{
	return (e->status >> (2 * a)) & 3;
}

static inline void set_status(struct geo_entry *e, int a, int st)
{
	e->status = (uint8_t)((e->status & ~(3u << (2 * a))) | ((unsigned)st << (2 * a)));
}

struct xf_geoip {
	unsigned need;
	int is_open[DB_COUNT];
	MMDB_s db[DB_COUNT];
	char *path_buf[XF_GEO_ANSWER_COUNT];
	const char *path[XF_GEO_ANSWER_COUNT][PATH_MAX_PARTS + 1];
	struct geo_entry *cache;
};

static const int answer_db[XF_GEO_ANSWER_COUNT] = {
	[XF_GEO_COUNTRY] = DB_COUNTRY, [XF_GEO_CITY] = DB_CITY,
	[XF_GEO_ASN] = DB_ASN, [XF_GEO_AS_ORG] = DB_ASN,
};
static const char *const answer_names[XF_GEO_ANSWER_COUNT] = {
	"country", "city", "asn", "as_org"
};
static const char *const db_keys[DB_COUNT] = { "country", "city", "asn" };
/* MaxMind's layout, used when [geoip] *_path is not set. */
static const char *const default_paths[XF_GEO_ANSWER_COUNT] = {
	"country/iso_code", "city/names/en",
	"autonomous_system_number", "autonomous_system_organization"
};

const char *xf_geo_answer_name(enum xf_geo_answer a)
{
	return (unsigned)a < XF_GEO_ANSWER_COUNT ? answer_names[a] : "unknown";
}

const char *xf_geo_db_key(enum xf_geo_answer a)
{
	return (unsigned)a < XF_GEO_ANSWER_COUNT ? db_keys[answer_db[a]] : "unknown";
}

const char *xf_geo_db_path(const struct conf_geoip *g, enum xf_geo_answer a)
{
	if (g == NULL || (unsigned)a >= XF_GEO_ANSWER_COUNT)
		return NULL;
	switch (answer_db[a]) {
	case DB_COUNTRY: return g->country;
	case DB_CITY: return g->city;
	default: return g->asn;
	}
}

static const char *answer_path(const struct conf_geoip *g, int a)
{
	const char *p = a == XF_GEO_COUNTRY ? g->country_path : a == XF_GEO_CITY ? g->city_path :
			a == XF_GEO_ASN ? g->asn_path : g->as_org_path;
	return p != NULL ? p : default_paths[a];
}

/* "a/b/c" -> {"a","b","c",NULL} in a private copy. */
static int split_path(struct xf_geoip *geo, int a, const char *text, char *err, size_t errlen)
{
	char *buf = strdup(text);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	geo->path_buf[a] = buf;
	int n = 0;
	char *p = buf;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash != NULL)
			*slash = '\0';
		if (*p == '\0' || n == PATH_MAX_PARTS) {
			snprintf(err, errlen, "[geoip] %s_path: '%s' %s", answer_names[a], text,
				 *p == '\0' ? "has an empty component" : "has too many components");
			return -1;
		}
		geo->path[a][n++] = p;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	geo->path[a][n] = NULL;
	return 0;
}

void xf_geoip_close(struct xf_geoip *g)
{
	if (g == NULL)
		return;
	for (int d = 0; d < DB_COUNT; d++)
		if (g->is_open[d])
			MMDB_close(&g->db[d]);
	for (int a = 0; a < XF_GEO_ANSWER_COUNT; a++)
		free(g->path_buf[a]);
	free(g->cache);
	free(g);
}

struct xf_geoip *xf_geoip_open(const struct conf_geoip *g, unsigned need, char *err, size_t errlen)
{
	struct xf_geoip *geo = calloc(1, sizeof(*geo));
	if (geo == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	geo->need = need;
	for (int a = 0; a < XF_GEO_ANSWER_COUNT; a++) {
		if (!(need & XF_GEO_BIT(a)))
			continue;
		int d = answer_db[a];
		const char *file = xf_geo_db_path(g, (enum xf_geo_answer)a);
		if (file == NULL) {
			snprintf(err, errlen, "[geoip] %s: not set but %s() is used", db_keys[d], answer_names[a]);
			goto fail;
		}
		if (split_path(geo, a, answer_path(g, a), err, errlen) < 0)
			goto fail;
		if (geo->is_open[d])
			continue;
		errno = 0;
		int st = MMDB_open(file, MMDB_MODE_MMAP, &geo->db[d]);
		if (st != MMDB_SUCCESS) {
			int e = errno;
			if (st == MMDB_IO_ERROR && e != 0)
				snprintf(err, errlen, "[geoip] %s: cannot open '%s': %s: %s", db_keys[d], file,
					 MMDB_strerror(st), strerror(e));
			else
				snprintf(err, errlen, "[geoip] %s: cannot open '%s': %s", db_keys[d], file,
					 MMDB_strerror(st));
			goto fail;
		}
		geo->is_open[d] = 1;
	}
	if (need != 0) {
		geo->cache = calloc(XF_GEO_CACHE_ENTRIES, sizeof(*geo->cache));
		if (geo->cache == NULL) {
			snprintf(err, errlen, "out of memory for the GeoIP cache");
			goto fail;
		}
	}
	return geo;
fail:
	xf_geoip_close(geo);
	return NULL;
}

/* Fills the answers of one database into e. */
static void lookup_db(struct xf_geoip *g, int d, const struct sockaddr *sa, struct geo_entry *e)
{
	int mmdb_error = MMDB_SUCCESS;
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&g->db[d], sa, &mmdb_error);
	int base = ST_FOUND;
	if (mmdb_error != MMDB_SUCCESS)
		/* An IPv6 address in an IPv4-only database is simply not there. */
		base = mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ? ST_UNKNOWN : ST_ERROR;
	else if (!res.found_entry)
		base = ST_UNKNOWN;

	for (int a = 0; a < XF_GEO_ANSWER_COUNT; a++) {
		if (answer_db[a] != d || !(g->need & XF_GEO_BIT(a)))
			continue;
		set_status(e, a, base);
		if (base != ST_FOUND)
			continue;
		MMDB_entry_data_s data;
		int st = MMDB_aget_value(&res.entry, &data, g->path[a]);
		if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (st == MMDB_SUCCESS && !data.has_data)) {
			set_status(e, a, ST_UNKNOWN);
			continue;
		}
		if (st != MMDB_SUCCESS) {
			set_status(e, a, ST_ERROR);
			continue;
		}
		if (a == XF_GEO_ASN) {
			uint64_t v;
			switch (data.type) {
			case MMDB_DATA_TYPE_UINT16: v = data.uint16; break;
			case MMDB_DATA_TYPE_UINT32: v = data.uint32; break;
			case MMDB_DATA_TYPE_UINT64: v = data.uint64; break;
			case MMDB_DATA_TYPE_INT32: v = data.int32 < 0 ? UINT64_MAX : (uint64_t)data.int32; break;
			default: v = UINT64_MAX; break;
			}
			if (v > UINT32_MAX) {
				set_status(e, a, ST_ERROR); /* not an AS number: wrong path or data */
				continue;
			}
			e->asn = (uint32_t)v;
		} else {
			const char *base_p = (const char *)g->db[d].file_content;
			if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size > UINT16_MAX ||
			    data.utf8_string < base_p ||
			    (size_t)(data.utf8_string - base_p) + data.data_size > (size_t)g->db[d].file_size) {
				set_status(e, a, ST_ERROR);
				continue;
			}
			e->off[str_slot(a)] = (uint32_t)(data.utf8_string - base_p);
			e->len[str_slot(a)] = (uint16_t)data.data_size;
		}
	}
}

static void fill_entry(struct xf_geoip *g, const uint8_t ip[16], int is_v4, struct geo_entry *e)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	memset(&addr, 0, sizeof(addr));
	if (is_v4) {
		addr.in.sin_family = AF_INET;
		memcpy(&addr.in.sin_addr, ip + 12, 4);
	} else {
		addr.in6.sin6_family = AF_INET6;
		memcpy(&addr.in6.sin6_addr, ip, 16);
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->ip, ip, 16);
	for (int a = 0; a < XF_GEO_ANSWER_COUNT; a++)
		set_status(e, a, ST_UNKNOWN);
	for (int d = 0; d < DB_COUNT; d++)
		if (g->is_open[d])
			lookup_db(g, d, &addr.sa, e);
	e->flags = (uint8_t)(ENTRY_VALID | (is_v4 ? ENTRY_V4 : 0));
}

void xf_geoip_lookup(struct xf_geoip *g, const uint8_t ip[16], int is_v4,
		enum xf_geo_answer a, struct rf_value *out, struct xf_counters *cnt)
{
	struct geo_entry *e = NULL;
	if ((unsigned)a < XF_GEO_ANSWER_COUNT && (g->need & XF_GEO_BIT(a))) {
		uint64_t w0, w1;
		memcpy(&w0, ip, 8);
		memcpy(&w1, ip + 8, 8);
		uint64_t h = rf_mix64(w0 ^ rf_mix64(w1 ^ (uint64_t)(is_v4 != 0)));
		e = &g->cache[h & (XF_GEO_CACHE_ENTRIES - 1)];
		uint64_t k0, k1;
		memcpy(&k0, e->ip, 8);
		memcpy(&k1, e->ip + 8, 8);
		if (e->flags != (ENTRY_VALID | (is_v4 ? ENTRY_V4 : 0)) || k0 != w0 || k1 != w1)
			fill_entry(g, ip, is_v4, e);
	}
	int st = e != NULL ? entry_status(e, a) : ST_UNKNOWN;
	if (st == ST_UNKNOWN)
		cnt->geoip_unknown++;
	else if (st == ST_ERROR)
		cnt->geoip_error++;
	if (a == XF_GEO_ASN) {
		out->type = RF_V_INT;
		out->u.i = st == ST_FOUND ? e->asn : 0;
	} else {
		out->type = RF_V_STR;
		if (st == ST_FOUND) {
			out->u.s = (const char *)g->db[answer_db[a]].file_content + e->off[str_slot(a)];
			out->len = e->len[str_slot(a)];
		} else {
			out->u.s = "";
			out->len = 0;
		}
	}
}
