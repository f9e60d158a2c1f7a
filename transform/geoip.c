/*
 * geoip.c — libmaxminddb lookups behind a per-process direct-mapped cache
 * (transform process; opened by xf_ctx_create after fork, and briefly by
 * xf_plan_compile to check the files for `ringflow -t`).
 *
 * Two direct-mapped caches: IPv4 addresses (nearly all sFlow traffic) in a
 * table keyed by the 4-byte address, 32-byte entries and a one-multiply
 * hash; everything else (IPv6, including ::ffff:a.b.c.d written as IPv6)
 * in a table keyed by the 16 bytes. An entry holds the answers of one
 * address, looked up per database the first time one of its answers is
 * asked for: country(src_ip) and asn(dst_ip) do not cost an ASN lookup for
 * every source and a country lookup for every destination. String answers
 * are offsets into the database mapping, so an entry is a few words and a
 * hit costs one hash and one compare. The caches are never invalidated:
 * databases only change by closing this handle and opening a new one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/hash.h"
#include "transform/geoip.h"

enum { DB_COUNTRY = 0, DB_CITY, DB_ASN, DB_COUNT };
/* ST_NONE = 0: a zeroed entry has looked nothing up, whatever its key. */
enum { ST_NONE = 0, ST_FOUND, ST_UNKNOWN, ST_ERROR };

#define PATH_MAX_PARTS 16

/* The answers of one address. Strings are kept as offsets into their
 * database mapping to keep entries small. */
struct geo_answers {
	uint32_t asn;
	uint32_t off[XF_GEO_ANSWER_COUNT - 1]; /* string answers, by str_slot() */
	uint16_t len[XF_GEO_ANSWER_COUNT - 1];
	uint8_t status;  /* 2 bits per answer: ST_* */
};

/* Two IPv4 entries per 64-byte line; 64 Ki of them are 2 MiB. */
struct geo_entry4 {
	uint32_t ip;     /* the 4 address bytes as they are in memory */
	struct geo_answers a;
	uint32_t pad;
};
_Static_assert(sizeof(struct geo_entry4) == 32, "IPv4 cache entry size");

struct geo_entry6 {
	uint8_t ip[16];
	struct geo_answers a;
};
_Static_assert(sizeof(struct geo_entry6) == 40, "IPv6 cache entry size");

/* Slot of a string answer in off[]/len[]: country 0, city 1, as_org 2. */
static inline int str_slot(int a)
{
	return a == XF_GEO_AS_ORG ? 2 : a;
}

static inline int answer_status(const struct geo_answers *e, int a)
{
	return (e->status >> (2 * a)) & 3;
}

static inline void set_status(struct geo_answers *e, int a, int st)
{
	e->status = (uint8_t)((e->status & ~(3u << (2 * a))) | ((unsigned)st << (2 * a)));
}

struct xf_geoip {
	unsigned need;
	int is_open[DB_COUNT];
	MMDB_s db[DB_COUNT];
	char *path_buf[XF_GEO_ANSWER_COUNT];
	const char *path[XF_GEO_ANSWER_COUNT][PATH_MAX_PARTS + 1];
	struct geo_entry4 *cache4;  /* XF_GEO_CACHE_ENTRIES */
	struct geo_entry6 *cache6;  /* XF_GEO_CACHE6_ENTRIES */
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
	free(g->cache4);
	free(g->cache6);
	free(g);
}

/*
 * The message for a failed MMDB_open. libmaxminddb keeps errno from the
 * failing call for MMDB_FILE_OPEN_ERROR (open/fstat) and MMDB_IO_ERROR
 * (mmap and reads), but its own text says neither which call nor why:
 * "No such file or directory" or "Permission denied" is what the operator
 * needs. mmap(2) fails with EINVAL on an empty file and ENODEV on a
 * directory, which would read as nonsense, so those two are named plainly.
 */
