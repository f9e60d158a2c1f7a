/* alert_out.c — see alert_out.h. */
#include "analyze/alert_out.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

struct an_alert_out {
	int log;
	struct rf_ratelimit rl;
};

struct an_alert_out *an_alert_out_open(const struct rf_config *conf, char *err, size_t errlen)
{
	struct an_alert_out *o = calloc(1, sizeof *o);
	if (!o) {
		snprintf(err, errlen, "[alerts] out of memory");
		return NULL;
	}
	o->log = conf->alerts.log;
	return o;
}

static const char *tag(const struct lp_point *pt, const char *key)
{
	for (int i = 0; i < pt->ntags; i++)
		if (!strcmp(pt->tags[i].key.p, key))
			return pt->tags[i].val.p;
	return "";
}

void an_alert_out_send(struct an_alert_out *o, const char *analyzer, const struct lp_point *pt, int64_t t)
{
	if (!o->log)
		return;
	const char *msg = "";
	for (int i = 0; i < pt->nfields; i++)
		if (!strcmp(pt->fields[i].key.p, "message") && pt->fields[i].type == LP_STRING)
			msg = pt->fields[i].v.s.p;
	rf_log_rl(&o->rl, RF_LOG_WARN, "alert %s analyzer=%s rule=%s field=%s: %s", tag(pt, "severity"), analyzer,
		  tag(pt, "rule"), tag(pt, "field"), msg);
}

void an_alert_out_service(struct an_alert_out *o, int64_t now_ns)
{
}

void an_alert_out_flush(struct an_alert_out *o, int64_t timeout_ns)
{
}

void an_alert_out_close(struct an_alert_out *o)
{
	free(o);
}
