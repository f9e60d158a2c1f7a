/*
 * test_stage_loop.c — cmocka tests for pipeline/stage_loop (and the
 * stage_input it reads with): a real segment carved by the supervisor's
 * layout, the loop run in this process as an aggregate (two transforms
 * in, two writers out) or a writer (no outputs) with a recording stage.
 *
 * The input rings are filled before the loop runs, so it never sleeps,
 * except in the one test where a thread sends EOS once the loop asked how
 * long to wait. Checked: frames before an aligned barrier are handled
 * before it and frames after it after; the stage's part of a checkpoint
 * comes before the ack and the ack before BARRIER(N) goes out (also when
 * an output is full); a failed
 * part is marked failed and still acked; a stage without a part only
 * forwards; frames of the wrong type or too short are skipped; EOS goes on
 * with its kind (STOP when any input stopped) after on_eos; the exit
 * statuses of init, on_frame, on_turn, on_eos and the stop flag; fini runs
 * on every exit after init; frames_in_total.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "pipeline/checkpoint.h"
#include "pipeline/frames.h"
#include "pipeline/stage_loop.h"
#include "supervisor/layout.h"

#define NIN 2
#define NOUT 2

struct plane {
	struct rf_pipeline pl;
	struct rf_layout lay;
	struct shm_segment *seg;
	struct rf_proc p;
	struct shm_ring_handle in[NIN];   /* producer side of the stage's inputs */
	struct shm_ring_handle out[NOUT]; /* consumer side of its outputs */
	int nin, nout;
};

/* The stage's process: role `role` index 0, nin producers before it. */
static void plane_open(struct plane *w, enum rf_role role, int nin, int nout)
{
	char err[256];
	memset(w, 0, sizeof *w);
	struct conf_processes *pc = &w->pl.conf.processes;
	pc->ingest = pc->transform = pc->aggregate = pc->writer = 1;
	pc->ring_size = 64 * 1024;
	int *n[RF_ROLE_COUNT] = { &pc->ingest, &pc->transform, &pc->aggregate, &pc->writer };
	*n[role - 1] = nin;
	if (role < RF_ROLE_WRITER)
		*n[role + 1] = nout;
	w->seg = rf_layout_create(&w->pl.conf, &w->lay, err, sizeof err);
	assert_non_null(w->seg);
	w->p = (struct rf_proc){ .pl = &w->pl, .seg = w->seg, .lay = &w->lay, .role = role, .index = 0 };
	w->p.stats = rf_layout_stats(w->seg, &w->lay, role, 0);
	w->nin = nin;
	w->nout = role < RF_ROLE_WRITER ? nout : 0;
	for (int i = 0; i < nin; i++)
		assert_int_equal(shm_ring_handle_init(&w->in[i], w->seg, rf_layout_ring(&w->lay, role - 1, i, role, 0), err, sizeof err), 0);
	for (int j = 0; j < w->nout; j++)
		assert_int_equal(shm_ring_handle_init(&w->out[j], w->seg, rf_layout_ring(&w->lay, role, 0, role + 1, j), err, sizeof err), 0);
	rf_stop_requested = 0;
}

static void plane_close(struct plane *w)
{
	shm_segment_destroy(w->seg);
}

static void put(struct shm_ring_handle *h, uint16_t type, const void *payload, uint32_t len)
{
	void *f = shm_ring_try_reserve(h, len, type);
	assert_non_null(f);
	memcpy(f, payload, len);
	shm_ring_commit(h);
}

/* A data frame whose first payload byte after the header is `tag`. */
static void put_data(struct shm_ring_handle *h, uint16_t type, char tag)
{
	unsigned char buf[sizeof(struct rf_rows_hdr) + 1] = { 0 };
	size_t hdr = type == RF_FRAME_POINTS ? sizeof(struct rf_points_hdr) : sizeof(struct rf_rows_hdr);
	buf[hdr] = (unsigned char)tag;
	put(h, type, buf, (uint32_t)hdr + 1);
}

