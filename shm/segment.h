/*
 * segment.h — the one shared-memory segment that links all ringflow processes.
 *
 * The supervisor maps it (anonymous, MAP_SHARED) before forking, lays out the
 * rings, doorbells and stats slots with a bump allocator, and every child
 * inherits the mapping at the same address. Nothing in the segment is a
 * pointer: the header at offset 0 holds a table of named entries (offsets from
 * the base) so any process can find the layout from the header alone, and the
 * header carries magic, version and size so a child checks it on attach.
 *
 * Ownership: the supervisor creates and destroys the segment; children only
 * use it. The allocator is single-threaded and meant for the supervisor before
 * fork: a child calling it would carve memory the others never learn about.
 * Nothing here blocks.
 */
#ifndef SHM_SEGMENT_H
#define SHM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define SHM_SEGMENT_MAGIC   0x4745534f4c464652ULL /* "RFLOWSEG" little-endian */
#define SHM_SEGMENT_VERSION 1u
/* Named slots in the header table. The index meaning belongs to the caller
 * (the supervisor's layout); 0 in a slot means "unset". */
#define SHM_SEGMENT_ENTRIES 64

/* Lives at offset 0 of the mapping. Fixed-width fields only: every process
 * is the same binary, but the layout is still documented, not implied. */
struct shm_segment_header {
	uint64_t magic;
	uint32_t version;
	uint32_t entry_count;       /* SHM_SEGMENT_ENTRIES at creation */
	uint64_t size;              /* bytes mapped */
	uint64_t header_size;       /* first allocatable offset */
	uint64_t brk;               /* next free offset of the bump allocator */
	uint64_t entries[SHM_SEGMENT_ENTRIES];
};

/* Per-process handle (plain memory, inherited by fork like the mapping). */
struct shm_segment {
	unsigned char *base;
	size_t size;
};

/* Maps `size` bytes (rounded up to the page size) of zeroed shared memory and
 * writes the header. Returns NULL with a reason in err. The caller frees with
 * shm_segment_destroy(). */
struct shm_segment *shm_segment_create(size_t size, char *err, size_t errlen);
/* Unmaps and frees; accepts NULL. Children that exit need not call it. */
void shm_segment_destroy(struct shm_segment *seg);

/* Bump allocation before fork. `align` must be a power of two (1..4096).
 * Returns the offset of zeroed memory, or 0 when it does not fit or the
 * arguments are bad (0 is never a valid allocation: the header is there). */
uint64_t shm_segment_alloc(struct shm_segment *seg, size_t size, size_t align);

/* Address of an offset in this process. Returns NULL for 0 or an offset
 * outside the mapping, so a bad table entry never becomes a wild pointer. */
void *shm_at(const struct shm_segment *seg, uint64_t off);
/* True (1) when [off, off+len) lies inside the allocatable part. */
int shm_segment_contains(const struct shm_segment *seg, uint64_t off, uint64_t len);

/* Checks magic, version, size and that brk and every entry lie inside the
 * mapping. Returns 0 or -1 with the reason in err. */
int shm_segment_check(const struct shm_segment *seg, char *err, size_t errlen);

/* Named entries: index < SHM_SEGMENT_ENTRIES, offset inside the segment (or 0
 * to clear). Returns 0 or -1 with the reason in err. */
int shm_segment_set_entry(struct shm_segment *seg, unsigned index, uint64_t off,
			  char *err, size_t errlen);
/* Returns the offset in the slot, 0 when unset or index is out of range. */
uint64_t shm_segment_get_entry(const struct shm_segment *seg, unsigned index);

/* Bytes handed out so far (header included) and total size, for status. */
size_t shm_segment_used(const struct shm_segment *seg);
size_t shm_segment_size(const struct shm_segment *seg);

#endif
