/*
 * test_rule.c — rule compilation (aggregate/rule.h): fields, types, shared
 * sketches, error messages naming section and key; and the row format
 * (pipeline/row.h): encode/decode round trips with missing values, key
 * text forms, truncated and corrupt rows, routing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/row.h"
#include "aggregate/rule.h"
#include "common/hash.h"

/* The transform's output fields in these tests. */
static const char *const names[] = { "src_country", "dst_asn", "src_ip", "packet_size", "bytes", "rtt", "label", "anything" };
static const enum rf_vtype types[] = { RF_V_STR, RF_V_INT, RF_V_IP, RF_V_INT, RF_V_INT, RF_V_FLOAT, RF_V_STR, RF_V_ANY };
#define NOUT 8

static void rule_init(struct conf_rule *r, const char *name)
{
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->window_ns = 10000000000LL;
	r->every_ns = r->window_ns;
	r->lateness_ns = 30000000000LL;
}

static void add_key(struct conf_rule *r, const char *k)
{
	snprintf(r->keys[r->nkeys++], CONF_NAME_MAX, "%s", k);
}

static void add_agg(struct conf_rule *r, const char *name, const char *expr)
{
	snprintf(r->aggs[r->naggs].name, CONF_NAME_MAX, "%s", name);
	r->aggs[r->naggs++].expr = (char *)expr;
}

static int compile(const struct conf_rule *cr, struct agg_rule *out, char *err, size_t errlen)
{
	return agg_rule_compile(cr, names, types, NOUT, out, err, errlen);
}

