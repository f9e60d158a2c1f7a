/*
 * value.h — the typed value every stage passes around: a CSV column after
 * parsing, an expression result, an aggregate input.
 *
 * Values never own memory. A string points into the record being processed,
 * into a GeoIP database mapping, or into a per-record scratch buffer that the
 * transform resets for each record; whoever holds a value must not keep it
 * past the record it came from.
 */
#ifndef RF_VALUE_H
#define RF_VALUE_H

#include <stdint.h>
#include <stddef.h>

enum rf_vtype {
	RF_V_MISSING = 0, /* empty column, "-", failed lookup arithmetic, x/0 */
	RF_V_INT,
	RF_V_FLOAT,
	RF_V_STR,
	RF_V_IP,          /* 16 bytes, IPv4 stored as ::ffff:a.b.c.d */
	RF_V_BOOL,
	RF_V_TYPE_COUNT
};

/* A static type (of an expression, a transform output, a rule argument)
 * that is only known per value: never the type of a value itself. */
#define RF_V_ANY RF_V_TYPE_COUNT

struct rf_value {
	uint8_t type;      /* enum rf_vtype */
	uint8_t ip_is_v4;  /* RF_V_IP only: print as dotted quad */
	uint32_t len;      /* RF_V_STR only: bytes at s (not NUL-terminated) */
	union {
		int64_t i;     /* RF_V_INT, RF_V_BOOL (0/1) */
		double f;      /* RF_V_FLOAT */
		const char *s; /* RF_V_STR */
		uint8_t ip[16];
	} u;
};

static inline struct rf_value rf_missing(void)
{
	struct rf_value v = { .type = RF_V_MISSING };
	return v;
}

#endif
