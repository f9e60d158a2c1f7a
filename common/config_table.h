/*
 * config_table.h — how a module declares its config section: a table of
 * keys (name, kind, default, description, where the value goes) and the
 * hooks the loader calls for what a table cannot say.
 *
 * Each module declares its sections beside its code (ingest/input_config.c,
 * aggregate/rule_config.c, ...) and exposes the descriptors in its entry
 * header; the supervisor lists them (supervisor/config_sections.c) and hands
 * the list to conf_load() (common/config_load.c), which validates a file
 * with them, and to conf_print_keys() (common/config_keys.c), which prints
 * them for `ringflow --keys`. So one table both checks and documents a key.
 *
 * Descriptors are static const data. Loading runs in the supervisor before
 * fork and in `ringflow -t`; nothing here blocks.
 *
 * How a file is loaded, in this order (messages depend on it):
 *   1. every section of the file must match a descriptor ("unknown section");
 *   2. plain sections, in list order: defaults, then the file's keys;
 *   3. named sections ([aggregate.NAME]), in file order: open, defaults,
 *      the file's keys, close (discard if any of it failed);
 *   4. the check of every descriptor in list order, then the late_check ones.
 * The first refusal stops the load. A key of the file is looked up in the
 * table; keys not in it go to other_key ("unknown key" without one). An
 * empty value is refused ("empty value") unless the key is CONF_K_STR or
 * empty_ok.
 */
#ifndef RF_CONFIG_TABLE_H
#define RF_CONFIG_TABLE_H

#include <stddef.h>

#include "common/config.h"

enum conf_kind {
	CONF_K_STR = 0,  /* char * at off, strdup'd (the old value freed); empty is kept */
	CONF_K_DURATION, /* int64_t ns at off: "500ms", "10s", "5m", "1h", "30d" */
	CONF_K_SIZE,     /* uint64_t bytes at off: "4096", "64K", "4M", "1G" */
	CONF_K_INT,      /* int at off, from 1 to 100000000 */
	CONF_K_BOOL,     /* int 0 or 1 at off: yes/no, true/false, on/off, 1/0 */
	CONF_K_CUSTOM,   /* the key's parse callback decides */
	CONF_K_COUNT
};

struct conf_key;

/* Where the values of the section being loaded go. */
struct conf_scope {
	struct rf_config *conf;
	void *base;      /* what key offsets count from: conf for a plain section,
			  * the instance (struct conf_rule, ...) for a named one */
	const char *sec; /* the section as the file names it, for messages:
			  * "input", "aggregate.total" */
};

/* Reads v (never NULL) for k into s. 0, or -1 with err "[sec] key: problem". */
typedef int conf_parse_fn(const struct conf_scope *s, const struct conf_key *k, const char *v,
			  char *err, size_t errlen);

struct conf_key {
	const char *key;
	enum conf_kind kind;
	const char *def;      /* parsed like a value before the file's; NULL: none (stays NULL or 0) */
	const char *desc;     /* one line for --keys */
	size_t off;           /* of the value in scope.base */
	conf_parse_fn *parse; /* CONF_K_CUSTOM only */
	int empty_ok;         /* CONF_K_CUSTOM: hand an empty value to parse instead of refusing it */
};

#define CONF_KEYS_END { NULL, 0, NULL, NULL, 0, NULL, 0 }

struct conf_section {
	/* "input" matches [input]. With named set, "aggregate" matches
	 * [aggregate.NAME] for any NAME (even empty: open judges it). */
	const char *name;
	int named;
	/* --keys header after "[name]  ; "; a '\n' starts a continuation line. */
	const char *desc;
	const struct conf_key *keys; /* ends with CONF_KEYS_END; NULL: no fixed keys */

	/* A key of the file that is not in keys: 0 taken, 1 not this
	 * section's (the loader says "unknown key"), -1 refused with err.
	 * NULL: every such key is unknown. */
	int (*other_key)(const struct conf_scope *s, const char *key, const char *v, char *err, size_t errlen);

	/* Named sections only, all three required. open starts the instance
	 * of [name.inst] (sec is the whole section name) and returns where its
	 * values go, or NULL with err. close runs once its keys are in:
	 * validates and counts it (0), or -1 with err. discard frees what a
	 * failed instance holds (a key or close refused it); it is not counted. */
	void *(*open)(struct rf_config *c, const char *sec, const char *inst, char *err, size_t errlen);
	int (*close)(const struct conf_scope *s, char *err, size_t errlen);
	void (*discard)(const struct conf_scope *s);

	/* After every section is loaded: checks that need the whole section or
	 * other sections, may complete values (resolve a name into an index)
	 * and add warnings (conf_warn). found: how many sections of the file
	 * this descriptor took (0 or 1 for a plain one). In list order, the
	 * ones with late_check after all the others. 0, or -1 with err. */
	int (*check)(struct rf_config *c, int found, char *err, size_t errlen);
	int late_check;

	/* Frees what parse, other_key and open allocated: everything but the
	 * CONF_K_STR values of a plain section, which conf_free() frees itself.
	 * Must accept a config where this section was never loaded. */
	void (*release)(struct rf_config *c);
};

#endif
