/*
 * expr_parse.c — recursive-descent compiler from expression text to postfix
 * code with static types (compile time only).
 *
 * Each parse function emits the code of its sub-expression and returns its
 * static type, so type errors are found where they are written and the
 * evaluator needs no type checks beyond run-time kinds of ANY values.
 * Precedence, loosest first: or, and, not, comparison, + -, * / %, unary -.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transform/csv_value.h"
#include "transform/expr_int.h"

#define PARSE_NEST_MAX 100 /* keeps the C stack bounded on "((((((..." */

struct sub {
	int type;       /* static type */
	int konst;      /* index into consts if the sub-expression is one literal, else -1 */
};

struct parser {
	const char *src;
	const struct xf_scope *scope;
	struct xf_token *toks;
	int pos;
	struct xf_expr *e;
	int code_cap;
	int depth, max_depth, nest;
	int failed;
	char *err;
	size_t errlen;
};

static void fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct parser *p, const char *fmt, ...)
{
	if (p->failed)
		return;      /* keep the first error: later ones are consequences */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	p->failed = 1;
}

const char *xf_type_name(int type)
{
	switch (type) {
	case RF_V_MISSING: return "missing";
	case RF_V_INT: return "int";
	case RF_V_FLOAT: return "float";
	case RF_V_STR: return "str";
	case RF_V_IP: return "ip";
	case RF_V_BOOL: return "bool";
	default: return "any";
	}
}

static int is_num(int t) { return t == RF_V_INT || t == RF_V_FLOAT; }
static int is_any(int t) { return t == RF_V_ANY; }

/* Stack effect of each op, for the depth bound. */
static int op_effect(int op)
{
	switch (op) {
	case OP_CONST: case OP_FIELD: case OP_OUT: return 1;
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD:
	case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
	case OP_SUBNET: case OP_MIN: case OP_MAX:
	case OP_AND_JMP: case OP_OR_JMP: case OP_JMP_FALSE:
		return -1;
	default: return 0;
	}
}

static int emit(struct parser *p, int op, int a)
{
	if (p->failed)
		return -1;
	if (p->e->ncode == p->code_cap) {
		int cap = p->code_cap ? p->code_cap * 2 : 32;
		struct xf_insn *c = realloc(p->e->code, (size_t)cap * sizeof(*c));
		if (c == NULL) {
			fail(p, "out of memory");
			return -1;
		}
		p->e->code = c;
		p->code_cap = cap;
	}
	struct xf_insn *in = &p->e->code[p->e->ncode];
	in->op = (uint8_t)op;
	in->pad = 0;
	in->a = (uint16_t)a;
	in->b = 0;
	p->depth += op_effect(op);
	if (p->depth > p->max_depth)
		p->max_depth = p->depth;
	if (p->depth > XF_STACK_MAX)
		fail(p, "expression too complex (needs more than %d stack slots)", XF_STACK_MAX);
	return p->e->ncode++;
}

/* Points the jump at index j to the next instruction to be emitted. */
static void patch(struct parser *p, int j)
{
	if (j >= 0 && !p->failed)
		p->e->code[j].b = p->e->ncode - (j + 1);
}

static struct xf_token *tok(struct parser *p) { return &p->toks[p->pos]; }

static int col(const struct xf_token *t) { return (int)t->pos + 1; }

static void unexpected(struct parser *p)
{
	struct xf_token *t = tok(p);
	if (t->kind == T_END)
		fail(p, "unexpected end of expression at column %d", col(t));
	else
		fail(p, "unexpected '%.*s' at column %d", (int)t->len, p->src + t->pos, col(t));
}

static int expect(struct parser *p, int kind)
{
	if (tok(p)->kind != kind) {
		unexpected(p);
		return -1;
	}
	p->pos++;
	return 0;
}

static struct sub parse_or(struct parser *p);

static struct sub bad(void)
{
	struct sub s = { RF_V_ANY, -1 };
	return s;
}

static struct sub plain(int type)
{
	struct sub s = { type, -1 };
	return s;
}

static int add_const(struct parser *p, struct rf_value v)
{
	struct xf_expr *e = p->e;
	/* consts has room for one per token (allocated by the caller). */
	e->consts[e->nconsts] = v;
	return e->nconsts++;
}

