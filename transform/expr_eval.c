/*
 * expr_eval.c — evaluator of compiled expressions (transform process, once
 * per output field per record: the hot path).
 *
 * A switch loop over postfix code and a fixed value stack inside struct
 * xf_eval; no allocation, no syscall. Run-time kinds are checked only where
 * an ANY-typed operand could bring a surprise; a wrong kind yields missing.
 */
#include <math.h>
#include <string.h>

#include "transform/expr_int.h"

int xf_truthy(const struct rf_value *v)
{
	switch (v->type) {
	case RF_V_BOOL:
	case RF_V_INT: return v->u.i != 0;
	case RF_V_FLOAT: return v->u.f != 0.0;
	default: return 0;
	}
}

static inline int num(const struct rf_value *v)
{
	return v->type == RF_V_INT || v->type == RF_V_FLOAT;
}

static inline double as_f(const struct rf_value *v)
{
	return v->type == RF_V_INT ? (double)v->u.i : v->u.f;
}

static inline void set_f(struct rf_value *v, double f)
{
	v->type = RF_V_FLOAT;
	v->u.f = f;
}

static inline void set_i(struct rf_value *v, int64_t i)
{
	v->type = RF_V_INT;
	v->u.i = i;
}

static inline void set_bool(struct rf_value *v, int b)
{
	v->type = RF_V_BOOL;
	v->u.i = b != 0;
}

/* l = l op r for + - * / %; both already known numeric. */
static void arith(int op, struct rf_value *l, const struct rf_value *r, struct xf_counters *cnt)
{
	if (l->type == RF_V_INT && r->type == RF_V_INT && op != OP_DIV) {
		int64_t a = l->u.i, b = r->u.i, res;
		switch (op) {
		case OP_ADD:
			if (__builtin_add_overflow(a, b, &res))
				set_f(l, (double)a + (double)b);
			else
				l->u.i = res;
			return;
		case OP_SUB:
			if (__builtin_sub_overflow(a, b, &res))
				set_f(l, (double)a - (double)b);
			else
				l->u.i = res;
			return;
		case OP_MUL:
			if (__builtin_mul_overflow(a, b, &res))
				set_f(l, (double)a * (double)b);
			else
				l->u.i = res;
			return;
		default: /* OP_MOD */
			if (b == 0) {
				cnt->div_by_zero++;
				l->type = RF_V_MISSING;
			} else {
				l->u.i = b == -1 ? 0 : a % b; /* INT64_MIN % -1 traps */
			}
			return;
		}
	}
	double a = as_f(l), b = as_f(r);
	switch (op) {
	case OP_ADD: set_f(l, a + b); return;
	case OP_SUB: set_f(l, a - b); return;
	case OP_MUL: set_f(l, a * b); return;
	default:
		if (b == 0.0) {
			cnt->div_by_zero++;
			l->type = RF_V_MISSING;
			return;
		}
		set_f(l, op == OP_DIV ? a / b : fmod(a, b));
		return;
	}
}

/* -1, 0, 1 for comparable values; 2 when the kinds do not compare. */
static int compare(const struct rf_value *l, const struct rf_value *r)
{
	if (l->type == RF_V_INT && r->type == RF_V_INT)
		return (l->u.i > r->u.i) - (l->u.i < r->u.i);
	if (num(l) && num(r)) {
		double a = as_f(l), b = as_f(r);
		if (a != a || b != b)
			return 2;
		return (a > b) - (a < b);
	}
	if (l->type != r->type)
		return 2;
	switch (l->type) {
	case RF_V_STR: {
		uint32_t n = l->len < r->len ? l->len : r->len;
		int c = n ? memcmp(l->u.s, r->u.s, n) : 0;
		if (c == 0)
			return (l->len > r->len) - (l->len < r->len);
		return c < 0 ? -1 : 1;
	}
	case RF_V_IP: {
		int c = memcmp(l->u.ip, r->u.ip, 16);
		return (c > 0) - (c < 0);
	}
	case RF_V_BOOL:
		return (l->u.i > r->u.i) - (l->u.i < r->u.i);
	default:
		return 2;
	}
}

static void cmp_op(int op, struct rf_value *l, const struct rf_value *r)
{
	int c = (l->type == RF_V_MISSING || r->type == RF_V_MISSING) ? 2 : compare(l, r);
	int res;
	switch (op) {
	case OP_EQ: res = c == 0; break;
	case OP_NE: res = c != 0; break; /* negation of ==, also for missing */
	case OP_LT: res = c == -1; break;
	case OP_LE: res = c == -1 || c == 0; break;
	case OP_GT: res = c == 1; break;
	default: res = c == 1 || c == 0; break;
	}
	set_bool(l, res);
}

/* float -> int for round/floor/ceil: missing unless it fits in int64. */
static void to_int(struct rf_value *v, double f)
{
	if (f >= -9223372036854775808.0 && f < 9223372036854775808.0)
		set_i(v, (int64_t)f);
	else
		v->type = RF_V_MISSING;
}

