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
 *   s = seq                (acquire)     publish (release store of ring index)
 *   sleepers++             (seq_cst)     full fence                      [F2]
 *   full fence                   [F1]    if (sleepers != 0) {
 *   re-check condition (all rings)           seq++          (release)
 *   if still false: futex_wait(seq, s)       futex_wake(seq, all)
 *   sleepers--                           }
 *
 * F1/F2 make this a Dekker pair: either the waiter's re-check sees the
 * publication, or the notifier sees sleepers != 0 and bumps seq, in which case
 * futex_wait(seq, s) returns at once because seq != s. So no wake-up is lost,
 * and a notifier pays no syscall while nobody sleeps.
 *
 * FUTEX_PRIVATE_FLAG is not used: the waiters are different processes.
 * A process that dies while counted in `sleepers` only costs the notifiers
 * spurious wake syscalls until the supervisor re-inits the doorbell on restart.
 */
#ifndef SHM_DOORBELL_H
#define SHM_DOORBELL_H

#include <stdatomic.h>
#include <stdint.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "doorbell needs lock-free 32-bit atomics");

/* One cache line: notifiers read `sleepers` on every publish, keep it away
 * from anything else that is written often. */
struct shm_doorbell {
	_Alignas(64) _Atomic uint32_t seq;  /* futex word: bumped by each wake */
	_Atomic uint32_t sleepers;          /* waiters between prepare and wait/cancel */
	uint32_t reserved[14];
};

_Static_assert(sizeof(struct shm_doorbell) == 64, "doorbell is one cache line");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "futex word must be a plain u32");

/* Before fork, or when nobody uses it (data-plane restart). */
void shm_doorbell_init(struct shm_doorbell *bell);

/* Waiter step 1: snapshot seq and count ourselves as a sleeper, then a full
 * fence. The caller must now re-check its condition and then call either
 * shm_doorbell_wait() or shm_doorbell_cancel() exactly once. */
uint32_t shm_doorbell_prepare(struct shm_doorbell *bell);
/* Waiter step 2: sleep until seq moves away from `seq`, a signal arrives or
 * timeout_ns passes (timeout_ns < 0: no timeout); then uncount ourselves.
 * Returns 0 when woken (or seq had already moved), -ETIMEDOUT, -EINTR. */
int shm_doorbell_wait(struct shm_doorbell *bell, uint32_t seq, int64_t timeout_ns);
/* Waiter step 2 when the re-check found work: uncount without sleeping. */
void shm_doorbell_cancel(struct shm_doorbell *bell);

/* Notifier, after its release store: full fence, then a wake syscall only if
 * somebody is (about to be) asleep. */
void shm_doorbell_ring(struct shm_doorbell *bell);

/* Number of wake syscalls this doorbell has caused (it is seq), for stats. */
uint32_t shm_doorbell_wakes(const struct shm_doorbell *bell);

#endif
