/*
 * exec_resolve.h — where the executable of an [analyzer.NAME] `exec` value
 * is. Runs in the supervisor (config load, `ringflow -t`) and in the
 * analyzer host before exec.
 *
 * A value containing '/' is a path: a relative one counts from the
 * config file's directory (conf_dir), not the working directory; it must
 * exist, be a regular file and be executable by us (access X_OK).
 * Otherwise it is a built-in name, [a-z0-9_-]+, looked for as
 * <self_dir>/ringflow-<name>, then <self_dir>/../libexec/ringflow/ringflow-<name>
 * (self_dir: the directory of the running binary, an_self_dir()). The
 * built-ins are threshold, deviation, average, zscore and forecast; any
 * other name is still looked up (so a site may install its own
 * ringflow-<name>), and the error then says it is not one of them.
 */
#ifndef AN_EXEC_RESOLVE_H
#define AN_EXEC_RESOLVE_H

#include <stddef.h>

/* The built-in names, NULL-terminated. */
extern const char *const an_builtin_names[];

/* 0 with the path to exec in out, or -1 with err naming what was wrong or
 * every place searched. conf_dir NULL or "" means ".". */
int an_resolve_exec(const char *exec, const char *self_dir, const char *conf_dir, char *out, size_t outlen,
		    char *err, size_t errlen);
/* The directory of the running executable (/proc/self/exe). 0, or -1. */
int an_self_dir(char *out, size_t outlen);

#endif
