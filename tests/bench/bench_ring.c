/*
 * bench_ring.c — throughput of the shared-memory SPSC ring across fork(),
 * with 64-byte records (about one sFlow record after transform).
 *
 *   bench_ring [-n RECORDS] [-r RING_BYTES] [-c CASE]
 *
 * Cases (one line each):
 *   frames-batched   one 64-byte frame per record, 64 frames per commit,
 *                    the consumer releases every 64 frames;
 *   records-in-4k    4 KiB frames holding 64 records each (how the pipeline
 *                    ships batches), one commit per frame;
 *   one-at-a-time    reserve, fill, commit per record; the consumer peeks,
 *                    consumes and releases per record.
 * The producer is a forked child, the consumer the parent; the consumer reads
 * every word of every record and checks a sum so nothing is optimised away.
 * Without -n each case is calibrated to run about 2 s.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "shm/doorbell.h"
#include "shm/ring.h"
#include "shm/segment.h"

#define REC_SIZE 64
#define REC_WORDS (REC_SIZE / 8)
#define BATCH 64
#define BIG_FRAME (REC_SIZE * BATCH)
#define TARGET_S 2.0

enum bench_case { CASE_FRAMES_BATCHED = 0, CASE_RECORDS_IN_4K, CASE_ONE_AT_A_TIME, CASE_COUNT };
static const char *const case_names[CASE_COUNT] = { "frames-batched", "records-in-4k", "one-at-a-time" };

struct bench {
	struct shm_segment *seg;
	uint64_t ring_off;
	struct shm_doorbell *cons_bell;
};

static inline void fill_rec(uint64_t *w, uint64_t idx)
{
	w[0] = idx;
	for (int k = 1; k < REC_WORDS; k++)
		w[k] = idx ^ (uint64_t)k;
}

/* Sum of all words of a record; the expected total is computed separately. */
static inline uint64_t read_rec(const uint64_t *w)
{
	uint64_t s = 0;
	for (int k = 0; k < REC_WORDS; k++)
		s += w[k];
	return s;
}

static uint64_t expected_sum(uint64_t n)
{
	uint64_t s = 0;
	for (uint64_t i = 0; i < n; i++) {
		s += i;
		for (uint64_t k = 1; k < REC_WORDS; k++)
			s += i ^ k;
	}
	return s;
}

static int produce(enum bench_case c, struct shm_ring_handle *h, uint64_t n)
{
	uint64_t i = 0;
	switch (c) {
	case CASE_FRAMES_BATCHED:
		while (i < n) {
			for (int b = 0; b < BATCH && i < n; b++, i++) {
				uint64_t *w = shm_ring_reserve(h, REC_SIZE, 1, NULL);
				if (w == NULL)
					return 1;
				fill_rec(w, i);
			}
			shm_ring_commit(h);
		}
		break;
	case CASE_RECORDS_IN_4K:
		while (i < n) {
			uint64_t cnt = n - i < BATCH ? n - i : BATCH;
			uint64_t *w = shm_ring_reserve(h, (uint32_t)(cnt * REC_SIZE), 1, NULL);
			if (w == NULL)
				return 1;
			for (uint64_t r = 0; r < cnt; r++, i++)
				fill_rec(w + r * REC_WORDS, i);
			shm_ring_commit(h);
		}
		break;
	case CASE_ONE_AT_A_TIME:
		for (; i < n; i++) {
			uint64_t *w = shm_ring_reserve(h, REC_SIZE, 1, NULL);
			if (w == NULL)
				return 1;
			fill_rec(w, i);
			shm_ring_commit(h);
		}
		break;
	default:
		return 1;
	}
	shm_ring_commit(h);
	return 0;
}

/* Returns the sum of every word received, or sets *bad. */
static uint64_t consume(enum bench_case c, struct shm_ring_handle *h, struct shm_doorbell *bell,
			uint64_t n, int *bad)
{
	uint64_t got = 0, sum = 0, since_release = 0;
	uint32_t release_every = c == CASE_ONE_AT_A_TIME ? 1 : BATCH;
	while (got < n) {
		uint32_t len;
		uint16_t type;
		const uint64_t *w = shm_ring_peek(h, &len, &type);
		if (w == NULL) {
			if (errno == EBADMSG) {
				*bad = 1;
				return 0;
			}
			shm_rings_wait(&h, 1, bell, 100 * RF_NS_PER_MS);
			continue;
		}
		if (len % REC_SIZE != 0 || len == 0) {
			*bad = 1;
			return 0;
		}
		for (uint32_t r = 0; r < len / REC_SIZE; r++)
			sum += read_rec(w + r * REC_WORDS);
		got += len / REC_SIZE;
		shm_ring_consume(h);
		if (++since_release >= release_every) {
			shm_ring_release(h);
			since_release = 0;
		}
	}
	shm_ring_release(h);
	return sum;
}

