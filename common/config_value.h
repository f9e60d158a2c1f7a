/*
 * config_value.h — the value syntax of the config file and the helpers
 * every section's parsers share: reading a value of a table kind into its
 * place, names, integers, booleans, and the wording of messages. Pure
 * functions (conf_strdup aborts on out of memory); they run wherever
 * conf_load() runs: the supervisor before fork and `ringflow -t`.
 */
#ifndef RF_CONFIG_VALUE_H
#define RF_CONFIG_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/config_table.h"

/* Reads v as k's kind into s->base + k->off (CONF_K_CUSTOM: k->parse).
 * 0, or -1 with err "[sec] key: 'v' is not ...". */
int conf_set_key(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen);

/* Formats the message into err and returns -1, so a check reads
 * `return conf_fail(err, errlen, "[input] path: missing")`. */
int conf_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds one line to c->warnings (the extra ones are dropped). */
void conf_warn(struct rf_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* strdup of s (NULL gives ""); aborts when out of memory. Caller frees. */
char *conf_strdup(const char *s);
/* Cuts blanks at both ends, in place; returns the first non-blank. */
char *conf_trim(char *s);
/* A field, rule or instance name: [A-Za-z_][A-Za-z0-9_.-]*, shorter
 * than CONF_NAME_MAX. */
int conf_valid_name(const char *s);
/* Decimal integer from lo to hi, nothing after it. 0, or -1. */
int conf_parse_int(const char *v, long long lo, long long hi, long long *out);
/* yes/true/on/1 or no/false/off/0 (case-insensitive). 0, or -1. */
int conf_parse_bool(const char *v, int *out);
/* ns as the largest unit that divides it evenly ("90s", "1500ms"; 0 is
 * "0s"), for messages that quote computed bounds. Returns buf. */
const char *conf_fmt_ns(char *buf, size_t len, int64_t ns);

#endif
