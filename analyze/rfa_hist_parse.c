/*
 * rfa_hist_parse.c — see rfa_hist_parse.h.  Runs in analyzer processes.
 *
 * NOTES
 * - A state machine over rfa_json's events, one state per place in the
 *   answer's shape (root object, results array, result, series array,
 *   series, tags, columns, values, row).  Keys it does not know ("partial",
 *   "messages", anything newer) are skipped whole, however deep.
 * - The series header lives in one arena of offsets (it may move while it
 *   grows); the pointer arrays a row shows are built once, when "values"
 *   starts, and reused for every row of the series.
 * - Timestamps are parsed as integers (strtoll): nanoseconds since 1970 do
 *   not fit a double's 53 bits.  Other numbers go through strtod_l in the C
 *   locale, so an analyzer's setlocale() cannot change them.
 */
#include "analyze/rfa_hist_parse.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/rfa_json.h"

enum {
	S_TOP = 0, S_ROOT_KEY, S_ROOT_ERROR, S_RESULTS, S_RESULT_ELEM, S_RESULT_KEY,
	S_STMT_ID, S_RESULT_ERROR, S_SERIES, S_SERIES_ELEM, S_SERIES_KEY, S_NAME,
	S_TAGS, S_TAG_KEY, S_TAG_VAL, S_COLUMNS, S_COLUMN, S_VALUES, S_ROW_BEGIN,
	S_ROW_ELEM, S_SKIP, S_UNKNOWN
};

struct rfa_hist_parser {
	struct rfa_json json;
	rfa_hist_fn fn;
	void *arg;
	int deliver;
	int state;
	int ret_state;             /* S_SKIP: where to go after the skipped value */
	int skip_depth;
	int stmt_id;
	/* series header: offsets into arena */
	char *arena;
	size_t alen, acap;
	size_t name_off;
	int has_name, has_tags, has_cols, ready;
	size_t *tag_off;           /* 2 per tag: key, value */
	int ntags, tag_cap;
	size_t *col_off;
	int ncols_all, col_cap;
	int time_col;              /* index among all columns, -1 if none */
	/* built at "values" for the rows */
	const char **tag_keys, **tag_vals, **cols;
	int *slot;                 /* column -> index in vals, -1 for time */
	double *vals;
	int ptr_cap;               /* capacity of cols/slot/vals */
	int tagptr_cap;
	/* current row */
	int row_idx;
	int64_t row_time;
	int row_has_time;
	uint64_t rows;
	/* outcome */
	int result;                /* what the event callback stopped for */
	char msg[1024];            /* its text */
};

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double to_double(const char *s)
{
	pthread_once(&c_locale_once, make_c_locale);
	if (c_locale)
		return strtod_l(s, NULL, c_locale);
	return strtod(s, NULL); /* newlocale failed (no memory): best effort */
}

