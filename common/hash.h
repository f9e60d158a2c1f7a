/*
 * hash.h — one fast 64-bit hash for keys, routing and sketches.
 * Routing (which aggregate owns a key) and the window store must agree, so
 * everything uses this one function. Not cryptographic.
 */
#ifndef RF_HASH_H
#define RF_HASH_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

static inline uint64_t rf_mix64(uint64_t x)
{
	/* splitmix64 finaliser: full avalanche, cheap. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline uint64_t rf_hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = rf_mix64(h ^ w) ;
		p += 8;
		len -= 8;
	}
	uint64_t t = 0;
	for (size_t i = 0; i < len; i++)
		t |= (uint64_t)p[i] << (8 * i);
	return rf_mix64(h ^ t ^ 0x2545f4914f6cdd1dULL);
}

#endif
