/*
 * config_load.c — loads the INI file into struct rf_config by the section
 * descriptors it is given (config_table.h says how and in which order), and
 * frees it again. It knows no section: the tables and their checks live
 * beside the modules they configure; the supervisor lists them.
 *
 * The only user of iniparser. Runs in the supervisor before fork and in
 * `ringflow -t`. Errors read "[section] key: problem" and stop at the first
 * one; on error nothing stays allocated.
 */
#include "common/config.h"
#include "common/config_table.h"
#include "common/config_value.h"

#include <ctype.h>
#include <errno.h>
#include <iniparser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char last_ini_error[512];
static int ini_error_cb(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_ini_error, sizeof last_ini_error, fmt, ap);
	va_end(ap);
	size_t l = strlen(last_ini_error);
	while (l && (last_ini_error[l - 1] == '\n'))
		last_ini_error[--l] = '\0';
	return n;
}

/*
 * iniparser 4.1 takes a line as a section only when its last character is
 * ']', so "[aggregate.by_country]   ; comment" (as DESIGN.md section 3 writes
 * it) is a syntax error. Hands iniparser a copy (a memfd, same line
 * numbers) with comments after section names cut. Returns the fd, or -1.
 */
static int copy_without_section_comments(const char *path, char *err, size_t errlen)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return conf_fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
	int fd = memfd_create("ringflow-conf", MFD_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fclose(in);
		return conf_fail(err, errlen, "%s: memfd_create: %s", path, strerror(e));
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int cont = 0, rc = 0;
	while ((len = getline(&line, &cap, in)) >= 0) {
		size_t n = (size_t)len;
		while (n && isspace((unsigned char)line[n - 1]))
			n--;
		int next_cont = n && line[n - 1] == '\\';
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		char *rb = !cont && *p == '[' ? strchr(p, ']') : NULL;
		if (rb) {
			char *q = rb + 1;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == ';' || *q == '#') {
				rb[1] = '\n';
				rb[2] = '\0';
				len = rb + 2 - line;
			}
		}
		cont = next_cont;
		if (write(fd, line, (size_t)len) != len) {
			rc = conf_fail(err, errlen, "%s: copying for the parser: %s", path, strerror(errno));
			break;
		}
	}
	free(line);
	fclose(in);
	if (rc) {
		close(fd);
		return -1;
	}
	return fd;
}

/* iniparser keys come as "section:key"; returns the part after the colon. */
static const char *bare_key(const char *full)
{
	const char *c = strchr(full, ':');
	return c ? c + 1 : full;
}

/* The keys of a section as "section:key" strings, in file order; *n gets
 * their count. Caller frees the array (not the strings). */
static const char **section_keys(dictionary *d, const char *sec, int *n)
{
	*n = iniparser_getsecnkeys(d, sec);
	if (*n < 0)
		*n = 0;
	const char **keys = calloc(*n > 0 ? (size_t)*n : 1, sizeof *keys);
	if (!keys)
		abort();
	if (*n > 0)
		iniparser_getseckeys(d, sec, keys);
	return keys;
}

/* [name] for a plain descriptor, [name.ANYTHING] for a named one. */
static int section_matches(const struct conf_section *sd, const char *sec)
{
	size_t n = strlen(sd->name);
	if (!sd->named)
		return !strcmp(sec, sd->name);
	return !strncmp(sec, sd->name, n) && sec[n] == '.';
}

static const struct conf_key *find_key(const struct conf_key *keys, const char *key)
{
	for (const struct conf_key *k = keys; k && k->key; k++)
		if (!strcmp(k->key, key))
			return k;
	return NULL;
}

static int apply_defaults(const struct conf_scope *s, const struct conf_section *sd, char *err, size_t errlen)
{
	for (const struct conf_key *k = sd->keys; k && k->key; k++)
		if (k->def && conf_set_key(s, k, k->def, err, errlen))
			return -1;
	return 0;
}

/* The file's keys of section s->sec, in file order. */
static int load_keys(dictionary *d, const struct conf_scope *s, const struct conf_section *sd, char *err,
		     size_t errlen)
{
	int n;
	const char **keys = section_keys(d, s->sec, &n);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *key = bare_key(keys[i]);
		const char *v = iniparser_getstring(d, keys[i], "");
		const struct conf_key *k = find_key(sd->keys, key);
		if (!k) {
			rc = sd->other_key ? sd->other_key(s, key, v, err, errlen) : 1;
			if (rc > 0)
				rc = conf_fail(err, errlen, "[%s] %s: unknown key", s->sec, key);
			continue;
		}
		if (!*v && k->kind != CONF_K_STR && !k->empty_ok) {
			rc = conf_fail(err, errlen, "[%s] %s: empty value", s->sec, key);
			break;
		}
		rc = conf_set_key(s, k, v, err, errlen);
	}
	free(keys);
	return rc;
}

