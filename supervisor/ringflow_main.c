/*
 * ringflow_main.c — the `ringflow` command: runs in the foreground
 * (systemd-friendly, logs to stderr), or checks a config with -t.
 *
 *   ringflow -c FILE        run
 *   ringflow -c FILE --reset-state   run, discarding the checkpoint store
 *   ringflow -t -c FILE     check the config and exit (0 ok, 78 bad)
 *   ringflow -V             versions of ringflow and its libraries
 *   ringflow --keys         every config key with its default
 */
#include "common/config.h"
#include "common/log.h"
#include "supervisor/config_sections.h"
#include "supervisor/pipeline.h"
#include "supervisor/proctitle.h"
#include "supervisor/supervisor.h"
#include "transform/transform.h"

#include <curl/curl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <lmdb.h>
#include <maxminddb.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define RINGFLOW_VERSION "0.1.0"

static void usage(FILE *f)
{
	fprintf(f, "usage: ringflow -c FILE        run in the foreground\n"
		   "       ringflow -c FILE --reset-state\n"
		   "                               run, discarding checkpoints (window state and offsets)\n"
		   "       ringflow -t -c FILE     check the configuration only\n"
		   "       ringflow -V             print versions\n"
		   "       ringflow --keys         list every configuration key\n");
}

static void versions(void)
{
	printf("ringflow %s\n", RINGFLOW_VERSION);
	printf("librdkafka %s\n", rd_kafka_version_str());
	printf("liblmdb %s\n", MDB_VERSION_STRING);
	printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("libmaxminddb %s\n", MMDB_lib_version());
	printf("zlib %s\n", zlibVersion());
	printf("iniparser 4 (Debian libiniparser)\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	int test_only = 0, reset_state = 0;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "keys", no_argument, NULL, 'K' },
		{ "reset-state", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf_path = optarg; break;
		case 't': test_only = 1; break;
		case 'R': reset_state = 1; break;
		case 'V': versions(); return 0;
		case 'K': conf_print_keys(stdout, sup_config_sections); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (!conf_path || optind != argc) {
		usage(stderr);
		return 64;
	}
	rf_log_set_role("supervisor");
	static struct rf_pipeline pl;
	char err[1024];
	if (rf_pipeline_load(conf_path, &pl, err, sizeof err)) {
		fprintf(stderr, "ringflow: %s: %s\n", conf_path, err);
		return CONF_EXIT_CONFIG;
	}
	if (test_only) {
		/* Everything that can be checked offline: also open the GeoIP
		 * databases the way a transform will, the directories, the output
		 * and the shared memory start would map. */
		struct xf_ctx *ctx = xf_ctx_create(pl.plan, err, sizeof err);
		int bad = !ctx || rf_pipeline_check_start(&pl, err, sizeof err);
		xf_ctx_destroy(ctx);
		if (bad) {
			fprintf(stderr, "ringflow: %s: %s\n", conf_path, err);
			rf_pipeline_free(&pl);
			return CONF_EXIT_CONFIG;
		}
		for (int i = 0; i < pl.conf.nwarnings; i++)
			fprintf(stderr, "ringflow: %s: warning: %s\n", conf_path, pl.conf.warnings[i]);
		printf("ringflow: configuration %s is ok (%d rules, %d output fields)\n", conf_path, pl.nrules,
		       xf_plan_nout(pl.plan));
		rf_pipeline_free(&pl);
		return 0;
	}
	rf_log_set_level((enum rf_log_level)pl.conf.ringflow.log_level);
	for (int i = 0; i < pl.conf.nwarnings; i++)
		rf_warn("%s: %s", conf_path, pl.conf.warnings[i]);
	rf_proctitle_init(argc, argv);
	int rc = sup_run(&pl, reset_state);
	rf_pipeline_free(&pl);
	return rc;
}
