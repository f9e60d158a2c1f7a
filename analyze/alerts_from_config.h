/*
 * alerts_from_config.h — builds the alert sinks (alert_sinks.h) from the
 * [alerts] section.
 */
#ifndef AN_ALERTS_FROM_CONFIG_H
#define AN_ALERTS_FROM_CONFIG_H

#include <stddef.h>

#include "analyze/alert_sinks.h"
#include "common/config.h"

/* NULL with "[alerts] ..." in err. */
struct an_sinks *an_sinks_from_config(const struct conf_alerts *ca, char *err, size_t errlen);
/* What an_sinks_from_config would refuse, touching no network: 0, or -1
 * with "[alerts] ..." in err. */
int an_sinks_check_config(const struct conf_alerts *ca, char *err, size_t errlen);

#endif
