/*
 * test_geoip.c — unit tests of transform/geoip.c against MaxMind's test
 * databases: every row of data/mmdb/expected_lookups.csv (answers produced
 * by mmdblookup, not by us), the cache (against libmaxminddb called
 * directly, with more addresses than it holds), unknown addresses, and clean
 * failures on missing and corrupt databases (data/mmdb/bad-data, copied
 * from MaxMind-DB's test-data). Paths are relative to the repository root,
 * or to $RF_SRCDIR.
 */
#include <dirent.h>
#include <maxminddb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transform/csv_value.h"
#include "transform/geoip.h"

static const char *root(void)
{
	const char *r = getenv("RF_SRCDIR");
	return r != NULL ? r : ".";
}

/* Splits one CSV line of expected_lookups.csv (RFC 4180 quoting). */
static int split_csv(char *line, char **col, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		char *out = p;
		col[n++] = p;
		if (*p == '"') {
			char *r = p + 1;
			for (;;) {
				if (*r == '\0')
					return -1;
				if (*r == '"' && r[1] == '"') {
					*out++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*out++ = *r++;
				}
			}
			p = r;
			*out = '\0';
			if (*p == ',') {
				p++;
				continue;
			}
			return *p == '\0' ? n : -1;
		}
		char *comma = strchr(p, ',');
		if (comma == NULL)
			return n;
		*comma = '\0';
		p = comma + 1;
	}
	return n;
}

/* Every row: the database is opened with the row's field as the answer
 * path (dots -> slashes), as an operator would set country_path etc. */
static void t_expected_lookups(void **state)
{
	char path[1024], line[1024];
	snprintf(path, sizeof(path), "%s/data/mmdb/expected_lookups.csv", root());
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	line[strcspn(line, "\r\n")] = '\0';
	assert_string_equal(line, "database,ip,source_network,field,expected,mmdblookup,match");
	int rows = 0, asn_rows = 0, str_rows = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *col[8];
		assert_int_equal(split_csv(line, col, 8), 7);
		const char *db = col[0], *ip_text = col[1], *field = col[3], *expected = col[4];
		char file[1024], apath[256];
		snprintf(file, sizeof(file), "%s/data/mmdb/%s.mmdb", root(), db);
		snprintf(apath, sizeof(apath), "%s", field);
		for (char *c = apath; *c; c++)
			if (*c == '.')
				*c = '/';
		int is_asn = strcmp(field, "autonomous_system_number") == 0;
		struct conf_geoip g = { 0 };
		enum xf_geo_answer a;
		if (is_asn) {
			g.asn = file;
			g.asn_path = apath;
			a = XF_GEO_ASN;
		} else {
			g.country = file;
			g.country_path = apath;
			a = XF_GEO_COUNTRY;
		}
		char err[512];
		struct xf_geoip *geo = xf_geoip_open(&g, XF_GEO_BIT(a), err, sizeof(err));
		if (geo == NULL)
			fail_msg("%s", err);
		uint8_t ip[16], v4;
		assert_int_equal(xf_parse_ip(ip_text, strlen(ip_text), ip, &v4), 0);
		struct xf_counters cnt = { 0 };
		for (int pass = 0; pass < 2; pass++) {   /* second pass: from the cache */
			struct rf_value v;
			xf_geoip_lookup(geo, ip, v4, a, &v, &cnt);
			if (is_asn) {
				assert_int_equal(v.type, RF_V_INT);
				if (v.u.i != strtoll(expected, NULL, 10))
					fail_msg("%s %s %s: got %lld want %s", db, ip_text, field,
						 (long long)v.u.i, expected);
			} else {
				assert_int_equal(v.type, RF_V_STR);
				if (v.len != strlen(expected) || memcmp(v.u.s, expected, v.len) != 0)
					fail_msg("%s %s %s: got '%.*s' want '%s'", db, ip_text, field,
						 (int)v.len, v.u.s, expected);
			}
		}
		assert_int_equal(cnt.geoip_unknown, 0);
		assert_int_equal(cnt.geoip_error, 0);
		xf_geoip_close(geo);
		rows++;
		if (is_asn)
			asn_rows++;
		else
			str_rows++;
	}
	fclose(f);
	assert_int_equal(rows, 315);
	assert_int_equal(asn_rows, 46);
	assert_true(str_rows > 200);
}

