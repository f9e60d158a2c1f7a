/*
 * output.c — see output.h: picks the destination from `[output] type` and
 * holds the backoff shared by both destinations. Runs in the writer process.
 */
#include "writer/output.h"
#include "writer/writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"
#include "writer/fileout.h"
#include "writer/influx.h"

/* How often a backoff wait looks at *stop (the contract says <= 100 ms). */
#define STOP_POLL_NS (50 * 1000000LL)

struct wr_output {
	enum conf_output_type type;
	struct wr_influx *influx;
	struct wr_fileout *file;
};

struct wr_output *wr_output_open(const struct conf_output *conf, char *err, size_t errlen)
{
	struct wr_output *out = calloc(1, sizeof *out);
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	out->type = conf->type;
	switch (conf->type) {
	case CONF_OUTPUT_INFLUXDB:
		out->influx = wr_influx_open(conf, err, errlen);
		if (!out->influx)
			goto fail;
		return out;
	case CONF_OUTPUT_FILE:
		out->file = wr_fileout_open(conf->path, err, errlen);
		if (!out->file)
			goto fail;
		return out;
	case CONF_OUTPUT_TYPE_COUNT:
	default:
		snprintf(err, errlen, "output: type: unknown value %d", (int)conf->type);
		goto fail;
	}
fail:
	free(out);
	return NULL;
}

void wr_output_close(struct wr_output *out)
{
	if (!out)
		return;
	wr_influx_close(out->influx);
	wr_fileout_close(out->file);
	free(out);
}

enum wr_result wr_output_deliver(struct wr_output *out, const char *lp, size_t len,
				 uint32_t npoints, const volatile int *stop,
				 struct wr_report *rep)
{
	if (out->influx)
		return wr_influx_deliver(out->influx, lp, len, npoints, stop, rep);
	return wr_fileout_deliver(out->file, lp, len, npoints, stop, rep);
}

static void (*wait_hook)(void *);
static void *wait_hook_arg;

void wr_set_wait_hook(void (*fn)(void *), void *arg)
{
	wait_hook = fn;
	wait_hook_arg = arg;
}

int wr_backoff_wait(int64_t *delay_ns, const volatile int *stop)
{
	if (wait_hook)
		wait_hook(wait_hook_arg);
	int64_t deadline = rf_mono_ns() + *delay_ns;
	for (;;) {
		if (stop && *stop)
			return -1;
		int64_t left = deadline - rf_mono_ns();
		if (left <= 0)
			break;
		if (left > STOP_POLL_NS)
			left = STOP_POLL_NS;
		struct timespec ts = { .tv_sec = left / RF_NS_PER_SEC, .tv_nsec = left % RF_NS_PER_SEC };
		nanosleep(&ts, NULL); /* EINTR: the loop re-checks stop and the clock */
	}
	*delay_ns = *delay_ns * 2 > WR_BACKOFF_MAX_NS ? WR_BACKOFF_MAX_NS : *delay_ns * 2;
	if (*delay_ns < WR_BACKOFF_MIN_NS)
		*delay_ns = WR_BACKOFF_MIN_NS;
	return 0;
}

void wr_report_error(struct wr_report *rep, const char *msg)
{
	snprintf(rep->last_error, sizeof rep->last_error, "%s", msg);
}

int wr_output_check(const struct conf_output *conf, char *err, size_t errlen)
{
	struct wr_output *out = wr_output_open(conf, err, errlen);
	if (!out)
		return -1;
	wr_output_close(out);
	return 0;
}