/* One run; returns seconds, or a negative value on failure. */
static double run_case(struct bench *b, enum bench_case c, uint64_t n, int check)
{
	char err[256];
	shm_ring_reset(shm_at(b->seg, b->ring_off));
	shm_doorbell_init(b->cons_bell);
	struct shm_ring *r = shm_at(b->seg, b->ring_off);
	shm_doorbell_init(shm_at(b->seg, r->prod_bell_off));
	struct shm_ring_handle h;
	if (shm_ring_handle_init(&h, b->seg, b->ring_off, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_ring: %s\n", err);
		return -1;
	}
	int64_t t0 = rf_mono_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_ring: fork");
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(produce(c, &h, n));
	}
	int bad = 0;
	uint64_t sum = consume(c, &h, b->cons_bell, n, &bad);
	int64_t t1 = rf_mono_ns();
	if (bad)
		kill(pid, SIGKILL);
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_ring: %s: producer failed (status 0x%x)\n", case_names[c], status);
		return -1;
	}
	if (bad || (check && sum != expected_sum(n))) {
		fprintf(stderr, "bench_ring: %s: records corrupted or lost\n", case_names[c]);
		return -1;
	}
	return (double)(t1 - t0) / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_ring [-n RECORDS] [-r RING_BYTES (power of two, K/M suffix)] "
			"[-c frames-batched|records-in-4k|one-at-a-time]\n");
}

int main(int argc, char **argv)
{
	uint64_t n_opt = 0, ring = 4u << 20;
	int only = -1;
	int opt;
	while ((opt = getopt(argc, argv, "n:r:c:h")) != -1) {
		switch (opt) {
		case 'c':
			for (int c = 0; c < CASE_COUNT; c++)
				if (strcmp(optarg, case_names[c]) == 0)
					only = c;
			if (only < 0) {
				fprintf(stderr, "bench_ring: unknown case %s\n", optarg);
				return 2;
			}
			break;
		case 'n':
			n_opt = strtoull(optarg, NULL, 10);
			if (n_opt == 0) {
				usage();
				return 2;
			}
			break;
		case 'r':
			if (rf_parse_size(optarg, &ring) != 0 || shm_ring_footprint(ring) == 0) {
				fprintf(stderr, "bench_ring: bad ring size %s\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
			return 2;
		}
	}

	char err[256];
	struct bench b = { 0 };
	b.seg = shm_segment_create(ring + (1u << 20), err, sizeof(err));
	if (b.seg == NULL) {
		fprintf(stderr, "bench_ring: %s\n", err);
		return 1;
	}
	uint64_t pb = shm_segment_alloc(b.seg, sizeof(struct shm_doorbell), 64);
	uint64_t cb = shm_segment_alloc(b.seg, sizeof(struct shm_doorbell), 64);
	if (pb == 0 || cb == 0) {
		fprintf(stderr, "bench_ring: segment too small\n");
		return 1;
	}
	b.cons_bell = shm_at(b.seg, cb);
	b.ring_off = shm_ring_create(b.seg, ring, pb, cb, err, sizeof(err));
	if (b.ring_off == 0) {
		fprintf(stderr, "bench_ring: %s\n", err);
		return 1;
	}

	int rc = 0;
	for (int c = 0; c < CASE_COUNT; c++) {
		if (only >= 0 && c != only)
			continue;
		uint64_t n = n_opt;
		if (n == 0) {
			/* Calibrate: a short run, then enough records for ~TARGET_S. */
			uint64_t probe = 2000000;
			double s = run_case(&b, (enum bench_case)c, probe, 0);
			if (s < 0) {
				rc = 1;
				continue;
			}
			n = (uint64_t)((double)probe / s * TARGET_S);
			if (n < probe)
				n = probe;
		}
		double s = run_case(&b, (enum bench_case)c, n, 1);
		if (s < 0) {
			rc = 1;
			continue;
		}
		printf("ring %s: %llu records in %.3f s = %.1f M records/s (%.2f ns/record)\n",
		       case_names[c], (unsigned long long)n, s, (double)n / s / 1e6, s * 1e9 / (double)n);
		fflush(stdout);
	}
	shm_segment_destroy(b.seg);
	return rc;
}