static struct xf_geoip *open_default(char *err, size_t errlen)
{
	static char c[1024], ci[1024], a[1024];
	snprintf(c, sizeof(c), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root());
	snprintf(ci, sizeof(ci), "%s/data/mmdb/GeoIP2-City-Test.mmdb", root());
	snprintf(a, sizeof(a), "%s/data/mmdb/GeoLite2-ASN-Test.mmdb", root());
	struct conf_geoip g = { .country = c, .city = ci, .asn = a };
	return xf_geoip_open(&g, 0xf, err, errlen);
}

static void lookup(struct xf_geoip *geo, const char *text, enum xf_geo_answer a,
		   struct rf_value *v, struct xf_counters *cnt)
{
	uint8_t ip[16], v4;
	assert_int_equal(xf_parse_ip(text, strlen(text), ip, &v4), 0);
	xf_geoip_lookup(geo, ip, v4, a, v, cnt);
}

static void assert_sv(const struct rf_value *v, const char *s)
{
	assert_int_equal(v->type, RF_V_STR);
	assert_int_equal(v->len, strlen(s));
	assert_memory_equal(v->u.s, s, v->len);
}

/* MaxMind's default paths, all answers from one handle, unknowns. */
static void t_defaults_and_unknown(void **state)
{
	char err[512];
	struct xf_geoip *geo = open_default(err, sizeof(err));
	if (geo == NULL)
		fail_msg("%s", err);
	struct xf_counters cnt = { 0 };
	struct rf_value v;
	lookup(geo, "81.2.69.142", XF_GEO_COUNTRY, &v, &cnt);
	assert_sv(&v, "GB");
	lookup(geo, "81.2.69.142", XF_GEO_CITY, &v, &cnt);
	assert_sv(&v, "London");
	lookup(geo, "2001:218::", XF_GEO_COUNTRY, &v, &cnt);
	assert_sv(&v, "JP");
	lookup(geo, "1.128.0.0", XF_GEO_ASN, &v, &cnt);
	assert_int_equal(v.type, RF_V_INT);
	assert_int_equal(v.u.i, 1221);
	lookup(geo, "12.81.92.0", XF_GEO_AS_ORG, &v, &cnt);
	assert_sv(&v, "AT&T Services");
	/* 1.0.0.0 is only in the ASN database */
	lookup(geo, "1.0.0.0", XF_GEO_AS_ORG, &v, &cnt);
	assert_sv(&v, "Google Inc.");
	assert_int_equal(cnt.geoip_unknown, 0);
	lookup(geo, "1.0.0.0", XF_GEO_COUNTRY, &v, &cnt);
	assert_sv(&v, "");
	assert_int_equal(cnt.geoip_unknown, 1);
	/* a found network without a city: unknown answer, not an error */
	lookup(geo, "2001:218::", XF_GEO_CITY, &v, &cnt);
	assert_sv(&v, "");
	lookup(geo, "10.0.0.1", XF_GEO_ASN, &v, &cnt);
	assert_int_equal(v.type, RF_V_INT);
	assert_int_equal(v.u.i, 0);
	lookup(geo, "10.0.0.1", XF_GEO_ASN, &v, &cnt);  /* cached unknown counts again */
	assert_int_equal(cnt.geoip_unknown, 4);
	assert_int_equal(cnt.geoip_error, 0);

	/* Many distinct addresses (more than the cache holds) then the first
	 * ones again: answers must not mix up between evicted entries. */
	for (int round = 0; round < 2; round++)
		for (uint32_t i = 0; i < 3 * XF_GEO_CACHE_ENTRIES; i += 97) {
			char t[32];
			snprintf(t, sizeof(t), "81.2.%u.%u", (i >> 8) & 255, i & 255);
			lookup(geo, t, XF_GEO_COUNTRY, &v, &cnt);
			lookup(geo, "81.2.69.142", XF_GEO_CITY, &v, &cnt);
			assert_sv(&v, "London");
			lookup(geo, "1.128.0.0", XF_GEO_ASN, &v, &cnt);
			assert_int_equal(v.u.i, 1221);
		}
	/* ::ffff:a.b.c.d written as IPv6 is its own key, same network */
	lookup(geo, "::ffff:81.2.69.142", XF_GEO_COUNTRY, &v, &cnt);
	assert_sv(&v, "GB");
	xf_geoip_close(geo);
	xf_geoip_close(NULL);
}

