/*
 * hll.c — HyperLogLog registers and Ertl's improved estimator (see hll.h).
 * Aggregate processes; pure computation, no allocation.
 */
#include "aggregate/hll.h"

#include <math.h>

void agg_hll_add(uint8_t *regs, uint64_t h)
{
	/* Top P bits pick the register; the remaining Q bits give the rank
	 * (position of the first 1 bit, counting from 1; Q + 1 when all are 0). */
	uint32_t idx = (uint32_t)(h >> AGG_HLL_Q);
	uint64_t rest = h << AGG_HLL_P;
	uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(AGG_HLL_Q + 1);
	if (rank > regs[idx])
		regs[idx] = rank;
}

void agg_hll_merge(uint8_t *a, const uint8_t *b)
{
	for (uint32_t i = 0; i < AGG_HLL_M; i++)
		if (b[i] > a[i])
			a[i] = b[i];
}

int agg_hll_valid(const uint8_t *regs)
{
	for (uint32_t i = 0; i < AGG_HLL_M; i++)
		if (regs[i] > AGG_HLL_Q + 1)
			return 0;
	return 1;
}

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1); diverges at x = 1 (all
 * registers zero, handled by the caller). */
static double hll_sigma(double x)
{
	double y = 1.0, z = x, zp;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

/* tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3 */
static double hll_tau(double x)
{
	if (x == 0.0 || x == 1.0)
		return 0.0;
	double y = 1.0, z = 1.0 - x, zp;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != zp);
	return z / 3.0;
}

double agg_hll_estimate(const uint8_t *regs)
{
	uint32_t hist[AGG_HLL_Q + 2] = { 0 };
	for (uint32_t i = 0; i < AGG_HLL_M; i++)
		hist[regs[i] <= AGG_HLL_Q + 1 ? regs[i] : AGG_HLL_Q + 1]++;
	const double m = AGG_HLL_M;
	if (hist[0] == AGG_HLL_M)
		return 0.0;
	double z = m * hll_tau(1.0 - hist[AGG_HLL_Q + 1] / m);
	for (int k = AGG_HLL_Q; k >= 1; k--)
		z = 0.5 * (z + hist[k]);
	z += m * hll_sigma(hist[0] / m);
	const double alpha_inf = 0.5 / log(2.0);
	return alpha_inf * m * m / z;
}