/* A condition operand: bools and numbers; strings and ips are mistakes. */
static void need_cond(struct parser *p, struct sub s, const char *what, const struct xf_token *at)
{
	if (s.type == RF_V_STR || s.type == RF_V_IP)
		fail(p, "%s needs a condition, got %s at column %d", what, xf_type_name(s.type), col(at));
}

/* Type of + - * %: int with int stays int, any float makes float. */
static int arith_type(struct parser *p, int op, struct sub l, struct sub r, const struct xf_token *at)
{
	for (int k = 0; k < 2; k++) {
		int t = k ? r.type : l.type;
		if (!is_num(t) && !is_any(t)) {
			fail(p, "'%.*s' needs numbers, got %s at column %d", (int)at->len,
			     p->src + at->pos, xf_type_name(t), col(at));
			return RF_V_ANY;
		}
	}
	if (op == OP_DIV)
		return RF_V_FLOAT;
	if (is_any(l.type) || is_any(r.type))
		return RF_V_ANY;
	return l.type == RF_V_INT && r.type == RF_V_INT ? RF_V_INT : RF_V_FLOAT;
}

/* int and float join to float (with a conversion appended), equal types
 * stay, anything else is ANY. */
static int join_types(struct parser *p, int a, int b)
{
	if (a == b)
		return a;
	if (is_num(a) && is_num(b)) {
		emit(p, OP_TO_FLOAT, 0);
		return RF_V_FLOAT;
	}
	return RF_V_ANY;
}

static struct sub parse_call(struct parser *p);

static struct sub parse_primary(struct parser *p)
{
	struct xf_token *t = tok(p);
	struct rf_value v = { 0 };

	switch (t->kind) {
	case T_INT:
		v.type = RF_V_INT;
		v.u.i = t->v.i;
		break;
	case T_FLOAT:
		v.type = RF_V_FLOAT;
		v.u.f = t->v.f;
		break;
	case T_IP:
		v.type = RF_V_IP;
		v.ip_is_v4 = t->is_v4;
		memcpy(v.u.ip, t->v.ip, 16);
		break;
	case T_STR:
		v.type = RF_V_STR;
		v.u.s = p->e->strpool + t->v.s.off;
		v.len = t->v.s.len;
		break;
	case T_LP: {
		p->pos++;
		struct sub s = parse_or(p);
		if (expect(p, T_RP) < 0)
			return bad();
		s.konst = -1;
		return s;
	}
	case T_IDENT: {
		if (p->toks[p->pos + 1].kind == T_LP)
			return parse_call(p);
		const struct xf_scope *sc = p->scope;
		for (int i = sc->nsyms - 1; i >= 0; i--) {
			const struct xf_sym *s = &sc->syms[i];
			if (strlen(s->name) == t->len && memcmp(s->name, p->src + t->pos, t->len) == 0) {
				emit(p, s->is_out ? OP_OUT : OP_FIELD, s->idx);
				p->pos++;
				return plain(s->type);
			}
		}
		fail(p, "unknown field '%.*s' at column %d", (int)t->len, p->src + t->pos, col(t));
		return bad();
	}
	default:
		unexpected(p);
		return bad();
	}
	p->pos++;
	struct sub s = { v.type, add_const(p, v) };
	emit(p, OP_CONST, s.konst);
	return s;
}

static struct sub parse_unary(struct parser *p)
{
	struct xf_token *t = tok(p);
	if (t->kind != T_MINUS)
		return parse_primary(p);
	if (++p->nest > PARSE_NEST_MAX) {
		fail(p, "expression nested too deeply at column %d", col(t));
		return bad();
	}
	p->pos++;
	struct sub s = parse_unary(p);
	p->nest--;
	if (!is_num(s.type) && !is_any(s.type)) {
		fail(p, "'-' needs a number, got %s at column %d", xf_type_name(s.type), col(t));
		return bad();
	}
	emit(p, OP_NEG, 0);
	return plain(s.type);
}

static struct sub parse_mul(struct parser *p)
{
	struct sub l = parse_unary(p);
	for (;;) {
		struct xf_token *t = tok(p);
		int op = t->kind == T_STAR ? OP_MUL : t->kind == T_SLASH ? OP_DIV :
			 t->kind == T_PCT ? OP_MOD : -1;
		if (op < 0 || p->failed)
			return l;
		p->pos++;
		struct sub r = parse_unary(p);
		l = plain(arith_type(p, op, l, r, t));
		emit(p, op, 0);
	}
}