/* Answers not opened are unknown, not a crash. */
static void t_not_opened(void **state)
{
	char file[1024], err[512];
	snprintf(file, sizeof(file), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root());
	struct conf_geoip g = { .country = file };
	struct xf_geoip *geo = xf_geoip_open(&g, XF_GEO_BIT(XF_GEO_COUNTRY), err, sizeof(err));
	assert_non_null(geo);
	struct xf_counters cnt = { 0 };
	struct rf_value v;
	lookup(geo, "81.2.69.142", XF_GEO_ASN, &v, &cnt);
	assert_int_equal(v.type, RF_V_INT);
	assert_int_equal(v.u.i, 0);
	assert_int_equal(cnt.geoip_unknown, 1);
	xf_geoip_close(geo);
	/* asking for an answer whose database is not configured */
	assert_null(xf_geoip_open(&g, XF_GEO_BIT(XF_GEO_AS_ORG), err, sizeof(err)));
	assert_string_equal(err, "[geoip] asn: not set but as_org() is used");
	struct xf_geoip *none = xf_geoip_open(&g, 0, err, sizeof(err));
	assert_non_null(none);
	xf_geoip_close(none);
}

static void t_open_errors(void **state)
{
	char err[2048], want[2048];
	struct conf_geoip g = { .country = "/nonexistent/GeoLite2-Country.mmdb" };
	assert_null(xf_geoip_open(&g, XF_GEO_BIT(XF_GEO_COUNTRY), err, sizeof(err)));
	snprintf(want, sizeof(want), "[geoip] country: cannot open '/nonexistent/GeoLite2-Country.mmdb': %s",
		 MMDB_strerror(MMDB_FILE_OPEN_ERROR));
	assert_true(strncmp(err, want, strlen(want)) == 0);

	char lic[1024];
	snprintf(lic, sizeof(lic), "%s/data/mmdb/LICENSE-MIT", root()); /* not a database */
	struct conf_geoip g2 = { .city = lic };
	assert_null(xf_geoip_open(&g2, XF_GEO_BIT(XF_GEO_CITY), err, sizeof(err)));
	snprintf(want, sizeof(want), "[geoip] city: cannot open '%s': %s", lic,
		 MMDB_strerror(MMDB_INVALID_METADATA_ERROR));
	assert_string_equal(err, want);

	char file[1024];
	snprintf(file, sizeof(file), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root());
	struct conf_geoip g3 = { .country = file, .country_path = "country//iso_code" };
	assert_null(xf_geoip_open(&g3, XF_GEO_BIT(XF_GEO_COUNTRY), err, sizeof(err)));
	assert_string_equal(err, "[geoip] country_path: 'country//iso_code' has an empty component");
	g3.country_path = "";
	assert_null(xf_geoip_open(&g3, XF_GEO_BIT(XF_GEO_COUNTRY), err, sizeof(err)));
	/* a path to a map is not a string: an error per lookup, not a crash */
	g3.country_path = "country";
	struct xf_geoip *geo = xf_geoip_open(&g3, XF_GEO_BIT(XF_GEO_COUNTRY), err, sizeof(err));
	assert_non_null(geo);
	struct xf_counters cnt = { 0 };
	struct rf_value v;
	lookup(geo, "81.2.69.142", XF_GEO_COUNTRY, &v, &cnt);
	assert_sv(&v, "");
	assert_int_equal(cnt.geoip_error, 1);
	xf_geoip_close(geo);

	assert_string_equal(xf_geo_answer_name(XF_GEO_AS_ORG), "as_org");
	assert_string_equal(xf_geo_db_key(XF_GEO_AS_ORG), "asn");
}