static void put_barrier(struct shm_ring_handle *h, uint64_t id)
{
	struct rf_barrier b = { id };
	put(h, RF_FRAME_BARRIER, &b, sizeof b);
}

static void put_eos(struct shm_ring_handle *h, uint32_t kind)
{
	struct rf_eos e = { kind, 0 };
	put(h, RF_FRAME_EOS, &e, sizeof e);
}

/* The frames on an output as "B7 E0 ..." (B: barrier id, E: EOS kind,
 * P: points). */
static void drain(struct shm_ring_handle *h, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	uint32_t flen;
	uint16_t type;
	const void *f;
	while ((f = shm_ring_peek(h, &flen, &type)) != NULL) {
		if (type == RF_FRAME_BARRIER)
			n += (size_t)snprintf(buf + n, len - n, "%sB%llu", n ? " " : "",
					      (unsigned long long)((const struct rf_barrier *)f)->id);
		else if (type == RF_FRAME_EOS)
			n += (size_t)snprintf(buf + n, len - n, "%sE%u", n ? " " : "", ((const struct rf_eos *)f)->kind);
		else
			n += (size_t)snprintf(buf + n, len - n, "%sT%u", n ? " " : "", type);
		shm_ring_consume(h);
	}
	shm_ring_release(h);
}

/* ---- a recording stage ---- */

struct rec {
	struct plane *w;
	struct rf_stage *sg;       /* valid until fini returns */
	int nouts;
	char log[512];
	size_t n;
	int init_status, frame_status, turn_status, eos_status, barrier_status;
	char fail_on;              /* on_frame returns frame_status for this tag */
	int emit_on_barrier;       /* on_barrier sends a POINTS frame on output 0 */
	int turns, publishes, finis;
	uint32_t eos_kind;
	pthread_t eos_thread;      /* sends EOS once wait_ns was asked */
	int eos_late, waited;
};

static void note(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (r->n)
		r->log[r->n++] = ' ';
	r->n += (size_t)vsnprintf(r->log + r->n, sizeof r->log - r->n, fmt, ap);
	va_end(ap);
}

static int rec_init(void *st, struct rf_stage *sg)
{
	struct rec *r = st;
	r->sg = sg;
	r->nouts = sg->nouts;
	note(r, "init");
	return r->init_status;
}

static int rec_on_frame(void *st, const void *fr, uint32_t len)
{
	struct rec *r = st;
	char tag = ((const char *)fr)[len - 1];
	note(r, "%c", tag);
	return tag == r->fail_on ? r->frame_status : 0;
}

static int rec_on_barrier(void *st, uint64_t id)
{
	struct rec *r = st;
	struct rf_ckpt_ctl *c = rf_ckpt_ctl(&r->w->p);
	/* Not acked yet, nothing forwarded yet. */
	assert_int_equal(atomic_load(&c->acked[r->w->p.role][0]), 0);
	for (int j = 0; j < r->w->nout; j++)
		assert_false(shm_ring_readable(&r->w->out[j]));
	if (r->emit_on_barrier) {
		struct rf_points_hdr h = { 0 };
		put(&r->sg->outs[0], RF_FRAME_POINTS, &h, sizeof h);
	}
	note(r, "B%llu", (unsigned long long)id);
	return r->barrier_status;
}

static int rec_on_barrier_plain(void *st, uint64_t id)
{
	note(st, "B%llu", (unsigned long long)id);
	return 0;
}

static int rec_on_turn(void *st)
{
	struct rec *r = st;
	r->turns++;
	return r->turn_status;
}

static void *send_eos_late(void *arg)
{
	struct plane *w = arg;
	for (int i = 0; i < w->nin; i++)
		put_eos(&w->in[i], RF_EOS_END);
	return NULL;
}

static int64_t rec_wait_ns(void *st)
{
	struct rec *r = st;
	r->waited++;
	if (r->eos_late && r->waited == 1)
		assert_int_equal(pthread_create(&r->eos_thread, NULL, send_eos_late, r->w), 0);
	return 10 * RF_NS_PER_SEC;
}

