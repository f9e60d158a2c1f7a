/*
 * expr_lex.c — tokenizer of the expression language (compile time only:
 * supervisor config check and transform start-up).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "transform/csv_value.h"
#include "transform/expr_int.h"

const char *xf_tok_desc(enum xf_tok k)
{
	switch (k) {
	case T_END: return "end of expression";
	case T_INT: return "number";
	case T_FLOAT: return "number";
	case T_STR: return "string";
	case T_IP: return "ip address";
	case T_IDENT: return "name";
	case T_LP: return "'('";
	case T_RP: return "')'";
	case T_COMMA: return "','";
	case T_PLUS: return "'+'";
	case T_MINUS: return "'-'";
	case T_STAR: return "'*'";
	case T_SLASH: return "'/'";
	case T_PCT: return "'%'";
	case T_EQ: return "'=='";
	case T_NE: return "'!='";
	case T_LT: return "'<'";
	case T_LE: return "'<='";
	case T_GT: return "'>'";
	case T_GE: return "'>='";
	case T_AND: return "'and'";
	case T_OR: return "'or'";
	case T_NOT: return "'not'";
	}
	return "token";
}

static int is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static int is_ident_char(int c)
{
	return isalnum(c) || c == '_';
}

static int keyword(const char *p, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(p, kw, n) == 0;
}

/* A number or IPv4 literal starting at src[i]: the run of characters that
 * can belong to one, then classified by its shape. */
static int lex_number(const char *src, size_t i, struct xf_token *t, char *err, size_t errlen)
{
	size_t j = i;
	int hex = src[i] == '0' && (src[i + 1] == 'x' || src[i + 1] == 'X');
	int dots = 0, expo = 0;
	for (;;) {
		unsigned char c = (unsigned char)src[j];
		if (isalnum(c) || c == '.' || c == '_') {
			if (c == '.')
				dots++;
			if (!hex && (c == 'e' || c == 'E'))
				expo = 1;
			j++;
			if (!hex && (c == 'e' || c == 'E') && (src[j] == '+' || src[j] == '-'))
				j++;
			continue;
		}
		break;
	}
	size_t n = j - i;
	t->pos = (uint32_t)i;
	t->len = (uint32_t)n;
	if (dots == 3 && !expo && !hex) {
		t->kind = T_IP;
		if (xf_parse_ip(src + i, n, t->v.ip, &t->is_v4) == 0)
			return 0;
	} else if (dots > 0 || expo) {
		t->kind = T_FLOAT;
		if (!hex && xf_parse_float(src + i, n, &t->v.f) == 0)
			return 0;
	} else {
		t->kind = T_INT;
		if (xf_parse_int(src + i, n, &t->v.i) == 0)
			return 0;
	}
	snprintf(err, errlen, "bad number '%.*s' at column %zu", (int)n, src + i, i + 1);
	return -1;
}

int xf_lex(const char *src, struct xf_token *toks, char *pool, char *err, size_t errlen)
{
	size_t i = 0;
	uint32_t pool_len = 0;
	int nt = 0;

	for (;;) {
		while (src[i] == ' ' || src[i] == '\t')
			i++;
		struct xf_token *t = &toks[nt];
		memset(t, 0, sizeof(*t));
		t->pos = (uint32_t)i;
		t->len = 1;
		unsigned char c = (unsigned char)src[i];
		if (c == '\0') {
			t->kind = T_END;
			t->len = 0;
			return nt + 1;
		}
		nt++;
		if (isdigit(c) || (c == '.' && isdigit((unsigned char)src[i + 1]))) {
			if (lex_number(src, i, t, err, errlen) < 0)
				return -1;
			i += t->len;
			continue;
		}
		if (is_ident_start(c)) {
			size_t j = i;
			while (is_ident_char((unsigned char)src[j]))
				j++;
			t->len = (uint32_t)(j - i);
			t->kind = keyword(src + i, j - i, "and") ? T_AND :
				  keyword(src + i, j - i, "or") ? T_OR :
				  keyword(src + i, j - i, "not") ? T_NOT : T_IDENT;
			i = j;
			continue;
		}
		if (c == '"') {
			size_t j = i + 1;
			t->kind = T_STR;
			t->v.s.off = pool_len;
			for (;;) {
				char ch = src[j];
				if (ch == '\0') {
					snprintf(err, errlen, "unterminated string at column %zu", i + 1);
					return -1;
				}
				if (ch == '"')
					break;
				if (ch == '\\') {
					char e = src[j + 1];
					if (e != '"' && e != '\\') {
						snprintf(err, errlen,
							 "bad escape '\\%c' in string at column %zu (only \\\" and \\\\)",
							 e != '\0' && isprint((unsigned char)e) ? e : '?', j + 1);
						return -1;
					}
					pool[pool_len++] = e;
					j += 2;
					continue;
				}
				pool[pool_len++] = ch;
				j++;
			}
			t->v.s.len = pool_len - t->v.s.off;
			t->len = (uint32_t)(j + 1 - i);
			i = j + 1;
			continue;
		}
		char n1 = src[i + 1];
		switch (c) {
		case '(': t->kind = T_LP; break;
		case ')': t->kind = T_RP; break;
		case ',': t->kind = T_COMMA; break;
		case '+': t->kind = T_PLUS; break;
		case '-': t->kind = T_MINUS; break;
		case '*': t->kind = T_STAR; break;
		case '/': t->kind = T_SLASH; break;
		case '%': t->kind = T_PCT; break;
		case '<': t->kind = n1 == '=' ? T_LE : T_LT; break;
		case '>': t->kind = n1 == '=' ? T_GE : T_GT; break;
		case '=':
			if (n1 != '=') {
				snprintf(err, errlen, "unexpected '=' at column %zu (comparison is '==')", i + 1);
				return -1;
			}
			t->kind = T_EQ;
			break;
		case '!':
			if (n1 != '=') {
				snprintf(err, errlen, "unexpected '!' at column %zu (negation is 'not')", i + 1);
				return -1;
			}
			t->kind = T_NE;
			break;
		default:
			if (isprint(c))
				snprintf(err, errlen, "unexpected character '%c' at column %zu", c, i + 1);
			else
				snprintf(err, errlen, "unexpected byte 0x%02x at column %zu", c, i + 1);
			return -1;
		}
		if (t->kind == T_LE || t->kind == T_GE || t->kind == T_EQ || t->kind == T_NE)
			t->len = 2;
		i += t->len;
	}
}
