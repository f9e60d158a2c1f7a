/*
 * influx.c — see influx.h. Runs in the writer process; blocks in HTTP
 * requests (bounded by `timeout`) and in backoff waits (bounded by *stop).
 *
 * NOTES
 * - Credentials: v1 username/password go through CURLOPT_USERNAME/PASSWORD
 *   (basic auth), so no URL ever carries them; userinfo written into `url`
 *   itself is stripped from the copy used in messages. Verbose curl output is
 *   never enabled.
 * - Stop while a request is in flight: a healthy server answers a write in
 *   well under a second, so a request is aborted for *stop only after it has
 *   run for STOP_GRACE_NS. A graceful shutdown's final flush still completes,
 *   while a hung server cannot hold the process past that grace.
 * - Splitting (413, unattributed 400) recurses on halves; the depth is
 *   log2(lines), so the stack stays small.
 */
#include "writer/influx.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "writer/gzip.h"
#include "pipeline/lineproto.h"

#define STOP_GRACE_NS (1000 * 1000000LL)
#define DEFAULT_TIMEOUT_NS (10 * 1000000000LL)
#define RESP_MAX (64 * 1024)   /* server answers beyond this are cut */
#define GZIP_LEVEL 1           /* line protocol compresses ~10x even at 1 */
#define MIN_RETENTION_NS (3600LL * 1000000000LL) /* influxd refuses less */

struct wr_influx {
	CURL *curl;
	int v2;
	int db_ready;                 /* v1: database and policy known to exist */
	char *write_url;
	char *query_url;
	char *safe_base;              /* url without userinfo, for messages */
	const char *write_path;       /* "/write" or "/api/v2/write", for messages */
	char *db_ident;               /* "db" quoted for InfluxQL */
	char retention[32];           /* InfluxQL duration or INF */
	struct curl_slist *gzip_headers;   /* write, Content-Encoding: gzip */
	struct curl_slist *plain_headers;  /* write, uncompressed */
	struct curl_slist *query_headers;  /* /query: form-encoded */
	int use_gzip;
	struct wr_gzip gz;
	struct lp_buf resp;           /* body of the last answer, NUL-terminated */
	struct lp_buf query_body;     /* form body of /query requests */
	long timeout_ms;
	const volatile int *stop;     /* of the delivery in progress */
	int64_t req_start_ns;
	char errbuf[CURL_ERROR_SIZE];
};

/* curl_global_init once per process (the writer is single-threaded when it
 * opens its output); never cleaned up: the process exits with it. */
static int curl_ready;

/* ---- small helpers ---------------------------------------------------- */

static char *xstrdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xstrdup_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Copy of url without trailing slashes and without "user:pass@". */
static char *safe_url(const char *url)
{
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	const char *slash = strchr(host, '/');
	const char *at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
	char *s;
	if (at)
		s = xstrdup_printf("%.*s%s", (int)(host - url), url, at + 1);
	else
		s = strdup(url);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* Same as url but keeps userinfo (curl needs it if the user wrote it). */
static char *base_url(const char *url)
{
	char *s = strdup(url);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* InfluxQL double-quoted identifier: backslash-escape '"' and '\'. */
static char *quote_ident(const char *name)
{
	size_t n = strlen(name);
	char *q = malloc(2 * n + 3);
	if (!q)
		return NULL;
	char *o = q;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '"' || name[i] == '\\')
			*o++ = '\\';
		*o++ = name[i];
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

static void format_retention(int64_t ns, char *out, size_t outlen)
{
	static const struct { int64_t unit; const char *suffix; } units[] = {
		{ 86400LL * 1000000000LL, "d" }, { 3600LL * 1000000000LL, "h" },
		{ 60LL * 1000000000LL, "m" }, { 1000000000LL, "s" }, { 1000000LL, "ms" },
		{ 1000LL, "u" },
	};
	if (ns <= 0) {
		snprintf(out, outlen, "INF");
		return;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ns % units[i].unit == 0) {
			snprintf(out, outlen, "%lld%s", (long long)(ns / units[i].unit), units[i].suffix);
			return;
		}
	snprintf(out, outlen, "%lldns", (long long)ns);
}

/* First line of path, trailing whitespace removed. Caller frees. */
static char *read_token_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "output: token_file: fopen(%s): %s", path, strerror(errno));
		return NULL;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n <= 0) {
		free(line);
		snprintf(err, errlen, "output: token_file: %s is empty", path);
		return NULL;
	}
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	if (n == 0) {
		free(line);
		snprintf(err, errlen, "output: token_file: %s: first line is empty", path);
		return NULL;
	}
	return line;
}