static int rec_on_eos(void *st, uint32_t kind)
{
	struct rec *r = st;
	note(r, "eos%u", kind);
	r->eos_kind = kind;
	return r->eos_status;
}

static void rec_publish(void *st)
{
	((struct rec *)st)->publishes++;
}

static void rec_fini(void *st)
{
	struct rec *r = st;
	r->finis++;
	note(r, "fini");
}

static const struct rf_stage_ops agg_like = {
	.frames_per_turn = 16,
	.frame_type = RF_FRAME_ROWS,
	.frame_hdr = sizeof(struct rf_rows_hdr),
	.init = rec_init,
	.on_frame = rec_on_frame,
	.on_barrier = rec_on_barrier,
	.on_turn = rec_on_turn,
	.wait_ns = rec_wait_ns,
	.on_eos = rec_on_eos,
	.publish = rec_publish,
	.fini = rec_fini,
};

/* Like the transform: no part in checkpoints, no on_turn, no on_eos. */
static const struct rf_stage_ops xf_like = {
	.frames_per_turn = 16,
	.frame_type = RF_FRAME_ROWS,
	.frame_hdr = sizeof(struct rf_rows_hdr),
	.init = rec_init,
	.on_frame = rec_on_frame,
	.wait_ns = rec_wait_ns,
	.publish = rec_publish,
	.fini = rec_fini,
};

static uint64_t acked(struct plane *w)
{
	return atomic_load(&rf_ckpt_ctl(&w->p)->acked[w->p.role][0]);
}

static uint64_t failed(struct plane *w)
{
	return atomic_load(&rf_ckpt_ctl(&w->p)->failed[w->p.role][0]);
}

/* ---- tests ---- */

static void test_barrier_aligned_acked_forwarded(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, NIN, NOUT);
	put_data(&w.in[0], RF_FRAME_ROWS, 'a');
	put_barrier(&w.in[0], 7);
	put_data(&w.in[0], RF_FRAME_ROWS, 'c');
	put_eos(&w.in[0], RF_EOS_END);
	put_data(&w.in[1], RF_FRAME_ROWS, 'b');
	put_data(&w.in[1], RF_FRAME_ROWS, 'd');
	put_barrier(&w.in[1], 7);
	put_eos(&w.in[1], RF_EOS_END);
	struct rec r = { .w = &w, .emit_on_barrier = 1 };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_OK);
	/* a's ring stops at the barrier until b's delivered it too. */
	assert_string_equal(r.log, "init a b d B7 c eos0 fini");
	assert_int_equal(acked(&w), 7);
	assert_int_equal(failed(&w), 0);
	char out[128];
	drain(&w.out[0], out, sizeof out);
	assert_string_equal(out, "T3 B7 E0");   /* the emitted points before the barrier */
	drain(&w.out[1], out, sizeof out);
	assert_string_equal(out, "B7 E0");
	assert_int_equal(rf_stat_get(w.p.stats, RF_ST_FRAMES_IN), 8);
	assert_true(r.turns >= 1);
	assert_int_equal(r.publishes, r.turns + 1);
	assert_int_equal(r.finis, 1);
	plane_close(&w);
}

static void test_barrier_part_failed_still_acked(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, NIN, NOUT);
	for (int i = 0; i < NIN; i++) {
		put_barrier(&w.in[i], 3);
		put_eos(&w.in[i], RF_EOS_STOP);
	}
	struct rec r = { .w = &w, .barrier_status = 1 };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_OK);
	assert_int_equal(failed(&w), 3);
	assert_int_equal(acked(&w), 3);
	char out[128];
	drain(&w.out[1], out, sizeof out);
	assert_string_equal(out, "B3 E1");
	plane_close(&w);
}

static void test_barrier_part_aborts(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, NIN, NOUT);
	for (int i = 0; i < NIN; i++) {
		put_barrier(&w.in[i], 4);
		put_eos(&w.in[i], RF_EOS_END);
	}
	struct rec r = { .w = &w, .barrier_status = -1 };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_RESTART);
	assert_int_equal(acked(&w), 0);
	assert_string_equal(r.log, "init B4 fini");
	char out[128];
	drain(&w.out[0], out, sizeof out);
	assert_string_equal(out, "");
	plane_close(&w);
}