static int load_plain(dictionary *d, struct rf_config *c, const struct conf_section *sd, char *err, size_t errlen)
{
	/* Defaults first, then the file's values. */
	struct conf_scope s = { .conf = c, .base = c, .sec = sd->name };
	if (apply_defaults(&s, sd, err, errlen))
		return -1;
	return load_keys(d, &s, sd, err, errlen);
}

/* One [name.inst] section: an instance of a named descriptor. */
static int load_named(dictionary *d, struct rf_config *c, const struct conf_section *sd, const char *sec,
		      char *err, size_t errlen)
{
	void *inst = sd->open(c, sec, sec + strlen(sd->name) + 1, err, errlen);
	if (!inst)
		return -1;
	struct conf_scope s = { .conf = c, .base = inst, .sec = sec };
	int rc = apply_defaults(&s, sd, err, errlen);
	if (rc == 0)
		rc = load_keys(d, &s, sd, err, errlen);
	if (rc == 0)
		rc = sd->close(&s, err, errlen);
	if (rc)
		sd->discard(&s);
	return rc;
}

/* How many sections of the file sd took. */
static int count_found(dictionary *d, const struct conf_section *sd)
{
	if (!sd->named)
		return iniparser_find_entry(d, sd->name) ? 1 : 0;
	int found = 0, nsec = iniparser_getnsec(d);
	for (int i = 0; i < nsec; i++)
		found += section_matches(sd, iniparser_getsecname(d, i));
	return found;
}

static int run_checks(dictionary *d, struct rf_config *c, const struct conf_section *const *sections, char *err,
		      size_t errlen)
{
	for (int late = 0; late <= 1; late++)
		for (const struct conf_section *const *sd = sections; *sd; sd++) {
			if (!(*sd)->check || ((*sd)->late_check != 0) != late)
				continue;
			if ((*sd)->check(c, count_found(d, *sd), err, errlen))
				return -1;
		}
	return 0;
}

static int load_sections(dictionary *d, struct rf_config *c, const struct conf_section *const *sections, char *err,
			 size_t errlen)
{
	/* Unknown sections first, so a typo'd section name is named as such. */
	int nsec = iniparser_getnsec(d);
	for (int i = 0; i < nsec; i++) {
		const char *s = iniparser_getsecname(d, i);
		int known = 0;
		for (const struct conf_section *const *sd = sections; *sd && !known; sd++)
			known = section_matches(*sd, s);
		if (!known)
			return conf_fail(err, errlen, "[%s]: unknown section", s);
	}
	for (const struct conf_section *const *sd = sections; *sd; sd++)
		if (!(*sd)->named && load_plain(d, c, *sd, err, errlen))
			return -1;
	for (int i = 0; i < nsec; i++) {
		const char *s = iniparser_getsecname(d, i);
		for (const struct conf_section *const *sd = sections; *sd; sd++)
			if ((*sd)->named && section_matches(*sd, s)) {
				if (load_named(d, c, *sd, s, err, errlen))
					return -1;
				break;
			}
	}
	return run_checks(d, c, sections, err, errlen);
}

int conf_load(const char *path, const struct conf_section *const *sections, struct rf_config *c, char *err,
	      size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->path = conf_strdup(path);
	c->sections = sections;
	dictionary *d = NULL;
	int rc = -1;

	if (access(path, R_OK)) {
		conf_fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	int fd = copy_without_section_comments(path, err, errlen);
	if (fd < 0)
		goto out;
	char fdpath[64];
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	last_ini_error[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	d = iniparser_load(fdpath);
	iniparser_set_error_callback(NULL);
	close(fd);
	if (!d) {
		conf_fail(err, errlen, "%s: %s", path, last_ini_error[0] ? last_ini_error : "cannot parse");
		goto out;
	}
	if (last_ini_error[0]) {
		conf_fail(err, errlen, "%s: %s", path, last_ini_error);
		goto out;
	}
	rc = load_sections(d, c, sections, err, errlen);
out:
	if (d)
		iniparser_freedict(d);
	if (rc)
		conf_free(c);
	return rc;
}

void conf_free(struct rf_config *c)
{
	if (!c)
		return;
	for (const struct conf_section *const *sd = c->sections; sd && *sd; sd++) {
		if (!(*sd)->named)
			for (const struct conf_key *k = (*sd)->keys; k && k->key; k++)
				if (k->kind == CONF_K_STR) {
					char **p = (char **)((char *)c + k->off);
					free(*p);
					*p = NULL;
				}
		if ((*sd)->release)
			(*sd)->release(c);
	}
	free(c->path);
	memset(c, 0, sizeof *c);
}
