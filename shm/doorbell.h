/*
 * doorbell.h — cross-process sleep/wake on futex(2), one per waiting process.
 *
 * A doorbell lives in the shared segment. A process that reads several rings
 * sleeps on ONE doorbell shared by all of them ("data arrived"); a producer
 * sleeps on one doorbell for "space freed" on any of its output rings.
 *
 * Protocol (the same shape as liburing's SQ_NEED_WAKEUP flag + full fence):
 *
 *   waiter                               notifier
 *   s = seq                (acquire)     publish: exchange(ring index)   [P]
 *   armed = 1              (seq_cst)              (seq_cst)
 *   full fence                   [F1]    if (armed != 0 (seq_cst load) &&
 *   re-check condition (all rings)           exchange(armed, 0) == 1) {
 *   if still false: futex_wait(seq, s)       seq++          (release)
 *                                            futex_wake(seq, all)
 *                                        }
 *
 * F1 and P make this a Dekker pair: either the waiter's re-check sees the
 * publication, or the notifier sees armed != 0. In C11 terms (7.17.3, the
 * rules for seq_cst fences), with S the single total order of seq_cst
 * operations and fences:
 *   - if F1 precedes the notifier's seq_cst load of armed in S, that load
 *     sees the waiter's armed = 1 or a later write ("A sequenced before a
 *     seq_cst fence X, B follows X in S: B sees A or later"); a later write
 *     is another waiter's arming or a notifier's exchange that read 1 and
 *     made the wake itself;
 *   - otherwise the load, and P sequenced before it, precede F1 in S, so the
 *     re-check load after F1 sees P or a later index ("B after a seq_cst
 *     fence X sees the last seq_cst modification before X in S, or later").
 * Either way no wake-up is lost. The notifier that clears `armed` bumps seq
 * before waking, so futex_wait(seq, s) either returns at once (seq != s) or
 * is woken; also with several waiters (each arms after its own snapshot;
 * whoever clears the flag wakes them all).
 *
 * Why P is a seq_cst exchange and not "release store, then full fence" as
 * before: it is the same StoreLoad barrier on the notifier side, but on
 * x86-64 one locked `xchg` (about 4 ns here) instead of `mov` + `mfence`
 * (about 8 ns), paid on every commit and every release. A publication that
 * is not a seq_cst read-modify-write uses shm_doorbell_ring(), which still
 * issues a seq_cst fence [F2] between it and the load of armed (the
 * fence-to-fence form of the same rules). The waiter's side is unchanged: it
 * only pays when it is about to sleep. The litmus test in
 * tests/unit/test_ring.c checks the pair round by round, and it catches
 * the loss of either barrier.
 *
 * Why a flag cleared by exchange and not a count of sleepers: a woken process
 * needs microseconds to run again, and with a count every publish in that
 * window (one per record when committing record by record) would make its own
 * wake syscall. With the flag, one sleep costs at most one wake syscall, and a
 * publish while nobody sleeps costs no syscall at all.
 *
 * cancel() and a timed-out wait() leave the flag set: clearing it could undo
 * another waiter's arming. The price is at most one spurious wake syscall.
 *
 * FUTEX_PRIVATE_FLAG is not used: the waiters are different processes.
 */
#ifndef SHM_DOORBELL_H
#define SHM_DOORBELL_H

#include <stdatomic.h>
#include <stdint.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "doorbell needs lock-free 32-bit atomics");

/* One cache line: notifiers read `armed` on every publish, keep it away
 * from anything else that is written often. */
struct shm_doorbell {
	_Alignas(64) _Atomic uint32_t seq;  /* futex word: bumped by each wake */
	_Atomic uint32_t armed;             /* 1: a waiter may be asleep, wake it */
	uint32_t reserved[14];
};

_Static_assert(sizeof(struct shm_doorbell) == 64, "doorbell is one cache line");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "futex word must be a plain u32");

/* Before fork, or when nobody uses it (data-plane restart). */
void shm_doorbell_init(struct shm_doorbell *bell);

/* Waiter step 1: snapshot seq and arm the doorbell, then a full fence. The caller must now re-check its condition and then call either
 * shm_doorbell_wait() or shm_doorbell_cancel() exactly once. */
uint32_t shm_doorbell_prepare(struct shm_doorbell *bell);
/* Waiter step 2: sleep until seq moves away from `seq`, a signal arrives or
 * timeout_ns passes (timeout_ns < 0: no timeout). Returns 0 when woken (or seq had already moved), -ETIMEDOUT, -EINTR. */
int shm_doorbell_wait(struct shm_doorbell *bell, uint32_t seq, int64_t timeout_ns);
/* Waiter step 2 when the re-check found work: do not sleep. */
void shm_doorbell_cancel(struct shm_doorbell *bell);

/* Notifier, after a release store of its ring index: full fence [F2], then a
 * wake syscall only if somebody is (about to be) asleep. */
void shm_doorbell_ring(struct shm_doorbell *bell);

/* Out of line part of a wake: clear armed, bump seq, futex_wake. */
void shm_doorbell_wake_armed(struct shm_doorbell *bell);

/* Notifier whose publication was a seq_cst read-modify-write of its ring
 * index (the [P] above; shm_ring_commit / shm_ring_release): that was the
 * full barrier, so only the seq_cst load of armed is left, and a wake syscall
 * if somebody is (about to be) asleep. The load keeps the common case
 * (nobody asleep) read-only, so the line stays shared between the sides. */
static inline void shm_doorbell_ring_sc(struct shm_doorbell *bell)
{
	/* Partner: the waiter's seq_cst store of armed before F1. */
	if (__builtin_expect(atomic_load_explicit(&bell->armed, memory_order_seq_cst) != 0, 0))
		shm_doorbell_wake_armed(bell);
}

/* Number of wake syscalls this doorbell has caused (it is seq), for stats. */
uint32_t shm_doorbell_wakes(const struct shm_doorbell *bell);

#endif