/* JSON number text -> int64; -1 if it is not a whole number in range. */
static int to_int64(const char *s, size_t len, int64_t *out)
{
	if (strcspn(s, ".eE") == len) {
		errno = 0;
		long long v = strtoll(s, NULL, 10);
		if (errno == ERANGE)
			return -1;
		*out = v;
		return 0;
	}
	double d = to_double(s);
	if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static int malformed(struct rfa_hist_parser *p, const char *fmt, const char *what)
{
	char why[256];
	snprintf(why, sizeof why, fmt, what);
	snprintf(p->msg, sizeof p->msg, "malformed answer at byte %llu: %s",
		 (unsigned long long)p->json.offset, why);
	p->result = RFA_HIST_MALFORMED;
	return 1;
}

/* InfluxDB's error text, control characters made visible as '?'. */
static int influx_error(struct rfa_hist_parser *p, const char *text, int in_result)
{
	int n = 0;
	if (in_result && p->stmt_id > 0)
		n = snprintf(p->msg, sizeof p->msg, "statement %d: ", p->stmt_id);
	snprintf(p->msg + n, sizeof p->msg - (size_t)n, "%s", text);
	for (char *c = p->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	p->result = RFA_HIST_INFLUX;
	return 1;
}

static int arena_put(struct rfa_hist_parser *p, const char *s, size_t len, size_t *off)
{
	if (p->alen + len + 1 > RFA_HIST_MAX_HEADER)
		return malformed(p, "%s", "series header (name, tags, columns) over 4 MiB");
	if (p->alen + len + 1 > p->acap) {
		size_t cap = p->acap ? p->acap : 1024;
		while (cap < p->alen + len + 1)
			cap *= 2;
		char *a = realloc(p->arena, cap);
		if (!a)
			return malformed(p, "%s", "out of memory");
		p->arena = a;
		p->acap = cap;
	}
	memcpy(p->arena + p->alen, s, len);
	p->arena[p->alen + len] = '\0';
	*off = p->alen;
	p->alen += len + 1;
	return 0;
}

/* Grows an array of `size`-byte items to hold n; 0 or 1 (error set). */
static int grow(struct rfa_hist_parser *p, void **arr, int *cap, int n, size_t size)
{
	if (n <= *cap)
		return 0;
	int c = *cap ? *cap : 16;
	while (c < n)
		c *= 2;
	void *a = realloc(*arr, (size_t)c * size);
	if (!a)
		return malformed(p, "%s", "out of memory");
	*arr = a;
	*cap = c;
	return 0;
}

static void series_reset(struct rfa_hist_parser *p)
{
	p->alen = 0;
	p->has_name = p->has_tags = p->has_cols = p->ready = 0;
	p->ntags = 0;
	p->ncols_all = 0;
	p->time_col = -1;
}

/* Builds the pointer arrays rows are shown with; 0 or 1 (error set). */
static int series_ready(struct rfa_hist_parser *p)
{
	int n = p->ncols_all;
	if (grow(p, (void **)&p->cols, &p->ptr_cap, n, sizeof *p->cols))
		return 1;
	/* cols, slot and vals share ptr_cap: grow the others to it */
	void *s = realloc(p->slot, (size_t)(p->ptr_cap ? p->ptr_cap : 1) * sizeof *p->slot);
	if (!s)
		return malformed(p, "%s", "out of memory");
	p->slot = s;
	void *v = realloc(p->vals, (size_t)(p->ptr_cap ? p->ptr_cap : 1) * sizeof *p->vals);
	if (!v)
		return malformed(p, "%s", "out of memory");
	p->vals = v;
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (i == p->time_col) {
			p->slot[i] = -1;
			continue;
		}
		p->slot[i] = k;
		p->cols[k++] = p->arena + p->col_off[i];
	}
	if (grow(p, (void **)&p->tag_keys, &p->tagptr_cap, p->ntags, sizeof *p->tag_keys))
		return 1;
	void *tv = realloc(p->tag_vals, (size_t)(p->tagptr_cap ? p->tagptr_cap : 1) *
			   sizeof *p->tag_vals);
	if (!tv)
		return malformed(p, "%s", "out of memory");
	p->tag_vals = tv;
	for (int i = 0; i < p->ntags; i++) {
		p->tag_keys[i] = p->arena + p->tag_off[2 * i];
		p->tag_vals[i] = p->arena + p->tag_off[2 * i + 1];
	}
	p->ready = 1;
	return 0;
}

static int deliver_row(struct rfa_hist_parser *p)
{
	if (p->time_col >= 0 && !p->row_has_time)
		return malformed(p, "%s", "row without an integer time (epoch=ns expected)");
	p->rows++;
	if (!p->deliver)
		return 0;
	struct rfa_hist_row r = {
		.measurement = p->has_name ? p->arena + p->name_off : "",
		.ntags = p->ntags,
		.tag_keys = p->tag_keys,
		.tag_values = p->tag_vals,
		.time_ns = p->time_col >= 0 ? p->row_time : 0,
		.ncols = p->ncols_all - (p->time_col >= 0),
		.cols = p->cols,
		.vals = p->vals,
		.statement_id = p->stmt_id,
	};
	if (p->fn(p->arg, &r) != 0) {
		p->result = RFA_HIST_STOPPED;
		return 1;
	}
	return 0;
}

/* Starts skipping the value that begins with ev, then goes to ret. */
static void skip_value(struct rfa_hist_parser *p, enum rfa_json_ev ev, int ret)
{
	if (ev == RFA_JSON_OBJ_BEGIN || ev == RFA_JSON_ARR_BEGIN) {
		p->skip_depth = 1;
		p->ret_state = ret;
		p->state = S_SKIP;
	} else {
		p->state = ret;
	}
}

/* The value of a key we do not know is skipped, then back to state back. */
static void unknown_key(struct rfa_hist_parser *p, int back)
{
	p->ret_state = back;
	p->state = S_UNKNOWN;
}

static int is_key(enum rfa_json_ev ev, const char *s, const char *want)
{
	return ev == RFA_JSON_KEY && strcmp(s, want) == 0;
}

static int on_event(void *arg, enum rfa_json_ev ev, const char *s, size_t len)
{
	struct rfa_hist_parser *p = arg;
	switch (p->state) {
	case S_SKIP:
		if (ev == RFA_JSON_OBJ_BEGIN || ev == RFA_JSON_ARR_BEGIN)
			p->skip_depth++;
		else if ((ev == RFA_JSON_OBJ_END || ev == RFA_JSON_ARR_END) && --p->skip_depth == 0)
			p->state = p->ret_state;
		return 0;
	case S_TOP:
		if (ev != RFA_JSON_OBJ_BEGIN)
			return malformed(p, "%s", "answer is not a JSON object");
		p->state = S_ROOT_KEY;
		return 0;
	case S_ROOT_KEY:
		if (ev == RFA_JSON_OBJ_END)
			p->state = S_TOP;
		else if (is_key(ev, s, "results"))
			p->state = S_RESULTS;
		else if (is_key(ev, s, "error"))
			p->state = S_ROOT_ERROR;
		else
			unknown_key(p, S_ROOT_KEY);
		return 0;
	case S_ROOT_ERROR:
		if (ev == RFA_JSON_STRING)
			return influx_error(p, s, 0);
		skip_value(p, ev, S_ROOT_KEY);
		return 0;
	case S_RESULTS:
		if (ev == RFA_JSON_ARR_BEGIN)
			p->state = S_RESULT_ELEM;
		else if (ev == RFA_JSON_NULL)
			p->state = S_ROOT_KEY;
		else
			return malformed(p, "%s", "\"results\" is not an array");
		return 0;
	case S_RESULT_ELEM:
		if (ev == RFA_JSON_ARR_END) {
			p->state = S_ROOT_KEY;
		} else if (ev == RFA_JSON_OBJ_BEGIN) {
			p->stmt_id = 0;
			p->state = S_RESULT_KEY;
		} else {
			return malformed(p, "%s", "a result is not an object");
		}
		return 0;
	case S_RESULT_KEY:
		if (ev == RFA_JSON_OBJ_END)
			p->state = S_RESULT_ELEM;
		else if (is_key(ev, s, "series"))
			p->state = S_SERIES;
		else if (is_key(ev, s, "error"))
			p->state = S_RESULT_ERROR;
		else if (is_key(ev, s, "statement_id"))
			p->state = S_STMT_ID;
		else
			unknown_key(p, S_RESULT_KEY);
		return 0;
	case S_STMT_ID:
		if (ev == RFA_JSON_NUMBER) {
			int64_t v;
			if (to_int64(s, len, &v) == 0 && v >= 0 && v <= 1000000000)
				p->stmt_id = (int)v;
		}
		skip_value(p, ev, S_RESULT_KEY);
		return 0;
	case S_RESULT_ERROR:
		if (ev == RFA_JSON_STRING)
			return influx_error(p, s, 1);
		skip_value(p, ev, S_RESULT_KEY);
		return 0;
	case S_SERIES:
		if (ev == RFA_JSON_ARR_BEGIN)
			p->state = S_SERIES_ELEM;
		else if (ev == RFA_JSON_NULL)
			p->state = S_RESULT_KEY;
		else
			return malformed(p, "%s", "\"series\" is not an array");
		return 0;
	case S_SERIES_ELEM:
		if (ev == RFA_JSON_ARR_END) {
			p->state = S_RESULT_KEY;
		} else if (ev == RFA_JSON_OBJ_BEGIN) {
			series_reset(p);
			p->state = S_SERIES_KEY;
		} else {
			return malformed(p, "%s", "a series is not an object");
		}
		return 0;
	case S_SERIES_KEY:
		if (ev == RFA_JSON_OBJ_END) {
			p->state = S_SERIES_ELEM;
			return 0;
		}
		if (ev == RFA_JSON_KEY && p->ready &&
		    (!strcmp(s, "name") || !strcmp(s, "tags") || !strcmp(s, "columns")))
			return malformed(p, "series: \"%s\" after \"values\"", s);
		if (is_key(ev, s, "name"))
			p->state = S_NAME;
		else if (is_key(ev, s, "tags"))
			p->state = S_TAGS;
		else if (is_key(ev, s, "columns"))
			p->state = S_COLUMNS;
		else if (is_key(ev, s, "values"))
			p->state = S_VALUES;
		else
			unknown_key(p, S_SERIES_KEY);
		return 0;
	case S_NAME:
		if (ev == RFA_JSON_STRING) {
			if (arena_put(p, s, len, &p->name_off))
				return 1;
			p->has_name = 1;
			p->state = S_SERIES_KEY;
			return 0;
		}
		if (ev != RFA_JSON_NULL)
			return malformed(p, "%s", "series name is not a string");
		p->state = S_SERIES_KEY;
		return 0;
	case S_TAGS:
		if (ev == RFA_JSON_OBJ_BEGIN) {
			p->ntags = 0; /* a repeated "tags" replaces the first */
			p->state = S_TAG_KEY;
		} else if (ev == RFA_JSON_NULL) {
			p->state = S_SERIES_KEY;
		} else {
			return malformed(p, "%s", "\"tags\" is not an object");
		}
		return 0;
	case S_TAG_KEY:
		if (ev == RFA_JSON_OBJ_END) {
			p->state = S_SERIES_KEY;
			return 0;
		}
		if (p->ntags >= RFA_HIST_MAX_TAGS)
			return malformed(p, "%s", "more than 65536 tags");
		if (grow(p, (void **)&p->tag_off, &p->tag_cap, 2 * (p->ntags + 1), sizeof *p->tag_off))
			return 1;
		if (arena_put(p, s, len, &p->tag_off[2 * p->ntags]))
			return 1;
		p->state = S_TAG_VAL;
		return 0;
	case S_TAG_VAL:
		/* InfluxDB shows a tag a series lacks as "" (GROUP BY *) */
		if (ev == RFA_JSON_NULL) {
			s = "";
			len = 0;
		} else if (ev != RFA_JSON_STRING) {
			return malformed(p, "%s", "a tag value is not a string");
		}
		if (arena_put(p, s, len, &p->tag_off[2 * p->ntags + 1]))
			return 1;
		p->ntags++;
		p->state = S_TAG_KEY;
		return 0;
	case S_COLUMNS:
		if (ev != RFA_JSON_ARR_BEGIN)
			return malformed(p, "%s", "\"columns\" is not an array");
		p->ncols_all = 0;
		p->time_col = -1;
		p->state = S_COLUMN;
		return 0;
	case S_COLUMN:
		if (ev == RFA_JSON_ARR_END) {
			p->has_cols = 1;
			p->state = S_SERIES_KEY;
			return 0;
		}
		if (ev != RFA_JSON_STRING)
			return malformed(p, "%s", "a column name is not a string");
		if (p->ncols_all >= RFA_HIST_MAX_COLS)
			return malformed(p, "%s", "more than 65536 columns");
		if (grow(p, (void **)&p->col_off, &p->col_cap, p->ncols_all + 1, sizeof *p->col_off))
			return 1;
		if (arena_put(p, s, len, &p->col_off[p->ncols_all]))
			return 1;
		if (p->time_col < 0 && strcmp(s, "time") == 0)
			p->time_col = p->ncols_all;
		p->ncols_all++;
		return 0;
	case S_VALUES:
		if (ev == RFA_JSON_NULL) {
			p->state = S_SERIES_KEY;
			return 0;
		}
		if (ev != RFA_JSON_ARR_BEGIN)
			return malformed(p, "%s", "\"values\" is not an array");
		if (!p->has_cols)
			return malformed(p, "%s", "series: \"values\" before \"columns\"");
		if (!p->ready && series_ready(p))
			return 1;
		p->state = S_ROW_BEGIN;
		return 0;
	case S_ROW_BEGIN:
		if (ev == RFA_JSON_ARR_END) {
			p->state = S_SERIES_KEY;
			return 0;
		}
		if (ev != RFA_JSON_ARR_BEGIN)
			return malformed(p, "%s", "a row is not an array");
		for (int i = 0; i < p->ncols_all; i++)
			p->vals[i] = NAN;
		p->row_idx = 0;
		p->row_has_time = 0;
		p->state = S_ROW_ELEM;
		return 0;
	case S_ROW_ELEM: {
		if (ev == RFA_JSON_ARR_END) {
			p->state = S_ROW_BEGIN;
			return deliver_row(p);
		}
		int i = p->row_idx++;
		if (i < p->ncols_all) {
			if (i == p->time_col) {
				if (ev == RFA_JSON_NUMBER && to_int64(s, len, &p->row_time) == 0)
					p->row_has_time = 1;
			} else if (ev == RFA_JSON_NUMBER) {
				p->vals[p->slot[i]] = to_double(s);
			}
		}
		/* a value past the columns is ignored; a nested one counts as NaN */
		skip_value(p, ev, S_ROW_ELEM);
		return 0;
	}
	case S_UNKNOWN:
		skip_value(p, ev, p->ret_state);
		return 0;
	default:
		return malformed(p, "%s", "internal: bad state");
	}
}

struct rfa_hist_parser *rfa_hist_parser_new(rfa_hist_fn fn, void *arg, int deliver)
{
	struct rfa_hist_parser *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	rfa_json_init(&p->json, on_event, p);
	p->fn = fn;
	p->arg = arg;
	p->deliver = deliver;
	p->time_col = -1;
	return p;
}

void rfa_hist_parser_free(struct rfa_hist_parser *p)
{
	if (!p)
		return;
	rfa_json_free(&p->json);
	free(p->arena);
	free(p->tag_off);
	free(p->col_off);
	free(p->tag_keys);
	free(p->tag_vals);
	free(p->cols);
	free(p->slot);
	free(p->vals);
	free(p);
}

/* Maps rfa_json's result and ours to the API's codes. */
static int outcome(struct rfa_hist_parser *p, int rc, char *err, size_t errlen)
{
	if (rc == 0)
		return 0;
	if (rc < 0) {
		p->result = RFA_HIST_MALFORMED;
		snprintf(p->msg, sizeof p->msg, "%s", err); /* sticky for later calls */
		return RFA_HIST_MALFORMED;
	}
	if (p->result != RFA_HIST_STOPPED)
		snprintf(err, errlen, "%s", p->msg);
	return p->result;
}

int rfa_hist_parser_feed(struct rfa_hist_parser *p, const char *data, size_t len, char *err,
			 size_t errlen)
{
	if (p->result) {
		if (p->result != RFA_HIST_STOPPED)
			snprintf(err, errlen, "%s", p->msg);
		return p->result;
	}
	return outcome(p, rfa_json_feed(&p->json, data, len, err, errlen), err, errlen);
}

int rfa_hist_parser_finish(struct rfa_hist_parser *p, char *err, size_t errlen)
{
	if (p->result) {
		if (p->result != RFA_HIST_STOPPED)
			snprintf(err, errlen, "%s", p->msg);
		return p->result;
	}
	int rc = outcome(p, rfa_json_finish(&p->json, err, errlen), err, errlen);
	if (rc == 0 && p->json.values == 0) {
		snprintf(err, errlen, "malformed JSON at byte %llu: empty answer",
			 (unsigned long long)p->json.offset);
		return RFA_HIST_MALFORMED;
	}
	return rc;
}

uint64_t rfa_hist_parser_rows(const struct rfa_hist_parser *p)
{
	return p->rows;
}
