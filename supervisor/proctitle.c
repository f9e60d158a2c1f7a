/* proctitle.c — see proctitle.h. */
#include "supervisor/proctitle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

static char *area;      /* original argv[0] .. end of the last contiguous string */
static size_t area_len;

void rf_proctitle_init(int argc, char **argv)
{
	if (argc < 1 || !argv[0])
		return;
	char *start = argv[0];
	char *end = argv[0] + strlen(argv[0]);
	for (int i = 1; i < argc; i++)
		if (argv[i] == end + 1)
			end = argv[i] + strlen(argv[i]);
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	char **env = calloc(nenv + 1, sizeof *env);
	if (!env)
		return;
	for (size_t i = 0; i < nenv; i++) {
		if (environ[i] == end + 1)
			end = environ[i] + strlen(environ[i]);
		env[i] = strdup(environ[i]);
	}
	environ = env;
	/* argv[] strings live in the area we are about to reuse. */
	for (int i = 0; i < argc; i++)
		argv[i] = strdup(argv[i]);
	area = start;
	area_len = (size_t)(end - start);
}

void rf_proctitle_set(const char *fmt, ...)
{
	char title[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(title, sizeof title, fmt, ap);
	va_end(ap);
	/* comm: at most 15 characters, keep the most telling part. */
	const char *comm = strncmp(title, "ringflow: ", 10) == 0 ? title + 10 : title;
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	if (!area || area_len < 2)
		return;
	size_t n = strlen(title);
	if (n >= area_len)
		n = area_len - 1;
	memcpy(area, title, n);
	memset(area + n, 0, area_len - n);
}
