/*
 * rfa_history.c — see rfa_history.h.  Runs in analyzer processes; blocks in
 * one HTTP request per query (bounded by timeout_ms, or by the connect and
 * stall limits below).
 *
 * NOTES
 * - POST /query with a form body: an InfluxQL text of any length fits, and
 *   InfluxDB 1.x answers SELECT and SHOW the same way on POST as on GET.
 * - The body goes straight from libcurl's write callback into the streaming
 *   parser; rows reach the caller while the answer is still arriving.  The
 *   status is looked at on the first body bytes: an answer other than 200 is
 *   parsed only for its "error" text (its first bytes are kept as they are,
 *   for a body that is not JSON, e.g. a proxy's page).
 * - The token goes only into the header list (the buffer it was formatted
 *   in is wiped); curl's verbose mode is never turned on and
 *   curl's error texts do not contain request headers.  Userinfo in the URL
 *   is cut from messages.
 */
#include "analyze/rfa_history.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/rfa_hist_parse.h"

#define CHUNK_SIZE 10000             /* points per chunk: InfluxDB's default */
#define CONNECT_TIMEOUT_MS 10000L
#define STALL_SECONDS 60L            /* below 1 byte/s for this long: abort */
#define RAW_KEEP 256                 /* bytes of a non-200 body kept verbatim */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int rfa_influx_from_env(struct rfa_influx *c)
{
	memset(c, 0, sizeof *c);
	c->url = getenv("RINGFLOW_INFLUX_URL");
	c->db = getenv("RINGFLOW_INFLUX_DB");
	c->token = getenv("RINGFLOW_INFLUX_TOKEN");
	c->timeout_ms = 0;
	return c->url && *c->url && c->db && *c->db ? 0 : -1;
}

/* InfluxQL identifier: "..." with '"', '\' and newline escaped (the
 * scanner's escapes are \" \\ \n).  Returns the length written or -1. */
static int quote_ident(char *out, size_t len, const char *name)
{
	size_t o = 0;
	if (len < 3)
		return -1;
	out[o++] = '"';
	for (const char *s = name; *s; s++) {
		const char *e = NULL;
		char one[2] = { *s, '\0' };
		if (*s == '"')
			e = "\\\"";
		else if (*s == '\\')
			e = "\\\\";
		else if (*s == '\n')
			e = "\\n";
		else
			e = one;
		size_t n = strlen(e);
		if (o + n + 2 > len)
			return -1;
		memcpy(out + o, e, n);
		o += n;
	}
	out[o++] = '"';
	out[o] = '\0';
	return (int)o;
}

int rfa_history_window_query(char *buf, size_t len, const char *measurement, int64_t from_ns,
			     int64_t to_ns)
{
	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (from_ns >= to_ns)
		return -1;
	int head = snprintf(buf, len, "SELECT * FROM ");
	if (head < 0 || (size_t)head >= len)
		goto too_long;
	int q = quote_ident(buf + head, len - (size_t)head, measurement);
	if (q < 0)
		goto too_long;
	size_t used = (size_t)head + (size_t)q;
	int tail = snprintf(buf + used, len - used,
			    " WHERE time >= %" PRId64 " AND time < %" PRId64 " GROUP BY *",
			    from_ns, to_ns);
	if (tail < 0 || (size_t)tail >= len - used)
		goto too_long;
	return (int)(used + (size_t)tail);
too_long:
	buf[0] = '\0';
	return -1;
}

/* ---- one request ------------------------------------------------------ */

struct request {
	CURL *curl;
	rfa_hist_fn fn;
	void *arg;
	struct rfa_hist_parser *parser;  /* created on the first body bytes */
	long status;
	int outcome;                     /* parser's first nonzero result */
	char msg[512];                   /* its text */
	char raw[RAW_KEEP + 1];          /* non-200: first body bytes */
	size_t raw_len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct request *r = arg;
	size_t n = size * nmemb;
	if (!r->parser) {
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
		r->parser = rfa_hist_parser_new(r->fn, r->arg, r->status == 200);
		if (!r->parser) {
			r->outcome = RFA_HIST_MALFORMED;
			snprintf(r->msg, sizeof r->msg, "out of memory");
			return 0;
		}
	}
	if (r->status != 200 && r->raw_len < RAW_KEEP) {
		size_t take = n < RAW_KEEP - r->raw_len ? n : RAW_KEEP - r->raw_len;
		memcpy(r->raw + r->raw_len, data, take);
		r->raw_len += take;
		r->raw[r->raw_len] = '\0';
	}
	if (r->outcome)
		return n; /* error body: its text is known, drain the rest */
	int rc = rfa_hist_parser_feed(r->parser, data, n, r->msg, sizeof r->msg);
	if (rc == 0)
		return n;
	r->outcome = rc;
	if (r->status != 200)
		return n; /* keep reading: the status line is what matters */
	return 0;         /* abort the transfer: CURLE_WRITE_ERROR */
}

