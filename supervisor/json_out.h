/*
 * json_out.h — a small streaming JSON writer for the control socket's
 * machine-readable replies (`status --json`). Runs in the supervisor's
 * loop; appends to a struct sup_out (ctl_server.h), which owns the memory.
 *
 * The writer tracks nesting and commas, so callers only say what comes
 * next. Inside an object every value takes a key; inside an array (or at
 * the top) key is NULL. Strings are escaped per RFC 8259 (quote,
 * backslash, every control byte) and bytes that are not valid UTF-8 become
 * U+FFFD, so any parser accepts the output whatever a topic name or an
 * error text holds. Numbers never depend on the locale: integers are
 * printed as integers, doubles with a fixed number of decimals built from
 * integers (no "%f", whose decimal point LC_NUMERIC may turn into ','),
 * and NaN or infinity, which JSON cannot say, become null.
 *
 * Misuse (a key missing in an object, too deep, an unbalanced end) sets
 * j->bad instead of writing invalid JSON silently; sup_json_finish reports it.
 */
#ifndef SUP_JSON_OUT_H
#define SUP_JSON_OUT_H

#include <stddef.h>

#include "supervisor/ctl_server.h"

#define SUP_JSON_MAX_DEPTH 16

struct sup_json {
	struct sup_out *o;
	int depth;                                 /* open containers */
	unsigned char is_obj[SUP_JSON_MAX_DEPTH];  /* 1 object, 0 array */
	unsigned char has_item[SUP_JSON_MAX_DEPTH];/* a comma before the next */
	int top_done;                              /* the top-level value was written */
	int bad;                                   /* misuse seen: output invalid */
};

void sup_json_init(struct sup_json *j, struct sup_out *o);

void sup_json_obj_begin(struct sup_json *j, const char *key);
void sup_json_obj_end(struct sup_json *j);
void sup_json_arr_begin(struct sup_json *j, const char *key);
void sup_json_arr_end(struct sup_json *j);

/* v NULL writes null. */
void sup_json_str(struct sup_json *j, const char *key, const char *v);
void sup_json_int(struct sup_json *j, const char *key, long long v);
void sup_json_uint(struct sup_json *j, const char *key, unsigned long long v);
/* decimals 0..9 digits after the point; non-finite v writes null. */
void sup_json_double(struct sup_json *j, const char *key, double v, int decimals);
void sup_json_bool(struct sup_json *j, const char *key, int v);
void sup_json_null(struct sup_json *j, const char *key);

/* Ends the document with a newline. Returns 0, or -1 with err set when
 * the writer was misused, a container is still open or memory ran out. */
int sup_json_finish(struct sup_json *j, char *err, size_t errlen);

#endif