static struct sub parse_add(struct parser *p)
{
	struct sub l = parse_mul(p);
	for (;;) {
		struct xf_token *t = tok(p);
		int op = t->kind == T_PLUS ? OP_ADD : t->kind == T_MINUS ? OP_SUB : -1;
		if (op < 0 || p->failed)
			return l;
		p->pos++;
		struct sub r = parse_mul(p);
		l = plain(arith_type(p, op, l, r, t));
		emit(p, op, 0);
	}
}

/* "10.0.0.1" compared with an ip becomes an ip literal. */
static void str_const_to_ip(struct parser *p, struct sub *s, const struct xf_token *at)
{
	struct rf_value *v = &p->e->consts[s->konst];
	struct rf_value ipv = { .type = RF_V_IP };
	if (xf_parse_ip(v->u.s, v->len, ipv.u.ip, &ipv.ip_is_v4) < 0) {
		fail(p, "'%.*s' is not an ip address at column %d", (int)v->len, v->u.s, col(at));
		return;
	}
	*v = ipv;
	s->type = RF_V_IP;
}

static int kind_class(int t)
{
	return t == RF_V_FLOAT ? RF_V_INT : t; /* numbers compare with numbers */
}

static struct sub parse_cmp(struct parser *p)
{
	struct sub l = parse_add(p);
	struct xf_token *t = tok(p);
	int op;
	switch (t->kind) {
	case T_EQ: op = OP_EQ; break;
	case T_NE: op = OP_NE; break;
	case T_LT: op = OP_LT; break;
	case T_LE: op = OP_LE; break;
	case T_GT: op = OP_GT; break;
	case T_GE: op = OP_GE; break;
	default: return l;
	}
	if (p->failed)
		return l;
	p->pos++;
	struct sub r = parse_add(p);
	if (l.type == RF_V_IP && r.type == RF_V_STR && r.konst >= 0)
		str_const_to_ip(p, &r, t);
	else if (r.type == RF_V_IP && l.type == RF_V_STR && l.konst >= 0)
		str_const_to_ip(p, &l, t);
	if (!is_any(l.type) && !is_any(r.type) && kind_class(l.type) != kind_class(r.type))
		fail(p, "cannot compare %s with %s at column %d", xf_type_name(l.type),
		     xf_type_name(r.type), col(t));
	emit(p, op, 0);
	return plain(RF_V_BOOL);
}

static struct sub parse_not(struct parser *p)
{
	struct xf_token *t = tok(p);
	if (t->kind != T_NOT)
		return parse_cmp(p);
	if (++p->nest > PARSE_NEST_MAX) {
		fail(p, "expression nested too deeply at column %d", col(t));
		return bad();
	}
	p->pos++;
	struct sub s = parse_not(p);
	p->nest--;
	need_cond(p, s, "'not'", t);
	emit(p, OP_NOT, 0);
	return plain(RF_V_BOOL);
}

static struct sub parse_and(struct parser *p)
{
	struct sub l = parse_not(p);
	while (tok(p)->kind == T_AND && !p->failed) {
		struct xf_token *t = tok(p);
		need_cond(p, l, "'and'", t);
		p->pos++;
		int j = emit(p, OP_AND_JMP, 0);
		struct sub r = parse_not(p);
		need_cond(p, r, "'and'", t);
		emit(p, OP_TO_BOOL, 0);
		patch(p, j);
		l = plain(RF_V_BOOL);
	}
	return l;
}

static struct sub parse_or(struct parser *p)
{
	struct xf_token *t0 = tok(p);
	if (++p->nest > PARSE_NEST_MAX) {
		fail(p, "expression nested too deeply at column %d", col(t0));
		return bad();
	}
	struct sub l = parse_and(p);
	while (tok(p)->kind == T_OR && !p->failed) {
		struct xf_token *t = tok(p);
		need_cond(p, l, "'or'", t);
		p->pos++;
		int j = emit(p, OP_OR_JMP, 0);
		struct sub r = parse_and(p);
		need_cond(p, r, "'or'", t);
		emit(p, OP_TO_BOOL, 0);
		patch(p, j);
		l = plain(RF_V_BOOL);
	}
	p->nest--;
	return l;
}

