/*
 * expr.h — the transform's expression language: compile once, evaluate per
 * record without allocation (transform process; the supervisor compiles too,
 * to check the config).
 *
 * Syntax (DESIGN.md §3): int (decimal, 0x hex) and float literals, IPv4
 * literals (10.1.2.3), "strings" with \" and \\ escapes, field names,
 * + - * / %, unary minus, parentheses, == != < <= > >=, and or not, and the
 * functions country city asn as_org aarea subnet if abs min max round floor
 * ceil lower upper sum minus mult div. Function names and and/or/not are
 * case-insensitive; field names are not (`flow == FLOW` is an unknown
 * field, not a silent self-comparison). iniparser lowercases [transform]
 * keys, so outputs are referred to in lowercase.
 *
 * Semantics, chosen so that a missing value never invents data:
 *  - any operand missing -> missing, except: `if` evaluates only the chosen
 *    branch; and/or/not and conditions treat missing as false; == with a
 *    missing operand is false and != is its negation (true);
 *  - int + - * % int is int, overflowing to float; / and div() are float;
 *    x / 0 and x % 0 are missing and count div_by_zero;
 *  - comparisons: numbers numerically, strings bytewise, ips by address;
 *    different kinds are a compile error when both static types are known,
 *    false (!= true) at run time; an ip compared with a string literal
 *    converts the literal at compile time ("src_ip == \"10.0.0.1\"");
 *  - conditions accept bools and numbers (non-zero is true);
 *  - round/floor/ceil give an int (missing if out of int64 range);
 *    min/max of int and float, and `if` with int and float branches, give
 *    a float; subnet(ip, bits) gives an ip (bits out of range: missing);
 *  - lower/upper write into the evaluator's scratch buffer (overflow:
 *    missing, counts scratch_overflow).
 * Every expression has a static type: RF_V_INT, RF_V_FLOAT, RF_V_STR,
 * RF_V_IP, RF_V_BOOL or RF_V_ANY (branches of different kinds). An INT
 * expression may still yield a FLOAT at run time after int64 overflow.
 */
#ifndef XF_EXPR_H
#define XF_EXPR_H

#include <stddef.h>
#include <stdint.h>
#include "common/value.h"
#include "transform/counters.h"
#include "transform/geoip.h"

#define XF_STACK_MAX 64          /* value stack of the evaluator */
#define XF_SCRATCH_SIZE 4096     /* bytes for lower/upper results per record */

/* A name an expression may use: an input column or an earlier output. */
struct xf_sym {
	const char *name;
	uint8_t type;    /* enum rf_vtype or RF_V_ANY */
	uint8_t is_out;  /* 0: fields[idx], 1: outs[idx] at evaluation */
	uint16_t idx;
};

/* What an expression can see. When two symbols share a name the later one
 * wins, so list columns first and outputs in definition order. */
struct xf_scope {
	const struct xf_sym *syms;
	int nsyms;
	unsigned geo_avail; /* XF_GEO_BIT mask of answers whose database is set */
};

struct xf_expr;

/*
 * Compiles src. On error returns NULL with err saying what and where
 * ("unknown field 'srcip' at column 5"). Caller frees with xf_expr_free().
 */
struct xf_expr *xf_expr_compile(const char *src, const struct xf_scope *scope,
		char *err, size_t errlen);
void xf_expr_free(struct xf_expr *e);
/* Static type: enum rf_vtype or RF_V_ANY. */
int xf_expr_type(const struct xf_expr *e);
/* XF_GEO_BIT mask of the GeoIP answers the expression uses. */
unsigned xf_expr_geo_needs(const struct xf_expr *e);
/* Column index if the expression is nothing but an input column (the
 * caller may copy the value instead of evaluating), else -1. */
int xf_expr_field(const struct xf_expr *e);
/* Sets used[c] = 1 for every input column c the expression reads (used
 * holds one flag per column). */
void xf_expr_mark_fields(const struct xf_expr *e, uint8_t *used);
/* Name of a static type: "int", "float", "str", "ip", "bool", "any". */
const char *xf_type_name(int type);

/* Per-process evaluation state. Reset the scratch once per record (strings
 * from lower/upper live there until then). */
struct xf_eval {
	const struct rf_value *fields; /* parsed input columns */
	const struct rf_value *outs;   /* outputs evaluated so far */
	struct xf_geoip *geo;          /* may be NULL if no GeoIP answer is used */
	struct xf_counters *cnt;       /* must not be NULL */
	uint32_t scratch_used;
	struct rf_value stack[XF_STACK_MAX];
	char scratch[XF_SCRATCH_SIZE];
};

static inline void xf_eval_reset(struct xf_eval *ev)
{
	ev->scratch_used = 0;
}

/* Evaluates e into *out. Never fails: problems give a missing value. */
void xf_expr_eval(const struct xf_expr *e, struct xf_eval *ev, struct rf_value *out);
/* Condition value: true for a true bool or a non-zero number. */
int xf_truthy(const struct rf_value *v);

#endif