/* URL without "user:pass@" and trailing slashes, for messages. */
static void safe_url(char *out, size_t len, const char *url)
{
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	size_t hostlen = strcspn(host, "/");
	const char *at = memchr(host, '@', hostlen);
	if (at)
		snprintf(out, len, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(out, len, "%s", url);
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
}

/* A body that is not JSON, made printable and one line. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int rfa_history_query(const struct rfa_influx *c, const char *influxql, rfa_hist_fn fn,
		      void *arg, char *err, size_t errlen)
{
	int ret = -1;
	struct request r = { .fn = fn, .arg = arg };
	struct curl_slist *headers = NULL;
	char *url = NULL, *body = NULL, *edb = NULL, *eq = NULL;
	char shown[256], cerr[CURL_ERROR_SIZE] = "";

	if (!c || !c->url || !*c->url || !c->db || !influxql) {
		snprintf(err, errlen, "history query: no InfluxDB url or database");
		return -1;
	}
	safe_url(shown, sizeof shown, c->url);
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != 0) {
		snprintf(err, errlen, "history query: curl_global_init failed");
		return -1;
	}
	r.curl = curl_easy_init();
	if (!r.curl) {
		snprintf(err, errlen, "history query: curl_easy_init failed");
		return -1;
	}

	size_t ulen = strlen(c->url);
	while (ulen > 0 && c->url[ulen - 1] == '/')
		ulen--;
	edb = curl_easy_escape(r.curl, c->db, 0);
	eq = curl_easy_escape(r.curl, influxql, 0);
	if (asprintf(&url, "%.*s/query", (int)ulen, c->url) < 0)
		url = NULL;
	if (!edb || !eq || !url ||
	    asprintf(&body, "db=%s&q=%s&epoch=ns&chunked=true&chunk_size=%d", edb, eq,
		     CHUNK_SIZE) < 0) {
		body = NULL;
		snprintf(err, errlen, "history query: out of memory");
		goto out;
	}

	/* "Expect:" keeps the 100-continue round trip out of large POSTs. */
	headers = curl_slist_append(NULL, "Accept: application/json");
	struct curl_slist *nh = headers ? curl_slist_append(headers, "Expect:") : NULL;
	if (!nh) {
		snprintf(err, errlen, "history query: out of memory");
		goto out;
	}
	headers = nh;
	if (c->token && *c->token) {
		size_t hl = strlen(c->token) + sizeof "Authorization: Token ";
		char *h = malloc(hl);
		if (!h) {
			snprintf(err, errlen, "history query: out of memory");
			goto out;
		}
		snprintf(h, hl, "Authorization: Token %s", c->token);
		nh = curl_slist_append(headers, h);
		explicit_bzero(h, hl);
		free(h);
		if (!nh) {
			snprintf(err, errlen, "history query: out of memory");
			goto out;
		}
		headers = nh;
	}

	curl_easy_setopt(r.curl, CURLOPT_URL, url);
	curl_easy_setopt(r.curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(r.curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(r.curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(r.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r.curl, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(r.curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(r.curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
	curl_easy_setopt(r.curl, CURLOPT_CONNECTTIMEOUT_MS,
			 c->timeout_ms > 0 && c->timeout_ms < CONNECT_TIMEOUT_MS ?
			 c->timeout_ms : CONNECT_TIMEOUT_MS);
	if (c->timeout_ms > 0)
		curl_easy_setopt(r.curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(r.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(r.curl, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);

	CURLcode cc = curl_easy_perform(r.curl);
	if (r.status == 0)
		curl_easy_getinfo(r.curl, CURLINFO_RESPONSE_CODE, &r.status);

	if (r.outcome == RFA_HIST_STOPPED) {
		ret = 1;
		goto out;
	}
	if (r.status != 200 && r.status != 0) {
		/* The error text: InfluxDB's "error", else the body as it is. */
		const char *text = r.outcome == RFA_HIST_INFLUX ? r.msg : r.raw;
		if (text == r.raw)
			printable(r.raw);
		snprintf(err, errlen, "POST %s/query: HTTP %ld%s%s", shown, r.status,
			 *text ? ": " : "", text);
		goto out;
	}
	if (r.outcome == RFA_HIST_INFLUX) {
		snprintf(err, errlen, "POST %s/query: InfluxDB error: %s", shown, r.msg);
		goto out;
	}
	if (r.outcome == RFA_HIST_MALFORMED) {
		snprintf(err, errlen, "POST %s/query: %s", shown, r.msg);
		goto out;
	}
	if (cc != CURLE_OK) {
		long os_errno = 0;
		curl_easy_getinfo(r.curl, CURLINFO_OS_ERRNO, &os_errno);
		snprintf(err, errlen, "POST %s/query: %s%s%s%s", shown,
			 *cerr ? cerr : curl_easy_strerror(cc), os_errno ? " (" : "",
			 os_errno ? strerror((int)os_errno) : "", os_errno ? ")" : "");
		goto out;
	}
	if (!r.parser) {
		snprintf(err, errlen, "POST %s/query: malformed JSON at byte 0: empty answer", shown);
		goto out;
	}
	char perr[512];
	int rc = rfa_hist_parser_finish(r.parser, perr, sizeof perr);
	if (rc == RFA_HIST_STOPPED) {
		ret = 1;
	} else if (rc != 0) {
		snprintf(err, errlen, "POST %s/query: %s%s", shown,
			 rc == RFA_HIST_INFLUX ? "InfluxDB error: " : "", perr);
	} else {
		ret = 0;
	}
out:
	rfa_hist_parser_free(r.parser);
	curl_slist_free_all(headers);
	curl_free(edb);
	curl_free(eq);
	free(url);
	free(body);
	curl_easy_cleanup(r.curl);
	return ret;
}