static int empty(const char *s) { return !s || !*s; }

/* ---- curl plumbing ---------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct wr_influx *inf = arg;
	size_t n = size * nmemb;
	size_t room = inf->resp.len < RESP_MAX ? RESP_MAX - inf->resp.len : 0;
	size_t take = n < room ? n : room;
	if (take) {
		lp_buf_reserve(&inf->resp, take + 1);
		memcpy(inf->resp.data + inf->resp.len, data, take);
		inf->resp.len += take;
	}
	return n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct wr_influx *inf = arg;
	if (inf->stop && *inf->stop && rf_mono_ns() - inf->req_start_ns >= STOP_GRACE_NS)
		return 1; /* abort: CURLE_ABORTED_BY_CALLBACK */
	return 0;
}

/*
 * One POST. Returns the HTTP status, or -1 on a transport failure with the
 * reason in inf->errbuf. The answer body is in inf->resp (NUL-terminated).
 */
static long post(struct wr_influx *inf, const char *url, struct curl_slist *headers,
		 const char *body, size_t len, struct wr_report *rep)
{
	CURL *c = inf->curl;
	lp_buf_reset(&inf->resp);
	lp_buf_reserve(&inf->resp, 1);
	inf->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	inf->req_start_ns = rf_mono_ns();
	CURLcode rc = curl_easy_perform(c);
	rep->requests++;
	rep->bytes_sent += len;
	inf->resp.data[inf->resp.len] = '\0';
	if (rc != CURLE_OK) {
		if (!inf->errbuf[0])
			snprintf(inf->errbuf, sizeof inf->errbuf, "%s", curl_easy_strerror(rc));
		return -1;
	}
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* The server's message: the "error" or "message" string of its JSON answer
 * (escapes kept as sent), or the raw answer, trimmed to out. */
static void server_message(const char *resp, char *out, size_t outlen)
{
	const char *keys[] = { "\"error\":\"", "\"message\":\"" };
	for (size_t k = 0; k < 2; k++) {
		const char *p = strstr(resp, keys[k]);
		if (!p)
			continue;
		p += strlen(keys[k]);
		size_t i = 0;
		while (p[i] && !(p[i] == '"' && (i == 0 || p[i - 1] != '\\')))
			i++;
		snprintf(out, outlen, "%.*s", (int)i, p);
		return;
	}
	snprintf(out, outlen, "%s", resp);
	size_t n = strlen(out);
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		out[--n] = '\0';
	if (n == 0)
		snprintf(out, outlen, "(empty answer)");
}

/* ---- v1 database setup ------------------------------------------------ */

enum query_outcome { Q_OK = 0, Q_RETRY, Q_DENIED, Q_ERROR };

/* POST /query q=...; on Q_ERROR msg holds the statement's error. */
static enum query_outcome run_query(struct wr_influx *inf, const char *q, char *msg,
				    size_t msglen, struct wr_report *rep)
{
	char *esc = curl_easy_escape(inf->curl, q, 0);
	if (!esc) {
		snprintf(msg, msglen, "curl_easy_escape failed (out of memory)");
		return Q_RETRY;
	}
	lp_buf_reset(&inf->query_body);
	lp_buf_append(&inf->query_body, "q=", 2);
	lp_buf_append(&inf->query_body, esc, strlen(esc));
	curl_free(esc);
	long status = post(inf, inf->query_url, inf->query_headers, inf->query_body.data,
			   inf->query_body.len, rep);
	if (status < 0) {
		snprintf(msg, msglen, "POST %s/query: %s", inf->safe_base, inf->errbuf);
		return Q_RETRY;
	}
	char smsg[200];
	server_message(inf->resp.data, smsg, sizeof smsg);
	if (status == 401 || status == 403 || strstr(inf->resp.data, "not authorized")) {
		snprintf(msg, msglen, "POST %s/query: HTTP %ld: %s", inf->safe_base, status, smsg);
		return Q_DENIED;
	}
	if (status < 200 || status > 299) {
		snprintf(msg, msglen, "POST %s/query: HTTP %ld: %s", inf->safe_base, status, smsg);
		return Q_RETRY;
	}
	if (strstr(inf->resp.data, "\"error\"")) {
		snprintf(msg, msglen, "%s", smsg);
		return Q_ERROR;
	}
	return Q_OK;
}

/*
 * CREATE DATABASE (a no-op when it exists), then the "ringflow" policy as
 * default with the configured duration: CREATE, or ALTER when a policy of
 * that name exists (possibly with another duration from an older config).
 * Returns 0 when the database can be written, -1 to retry in delay_ns (named
 * in the log line, as the write path does, so an operator reading "POST
 * /query: Couldn't connect" knows the data is held, not dropped).
 */
static int ensure_database(struct wr_influx *inf, struct wr_report *rep, int64_t delay_ns)
{
	char q[512], msg[320];
	const char *step = "CREATE DATABASE";
	snprintf(q, sizeof q, "CREATE DATABASE %s", inf->db_ident);
	enum query_outcome o = run_query(inf, q, msg, sizeof msg, rep);
	if (o == Q_OK) {
		step = "CREATE RETENTION POLICY";
		snprintf(q, sizeof q,
			 "CREATE RETENTION POLICY \"" WR_INFLUX_RP_NAME "\" ON %s DURATION %s REPLICATION 1 DEFAULT",
			 inf->db_ident, inf->retention);
		o = run_query(inf, q, msg, sizeof msg, rep);
		if (o == Q_ERROR && strstr(msg, "already exists")) {
			step = "ALTER RETENTION POLICY";
			snprintf(q, sizeof q,
				 "ALTER RETENTION POLICY \"" WR_INFLUX_RP_NAME "\" ON %s DURATION %s REPLICATION 1 DEFAULT",
				 inf->db_ident, inf->retention);
			o = run_query(inf, q, msg, sizeof msg, rep);
		}
	}
	char line[400];
	switch (o) {
	case Q_OK:
		inf->db_ready = 1;
		rf_info("influxdb: database %s ready, default retention policy "
			"\"" WR_INFLUX_RP_NAME "\" duration %s", inf->db_ident, inf->retention);
		return 0;
	case Q_DENIED:
		/* A user with write but no admin rights cannot create anything:
		 * write anyway; a missing database then shows up as a 404. */
		snprintf(line, sizeof line, "%s %s: %s", step, inf->db_ident, msg);
		wr_report_error(rep, line);
		RF_LOG_RL(RF_LOG_ERROR, "influxdb: %s (check username/password and admin "
			  "rights); writing without it", line);
		inf->db_ready = 1;
		return 0;
	case Q_ERROR:
		snprintf(line, sizeof line, "%s %s: %s", step, inf->db_ident, msg);
		wr_report_error(rep, line);
		RF_LOG_RL(RF_LOG_ERROR, "influxdb: %s; retrying in %lld ms", line,
			  (long long)(delay_ns / 1000000));
		return -1;
	case Q_RETRY:
	default:
		wr_report_error(rep, msg);
		RF_LOG_RL(RF_LOG_WARN, "influxdb: %s; retrying in %lld ms", msg,
			  (long long)(delay_ns / 1000000));
		return -1;
	}
}

/* ---- write ------------------------------------------------------------ */

static uint32_t count_lines(const char *p, size_t n)
{
	uint32_t lines = 0;
	const char *end = p + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl != p)  /* skip empty lines */
			lines++;
		if (!nl)
			break;
		p = nl + 1;
	}
	return lines;
}

