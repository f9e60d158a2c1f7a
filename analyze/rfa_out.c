/*
 * rfa_out.c — buffered line-protocol writer for an analyzer's stdout (see
 * rfa.h): alerts in the issue-10 shape and any other point, encoded by
 * pipeline/lineproto.c into one growable buffer that goes out in one write()
 * per flush. Runs in analyzer executables; blocks only in write().
 */
#include "analyze/rfa.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/detector.h"
#include "pipeline/lineproto.h"

struct rfa_out {
	int fd;
	int failed;          /* a write failed: errno kept, output dropped */
	int failed_errno;
	struct lp_buf b;
	struct lp_enc e;     /* the point being written by rfa_point_*() */
};

static const char *const sev_names[DET_SEVERITY_COUNT] = { "ok", "info", "warning", "critical" };

const char *rfa_severity_name(int severity)
{
	return severity >= 0 && severity < DET_SEVERITY_COUNT ? sev_names[severity] : NULL;
}

struct rfa_out *rfa_out_new(int fd)
{
	struct rfa_out *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->fd = fd;
	lp_buf_init(&o->b);
	/* Room for a flush's worth plus one large point, so steady state
	 * never grows the buffer. */
	lp_buf_reserve(&o->b, 2 * RFA_OUT_FLUSH_AT);
	return o;
}

void rfa_out_free(struct rfa_out *o)
{
	if (!o)
		return;
	(void)rfa_out_flush(o);
	lp_buf_free(&o->b);
	free(o);
}

size_t rfa_out_pending(const struct rfa_out *o)
{
	return o->b.len;
}

int rfa_out_flush(struct rfa_out *o)
{
	size_t off = 0;
	if (o->failed) {
		o->b.len = 0;
		errno = o->failed_errno;
		return -1;
	}
	while (off < o->b.len) {
		ssize_t n = write(o->fd, o->b.data + off, o->b.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->failed = 1;
			o->failed_errno = errno;
			o->b.len = 0;
			return -1;
		}
		off += (size_t)n;  /* short write (signal, non-blocking fd): go on */
	}
	o->b.len = 0;
	return 0;
}

/* After a complete point: flush once the buffer has passed the mark. */
static int maybe_flush(struct rfa_out *o)
{
	if (o->b.len >= RFA_OUT_FLUSH_AT)
		return rfa_out_flush(o);
	return o->failed ? -1 : 0;
}

/* lp_end() without a timestamp when time_ns is RFA_TIME_NONE. */
static int finish(struct rfa_out *o, struct lp_enc *e, int64_t time_ns)
{
	int rc;
	if (time_ns != RFA_TIME_NONE) {
		rc = lp_end(e, time_ns);
	} else if (e->nfields == 0 || e->invalid) {
		o->b.len = e->point_start;
		rc = -1;
	} else {
		lp_buf_append(&o->b, "\n", 1);
		rc = 0;
	}
	if (maybe_flush(o) < 0)
		return -1;
	return rc;
}

static int reserved_tag(const char *k, size_t n)
{
	return (n == 4 && !memcmp(k, "rule", 4)) || (n == 5 && !memcmp(k, "field", 5)) ||
	       (n == 8 && !memcmp(k, "severity", 8));
}

static void num_field(struct lp_enc *e, const char *key, double v)
{
	if (isfinite(v))
		(void)lp_field_float(e, key, strlen(key), v);
}

int rfa_alert(struct rfa_out *o, const struct rfa_alert *a)
{
	const char *sev = rfa_severity_name(a->severity);
	if (!sev || !a->rule || !*a->rule || !a->field || !*a->field)
		return -1;
	struct lp_enc e;
	lp_begin(&e, &o->b, "alert", 5);
	lp_tag(&e, "rule", 4, a->rule, strlen(a->rule));
	lp_tag(&e, "field", 5, a->field, strlen(a->field));
	lp_tag(&e, "severity", 8, sev, strlen(sev));
	if (a->series) {
		for (int i = 0; i < a->series->ntags; i++) {
			const struct lp_point_tag *t = &a->series->tags[i];
			if (!reserved_tag(t->key.p, t->key.len))
				lp_tag(&e, t->key.p, t->key.len, t->val.p, t->val.len);
		}
	} else {
		for (int i = 0; i < a->ntags; i++) {
			size_t kl = strlen(a->tag_keys[i]);
			if (!reserved_tag(a->tag_keys[i], kl))
				lp_tag(&e, a->tag_keys[i], kl, a->tag_values[i], strlen(a->tag_values[i]));
		}
	}
	const char *msg = a->message ? a->message : "";
	lp_field_str(&e, "message", 7, msg, strlen(msg));
	num_field(&e, "value", a->value);
	num_field(&e, "expected", a->expected);
	num_field(&e, "lower", a->lower);
	num_field(&e, "upper", a->upper);
	num_field(&e, "score", a->score);
	return finish(o, &e, a->time_ns);
}

void rfa_point_begin(struct rfa_out *o, const char *measurement)
{
	lp_begin(&o->e, &o->b, measurement, strlen(measurement));
}

void rfa_point_tag(struct rfa_out *o, const char *key, const char *val)
{
	lp_tag(&o->e, key, strlen(key), val, strlen(val));
}

int rfa_point_field(struct rfa_out *o, const char *key, double v)
{
	return lp_field_float(&o->e, key, strlen(key), v);
}

void rfa_point_field_int(struct rfa_out *o, const char *key, int64_t v)
{
	lp_field_int(&o->e, key, strlen(key), v);
}

void rfa_point_field_str(struct rfa_out *o, const char *key, const char *val)
{
	lp_field_str(&o->e, key, strlen(key), val, strlen(val));
}

int rfa_point_end(struct rfa_out *o, int64_t time_ns)
{
	return finish(o, &o->e, time_ns);
}
