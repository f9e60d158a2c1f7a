/*
 * config_sections.h — every config section ringflow knows, as the list the
 * supervisor hands to conf_load() and conf_print_keys(); and the
 * descriptors of the sections the supervisor declares itself
 * (supervisor_config.c, analyzer_config.c). The stages' descriptors come
 * from their entry headers. Supervisor and `ringflow -t` / `--keys` only.
 */
#ifndef SUP_CONFIG_SECTIONS_H
#define SUP_CONFIG_SECTIONS_H

#include "common/config.h"

/* NULL-terminated, in the order sections load, check and print. */
extern const struct conf_section *const sup_config_sections[];

extern const struct conf_section sup_ringflow_section;  /* [ringflow] */
extern const struct conf_section sup_processes_section; /* [processes] */

#endif
