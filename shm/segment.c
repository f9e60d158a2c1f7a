/*
 * segment.c — create, lay out and check the shared-memory segment.
 *
 * Run by the supervisor (create, alloc, set_entry, destroy) and by every child
 * (shm_at, get_entry, check). See segment.h for the ownership rules.
 */
#include "shm/segment.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct shm_segment_header *hdr(const struct shm_segment *seg)
{
	return (struct shm_segment_header *)(void *)seg->base;
}

static uint64_t round_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

struct shm_segment *shm_segment_create(size_t size, char *err, size_t errlen)
{
	struct shm_segment *seg = NULL;
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	/* The header sits on its own cache lines so the first allocation never
	 * shares a line with it. */
	uint64_t header_size = round_up(sizeof(struct shm_segment_header), 64);

	if (size <= header_size || size > ((size_t)1 << 46)) {
		snprintf(err, errlen, "shared segment size %zu out of range (%llu..2^46 bytes)",
			 size, (unsigned long long)header_size + 1);
		return NULL;
	}
	size = round_up(size, (uint64_t)page);

	seg = calloc(1, sizeof(*seg));
	if (seg == NULL) {
		snprintf(err, errlen, "calloc(shm_segment): %s", strerror(errno));
		return NULL;
	}
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap(%zu bytes, MAP_SHARED|MAP_ANONYMOUS): %s",
			 size, strerror(errno));
		free(seg);
		return NULL;
	}
	seg->base = base;
	seg->size = size;

	/* Anonymous memory is zero-filled, so only the non-zero fields are set. */
	struct shm_segment_header *h = hdr(seg);
	h->magic = SHM_SEGMENT_MAGIC;
	h->version = SHM_SEGMENT_VERSION;
	h->entry_count = SHM_SEGMENT_ENTRIES;
	h->size = size;
	h->header_size = header_size;
	h->brk = header_size;
	return seg;
}

void shm_segment_destroy(struct shm_segment *seg)
{
	if (seg == NULL)
		return;
	if (seg->base != NULL)
		munmap(seg->base, seg->size);
	free(seg);
}

uint64_t shm_segment_alloc(struct shm_segment *seg, size_t size, size_t align)
{
	if (seg == NULL || size == 0 || align == 0 || align > 4096 || (align & (align - 1)) != 0)
		return 0;
	struct shm_segment_header *h = hdr(seg);
	uint64_t off = round_up(h->brk, align);
	/* Compare without forming off + size first: size may be huge. */
	if (off > seg->size || size > seg->size - off)
		return 0;
	h->brk = off + size;
	return off;
}

void *shm_at(const struct shm_segment *seg, uint64_t off)
{
	if (seg == NULL || off == 0 || off >= seg->size)
		return NULL;
	return seg->base + off;
}

int shm_segment_contains(const struct shm_segment *seg, uint64_t off, uint64_t len)
{
	if (seg == NULL)
		return 0;
	const struct shm_segment_header *h = hdr(seg);
	uint64_t end = h->brk <= seg->size ? h->brk : seg->size;
	return off >= h->header_size && off <= end && len <= end - off;
}

int shm_segment_check(const struct shm_segment *seg, char *err, size_t errlen)
{
	if (seg == NULL || seg->base == NULL) {
		snprintf(err, errlen, "no shared segment");
		return -1;
	}
	const struct shm_segment_header *h = hdr(seg);
	if (h->magic != SHM_SEGMENT_MAGIC) {
		snprintf(err, errlen, "shared segment: bad magic 0x%016llx (want 0x%016llx)",
			 (unsigned long long)h->magic, (unsigned long long)SHM_SEGMENT_MAGIC);
		return -1;
	}
	if (h->version != SHM_SEGMENT_VERSION) {
		snprintf(err, errlen, "shared segment: version %u, this binary speaks %u",
			 h->version, SHM_SEGMENT_VERSION);
		return -1;
	}
	if (h->size != seg->size) {
		snprintf(err, errlen, "shared segment: header says %llu bytes, mapping has %zu",
			 (unsigned long long)h->size, seg->size);
		return -1;
	}
	if (h->entry_count != SHM_SEGMENT_ENTRIES || h->header_size < sizeof(*h) ||
	    h->brk < h->header_size || h->brk > h->size) {
		snprintf(err, errlen, "shared segment: corrupt header (entries %u, header %llu, brk %llu, size %llu)",
			 h->entry_count, (unsigned long long)h->header_size,
			 (unsigned long long)h->brk, (unsigned long long)h->size);
		return -1;
	}
	for (unsigned i = 0; i < SHM_SEGMENT_ENTRIES; i++) {
		uint64_t e = h->entries[i];
		if (e != 0 && (e < h->header_size || e >= h->brk)) {
			snprintf(err, errlen, "shared segment: entry %u = %llu outside [%llu, %llu)",
				 i, (unsigned long long)e, (unsigned long long)h->header_size,
				 (unsigned long long)h->brk);
			return -1;
		}
	}
	return 0;
}

int shm_segment_set_entry(struct shm_segment *seg, unsigned index, uint64_t off,
			  char *err, size_t errlen)
{
	if (seg == NULL) {
		snprintf(err, errlen, "no shared segment");
		return -1;
	}
	if (index >= SHM_SEGMENT_ENTRIES) {
		snprintf(err, errlen, "shared segment: entry index %u >= %u", index, SHM_SEGMENT_ENTRIES);
		return -1;
	}
	struct shm_segment_header *h = hdr(seg);
	if (off != 0 && (off < h->header_size || off >= h->brk)) {
		snprintf(err, errlen, "shared segment: entry %u offset %llu is not allocated memory",
			 index, (unsigned long long)off);
		return -1;
	}
	h->entries[index] = off;
	return 0;
}

uint64_t shm_segment_get_entry(const struct shm_segment *seg, unsigned index)
{
	if (seg == NULL || index >= SHM_SEGMENT_ENTRIES)
		return 0;
	return hdr(seg)->entries[index];
}

size_t shm_segment_used(const struct shm_segment *seg)
{
	return seg == NULL ? 0 : (size_t)hdr(seg)->brk;
}

size_t shm_segment_size(const struct shm_segment *seg)
{
	return seg == NULL ? 0 : seg->size;
}
