/*
 * geoip.h — GeoIP answers for the transform process (libmaxminddb).
 *
 * Up to three .mmdb files (country, city, asn) are opened with MMDB_MODE_MMAP;
 * libmaxminddb closes the file descriptor after mapping, so a handle holds
 * only a read-only mapping and plain memory: it stays valid across fork().
 * We open it in each transform child after fork (xf_ctx_create), so every
 * process has its own cache and a reload can swap databases per process;
 * opening before fork would also work (copy-on-write cache).
 *
 * Answers: country ISO code, city name, AS number, AS organisation, each at a
 * configurable path inside its database ("country/iso_code"). String answers
 * point into the mapping (no copy) and stay valid until xf_geoip_close().
 * Direct-mapped caches (one keyed by the 4-byte IPv4 address, one by the
 * 16 bytes of other addresses) hold the answers of an address, so a
 * repeated address costs a hash and a compare.
 */
#ifndef XF_GEOIP_H
#define XF_GEOIP_H

#include <stddef.h>
#include <stdint.h>
#include "common/config.h"
#include "common/value.h"
#include "transform/counters.h"

enum xf_geo_answer {
	XF_GEO_COUNTRY = 0,  /* string, database [geoip] country */
	XF_GEO_CITY,         /* string, database [geoip] city */
	XF_GEO_ASN,          /* integer, database [geoip] asn */
	XF_GEO_AS_ORG,       /* string, database [geoip] asn */
	XF_GEO_ANSWER_COUNT
};
#define XF_GEO_BIT(a) (1u << (a))

/* Cache sizes: IPv4 entries are 32 bytes (2 MiB), others 40 (2.5 MiB);
 * both tables are per process and normally take memory as they fill. */
#define XF_GEO_CACHE_BITS 16
#define XF_GEO_CACHE_ENTRIES (1u << XF_GEO_CACHE_BITS)  /* IPv4 addresses */
#define XF_GEO_CACHE6_ENTRIES 65536                       /* the others, power of two */

struct xf_geoip;

/* "country", "city", "asn", "as_org": for messages. */
const char *xf_geo_answer_name(enum xf_geo_answer a);
/* Config key holding the database path an answer needs ("asn" for as_org). */
const char *xf_geo_db_key(enum xf_geo_answer a);
/* Database path an answer needs, or NULL if [geoip] does not set it. */
const char *xf_geo_db_path(const struct conf_geoip *g, enum xf_geo_answer a);

/*
 * Opens the databases the answers in `need` (XF_GEO_BIT mask) require.
 * Errors name the config key, the path and libmaxminddb's reason:
 * "[geoip] country: cannot open '/x.mmdb': ..." . Caller frees with
 * xf_geoip_close(). need == 0 gives a valid handle that answers nothing.
 */
struct xf_geoip *xf_geoip_open(const struct conf_geoip *g, unsigned need,
		char *err, size_t errlen);
void xf_geoip_close(struct xf_geoip *g);

/*
 * One answer for a 16-byte address (IPv4 as ::ffff:a.b.c.d with is_v4 set).
 * *out becomes a string (empty if unknown) or, for XF_GEO_ASN, an integer
 * (0 if unknown). Unknown addresses count geoip_unknown, database errors
 * geoip_error; never fails otherwise. Answers not opened are unknown.
 */
void xf_geoip_lookup(struct xf_geoip *g, const uint8_t ip[16], int is_v4,
		enum xf_geo_answer a, struct rf_value *out, struct xf_counters *cnt);

#endif