/* Function table. Argument kinds: 'i' ip, 'n' number, 's' string,
 * 'b' int (bits); if() is handled apart. */
enum ret { R_STR, R_INT, R_IP, R_ARG, R_JOIN, R_FLOAT };

struct func {
	const char *name;
	int op;           /* OP_* or -1 for if() */
	int geo;          /* enum xf_geo_answer or -1 */
	const char *args; /* one kind letter per argument */
	enum ret ret;
};

static const struct func funcs[] = {
	{ "country", OP_GEO, XF_GEO_COUNTRY, "i", R_STR },
	{ "city", OP_GEO, XF_GEO_CITY, "i", R_STR },
	{ "asn", OP_GEO, XF_GEO_ASN, "i", R_INT },
	{ "aarea", OP_GEO, XF_GEO_ASN, "i", R_INT },
	{ "as_org", OP_GEO, XF_GEO_AS_ORG, "i", R_STR },
	{ "subnet", OP_SUBNET, -1, "ib", R_IP },
	{ "if", -1, -1, "?xx", R_JOIN },
	{ "abs", OP_ABS, -1, "n", R_ARG },
	{ "min", OP_MIN, -1, "nn", R_JOIN },
	{ "max", OP_MAX, -1, "nn", R_JOIN },
	{ "round", OP_ROUND, -1, "n", R_INT },
	{ "floor", OP_FLOOR, -1, "n", R_INT },
	{ "ceil", OP_CEIL, -1, "n", R_INT },
	{ "lower", OP_LOWER, -1, "s", R_STR },
	{ "upper", OP_UPPER, -1, "s", R_STR },
	{ "sum", OP_ADD, -1, "nn", R_JOIN },
	{ "minus", OP_SUB, -1, "nn", R_JOIN },
	{ "mult", OP_MUL, -1, "nn", R_JOIN },
	{ "div", OP_DIV, -1, "nn", R_FLOAT },
};

static const char *kind_desc(char k)
{
	switch (k) {
	case 'i': return "an ip";
	case 'n': return "a number";
	case 's': return "a string";
	case 'b': return "an int";
	default: return "a condition";
	}
}

static int kind_ok(char k, int t)
{
	if (is_any(t))
		return 1;
	switch (k) {
	case 'i': return t == RF_V_IP;
	case 'n': return is_num(t);
	case 's': return t == RF_V_STR;
	case 'b': return t == RF_V_INT;
	case '?': return t != RF_V_STR && t != RF_V_IP;
	default: return 1;
	}
}

/* Counts the arguments of the call whose '(' is at toks[lp] without
 * compiling them, for the "takes N arguments" message; -1 when the list is
 * malformed (an empty slot, no ')'), which the parser then reports. */
static int count_args(struct parser *p, int lp)
{
	int level = 0, n = 0, in_slot = 0;
	for (int i = lp;; i++) {
		int k = p->toks[i].kind;
		if (k == T_END)
			return -1;
		if (level == 1 && (k == T_COMMA || k == T_RP)) {
			if (!in_slot && !(k == T_RP && n == 0))
				return -1;
			if (k == T_RP)
				return n + in_slot;
			n++;
			in_slot = 0;
			continue;
		}
		if (k == T_LP)
			level++;
		else if (k == T_RP)
			level--;
		if (i > lp)
			in_slot = 1;
	}
}

