/*
 * config_keys.c — `ringflow --keys`: prints the section descriptors'
 * tables (config_table.h), so the list an operator reads is the one the
 * loader checks against. Defaults and descriptions only: no file is read,
 * so no secret can appear. Runs in the `ringflow --keys` process.
 */
#include "common/config.h"
#include "common/config_table.h"

#include <stdio.h>
#include <string.h>

/* "[name]  ; " then desc; each '\n' in desc starts a line indented to the
 * first ';'. */
static void print_header(FILE *out, const struct conf_section *sd)
{
	char head[CONF_NAME_MAX + 16];
	snprintf(head, sizeof head, "[%s%s]", sd->name, sd->named ? ".NAME" : "");
	fprintf(out, "%s  ; ", head);
	for (const char *p = sd->desc; *p; p++) {
		if (*p == '\n')
			fprintf(out, "\n%*s; ", (int)strlen(head) + 2, "");
		else
			fputc(*p, out);
	}
	fputc('\n', out);
}

void conf_print_keys(FILE *out, const struct conf_section *const *sections)
{
	for (const struct conf_section *const *sd = sections; *sd; sd++) {
		if (sd != sections)
			fputc('\n', out);
		print_header(out, *sd);
		for (const struct conf_key *k = (*sd)->keys; k && k->key; k++)
			fprintf(out, "%-20s = %-22s ; %s\n", k->key, k->def ? k->def : "", k->desc);
	}
}
