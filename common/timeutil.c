/* timeutil.c — see timeutil.h. */
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The test hook of timeutil.h: the step in ns, re-read once a second. */
static int64_t wall_step(void)
{
	static int init;
	static const char *path;
	static int64_t step, checked;
	if (!init) {
		init = 1;
		path = getenv("RINGFLOW_TEST_WALL_STEP_FILE");
	}
	if (!path)
		return 0;
	int64_t now = rf_mono_ns();
	if (now - checked >= RF_NS_PER_SEC) {
		checked = now;
		FILE *f = fopen(path, "r");
		long long secs = 0;
		if (f && fscanf(f, "%lld", &secs) == 1)
			step = secs * RF_NS_PER_SEC;
		if (f)
			fclose(f);
	}
	return step;
}

int64_t rf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * RF_NS_PER_SEC + ts.tv_nsec + wall_step();
}

int64_t rf_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * RF_NS_PER_SEC + ts.tv_nsec;
}

int rf_parse_duration(const char *s, int64_t *ns)
{
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	double mult;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1e9;
	else if (strcmp(end, "ms") == 0)
		mult = 1e6;
	else if (strcmp(end, "us") == 0)
		mult = 1e3;
	else if (strcmp(end, "ns") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60e9;
	else if (strcmp(end, "h") == 0)
		mult = 3600e9;
	else if (strcmp(end, "d") == 0)
		mult = 86400e9;
	else
		return -1;
	double r = v * mult;
	if (r > 9.2e18)
		return -1;
	*ns = (int64_t)llround(r);
	return 0;
}

int rf_parse_size(const char *s, uint64_t *bytes)
{
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case '\0': shift = 0; break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	if (shift && v > (~0ULL >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}
