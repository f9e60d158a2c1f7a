/*
 * exec_resolve.c — the executable an [analyzer.NAME] `exec` names (rules
 * in exec_resolve.h). Runs in the supervisor at config load and in the
 * analyzer host; only stat(2), access(2) and readlink(2), nothing blocks.
 */
#include "analyze/exec_resolve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const an_builtin_names[] = { "threshold", "deviation", "average", "zscore", "forecast", NULL };

/* 0 if p is a regular file we may execute; else -1 with why in err. */
static int check_executable(const char *p, char *err, size_t errlen)
{
	struct stat st;
	if (stat(p, &st) != 0) {
		snprintf(err, errlen, "'%s': %s", p, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", p);
		return -1;
	}
	if (access(p, X_OK) != 0) {
		snprintf(err, errlen, "'%s' is not executable: %s", p, strerror(errno));
		return -1;
	}
	return 0;
}

static int valid_builtin_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int is_known_builtin(const char *s)
{
	for (const char *const *b = an_builtin_names; *b; b++)
		if (!strcmp(*b, s))
			return 1;
	return 0;
}

int an_resolve_exec(const char *exec, const char *self_dir, const char *conf_dir, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	if (!exec || !*exec) {
		snprintf(err, errlen, "empty (a built-in name or a path)");
		return -1;
	}
	if (strchr(exec, '/')) {
		int n;
		if (exec[0] == '/')
			n = snprintf(out, outlen, "%s", exec);
		else
			n = snprintf(out, outlen, "%s/%s", conf_dir && *conf_dir ? conf_dir : ".", exec);
		if (n < 0 || (size_t)n >= outlen) {
			snprintf(err, errlen, "the path '%s' is too long", exec);
			return -1;
		}
		return check_executable(out, err, errlen);
	}
	if (!valid_builtin_name(exec)) {
		snprintf(err, errlen, "'%s' is neither a built-in name ([a-z0-9_-]) nor a path (a path contains '/')",
			 exec);
		return -1;
	}
	if (!self_dir || !*self_dir) {
		snprintf(err, errlen, "built-in '%s': the directory of the ringflow binary is unknown", exec);
		return -1;
	}
	char tried[2][4096];
	char why[2][4400];
	snprintf(tried[0], sizeof tried[0], "%s/ringflow-%s", self_dir, exec);
	snprintf(tried[1], sizeof tried[1], "%s/../libexec/ringflow/ringflow-%s", self_dir, exec);
	for (int i = 0; i < 2; i++) {
		if (check_executable(tried[i], why[i], sizeof why[i]) == 0) {
			if (strlen(tried[i]) >= outlen) {
				snprintf(err, errlen, "the path '%s' is too long", tried[i]);
				return -1;
			}
			memcpy(out, tried[i], strlen(tried[i]) + 1);
			return 0;
		}
	}
	if (is_known_builtin(exec)) {
		snprintf(err, errlen, "built-in analyzer '%s' is not installed: looked for %s; %s", exec, why[0], why[1]);
		return -1;
	}
	/* The list in the message comes from an_builtin_names, so it cannot drift. */
	char names[128] = "";
	size_t len = 0;
	for (const char *const *b = an_builtin_names; *b && len < sizeof names; b++)
		len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", b == an_builtin_names ? "" : ", ", *b);
	snprintf(err, errlen, "'%s' is not a built-in analyzer (%s) and no ringflow-%s was found: looked for %s; %s",
		 exec, names, exec, why[0], why[1]);
	return -1;
}

int an_self_dir(char *out, size_t outlen)
{
	if (outlen < 2)
		return -1;
	ssize_t n = readlink("/proc/self/exe", out, outlen - 1);
	if (n <= 0 || (size_t)n >= outlen - 1)
		return -1;
	out[n] = '\0';
	char *slash = strrchr(out, '/');
	if (!slash)
		return -1;
	if (slash == out)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}