static void open_error(char *err, size_t errlen, const char *key, const char *file, int st, int e)
{
	const char *why = MMDB_strerror(st);
	struct stat sb;
	if ((st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) && stat(file, &sb) == 0 &&
	    (!S_ISREG(sb.st_mode) || sb.st_size == 0))
		snprintf(err, errlen, "[geoip] %s: cannot open '%s': %s: %s", key, file, why,
			 S_ISDIR(sb.st_mode) ? "is a directory" :
			 !S_ISREG(sb.st_mode) ? "not a regular file" : "the file is empty");
	else if ((st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) && e != 0)
		snprintf(err, errlen, "[geoip] %s: cannot open '%s': %s: %s", key, file, why, strerror(e));
	else
		snprintf(err, errlen, "[geoip] %s: cannot open '%s': %s", key, file, why);
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
			open_error(err, errlen, db_keys[d], file, st, errno);
			goto fail;
		}
		geo->is_open[d] = 1;
	}
	if (need != 0) {
		/* At this size calloc normally gets fresh zero pages from
		 * mmap: a table costs memory as it fills (IPv6 maybe never). */
		geo->cache4 = calloc(XF_GEO_CACHE_ENTRIES, sizeof(*geo->cache4));
		geo->cache6 = calloc(XF_GEO_CACHE6_ENTRIES, sizeof(*geo->cache6));
		if (geo->cache4 == NULL || geo->cache6 == NULL) {
			snprintf(err, errlen, "out of memory for the GeoIP cache");
			goto fail;
		}
	}
	return geo;
fail:
	xf_geoip_close(geo);
	return NULL;
}

/* Looks up the address in database d and fills that database's needed
 * answers into e (every answer of d gets a status other than ST_NONE). */
static void lookup_db(struct xf_geoip *g, int d, const uint8_t ip[16], int is_v4, struct geo_answers *e)
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
	int mmdb_error = MMDB_SUCCESS;
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&g->db[d], &addr.sa, &mmdb_error);
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

/* The cache entry of an address: its answers so far, or a reset entry
 * (nothing looked up) if the slot held another address. */
static inline struct geo_answers *cache_slot(struct xf_geoip *g, const uint8_t ip[16], int is_v4)
{
	if (is_v4) {
		uint32_t k;
		memcpy(&k, ip + 12, 4);
		/* Fibonacci hashing: the top bits of the 64-bit product depend
		 * on every bit of the address. */
		struct geo_entry4 *e = &g->cache4[(k * 0x9e3779b97f4a7c15ULL) >> (64 - XF_GEO_CACHE_BITS)];
		if (e->ip != k) {
			e->ip = k;
			e->a.status = 0;
		}
		return &e->a;
	}
	uint64_t w0, w1, k0, k1;
	memcpy(&w0, ip, 8);
	memcpy(&w1, ip + 8, 8);
	struct geo_entry6 *e = &g->cache6[rf_mix64(w0 ^ rf_mix64(w1)) & (XF_GEO_CACHE6_ENTRIES - 1)];
	memcpy(&k0, e->ip, 8);
	memcpy(&k1, e->ip + 8, 8);
	if (k0 != w0 || k1 != w1) {
		memcpy(e->ip, ip, 16);
		e->a.status = 0;
	}
	return &e->a;
}

void xf_geoip_lookup(struct xf_geoip *g, const uint8_t ip[16], int is_v4,
		enum xf_geo_answer a, struct rf_value *out, struct xf_counters *cnt)
{
	struct geo_answers *e = NULL;
	int st = ST_UNKNOWN;
	if ((unsigned)a < XF_GEO_ANSWER_COUNT && (g->need & XF_GEO_BIT(a))) {
		e = cache_slot(g, ip, is_v4);
		st = answer_status(e, a);
		if (st == ST_NONE) {
			lookup_db(g, answer_db[a], ip, is_v4, e);
			st = answer_status(e, a);
		}
	}
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