static void subnet(struct rf_value *ip, const struct rf_value *bits)
{
	if (ip->type != RF_V_IP || bits->type != RF_V_INT) {
		ip->type = RF_V_MISSING;
		return;
	}
	int64_t b = bits->u.i;
	int64_t max = ip->ip_is_v4 ? 32 : 128;
	if (b < 0 || b > max) {
		ip->type = RF_V_MISSING;
		return;
	}
	int keep = (int)(ip->ip_is_v4 ? 96 + b : b); /* leading bits kept */
	for (int i = 0; i < 16; i++) {
		int bit0 = i * 8;
		if (keep >= bit0 + 8)
			continue;
		if (keep <= bit0)
			ip->u.ip[i] = 0;
		else
			ip->u.ip[i] &= (uint8_t)(0xff << (8 - (keep - bit0)));
	}
}

static void change_case(struct xf_eval *ev, struct rf_value *v, int up)
{
	if (v->type != RF_V_STR) {
		v->type = RF_V_MISSING;
		return;
	}
	if (v->len > XF_SCRATCH_SIZE - ev->scratch_used) {
		ev->cnt->scratch_overflow++;
		v->type = RF_V_MISSING;
		return;
	}
	char *d = ev->scratch + ev->scratch_used;
	for (uint32_t i = 0; i < v->len; i++) {
		unsigned char c = (unsigned char)v->u.s[i];
		if (up && c >= 'a' && c <= 'z')
			c -= 32;
		else if (!up && c >= 'A' && c <= 'Z')
			c += 32;
		d[i] = (char)c;
	}
	ev->scratch_used += v->len;
	v->u.s = d;
}

void xf_expr_eval(const struct xf_expr *e, struct xf_eval *ev, struct rf_value *out)
{
	const struct xf_insn *pc = e->code;
	struct rf_value *sp = ev->stack - 1;   /* sp points at the top value */

	for (;; pc++) {
		switch (pc->op) {
		case OP_END:
			*out = *sp;
			return;
		case OP_CONST:
			*++sp = e->consts[pc->a];
			break;
		case OP_FIELD:
			*++sp = ev->fields[pc->a];
			break;
		case OP_OUT:
			*++sp = ev->outs[pc->a];
			break;
		case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD:
			sp--;
			if (num(sp) && num(sp + 1))
				arith(pc->op, sp, sp + 1, ev->cnt);
			else
				sp->type = RF_V_MISSING;
			break;
		case OP_NEG:
			if (sp->type == RF_V_INT) {
				if (sp->u.i == INT64_MIN)
					set_f(sp, 9223372036854775808.0);
				else
					sp->u.i = -sp->u.i;
			} else if (sp->type == RF_V_FLOAT) {
				sp->u.f = -sp->u.f;
			} else {
				sp->type = RF_V_MISSING;
			}
			break;
		case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
			sp--;
			cmp_op(pc->op, sp, sp + 1);
			break;
		case OP_NOT:
			set_bool(sp, !xf_truthy(sp));
			break;
		case OP_TO_BOOL:
			set_bool(sp, xf_truthy(sp));
			break;
		case OP_AND_JMP:
			if (!xf_truthy(sp)) {
				set_bool(sp, 0);
				pc += pc->b;
			} else {
				sp--;
			}
			break;
		case OP_OR_JMP:
			if (xf_truthy(sp)) {
				set_bool(sp, 1);
				pc += pc->b;
			} else {
				sp--;
			}
			break;
		case OP_JMP_FALSE:
			sp--;
			if (!xf_truthy(sp + 1))
				pc += pc->b;
			break;
		case OP_JMP:
			pc += pc->b;
			break;
		case OP_TO_FLOAT:
			if (sp->type == RF_V_INT)
				set_f(sp, (double)sp->u.i);
			break;
		case OP_GEO:
			if (sp->type != RF_V_IP || ev->geo == NULL)
				sp->type = RF_V_MISSING;
			else
				xf_geoip_lookup(ev->geo, sp->u.ip, sp->ip_is_v4,
						(enum xf_geo_answer)pc->a, sp, ev->cnt);
			break;
		case OP_SUBNET:
			sp--;
			subnet(sp, sp + 1);
			break;
		case OP_ABS:
			if (sp->type == RF_V_INT) {
				if (sp->u.i == INT64_MIN)
					set_f(sp, 9223372036854775808.0);
				else if (sp->u.i < 0)
					sp->u.i = -sp->u.i;
			} else if (sp->type == RF_V_FLOAT) {
				sp->u.f = fabs(sp->u.f);
			} else {
				sp->type = RF_V_MISSING;
			}
			break;
		case OP_MIN: case OP_MAX:
			sp--;
			if (!num(sp) || !num(sp + 1)) {
				sp->type = RF_V_MISSING;
			} else {
				int c = compare(sp, sp + 1);
				int take_r = pc->op == OP_MIN ? c == 1 : c == -1;
				if (c == 2)             /* NaN involved */
					set_f(sp, NAN);
				else if (take_r)
					*sp = sp[1];
			}
			break;
		case OP_ROUND: case OP_FLOOR: case OP_CEIL:
			if (sp->type == RF_V_FLOAT) {
				double f = sp->u.f;
				to_int(sp, pc->op == OP_ROUND ? round(f) :
					   pc->op == OP_FLOOR ? floor(f) : ceil(f));
			} else if (sp->type != RF_V_INT) {
				sp->type = RF_V_MISSING;
			}
			break;
		case OP_LOWER:
		case OP_UPPER:
			change_case(ev, sp, pc->op == OP_UPPER);
			break;
		default:
			/* Unreachable with compiler output; a missing result is
			 * safer than trusting a corrupted program. */
			out->type = RF_V_MISSING;
			return;
		}
	}
}
