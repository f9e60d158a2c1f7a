/*
 * config_value.c — see config_value.h: the value syntax of the table kinds
 * and the helpers section parsers share. Runs in the supervisor before fork
 * and in `ringflow -t`.
 */
#include "common/config_value.h"
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int conf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void conf_warn(struct rf_config *c, const char *fmt, ...)
{
	if (c->nwarnings >= CONF_MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->warnings[c->nwarnings++], CONF_WARNING_MAX, fmt, ap);
	va_end(ap);
}

char *conf_strdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

char *conf_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int conf_valid_name(const char *s)
{
	if (!*s || strlen(s) >= CONF_NAME_MAX)
		return 0;
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

int conf_parse_int(const char *v, long long lo, long long hi, long long *out)
{
	errno = 0;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || errno || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

int conf_parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

const char *conf_fmt_ns(char *buf, size_t len, int64_t ns)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "d", 86400 * RF_NS_PER_SEC }, { "h", 3600 * RF_NS_PER_SEC }, { "m", 60 * RF_NS_PER_SEC },
		{ "s", RF_NS_PER_SEC }, { "ms", RF_NS_PER_MS }, { "us", 1000 }, { "ns", 1 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ns != 0 && ns % units[i].ns == 0) {
			snprintf(buf, len, "%lld%s", (long long)(ns / units[i].ns), units[i].unit);
			return buf;
		}
	snprintf(buf, len, "0s");
	return buf;
}

int conf_set_key(const struct conf_scope *s, const struct conf_key *k, const char *v, char *err, size_t errlen)
{
	void *dst = (char *)s->base + k->off;
	switch (k->kind) {
	case CONF_K_STR:
		free(*(char **)dst);
		*(char **)dst = conf_strdup(v);
		return 0;
	case CONF_K_DURATION:
		if (rf_parse_duration(v, (int64_t *)dst))
			return conf_fail(err, errlen, "[%s] %s: '%s' is not a duration (e.g. 500ms, 10s, 5m, 1h, 30d)",
					 s->sec, k->key, v);
		return 0;
	case CONF_K_SIZE:
		if (rf_parse_size(v, (uint64_t *)dst))
			return conf_fail(err, errlen, "[%s] %s: '%s' is not a size (e.g. 4096, 64K, 4M, 1G)", s->sec, k->key, v);
		return 0;
	case CONF_K_INT: {
		long long x;
		if (conf_parse_int(v, 1, 100000000, &x))
			return conf_fail(err, errlen, "[%s] %s: '%s' is not a positive integer", s->sec, k->key, v);
		*(int *)dst = (int)x;
		return 0;
	}
	case CONF_K_BOOL:
		if (conf_parse_bool(v, (int *)dst))
			return conf_fail(err, errlen, "[%s] %s: '%s' is not yes or no", s->sec, k->key, v);
		return 0;
	case CONF_K_CUSTOM:
		return k->parse(s, k, v, err, errlen);
	case CONF_K_COUNT:
		break;
	}
	return conf_fail(err, errlen, "[%s] %s: key of unknown kind %d", s->sec, k->key, (int)k->kind);
}
