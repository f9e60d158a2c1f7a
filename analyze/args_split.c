/*
 * args_split.c — an [analyzer.NAME] `args` value split into argv words
 * (rules in args_split.h). Runs in the supervisor at config load and in the
 * analyzer host before exec; no shell is ever involved.
 *
 * Two passes over the same scanner: the first validates and counts words
 * and bytes, the second fills one allocation holding the pointer array and
 * the words after it, so a failure leaves nothing to free.
 */
#include "analyze/args_split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Scans s. With argv NULL only counts (*nwords, *nbytes: bytes of the words
 * without their NULs); else writes words into buf and pointers into argv. */
static int scan(const char *s, char **argv, char *buf, int *nwords, size_t *nbytes, char *err, size_t errlen)
{
	size_t i = 0, nb = 0;
	int nw = 0;
	for (;;) {
		while (is_blank(s[i]))
			i++;
		if (!s[i])
			break;
		if (argv)
			argv[nw] = buf;
		while (s[i] && !is_blank(s[i])) {
			if (s[i] != '"') {
				if (buf)
					*buf++ = s[i];
				nb++;
				i++;
				continue;
			}
			size_t open = i++;
			size_t last_esc_quote = 0;
			while (s[i] != '"') {
				if (!s[i]) {
					if (last_esc_quote)
						snprintf(err, errlen, "the double quote at byte %zu is never closed (the \\\" at "
							 "byte %zu is an escaped quote, not the end)", open + 1, last_esc_quote);
					else
						snprintf(err, errlen, "the double quote at byte %zu is never closed", open + 1);
					return -1;
				}
				char c = s[i];
				if (c == '\\') {
					if (!s[i + 1]) {
						snprintf(err, errlen, "the backslash at byte %zu ends the value inside the "
							 "double quote opened at byte %zu", i + 1, open + 1);
						return -1;
					}
					if (s[i + 1] == '"' || s[i + 1] == '\\') {
						if (s[i + 1] == '"')
							last_esc_quote = i + 1;
						c = s[++i];
					}
				}
				if (buf)
					*buf++ = c;
				nb++;
				i++;
			}
			i++; /* the closing quote */
		}
		if (buf)
			*buf++ = '\0';
		nw++;
	}
	*nwords = nw;
	*nbytes = nb;
	return 0;
}

int an_split_args(const char *s, char ***argv_out, int *argc_out, char *err, size_t errlen)
{
	*argv_out = NULL;
	*argc_out = 0;
	if (!s)
		s = "";
	int nw;
	size_t nb;
	if (scan(s, NULL, NULL, &nw, &nb, err, errlen))
		return -1;
	size_t ptrs = ((size_t)nw + 1) * sizeof(char *);
	char **argv = malloc(ptrs + nb + (size_t)nw + 1);
	if (!argv) {
		snprintf(err, errlen, "out of memory splitting %zu bytes of arguments", strlen(s));
		return -1;
	}
	char *buf = (char *)argv + ptrs;
	int nw2;
	size_t nb2;
	scan(s, argv, buf, &nw2, &nb2, err, errlen); /* cannot fail: the same input passed */
	argv[nw] = NULL;
	*argv_out = argv;
	*argc_out = nw;
	return 0;
}

void an_free_args(char **argv)
{
	free(argv);
}
