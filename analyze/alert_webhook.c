/*
 * alert_webhook.c — POST alerts' JSON to a webhook with libcurl's multi
 * interface, one request at a time, retried with backoff. See
 * alert_webhook.h and alert_sinks.h.
 *
 * Runs in the analyzer host's loop. curl_multi_perform() only does the I/O
 * that is ready, so a receiver that never answers costs nothing until
 * CURLOPT_TIMEOUT_MS ends the request. CURLOPT_NOSIGNAL because timeouts
 * must not raise SIGALRM in a process with other threads.
 */
#include "analyze/alert_webhook.h"
#include "common/log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
	char *body;
	size_t len;
	int attempts;                 /* requests made so far */
};

struct an_webhook {
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *url;
	char where[256];              /* redacted URL, for logs */
	const char *name;
	long timeout_ms;
	int retries;
	struct job *q;                /* ring; q[head] is the one sent next / in flight */
	int cap, head, len;
	int inflight;
	int64_t due_ns;               /* q[head] may start at (backoff) */
	struct an_sink_stats *stats;
};

void an_webhook_redact(const char *url, char *buf, size_t cap)
{
	const char *p = strstr(url, "://");
	if (!p) {
		snprintf(buf, cap, "(url)");
		return;
	}
	const char *host = p + 3;
	size_t hl = strcspn(host, "/?#");
	/* user:password@host: the last '@' before the path ends the user info */
	for (size_t i = hl; i > 0; i--)
		if (host[i - 1] == '@') {
			hl -= i;
			host += i;
			break;
		}
	snprintf(buf, cap, "%.*s://%.*s", (int)(p - url) > 16 ? 16 : (int)(p - url), url,
		 hl > 200 ? 200 : (int)hl, host);
}

static int header_ok(const char *s, int is_name)
{
	if (is_name && !*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r' || c == '\n' || c == 0)
			return 0;
		if (is_name && (c <= ' ' || c == ':' || c >= 0x7f))
			return 0;
	}
	return 1;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

struct an_webhook *an_webhook_new(const struct an_alerts_conf *c, const char *name_for_logs,
				  struct an_sink_stats *stats, char *err, size_t errlen)
{
	struct an_webhook *w = calloc(1, sizeof *w);
	char line[8192];
	if (!w) {
		snprintf(err, errlen, "webhook: out of memory");
		return NULL;
	}
	w->name = name_for_logs;
	w->stats = stats;
	int64_t tmo = c->webhook_timeout_ns > 0 ? c->webhook_timeout_ns : AN_WEBHOOK_TIMEOUT_DEFAULT_NS;
	w->timeout_ms = (long)((tmo + 999999) / 1000000);
	w->retries = c->webhook_retries >= 0 ? c->webhook_retries : AN_WEBHOOK_RETRIES_DEFAULT;
	w->cap = c->webhook_queue > 0 ? c->webhook_queue : AN_WEBHOOK_QUEUE_DEFAULT;
	an_webhook_redact(c->webhook, w->where, sizeof w->where);

	if (strncmp(c->webhook, "http://", 7) && strncmp(c->webhook, "https://", 8)) {
		snprintf(err, errlen, "webhook %s: not an http:// or https:// URL", w->where);
		goto fail;
	}
	w->url = strdup(c->webhook);
	w->q = calloc((size_t)w->cap, sizeof *w->q);
	if (!w->url || !w->q) {
		snprintf(err, errlen, "webhook: out of memory");
		goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "webhook: curl_global_init failed");
		goto fail;
	}
	/* "Expect:" turns off 100-continue, which would hold bodies over
	 * 1 KiB for a second waiting for a receiver that does not send it. */
	const char *fixed[] = { "Content-Type: application/json", "Expect:" };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		struct curl_slist *n = curl_slist_append(w->headers, fixed[i]);
		if (!n)
			goto oom;
		w->headers = n;
	}
	for (int i = 0; i < c->nheaders; i++) {
		/* the value may be a token: the messages name the header only */
		if (!header_ok(c->header_names[i], 1) || !header_ok(c->header_values[i], 0)) {
			snprintf(err, errlen, "webhook.header.%.64s: bad header name or value (control bytes?)",
				 c->header_names[i]);
			goto fail;
		}
		int n = snprintf(line, sizeof line, "%s: %s", c->header_names[i], c->header_values[i]);
		if (n < 0 || (size_t)n >= sizeof line) {
			snprintf(err, errlen, "webhook.header.%.64s: longer than %zu bytes", c->header_names[i],
				 sizeof line - 1);
			goto fail;
		}
		struct curl_slist *sl = curl_slist_append(w->headers, line);
		if (!sl)
			goto oom;
		w->headers = sl;
	}
	explicit_bzero(line, sizeof line); /* do not leave a token on the stack */
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	if (!w->multi || !w->easy) {
		snprintf(err, errlen, "webhook: curl_multi_init/curl_easy_init failed");
		goto fail;
	}
	return w;
