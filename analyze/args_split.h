/*
 * args_split.h — splits an [analyzer.NAME] `args` value into argv words,
 * without a shell. Runs in the supervisor (config load, `ringflow -t`) and
 * in the analyzer host before exec.
 *
 * Rules (docs/DESIGN.md, [analyzer.*] args):
 *   - words are separated by runs of spaces and tabs; blanks at both ends
 *     are ignored; an empty or all-blank value is 0 words;
 *   - outside double quotes every other byte is literal: a backslash, a
 *     single quote ('), $, *, ; ... are kept as written (no shell, so no
 *     expansion, and single quotes do not group);
 *   - "double quotes" group bytes (blanks included) into the word; they may
 *     join with text around them: --x="a b"c is the one word --x=a bc; ""
 *     alone is an empty word;
 *   - inside double quotes \" is a quote and \\ a backslash; a backslash
 *     before any other byte is kept literally with that byte;
 *   - refused: a quote never closed, and a backslash that is the last byte
 *     inside an open quote. Byte positions in messages count from 1.
 */
#ifndef AN_ARGS_SPLIT_H
#define AN_ARGS_SPLIT_H

#include <stddef.h>

/* On success *argv_out is a NULL-terminated array of *argc_out words (one
 * allocation: free it with an_free_args) and 0 is returned. On error -1,
 * err says why and at which byte, *argv_out is NULL. */
int an_split_args(const char *s, char ***argv_out, int *argc_out, char *err, size_t errlen);
/* Accepts NULL. */
void an_free_args(char **argv);

#endif