/* The ack does not wait for room in an output: with output 0 full and the
 * ring wait interrupted, the barrier cannot go on, yet it was acked. */
static void test_ack_before_forward(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_barrier(&w.in[0], 5);
	put_eos(&w.in[0], RF_EOS_END);
	struct rf_points_hdr h = { 0 };
	void *f;
	while ((f = shm_ring_try_reserve(&w.out[0], sizeof h, RF_FRAME_POINTS)) != NULL) {
		memcpy(f, &h, sizeof h);
		shm_ring_commit(&w.out[0]);
	}
	struct rec r = { .w = &w };
	/* on_barrier checks that nothing is readable on the outputs. */
	static const struct rf_stage_ops no_check = {
		.frames_per_turn = 16,
		.frame_type = RF_FRAME_ROWS,
		.frame_hdr = sizeof(struct rf_rows_hdr),
		.init = rec_init,
		.on_frame = rec_on_frame,
		.on_barrier = rec_on_barrier_plain,
		.wait_ns = rec_wait_ns,
		.publish = rec_publish,
		.fini = rec_fini,
	};
	rf_interrupt_flag = 1;
	assert_int_equal(rf_stage_run(&no_check, &r, &w.p), RF_EXIT_RESTART);
	rf_interrupt_flag = 0;
	assert_int_equal(acked(&w), 5);
	assert_string_equal(r.log, "init B5 fini");
	plane_close(&w);
}

static void test_no_part_forwards_only(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, NIN, NOUT);
	for (int i = 0; i < NIN; i++) {
		put_data(&w.in[i], RF_FRAME_ROWS, (char)('a' + i));
		put_barrier(&w.in[i], 9);
		put_eos(&w.in[i], i ? RF_EOS_STOP : RF_EOS_END);
	}
	struct rec r = { .w = &w };
	assert_int_equal(rf_stage_run(&xf_like, &r, &w.p), RF_EXIT_OK);
	assert_string_equal(r.log, "init a b fini");
	assert_int_equal(acked(&w), 0);
	char out[128];
	for (int j = 0; j < NOUT; j++) {
		drain(&w.out[j], out, sizeof out);
		assert_string_equal(out, "B9 E1");  /* one input stopped: STOP */
	}
	plane_close(&w);
}

static void test_unexpected_frames_skipped(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_data(&w.in[0], RF_FRAME_POINTS, 'x');            /* wrong type */
	char shortf[4] = "abc";
	put(&w.in[0], RF_FRAME_ROWS, shortf, sizeof shortf); /* shorter than its header */
	put_data(&w.in[0], RF_FRAME_ROWS, 'a');
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_OK);
	assert_string_equal(r.log, "init a eos0 fini");
	assert_int_equal(rf_stat_get(w.p.stats, RF_ST_FRAMES_IN), 4);
	plane_close(&w);
}

static void test_init_status_is_exit_status(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w, .init_status = CONF_EXIT_CONFIG };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), CONF_EXIT_CONFIG);
	assert_string_equal(r.log, "init");
	assert_int_equal(r.publishes, 0);
	char out[64];
	drain(&w.out[0], out, sizeof out);
	assert_string_equal(out, "");
	plane_close(&w);
}

static void test_frame_fails_turn(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_data(&w.in[0], RF_FRAME_ROWS, 'a');
	put_data(&w.in[0], RF_FRAME_ROWS, 'z');
	put_data(&w.in[0], RF_FRAME_ROWS, 'b');
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w, .fail_on = 'z', .frame_status = -1 };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_RESTART);
	assert_string_equal(r.log, "init a z fini");
	assert_int_equal(r.publishes, 1);   /* at exit */
	char out[64];
	drain(&w.out[0], out, sizeof out);
	assert_string_equal(out, "");       /* no EOS */
	plane_close(&w);
}