oom:
	snprintf(err, errlen, "webhook: out of memory");
fail:
	explicit_bzero(line, sizeof line);
	an_webhook_free(w);
	return NULL;
}

void an_webhook_free(struct an_webhook *w)
{
	if (!w)
		return;
	if (w->inflight)
		curl_multi_remove_handle(w->multi, w->easy);
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->headers);
	for (int i = 0; i < w->len; i++)
		free(w->q[(w->head + i) % w->cap].body);
	free(w->q);
	free(w->url);
	free(w);
}

int an_webhook_push(struct an_webhook *w, const char *json, size_t len)
{
	if (w->len == w->cap) {
		w->stats->webhook_dropped++;
		RF_LOG_RL(RF_LOG_WARN, "%s: webhook %s: queue full (%d alerts), alert dropped", w->name, w->where,
			  w->cap);
		return -1;
	}
	char *b = malloc(len);
	if (!b) {
		w->stats->webhook_dropped++;
		return -1;
	}
	memcpy(b, json, len);
	struct job *j = &w->q[(w->head + w->len) % w->cap];
	j->body = b;
	j->len = len;
	j->attempts = 0;
	w->len++;
	return 0;
}

size_t an_webhook_pending(const struct an_webhook *w)
{
	return (size_t)w->len;
}

static void pop(struct an_webhook *w)
{
	free(w->q[w->head].body);
	w->q[w->head].body = NULL;
	w->head = (w->head + 1) % w->cap;
	w->len--;
}

static int start(struct an_webhook *w)
{
	struct job *j = &w->q[w->head];
	CURL *e = w->easy;
	curl_easy_reset(e);
	if (curl_easy_setopt(e, CURLOPT_URL, w->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
		return -1;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->len);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ringflow");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	if (curl_multi_add_handle(w->multi, e) != CURLM_OK)
		return -1;
	j->attempts++;
	w->inflight = 1;
	return 0;
}

/* After attempt number j->attempts failed: retry later or give up. */
static void failed(struct an_webhook *w, int64_t now_ns, int transient, const char *why, long code)
{
	struct job *j = &w->q[w->head];
	if (transient && j->attempts <= w->retries) {
		int64_t b = AN_WEBHOOK_BACKOFF_NS;
		for (int i = 1; i < j->attempts && b < AN_WEBHOOK_BACKOFF_MAX_NS; i++)
			b *= 2;
		if (b > AN_WEBHOOK_BACKOFF_MAX_NS)
			b = AN_WEBHOOK_BACKOFF_MAX_NS;
		w->due_ns = now_ns + b;
		w->stats->webhook_retries++;
		return;
	}
	w->stats->webhook_failed++;
	if (code)
		RF_LOG_RL(RF_LOG_WARN, "%s: webhook %s: alert not delivered after %d attempt(s): HTTP %ld", w->name,
			  w->where, j->attempts, code);
	else
		RF_LOG_RL(RF_LOG_WARN, "%s: webhook %s: alert not delivered after %d attempt(s): %s", w->name,
			  w->where, j->attempts, why);
	pop(w);
	w->due_ns = now_ns;
}

static void done(struct an_webhook *w, int64_t now_ns, CURLcode rc)
{
	long code = 0;
	curl_multi_remove_handle(w->multi, w->easy);
	w->inflight = 0;
	if (rc != CURLE_OK) {
		/* Timeouts, refused connections, resets: the receiver may be
		 * back soon. curl_easy_strerror, not the error buffer, so no
		 * part of the URL gets into the log. */
		failed(w, now_ns, 1, curl_easy_strerror(rc), 0);
		return;
	}
	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300) {
		w->stats->webhook_sent++;
		pop(w);
		w->due_ns = now_ns;
		return;
	}
	failed(w, now_ns, code == 408 || code == 429 || code >= 500, NULL, code);
}

void an_webhook_service(struct an_webhook *w, int64_t now_ns)
{
	/* A finished request lets the next one start in the same call, so a
	 * fast receiver takes more than one alert per loop turn; bounded so
	 * one call stays short. */
	for (int turn = 0; turn < 16; turn++) {
		int running = 0, finished = 0;
		if (!w->inflight && w->len && now_ns >= w->due_ns && start(w) < 0) {
			w->q[w->head].attempts++;
			failed(w, now_ns, 0, "curl setup failed", 0);
			continue;
		}
		if (!w->inflight)
			return;
		curl_multi_perform(w->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(w->multi, &left)))
			if (m->msg == CURLMSG_DONE && m->easy_handle == w->easy) {
				done(w, now_ns, m->data.result);
				finished = 1;
				break; /* w->easy is reused: no second message for it */
			}
		if (!finished)
			return;
	}
}

void an_webhook_wait(struct an_webhook *w, int timeout_ms)
{
	curl_multi_poll(w->multi, NULL, 0, timeout_ms, NULL);
}