/* Offset just past the '\n' nearest the middle, or 0 if lp is one line. */
static size_t split_point(const char *lp, size_t len)
{
	size_t mid = len / 2;
	const char *nl = memchr(lp + mid, '\n', len - mid);
	if (nl && (size_t)(nl - lp) + 1 < len)
		return (size_t)(nl - lp) + 1;
	for (size_t i = mid; i-- > 0;)
		if (lp[i] == '\n')
			return i + 1;
	return 0;
}

static uint64_t parse_dropped(const char *resp)
{
	const char *p = NULL, *q = resp;
	while ((q = strstr(q, "dropped=")) != NULL) {
		p = q;
		q += 8;
	}
	if (!p)
		return UINT64_MAX;
	return strtoull(p + 8, NULL, 10);
}

static uint64_t count_substr(const char *s, const char *needle)
{
	uint64_t n = 0;
	size_t k = strlen(needle);
	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += k;
	}
	return n;
}

static enum wr_result deliver_range(struct wr_influx *inf, const char *lp, size_t len,
				    uint32_t npoints, const volatile int *stop,
				    struct wr_report *rep);

static enum wr_result deliver_split(struct wr_influx *inf, const char *lp, size_t len,
				    const volatile int *stop, struct wr_report *rep)
{
	size_t cut = split_point(lp, len);
	enum wr_result r = deliver_range(inf, lp, cut, count_lines(lp, cut), stop, rep);
	if (r != WR_OK)
		return r;
	return deliver_range(inf, lp + cut, len - cut, count_lines(lp + cut, len - cut), stop, rep);
}