/* Corrupt databases: opening fails with the path in the message, or the
 * handle works and lookups return empty answers and count errors. */
static int scan_bad(const char *dir, int *opened, int *refused, uint64_t *errors)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	struct dirent *de;
	int files = 0;
	while ((de = readdir(d)) != NULL) {
		char file[2048];
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (n < 5 || strcmp(de->d_name + n - 5, ".mmdb") != 0) {
			if (strcmp(de->d_name, "README.md") != 0)
				scan_bad(file, opened, refused, errors);
			continue;
		}
		files++;
		struct conf_geoip g = { .country = file, .city = file, .asn = file };
		char err[1024];
		struct xf_geoip *geo = xf_geoip_open(&g, 0xf, err, sizeof(err));
		if (geo == NULL) {
			(*refused)++;
			if (strstr(err, file) == NULL || strncmp(err, "[geoip] country: cannot open", 28) != 0)
				fail_msg("unclear error for %s: %s", file, err);
			continue;
		}
		(*opened)++;
		struct xf_counters cnt = { 0 };
		static const char *ips[] = {
			"1.1.1.1", "1.1.1.16", "1.1.1.32", "81.2.69.142", "0.0.0.0", "255.255.255.255",
			"::", "::1", "2001:218::", "::1.1.1.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		};
		for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
			for (int a = 0; a < XF_GEO_ANSWER_COUNT; a++) {
				struct rf_value v;
				lookup(geo, ips[i], (enum xf_geo_answer)a, &v, &cnt);
				assert_true(v.type == RF_V_STR || v.type == RF_V_INT);
			}
		*errors += cnt.geoip_error;
		xf_geoip_close(geo);
	}
	closedir(d);
	return files;
}

/*
 * The oracle for the cache tests: libmaxminddb called directly, without
 * our cache. found == 0: the address or the answer is not in the database.
 */
struct oracle {
	MMDB_s country, asn;
};

static void oracle_open(struct oracle *o)
{
	char c[1024], a[1024];
	snprintf(c, sizeof(c), "%s/data/mmdb/GeoIP2-Country-Test.mmdb", root());
	snprintf(a, sizeof(a), "%s/data/mmdb/GeoLite2-ASN-Test.mmdb", root());
	assert_int_equal(MMDB_open(c, MMDB_MODE_MMAP, &o->country), MMDB_SUCCESS);
	assert_int_equal(MMDB_open(a, MMDB_MODE_MMAP, &o->asn), MMDB_SUCCESS);
}

static void oracle_close(struct oracle *o)
{
	MMDB_close(&o->country);
	MMDB_close(&o->asn);
}

/* country ISO code into buf (or "" if none) for an address given as text,
 * or the AS number (0 if none): what xf_geoip_lookup should say. */
