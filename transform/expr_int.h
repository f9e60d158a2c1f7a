/*
 * expr_int.h — internals shared by the expression lexer, compiler and
 * evaluator (expr_lex.c, expr_parse.c, expr_eval.c). Not an API.
 *
 * Compiled form: postfix code over a value stack. Jumps are relative so the
 * compiler can append code without fixing earlier offsets.
 */
#ifndef XF_EXPR_INT_H
#define XF_EXPR_INT_H

#include <stdint.h>
#include "transform/expr.h"

enum xf_op {
	OP_END = 0,
	OP_CONST,     /* a = index into consts */
	OP_FIELD,     /* a = column */
	OP_OUT,       /* a = earlier output */
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_NEG,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_NOT,       /* condition -> bool */
	OP_TO_BOOL,   /* condition -> bool */
	OP_AND_JMP,   /* pop; if false push false and jump b */
	OP_OR_JMP,    /* pop; if true push true and jump b */
	OP_JMP_FALSE, /* pop; if false jump b */
	OP_JMP,       /* jump b */
	OP_TO_FLOAT,  /* int -> float, others unchanged */
	OP_GEO,       /* a = enum xf_geo_answer */
	OP_SUBNET, OP_ABS, OP_MIN, OP_MAX, OP_ROUND, OP_FLOOR, OP_CEIL,
	OP_LOWER, OP_UPPER,
	OP_COUNT
};

struct xf_insn {
	uint8_t op;
	uint8_t pad;
	uint16_t a;
	int32_t b;    /* jump offset from the next instruction */
};

struct xf_expr {
	struct xf_insn *code;
	int ncode;
	struct rf_value *consts;
	int nconsts;
	char *strpool;      /* unescaped string literals */
	int type;           /* static type */
	unsigned geo_needs;
};

enum xf_tok {
	T_END = 0, T_INT, T_FLOAT, T_STR, T_IP, T_IDENT,
	T_LP, T_RP, T_COMMA,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PCT,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_AND, T_OR, T_NOT
};

struct xf_token {
	uint8_t kind;      /* enum xf_tok */
	uint8_t is_v4;
	uint32_t pos, len; /* in the source; column = pos + 1 */
	union {
		int64_t i;
		double f;
		struct { uint32_t off, len; } s; /* in the string pool */
		uint8_t ip[16];
	} v;
};

/*
 * Splits src into toks (room for strlen(src) + 1 tokens, last is T_END);
 * string literals are unescaped into pool (room for strlen(src) bytes).
 * Returns the token count or -1 with err set.
 */
int xf_lex(const char *src, struct xf_token *toks, char *pool, char *err, size_t errlen);
/* Source text of a token for messages. */
const char *xf_tok_desc(enum xf_tok k);

#endif