static void count_rejected(struct wr_report *rep, uint64_t n, long status, const char *smsg)
{
	char line[256];
	snprintf(line, sizeof line, "HTTP %ld: %s", status, smsg);
	wr_report_error(rep, line);
	rep->points_rejected += n;
	RF_LOG_RL(RF_LOG_WARN, "influxdb refused %llu point(s) as bad data: %s",
		  (unsigned long long)n, line);
}

static enum wr_result deliver_range(struct wr_influx *inf, const char *lp, size_t len,
				    uint32_t npoints, const volatile int *stop,
				    struct wr_report *rep)
{
	if (len == 0 || npoints == 0)
		return WR_OK;
	const char *body = lp;
	size_t blen = len;
	char msg[320];
	if (inf->use_gzip) {
		if (wr_gzip_compress(&inf->gz, lp, len, msg, sizeof msg) == 0) {
			body = inf->gz.out.data;
			blen = inf->gz.out.len;
		} else {
			/* Cannot happen short of zlib misuse; plain text still works. */
			RF_LOG_RL(RF_LOG_ERROR, "influxdb: %s; sending uncompressed", msg);
		}
	}
	struct curl_slist *headers = body == lp ? inf->plain_headers : inf->gzip_headers;
	int64_t delay = WR_BACKOFF_MIN_NS;
	for (;;) {
		if (!inf->v2 && !inf->db_ready && ensure_database(inf, rep, delay) != 0)
			goto retry;
		long status = post(inf, inf->write_url, headers, body, blen, rep);
		if (status < 0) {
			snprintf(msg, sizeof msg, "POST %s%s: %s", inf->safe_base, inf->write_path,
				 inf->errbuf);
			wr_report_error(rep, msg);
			RF_LOG_RL(RF_LOG_WARN, "influxdb: %s; retrying in %lld ms", msg,
				  (long long)(delay / 1000000));
			goto retry;
		}
		if (status >= 200 && status <= 299) {
			rep->points_accepted += npoints;
			return WR_OK;
		}
		char smsg[200];
		server_message(inf->resp.data, smsg, sizeof smsg);
		if (status == 400 || status == 422) {
			uint64_t dropped = parse_dropped(inf->resp.data);
			if (dropped != UINT64_MAX) {
				dropped += count_substr(inf->resp.data, "unable to parse '");
				if (dropped > npoints)
					dropped = npoints;
				rep->points_accepted += npoints - dropped;
				if (dropped)
					count_rejected(rep, dropped, status, smsg);
				return WR_OK;
			}
			if ((!inf->v2 && strstr(inf->resp.data, "unable to parse")) || npoints <= 1 ||
			    split_point(lp, len) == 0) {
				count_rejected(rep, npoints, status, smsg);
				return WR_OK;
			}
			/* Refused as a whole without saying which points: find them. */
			RF_LOG_RL(RF_LOG_WARN, "influxdb refused a batch of %u points (HTTP %ld: %s); "
				  "splitting it to find the bad ones", npoints, status, smsg);
			return deliver_split(inf, lp, len, stop, rep);
		}
		if (status == 413) {
			if (split_point(lp, len) == 0) {
				count_rejected(rep, npoints, status,
					       "one point larger than the server's max-body-size");
				return WR_OK;
			}
			RF_LOG_RL(RF_LOG_INFO, "influxdb: request of %zu bytes too large; "
				  "splitting the batch", blen);
			return deliver_split(inf, lp, len, stop, rep);
		}
		snprintf(msg, sizeof msg, "POST %s%s: HTTP %ld: %s", inf->safe_base, inf->write_path,
			 status, smsg);
		wr_report_error(rep, msg);
		if (status == 404 && !inf->v2 && strstr(inf->resp.data, "database not found")) {
			inf->db_ready = 0;
			RF_LOG_RL(RF_LOG_WARN, "influxdb: %s; creating it", msg);
		} else if (status == 401 || status == 403 || status == 404) {
			RF_LOG_RL(RF_LOG_ERROR, "influxdb: %s — configuration problem (url, "
				  "credentials, database/org/bucket); keeping the data and retrying "
				  "every %lld ms", msg, (long long)(delay / 1000000));
		} else {
			RF_LOG_RL(RF_LOG_WARN, "influxdb: %s; retrying in %lld ms", msg,
				  (long long)(delay / 1000000));
		}
retry:
		rep->retries++;
		if (wr_backoff_wait(&delay, stop) != 0)
			return WR_STOPPED;
	}
}