static void test_frame_ends_ring_turn(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_data(&w.in[0], RF_FRAME_ROWS, 'a');
	put_data(&w.in[0], RF_FRAME_ROWS, 'z');
	put_data(&w.in[0], RF_FRAME_ROWS, 'b');
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w, .fail_on = 'z', .frame_status = 1 };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_OK);
	assert_string_equal(r.log, "init a z b eos0 fini");
	assert_int_equal(r.turns, 2);       /* z ended the first */
	plane_close(&w);
}

static void test_turn_leaves(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_data(&w.in[0], RF_FRAME_ROWS, 'a');
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w, .turn_status = -1 };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_RESTART);
	assert_string_equal(r.log, "init a fini");
	assert_int_equal(r.publishes, 2);   /* the turn's, then at exit */
	plane_close(&w);
}

static void test_eos_status_eos_still_forwarded(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w, .eos_status = RF_EXIT_RESTART };
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_RESTART);
	assert_string_equal(r.log, "init eos0 fini");
	char out[64];
	drain(&w.out[0], out, sizeof out);
	assert_string_equal(out, "E0");
	plane_close(&w);
}

static void test_stop_flag_leaves_at_once(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_AGGREGATE, 1, 1);
	put_data(&w.in[0], RF_FRAME_ROWS, 'a');
	put_eos(&w.in[0], RF_EOS_END);
	struct rec r = { .w = &w };
	rf_stop_requested = 1;
	assert_int_equal(rf_stage_run(&agg_like, &r, &w.p), RF_EXIT_RESTART);
	rf_stop_requested = 0;
	assert_string_equal(r.log, "init fini");
	assert_int_equal(r.turns, 0);
	char out[64];
	drain(&w.out[0], out, sizeof out);
	assert_string_equal(out, "");
	plane_close(&w);
}

/* The writer's place: no outputs; the loop sleeps once and the doorbell
 * wakes it when EOS comes. */
static void test_last_role_waits_for_input(void **state)
{
	struct plane w;
	plane_open(&w, RF_ROLE_WRITER, NIN, 0);
	put_data(&w.in[0], RF_FRAME_POINTS, 'p');
	struct rec r = { .w = &w, .eos_late = 1 };
	static const struct rf_stage_ops wr_like = {
		.frames_per_turn = 32,
		.frame_type = RF_FRAME_POINTS,
		.frame_hdr = sizeof(struct rf_points_hdr),
		.init = rec_init,
		.on_frame = rec_on_frame,
		.on_barrier = rec_on_barrier,
		.wait_ns = rec_wait_ns,
		.on_eos = rec_on_eos,
		.publish = rec_publish,
		.fini = rec_fini,
	};
	int64_t t0 = rf_mono_ns();
	assert_int_equal(rf_stage_run(&wr_like, &r, &w.p), RF_EXIT_OK);
	assert_true(rf_mono_ns() - t0 < 5 * RF_NS_PER_SEC);
	pthread_join(r.eos_thread, NULL);
	assert_int_equal(r.nouts, 0);
	assert_true(r.waited >= 1);
	assert_string_equal(r.log, "init p eos0 fini");
	plane_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_barrier_aligned_acked_forwarded),
		cmocka_unit_test(test_barrier_part_failed_still_acked),
		cmocka_unit_test(test_barrier_part_aborts),
		cmocka_unit_test(test_ack_before_forward),
		cmocka_unit_test(test_no_part_forwards_only),
		cmocka_unit_test(test_unexpected_frames_skipped),
		cmocka_unit_test(test_init_status_is_exit_status),
		cmocka_unit_test(test_frame_fails_turn),
		cmocka_unit_test(test_frame_ends_ring_turn),
		cmocka_unit_test(test_turn_leaves),
		cmocka_unit_test(test_eos_status_eos_still_forwarded),
		cmocka_unit_test(test_stop_flag_leaves_at_once),
		cmocka_unit_test(test_last_role_waits_for_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
