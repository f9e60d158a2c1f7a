/*
 * csv_value.h — the typed column decoders: one value from a span of text
 * (transform process; xf_csv_parse per column, the expression compiler for
 * literals). Implemented in csv_value.c.
 *
 * `int` is decimal or 0x hexadecimal with an optional sign (sflowtool
 * prints tos and tcp_flags as 0x18), `float` a decimal number parsed
 * independently of the locale, `ip` IPv4 (dotted quad) or IPv6 in any form
 * inet_pton accepts, stored as 16 bytes (IPv4 as ::ffff:a.b.c.d with
 * *is_v4 set).
 */
#ifndef XF_CSV_VALUE_H
#define XF_CSV_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* The whole span must be consumed. Each returns 0 or -1; none reads
 * outside [p, p + n). */
int xf_parse_int(const char *p, size_t n, int64_t *out);
int xf_parse_float(const char *p, size_t n, double *out);
int xf_parse_ip(const char *p, size_t n, uint8_t ip[16], uint8_t *is_v4);

#endif