static struct sub parse_call(struct parser *p)
{
	struct xf_token *name = tok(p);
	const struct func *f = NULL;
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strlen(funcs[i].name) == name->len &&
		    strncasecmp(funcs[i].name, p->src + name->pos, name->len) == 0)
			f = &funcs[i];
	if (f == NULL) {
		fail(p, "unknown function '%.*s' at column %d", (int)name->len, p->src + name->pos, col(name));
		return bad();
	}
	int want = (int)strlen(f->args);
	int got = count_args(p, p->pos + 1);
	if (got >= 0 && got != want) {
		fail(p, "%s() takes %d argument%s, got %d", f->name, want, want == 1 ? "" : "s", got);
		return bad();
	}
	if (f->geo >= 0 && !(p->scope->geo_avail & XF_GEO_BIT(f->geo))) {
		fail(p, "%s() used but [geoip] %s is not set", f->name, xf_geo_db_key(f->geo));
		return bad();
	}
	p->pos += 2; /* name ( */

	struct sub a[3];
	int jf = -1, jend = -1, depth0 = p->depth;
	for (int i = 0; i < want && !p->failed; i++) {
		if (i > 0 && expect(p, T_COMMA) < 0)
			return bad();
		struct xf_token *at = tok(p);
		if (f->op < 0 && i == 2) {      /* if(): else branch */
			jend = emit(p, OP_JMP, 0);
			patch(p, jf);
			p->depth = depth0;      /* only one branch runs */
		}
		a[i] = parse_or(p);
		if (p->failed)
			return bad();
		if (!kind_ok(f->args[i], a[i].type)) {
			if (f->op < 0)
				fail(p, "if() needs a condition as first argument, got %s at column %d",
				     xf_type_name(a[i].type), col(at));
			else if (want == 1)
				fail(p, "%s() needs %s argument", f->name, kind_desc(f->args[i]));
			else
				fail(p, "%s() needs %s as argument %d", f->name, kind_desc(f->args[i]), i + 1);
			return bad();
		}
		if (f->op < 0 && i == 0)
			jf = emit(p, OP_JMP_FALSE, 0);
	}
	if (expect(p, T_RP) < 0)
		return bad();

	if (f->op < 0) {
		patch(p, jend);
		return plain(join_types(p, a[1].type, a[2].type));
	}
	emit(p, f->op, f->geo >= 0 ? f->geo : 0);
	if (f->geo >= 0)
		p->e->geo_needs |= XF_GEO_BIT(f->geo);
	switch (f->ret) {
	case R_STR: return plain(RF_V_STR);
	case R_INT: return plain(RF_V_INT);
	case R_IP: return plain(RF_V_IP);
	case R_FLOAT: return plain(RF_V_FLOAT);
	case R_ARG: return plain(a[0].type);
	case R_JOIN:
		if (is_any(a[0].type) || is_any(a[1].type))
			return plain(RF_V_ANY);
		return plain(join_types(p, a[0].type, a[1].type));
	}
	return bad();
}

void xf_expr_free(struct xf_expr *e)
{
	if (e == NULL)
		return;
	free(e->code);
	free(e->consts);
	free(e->strpool);
	free(e);
}

struct xf_expr *xf_expr_compile(const char *src, const struct xf_scope *scope,
		char *err, size_t errlen)
{
	size_t n = strlen(src);
	struct xf_token *toks = calloc(n + 2, sizeof(*toks));
	struct xf_expr *e = calloc(1, sizeof(*e));
	struct parser p = { .src = src, .scope = scope, .toks = toks, .e = e,
			    .err = err, .errlen = errlen };
	if (e != NULL) {
		e->consts = calloc(n + 2, sizeof(*e->consts));
		e->strpool = malloc(n + 1);
	}
	if (toks == NULL || e == NULL || e->consts == NULL || e->strpool == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (xf_lex(src, toks, e->strpool, err, errlen) < 0)
		goto fail;
	if (toks[0].kind == T_END) {
		snprintf(err, errlen, "empty expression");
		goto fail;
	}
	struct sub s = parse_or(&p);
	if (!p.failed && tok(&p)->kind != T_END)
		unexpected(&p);
	emit(&p, OP_END, 0);
	if (p.failed)
		goto fail;
	e->type = s.type;
	free(toks);
	return e;
fail:
	free(toks);
	xf_expr_free(e);
	return NULL;
}

int xf_expr_type(const struct xf_expr *e)
{
	return e->type;
}

unsigned xf_expr_geo_needs(const struct xf_expr *e)
{
	return e->geo_needs;
}

int xf_expr_field(const struct xf_expr *e)
{
	if (e->ncode == 2 && e->code[0].op == OP_FIELD && e->code[1].op == OP_END)
		return e->code[0].a;
	return -1;
}

void xf_expr_mark_fields(const struct xf_expr *e, uint8_t *used)
{
	for (int i = 0; i < e->ncode; i++)
		if (e->code[i].op == OP_FIELD)
			used[e->code[i].a] = 1;
}