static void oracle_answer(struct oracle *o, const char *text, enum xf_geo_answer a, char *buf, size_t cap,
			  uint32_t *asn)
{
	int gai = 0, err = 0;
	MMDB_s *db = a == XF_GEO_ASN ? &o->asn : &o->country;
	MMDB_lookup_result_s r = MMDB_lookup_string(db, text, &gai, &err);
	MMDB_entry_data_s d;
	buf[0] = '\0';
	*asn = 0;
	assert_int_equal(gai, 0);
	if (err != MMDB_SUCCESS || !r.found_entry)
		return;
	if (a == XF_GEO_ASN) {
		if (MMDB_get_value(&r.entry, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS && d.has_data)
			*asn = d.uint32;
	} else if (MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS && d.has_data) {
		snprintf(buf, cap, "%.*s", (int)d.data_size, d.utf8_string);
	}
}

/* Address i of a pool (as text): IPv4 from networks that are and are not
 * in the test databases, IPv6 likewise, and IPv4-mapped IPv6. */
static void pool_address(uint32_t i, char *buf, size_t cap)
{
	uint32_t h = i * 2654435761u;
	switch (i % 8) {
	case 0: snprintf(buf, cap, "1.%u.%u.%u", 128 + (h >> 27), (h >> 8) & 255, h & 255); break; /* ASN 1221 */
	case 1: snprintf(buf, cap, "12.%u.%u.%u", 81 + (h >> 29), (h >> 8) & 255, h & 255); break;
	case 2: snprintf(buf, cap, "81.2.69.%u", h & 255); break;                      /* GB, partly */
	case 3: snprintf(buf, cap, "89.160.20.%u", h & 255); break;                    /* SE, partly */
	case 4: snprintf(buf, cap, "%u.%u.%u.%u", h >> 24, (h >> 16) & 255, (h >> 8) & 255, i & 255); break;
	case 5: snprintf(buf, cap, "2001:220::%x", h & 0xfff); break;                  /* KR, partly */
	case 6: snprintf(buf, cap, "2003:%x::%x", (h >> 16) & 0x1fff, h & 0xffff); break; /* ASN 3320 */
	default: {
		/* IPv4-mapped, written as IPv6: the first 8 bytes are the same
		 * for all, the answers are not */
		char v4[32];
		pool_address((i / 8) * 8 + (h >> 30), v4, sizeof(v4));
		snprintf(buf, cap, "::ffff:%s", v4);
		break;
	}
	}
}

/* Far more addresses than the caches hold, asked for in random order and
 * for either answer (so an entry may have one database looked up and not
 * the other): every answer must be libmaxminddb's, whatever was evicted. */
static void t_cache_against_oracle(void **state)
{
	char err[512];
	struct xf_geoip *geo = open_default(err, sizeof(err));
	if (geo == NULL)
		fail_msg("%s", err);
	struct oracle o;
	oracle_open(&o);
	struct xf_counters cnt = { 0 };
	uint64_t want_unknown = 0;
	const uint32_t pool = 3 * XF_GEO_CACHE_ENTRIES;
	int found[2] = { 0, 0 };
	srand(17);
	for (int i = 0; i < 4 * (int)XF_GEO_CACHE_ENTRIES; i++) {
		char text[64], want[64];
		uint32_t want_asn;
		/* a small hot set and a large cold one, as in traffic */
		uint32_t k = rand() % 4 ? (uint32_t)(rand() % 512) : (uint32_t)rand() % pool;
		pool_address(k, text, sizeof(text));
		enum xf_geo_answer a = rand() % 2 ? XF_GEO_ASN : XF_GEO_COUNTRY;
		oracle_answer(&o, text, a, want, sizeof(want), &want_asn);
		struct rf_value v;
		lookup(geo, text, a, &v, &cnt);
		if (a == XF_GEO_ASN) {
			assert_int_equal(v.type, RF_V_INT);
			if (v.u.i != want_asn)
				fail_msg("%s asn: got %lld want %u", text, (long long)v.u.i, want_asn);
			want_unknown += want_asn == 0;
			found[1] += want_asn != 0;
		} else {
			assert_int_equal(v.type, RF_V_STR);
			if (v.len != strlen(want) || memcmp(v.u.s, want, v.len) != 0)
				fail_msg("%s country: got '%.*s' want '%s'", text, (int)v.len, v.u.s, want);
			want_unknown += want[0] == '\0';
			found[0] += want[0] != '\0';
		}
	}
	assert_true(cnt.geoip_unknown == want_unknown);
	assert_int_equal(cnt.geoip_error, 0);
	/* the pool really mixes known and unknown addresses */
	assert_true(found[0] > 1000 && found[1] > 1000 && want_unknown > 1000);
	oracle_close(&o);
	xf_geoip_close(geo);
}

/* A fresh cache is all zeros: 0.0.0.0 and :: have the key of an empty
 * entry and must still be looked up, not answered from it. */
static void t_cache_zero_keys(void **state)
{
	char err[512];
	struct oracle o;
	oracle_open(&o);
	static const char *addrs[] = { "0.0.0.0", "::", "0.0.0.0", "::" };
	for (int a = 0; a < 2; a++) {
		struct xf_geoip *geo = open_default(err, sizeof(err));
		if (geo == NULL)
			fail_msg("%s", err);
		struct xf_counters cnt = { 0 };
		enum xf_geo_answer ans = a ? XF_GEO_ASN : XF_GEO_COUNTRY;
		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			char want[64];
			uint32_t want_asn;
			struct rf_value v;
			oracle_answer(&o, addrs[i], ans, want, sizeof(want), &want_asn);
			lookup(geo, addrs[i], ans, &v, &cnt);
			if (a)
				assert_int_equal(v.u.i, want_asn);
			else
				assert_sv(&v, want);
		}
		assert_int_equal(cnt.geoip_error, 0);
		xf_geoip_close(geo);
	}
	oracle_close(&o);
}