static void test_compile_ok(void **state)
{
	(void)state;
	struct rf_config *conf = calloc(1, sizeof *conf);
	struct conf_rule *cr = &conf->rules[0];
	rule_init(cr, "by_country");
	snprintf(cr->measurement, sizeof cr->measurement, "traffic_by_country");
	add_key(cr, "src_country");
	add_key(cr, "dst_asn");
	add_agg(cr, "bytes", "sum(bytes)");
	add_agg(cr, "max_packet", " max ( packet_size ) ");
	add_agg(cr, "flows", "count()");
	add_agg(cr, "sources", "count_distinct(src_ip)");
	add_agg(cr, "p50", "p50(rtt)");
	add_agg(cr, "p999", "percentile(rtt, 99.9)");
	add_agg(cr, "avg_bytes", "avg(bytes)");
	add_agg(cr, "first_ip", "first(src_ip)");
	add_agg(cr, "any_sum", "sum(anything)");
	cr->top_n = 10;
	snprintf(cr->top_by, sizeof cr->top_by, "bytes");
	rule_init(&conf->rules[1], "whole");
	add_agg(&conf->rules[1], "n", "count()");
	conf->nrules = 2;

	struct agg_rule *rules;
	int n;
	char err[256] = "";
	assert_int_equal(agg_rules_compile(conf, names, types, NOUT, &rules, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	struct agg_rule *r = &rules[0];
	assert_string_equal(r->measurement, "traffic_by_country");
	assert_string_equal(rules[1].measurement, "whole");   /* default: rule name */
	assert_int_equal(r->shape.nkeys, 2);
	assert_int_equal(r->shape.key_fields[0], 0);
	assert_int_equal(r->shape.key_fields[1], 1);
	assert_string_equal(r->key_names[1], "dst_asn");
	/* Distinct argument fields in order of first use. */
	assert_int_equal(r->shape.nargs, 5);
	int want_args[] = { 4, 3, 2, 5, 7 };
	for (int i = 0; i < 5; i++)
		assert_int_equal(r->shape.arg_fields[i], want_args[i]);
	assert_int_equal(r->naggs, 9);
	assert_int_equal(r->aggs[2].fn, AGG_FN_COUNT);
	assert_int_equal(r->aggs[2].arg, -1);
	assert_true(r->aggs[5].q > 0.9989 && r->aggs[5].q < 0.9991);
	assert_true(r->aggs[4].q == 0.5);
	/* p50 and percentile(rtt, 99.9) share one sketch: 8 states for 9 aggs. */
	assert_int_equal(r->nstates, 8);
	assert_int_equal(r->aggs[4].state, r->aggs[5].state);
	/* Output types. */
	assert_int_equal(r->aggs[0].out_type, RF_V_INT);
	assert_int_equal(r->aggs[1].out_type, RF_V_INT);
	assert_int_equal(r->aggs[3].out_type, RF_V_INT);
	assert_int_equal(r->aggs[4].out_type, RF_V_FLOAT);
	assert_int_equal(r->aggs[6].out_type, RF_V_FLOAT);
	assert_int_equal(r->aggs[7].out_type, RF_V_IP);
	assert_int_equal(r->aggs[8].out_type, RF_V_ANY);
	assert_int_equal(r->top_agg, 0);
	assert_int_equal(r->top_n, 10);
	/* States are laid out back to back, 8-aligned. */
	uint32_t off = 0;
	for (int s = 0; s < r->nstates; s++) {
		assert_int_equal(r->states[s].offset, off);
		assert_int_equal(off % 8, 0);
		off += (uint32_t)agg_state_size(r->states[s].fn);
	}
	assert_int_equal(r->state_size, off);

	/* The fingerprint follows the definition. */
	struct agg_rule again;
	assert_int_equal(compile(cr, &again, err, sizeof err), 0);
	assert_true(again.fingerprint == r->fingerprint);
	assert_true(rules[1].fingerprint != r->fingerprint);
	conf->rules[0].aggs[0].expr = "sum(packet_size)";
	assert_int_equal(compile(cr, &again, err, sizeof err), 0);
	assert_true(again.fingerprint != r->fingerprint);
	conf->rules[0].aggs[0].expr = "sum(bytes)";
	conf->rules[0].window_ns *= 2;
	conf->rules[0].every_ns *= 2;
	assert_int_equal(compile(cr, &again, err, sizeof err), 0);
	assert_true(again.fingerprint != r->fingerprint);
	agg_rules_free(rules);
	free(conf);
}

struct err_case {
	const char *key, *expr, *top_by;
	int64_t window, every;
	const char *want;
};

static void test_compile_errors(void **state)
{
	(void)state;
	const int64_t S = 1000000000LL;
	const struct err_case cases[] = {
		{ NULL, "summ(bytes)", NULL, 10, 10, "[aggregate.by_country] bytes: unknown function 'summ'" },
		{ "src_contry", "sum(bytes)", NULL, 10, 10, "[aggregate.by_country] key: unknown field 'src_contry'" },
		{ NULL, "sum(bytes)", "bytes2", 10, 10, "[aggregate.by_country] top: 'bytes2' is not an aggregate of this rule" },
		{ NULL, "max(src_ip)", NULL, 10, 10, "[aggregate.by_country] bytes: max() needs a numeric field, 'src_ip' is ip" },
		{ NULL, "avg(label)", NULL, 10, 10, "[aggregate.by_country] bytes: avg() needs a numeric field, 'label' is str" },
		{ NULL, "sum(bytes)", NULL, 10, 3, "[aggregate.by_country] every: must divide window" },
		{ NULL, "sum(bytes)", NULL, 10, 20, "[aggregate.by_country] every: must divide window" },
		{ NULL, "sum(bytes)", NULL, 0, 0, "[aggregate.by_country] window: must be positive" },
		{ NULL, "sum(bytes)", NULL, 4000LL * 86400, 4000LL * 86400, "[aggregate.by_country] window: longer than 10 years" },
		{ NULL, "sum(byts)", NULL, 10, 10, "[aggregate.by_country] bytes: unknown field 'byts'" },
		{ NULL, "sum()", NULL, 10, 10, "[aggregate.by_country] bytes: sum() needs a field" },
		{ NULL, "sum(bytes", NULL, 10, 10, "[aggregate.by_country] bytes: expected sum(field) and nothing after it" },
		{ NULL, "sum(bytes) x", NULL, 10, 10, "[aggregate.by_country] bytes: expected sum(field) and nothing after it" },
		{ NULL, "percentile(rtt)", NULL, 10, 10, "[aggregate.by_country] bytes: percentile() needs a field and a percentage" },
		{ NULL, "percentile(rtt, 101)", NULL, 10, 10, "[aggregate.by_country] bytes: percentile must be a number from 0 to 100" },
		{ NULL, "", NULL, 10, 10, "[aggregate.by_country] bytes: expected function(field), got ''" },
		{ NULL, "first(label)", "bytes", 10, 10, "[aggregate.by_country] top: 'bytes' is not numeric" },
		{ "src_country,src_country", "sum(bytes)", NULL, 10, 10, "[aggregate.by_country] key: 'src_country' is listed twice" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct err_case *c = &cases[i];
		struct conf_rule cr;
		rule_init(&cr, "by_country");
		cr.window_ns = c->window * S;
		cr.every_ns = c->every * S;
		if (c->key) {
			char tmp[128];
			snprintf(tmp, sizeof tmp, "%s", c->key);
			for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ","))
				add_key(&cr, tok);
		}
		add_agg(&cr, "bytes", c->expr);
		if (c->top_by) {
			cr.top_n = 3;
			snprintf(cr.top_by, sizeof cr.top_by, "%s", c->top_by);
		}
		struct agg_rule r;
		char err[256] = "";
		assert_int_equal(compile(&cr, &r, err, sizeof err), -1);
		if (strncmp(err, c->want, strlen(c->want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, c->want);
	}
	/* No aggregate at all. */
	struct conf_rule cr;
	struct agg_rule r;
	char err[256];
	rule_init(&cr, "empty");
	assert_int_equal(compile(&cr, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "[aggregate.empty]"));
}

/* ---- rows ---- */

static struct agg_rule row_rule;

static int row_setup(void **state)
{
	(void)state;
	struct conf_rule cr;
	rule_init(&cr, "r");
	add_key(&cr, "src_country");
	add_key(&cr, "dst_asn");
	add_key(&cr, "src_ip");
	add_key(&cr, "rtt");
	add_agg(&cr, "b", "sum(bytes)");
	add_agg(&cr, "l", "last(label)");
	add_agg(&cr, "i", "first(src_ip)");
	add_agg(&cr, "r", "max(rtt)");
	add_agg(&cr, "a", "last(anything)");
	char err[256];
	return compile(&cr, &row_rule, err, sizeof err);
}

static void set_ip4(struct rf_value *v, const char *s)
{
	memset(v, 0, sizeof *v);
	v->type = RF_V_IP;
	v->ip_is_v4 = 1;
	v->u.ip[10] = v->u.ip[11] = 0xff;
	inet_pton(AF_INET, s, v->u.ip + 12);
}

/* Expected key section built by hand. */
static size_t key_bytes(uint8_t *out, const char *const *vals, int n)
{
	size_t p = 0;
	for (int i = 0; i < n; i++) {
		uint16_t l = (uint16_t)strlen(vals[i]);
		memcpy(out + p, &l, 2);
		memcpy(out + p + 2, vals[i], l);
		p += 2 + l;
	}
	return p;
}

static void test_row_roundtrip(void **state)
{
	(void)state;
	const struct agg_rule *r = &row_rule;
	struct rf_value outs[NOUT];
	memset(outs, 0, sizeof outs);
	outs[0] = (struct rf_value){ .type = RF_V_STR, .len = 2, .u.s = "DE" };
	outs[1] = (struct rf_value){ .type = RF_V_INT, .u.i = -64512 };
	set_ip4(&outs[2], "10.1.2.3");
	outs[5] = (struct rf_value){ .type = RF_V_FLOAT, .u.f = 0.1 };
	outs[4] = (struct rf_value){ .type = RF_V_INT, .u.i = 1500 };
	outs[6] = rf_missing();                                    /* label missing */
	outs[7] = (struct rf_value){ .type = RF_V_STR, .len = 3, .u.s = "xyz" };

	_Alignas(8) uint8_t buf[512];
	uint64_t h;
	size_t len = rf_row_encode(&r->shape, 3, outs, 123456789, INT64_MIN, buf, sizeof buf, &h);
	assert_true(len > 0 && len % 8 == 0);
	const char *kv[] = { "DE", "-64512", "10.1.2.3", "0.1" };
	uint8_t want[128];
	size_t kl = key_bytes(want, kv, 4);
	struct rf_row_hdr hdr;
	memcpy(&hdr, buf, sizeof hdr);
	assert_int_equal(hdr.len, len);
	assert_int_equal(hdr.rule, 3);
	assert_int_equal(hdr.key_len, kl);
	assert_memory_equal(buf + sizeof(struct rf_row_hdr), want, kl);
	assert_true(hdr.key_hash == rf_hash64(want, kl, 3) && h == hdr.key_hash);
	assert_true(hdr.time_ns == 123456789);
	/* Too small a buffer: 0 at every size below the row. */
	for (size_t c = 0; c < len; c++)
		assert_int_equal(rf_row_encode(&r->shape, 3, outs, 1, INT64_MIN, buf + 0, c, &h), 0);
	len = rf_row_encode(&r->shape, 3, outs, 123456789, INT64_MIN, buf, sizeof buf, &h);

	const struct rf_row_shape *shapes[4];
	for (int i = 0; i < 4; i++)
		shapes[i] = &r->shape;
	static struct rf_row row;
	int hdr_ok;
	char err[128];
	assert_int_equal(rf_row_decode(shapes, 4, buf, len, &row, &hdr_ok, err, sizeof err), 0);
	assert_int_equal(row.rule, 3);
	assert_int_equal(row.key_len, kl);
	assert_memory_equal(row.key, want, kl);
	/* Values in arg_fields order: bytes, label, src_ip, rtt, anything. */
	assert_int_equal(r->shape.nargs, 5);
	assert_true(row.vals[0].type == RF_V_INT && row.vals[0].u.i == 1500);
	assert_int_equal(row.vals[1].type, RF_V_MISSING);
	assert_true(row.vals[2].type == RF_V_IP && row.vals[2].ip_is_v4 == 1);
	assert_memory_equal(row.vals[2].u.ip, outs[2].u.ip, 16);
	assert_true(row.vals[3].type == RF_V_FLOAT && row.vals[3].u.f == 0.1);
	assert_true(row.vals[4].type == RF_V_STR && row.vals[4].len == 3);
	assert_memory_equal(row.vals[4].u.s, "xyz", 3);
	const char *kval;
	uint16_t klen;
	assert_int_equal(rf_key_field(row.key, row.key_len, 2, &kval, &klen), 0);
	assert_int_equal(klen, 8);
	assert_memory_equal(kval, "10.1.2.3", 8);
	assert_int_equal(rf_key_field(row.key, row.key_len, 4, &kval, &klen), -1);

	/* Missing key values: length 0; IPv6 canonical; float shortest form. */
	outs[0] = rf_missing();
	outs[1] = (struct rf_value){ .type = RF_V_STR, .len = 0, .u.s = "" };  /* wrong type but empty */
	memset(&outs[2], 0, sizeof outs[2]);
	outs[2].type = RF_V_IP;
	inet_pton(AF_INET6, "0030:0000:0000:0000:0000:0001:0001:0001", outs[2].u.ip);
	outs[5] = (struct rf_value){ .type = RF_V_FLOAT, .u.f = 1e300 };
	len = rf_row_encode(&r->shape, 0, outs, -5, INT64_MIN, buf, sizeof buf, &h);
	const char *kv2[] = { "", "", "30::1:1:1", "1e+300" };
	kl = key_bytes(want, kv2, 4);
	memcpy(&hdr, buf, sizeof hdr);
	assert_int_equal(hdr.key_len, kl);
	assert_memory_equal(buf + sizeof(struct rf_row_hdr), want, kl);
	assert_int_equal(rf_row_decode(shapes, 4, buf, len, &row, &hdr_ok, err, sizeof err), 0);
	assert_true(row.time_ns == -5);
}

static void test_row_long_strings(void **state)
{
	(void)state;
	const struct agg_rule *r = &row_rule;
	const struct rf_row_shape *sh = &r->shape;
	size_t big = 70000;
	char *s = malloc(big);
	memset(s, 'x', big);
	struct rf_value outs[NOUT];
	memset(outs, 0, sizeof outs);
	outs[0] = (struct rf_value){ .type = RF_V_STR, .len = (uint32_t)big, .u.s = s };
	outs[6] = (struct rf_value){ .type = RF_V_STR, .len = (uint32_t)big, .u.s = s };
	size_t cap = 300000;
	uint8_t *buf = aligned_alloc(8, cap);
	uint64_t h;
	size_t len = rf_row_encode(sh, 0, outs, 1, INT64_MIN, buf, cap, &h);
	assert_true(len > 0);
	static struct rf_row row;
	int hdr_ok;
	char err[128];
	assert_int_equal(rf_row_decode(&sh, 1, buf, len, &row, &hdr_ok, err, sizeof err), 0);
	/* Key section capped at 65535 bytes, with room for the other keys. */
	assert_true(row.key_len <= 65535);
	const char *kval;
	uint16_t klen;
	assert_int_equal(rf_key_field(row.key, row.key_len, 0, &kval, &klen), 0);
	assert_int_equal(klen, 65535 - 8);
	assert_int_equal(rf_key_field(row.key, row.key_len, 3, &kval, &klen), 0);
	assert_int_equal(klen, 0);
	assert_true(row.vals[1].type == RF_V_STR && row.vals[1].len == 65535);
	free(buf);
	free(s);
}

static void test_row_corrupt(void **state)
{
	(void)state;
	const struct agg_rule *r = &row_rule;
	const struct rf_row_shape *sh = &r->shape;
	struct rf_value outs[NOUT];
	memset(outs, 0, sizeof outs);
	outs[0] = (struct rf_value){ .type = RF_V_STR, .len = 2, .u.s = "FR" };
	outs[4] = (struct rf_value){ .type = RF_V_INT, .u.i = 7 };
	outs[6] = (struct rf_value){ .type = RF_V_STR, .len = 5, .u.s = "hello" };
	_Alignas(8) uint8_t buf[256], bad[256];
	uint64_t h;
	size_t len = rf_row_encode(sh, 0, outs, 1, INT64_MIN, buf, sizeof buf, &h);
	static struct rf_row row;
	int hdr_ok;
	char err[128];
	/* Truncated frames: every shorter view is refused. */
	for (size_t k = 0; k < len; k++)
		assert_int_equal(rf_row_decode(&sh, 1, buf, k, &row, &hdr_ok, err, sizeof err), -1);
	/* Rule out of range. */
	memcpy(bad, buf, len);
	bad[4] = 1;
	assert_int_equal(rf_row_decode(&sh, 1, bad, len, &row, &hdr_ok, err, sizeof err), -1);
	assert_int_equal(hdr_ok, 1);
	/* Header length not a multiple of 8 / shorter than the header. */
	memcpy(bad, buf, len);
	bad[0] = (uint8_t)(len - 1);
	assert_int_equal(rf_row_decode(&sh, 1, bad, len, &row, &hdr_ok, err, sizeof err), -1);
	assert_int_equal(hdr_ok, 0);
	/* Key byte flipped: hash mismatch. */
	memcpy(bad, buf, len);
	bad[sizeof(struct rf_row_hdr) + 3] ^= 1;
	assert_int_equal(rf_row_decode(&sh, 1, bad, len, &row, &hdr_ok, err, sizeof err), -1);
	assert_non_null(strstr(err, "hash"));
	/* Value of the wrong type for a typed field. */
	memcpy(bad, buf, len);
	struct rf_row_hdr hdr;
	memcpy(&hdr, buf, sizeof hdr);
	bad[sizeof hdr + hdr.key_len] = RF_V_IP;   /* bytes is int */
	assert_int_equal(rf_row_decode(&sh, 1, bad, len, &row, &hdr_ok, err, sizeof err), -1);
	/* A float where the rule's field is int (an int expression that
	 * overflowed) is a number: decoded as float, folded as float. */
	memcpy(bad, buf, len);
	bad[sizeof hdr + hdr.key_len] = RF_V_FLOAT;
	assert_int_equal(rf_row_decode(&sh, 1, bad, len, &row, &hdr_ok, err, sizeof err), 0);
	assert_int_equal(row.vals[0].type, RF_V_FLOAT);
	/* Every single-byte corruption either decodes or is refused; never
	 * reads outside the row (asan checks). */
	for (size_t pos = 0; pos < len; pos++)
		for (int bit = 0; bit < 8; bit++) {
			uint8_t *copy = malloc(len);
			memcpy(copy, buf, len);
			copy[pos] ^= (uint8_t)(1 << bit);
			(void)rf_row_decode(&sh, 1, copy, len, &row, &hdr_ok, err, sizeof err);
			free(copy);
		}
}

static void test_route(void **state)
{
	(void)state;
	/* Uses the high bits, is in range and roughly balanced. */
	uint32_t counts[5] = { 0 };
	for (uint64_t i = 0; i < 100000; i++) {
		uint64_t h = rf_mix64(i);
		uint32_t a = rf_route(h, 5);
		assert_true(a < 5);
		assert_int_equal(rf_route(h ^ 0xffffffffULL, 5), a);  /* low bits do not matter */
		counts[a]++;
	}
	for (int i = 0; i < 5; i++)
		assert_true(counts[i] > 19000 && counts[i] < 21000);
	assert_int_equal(rf_route(UINT64_MAX, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_ok),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test_setup(test_row_roundtrip, row_setup),
		cmocka_unit_test_setup(test_row_long_strings, row_setup),
		cmocka_unit_test_setup(test_row_corrupt, row_setup),
		cmocka_unit_test(test_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
