/*
 * rfa_json.h — incremental JSON tokenizer for the analyzer-author library.
 *
 * Fed any split of a byte stream (libcurl hands over whatever arrived), it
 * emits one event per token through a callback, so the caller never holds
 * more than one token.  The stream may hold several top-level values one
 * after the other (InfluxDB's chunked answers are a stream of objects).
 * Memory is bounded: one token buffer of at most RFA_JSON_MAX_TOKEN bytes
 * and a nesting stack of RFA_JSON_MAX_DEPTH levels; anything larger is an
 * error, never a crash.  No I/O, no global state; one per stream.
 */
#ifndef ANALYZE_RFA_JSON_H
#define ANALYZE_RFA_JSON_H

#include <stddef.h>
#include <stdint.h>

#define RFA_JSON_MAX_TOKEN (1024 * 1024)  /* decoded string or number text */
#define RFA_JSON_MAX_DEPTH 64

enum rfa_json_ev {
	RFA_JSON_OBJ_BEGIN = 0,
	RFA_JSON_OBJ_END,
	RFA_JSON_ARR_BEGIN,
	RFA_JSON_ARR_END,
	RFA_JSON_KEY,     /* s/len: the decoded key */
	RFA_JSON_STRING,  /* s/len: the decoded UTF-8 (may hold NUL from \u0000) */
	RFA_JSON_NUMBER,  /* s/len: the number's text, checked against JSON's grammar */
	RFA_JSON_TRUE,
	RFA_JSON_FALSE,
	RFA_JSON_NULL,
	RFA_JSON_EV_COUNT
};

/* s is NUL-terminated and valid only during the call; NULL for events
 * without text.  Nonzero stops the tokenizer (feed returns 1). */
typedef int (*rfa_json_fn)(void *arg, enum rfa_json_ev ev, const char *s, size_t len);

struct rfa_json {
	rfa_json_fn fn;
	void *arg;
	uint64_t offset;        /* bytes consumed so far (error positions) */
	int state;              /* grammar: what may come next */
	int lex;                /* inside a token: none, string, number, literal */
	int is_key;             /* the string being read is an object key */
	int lit_pos;            /* literal: bytes of it matched */
	const char *lit;        /* literal: "true", "false" or "null" */
	int esc;                /* string: 0, 1 after '\', 2.. inside \uXXXX */
	unsigned ucode;         /* \uXXXX being read */
	unsigned high;          /* pending high surrogate, 0 if none */
	int depth;
	unsigned char stack[RFA_JSON_MAX_DEPTH]; /* 'o' or 'a' per level */
	char *tok;              /* token buffer (owned) */
	size_t tok_len, tok_cap;
	uint64_t values;        /* complete top-level values seen */
	int failed;             /* 1 after an error: further feeds refused */
};

void rfa_json_init(struct rfa_json *j, rfa_json_fn fn, void *arg);
/* Frees the token buffer; j may be re-initialised after.  NULL is fine. */
void rfa_json_free(struct rfa_json *j);
/* 0 (all consumed), 1 (the callback stopped it; the rest is not read), or -1
 * with "malformed JSON at byte N: why" (N counts from the stream's start). */
int rfa_json_feed(struct rfa_json *j, const char *data, size_t len, char *err, size_t errlen);
/* End of stream: 0 if it ends between top-level values (a bare top-level
 * number is completed here), 1 if the callback stopped, -1 if truncated. */
int rfa_json_finish(struct rfa_json *j, char *err, size_t errlen);

#endif