enum wr_result wr_influx_deliver(struct wr_influx *inf, const char *lp, size_t len,
				 uint32_t npoints, const volatile int *stop,
				 struct wr_report *rep)
{
	inf->stop = stop;
	enum wr_result r = deliver_range(inf, lp, len, npoints, stop, rep);
	inf->stop = NULL;
	return r;
}

/* ---- open / close ----------------------------------------------------- */

void wr_influx_close(struct wr_influx *inf)
{
	if (!inf)
		return;
	if (inf->curl)
		curl_easy_cleanup(inf->curl);
	curl_slist_free_all(inf->gzip_headers);
	curl_slist_free_all(inf->plain_headers);
	curl_slist_free_all(inf->query_headers);
	free(inf->write_url);
	free(inf->query_url);
	free(inf->safe_base);
	free(inf->db_ident);
	wr_gzip_end(&inf->gz);
	lp_buf_free(&inf->resp);
	lp_buf_free(&inf->query_body);
	free(inf);
}

/* A header list: "Expect:" (turns off curl's 100-continue round trip on
 * large bodies), the token if any, then the given headers (NULL-ended). */
static struct curl_slist *make_headers(const char *token, ...)
{
	struct curl_slist *l = curl_slist_append(NULL, "Expect:");
	if (!l)
		return NULL;
	if (token) {
		char *h = xstrdup_printf("Authorization: Token %s", token);
		struct curl_slist *n = h ? curl_slist_append(l, h) : NULL;
		if (h) {
			/* curl copied it: do not leave the secret in freed memory. */
			memset(h, 0, strlen(h));
			free(h);
		}
		if (!n) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	va_list ap;
	va_start(ap, token);
	const char *hdr;
	while ((hdr = va_arg(ap, const char *)) != NULL) {
		struct curl_slist *n = curl_slist_append(l, hdr);
		if (!n) {
			curl_slist_free_all(l);
			l = NULL;
			break;
		}
		l = n;
	}
	va_end(ap);
	return l;
}

struct wr_influx *wr_influx_open(const struct conf_output *conf, char *err, size_t errlen)
{
	struct wr_influx *inf = NULL;
	char *token_buf = NULL, *base = NULL, *e1 = NULL, *e2 = NULL;
	if (empty(conf->url)) {
		snprintf(err, errlen, "output: url: missing");
		return NULL;
	}
	if (strncmp(conf->url, "http://", 7) != 0 && strncmp(conf->url, "https://", 8) != 0) {
		snprintf(err, errlen, "output: url: must start with http:// or https://");
		return NULL;
	}
	int v2 = !empty(conf->bucket);
	if (!v2 && !empty(conf->org)) {
		snprintf(err, errlen, "output: bucket: missing (org is set, so this is InfluxDB v2)");
		return NULL;
	}
	if (!v2 && empty(conf->database)) {
		snprintf(err, errlen, "output: database: missing (or bucket for InfluxDB v2)");
		return NULL;
	}
	if (!v2 && conf->retention_ns > 0 && conf->retention_ns < MIN_RETENTION_NS) {
		snprintf(err, errlen, "output: retention: %s is shorter than InfluxDB's minimum of 1h",
			 conf->retention ? conf->retention : "?");
		return NULL;
	}
	if (!empty(conf->username) && conf->password == NULL) {
		snprintf(err, errlen, "output: password: missing (username is set)");
		return NULL;
	}
	if (!curl_ready) {
		CURLcode gc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (gc != CURLE_OK) {
			snprintf(err, errlen, "curl_global_init: %s", curl_easy_strerror(gc));
			return NULL;
		}
		curl_ready = 1;
	}
	inf = calloc(1, sizeof *inf);
	if (!inf)
		goto oom;
	inf->v2 = v2;
	inf->write_path = v2 ? "/api/v2/write" : "/write";
	lp_buf_init(&inf->resp);
	lp_buf_init(&inf->query_body);
	lp_buf_init(&inf->gz.out);
	inf->curl = curl_easy_init();
	if (!inf->curl) {
		snprintf(err, errlen, "curl_easy_init failed");
		goto fail;
	}
	base = base_url(conf->url);
	inf->safe_base = safe_url(conf->url);
	if (!base || !inf->safe_base)
		goto oom;
	if (v2) {
		e1 = curl_easy_escape(inf->curl, empty(conf->org) ? "" : conf->org, 0);
		e2 = curl_easy_escape(inf->curl, conf->bucket, 0);
		if (!e1 || !e2)
			goto oom;
		inf->write_url = empty(conf->org)
			? xstrdup_printf("%s/api/v2/write?bucket=%s&precision=ns", base, e2)
			: xstrdup_printf("%s/api/v2/write?org=%s&bucket=%s&precision=ns", base, e1, e2);
		inf->query_url = xstrdup_printf("%s/api/v2/query", base);
	} else {
		e1 = curl_easy_escape(inf->curl, conf->database, 0);
		if (!e1)
			goto oom;
		inf->write_url = xstrdup_printf("%s/write?db=%s&precision=ns", base, e1);
		inf->query_url = xstrdup_printf("%s/query", base);
		inf->db_ident = quote_ident(conf->database);
		if (!inf->db_ident)
			goto oom;
		format_retention(conf->retention_ns, inf->retention, sizeof inf->retention);
	}
	if (!inf->write_url || !inf->query_url)
		goto oom;