/* One address, its answers asked one database at a time: the first
 * lookup fills only its own database's answers, the later ones the rest. */
static void t_cache_per_database(void **state)
{
	char err[512];
	struct xf_geoip *geo = open_default(err, sizeof(err));
	if (geo == NULL)
		fail_msg("%s", err);
	struct xf_counters cnt = { 0 };
	struct rf_value v;
	/* expected_lookups.csv: 81.2.69.142 is GB, London; 1.128.0.0/11 is
	 * AS1221 Telstra. Its country is whatever libmaxminddb says. */
	struct oracle o;
	char want[64];
	uint32_t want_asn;
	oracle_open(&o);
	oracle_answer(&o, "1.128.0.1", XF_GEO_COUNTRY, want, sizeof(want), &want_asn);
	oracle_close(&o);
	for (int round = 0; round < 2; round++) {
		lookup(geo, "81.2.69.142", XF_GEO_COUNTRY, &v, &cnt);
		assert_sv(&v, "GB");
		lookup(geo, "81.2.69.142", XF_GEO_CITY, &v, &cnt);
		assert_sv(&v, "London");
		lookup(geo, "1.128.0.1", XF_GEO_AS_ORG, &v, &cnt);
		assert_sv(&v, "Telstra Pty Ltd");
		lookup(geo, "1.128.0.1", XF_GEO_ASN, &v, &cnt);
		assert_int_equal(v.u.i, 1221);
		lookup(geo, "1.128.0.1", XF_GEO_COUNTRY, &v, &cnt);
		assert_sv(&v, want);
	}
	assert_int_equal(cnt.geoip_unknown, want[0] == '\0' ? 2 : 0);
	xf_geoip_close(geo);
}

static void t_corrupt_databases(void **state)
{
	char dir[1024];
	int opened = 0, refused = 0;
	uint64_t errors = 0;
	snprintf(dir, sizeof(dir), "%s/data/mmdb/bad-data", root());
	assert_true(scan_bad(dir, &opened, &refused, &errors) >= 4);
	/* Both paths were exercised: some refused at open, some failing lookups. */
	assert_true(refused > 0);
	assert_true(opened > 0);
	assert_true(errors > 0);
	print_message("bad-data: %d refused at open, %d opened, %llu lookup errors\n",
		      refused, opened, (unsigned long long)errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_expected_lookups),
		cmocka_unit_test(t_defaults_and_unknown),
		cmocka_unit_test(t_not_opened),
		cmocka_unit_test(t_open_errors),
		cmocka_unit_test(t_corrupt_databases),
		cmocka_unit_test(t_cache_against_oracle),
		cmocka_unit_test(t_cache_zero_keys),
		cmocka_unit_test(t_cache_per_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