	const char *token = empty(conf->token) ? NULL : conf->token;
	if (!token && !empty(conf->token_file)) {
		token_buf = read_token_file(conf->token_file, err, errlen);
		if (!token_buf)
			goto fail;
		token = token_buf;
	}
	inf->query_headers = make_headers(token, (const char *)NULL);
	inf->plain_headers = make_headers(token, "Content-Type: text/plain; charset=utf-8",
					  (const char *)NULL);
	inf->gzip_headers = make_headers(token, "Content-Type: text/plain; charset=utf-8",
					 "Content-Encoding: gzip", (const char *)NULL);
	if (!inf->query_headers || !inf->plain_headers || !inf->gzip_headers)
		goto oom;
	if (conf->gzip) {
		if (wr_gzip_init(&inf->gz, GZIP_LEVEL, err, errlen) != 0)
			goto fail;
		inf->use_gzip = 1;
	}

	int64_t t = conf->timeout_ns > 0 ? conf->timeout_ns : DEFAULT_TIMEOUT_NS;
	inf->timeout_ms = (long)(t / 1000000);
	if (inf->timeout_ms < 1)
		inf->timeout_ms = 1;
	CURL *c = inf->curl;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, inf->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, inf->timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, inf);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, inf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, inf->errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "ringflow");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	if (!empty(conf->username)) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, conf->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, conf->password);
	}
	curl_free(e1);
	curl_free(e2);
	free(base);
	if (token_buf) {
		memset(token_buf, 0, strlen(token_buf));
		free(token_buf);
	}
	return inf;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	curl_free(e1);
	curl_free(e2);
	free(base);
	if (token_buf) {
		memset(token_buf, 0, strlen(token_buf));
		free(token_buf);
	}
	wr_influx_close(inf);
	return NULL;
}
