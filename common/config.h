/*
 * config.h — the whole configuration as loaded and validated at start.
 *
 * The supervisor loads it once (before forking, so every child inherits the
 * same copy) and every module reads its part from here. Every process uses
 * these structs, so they are all defined here; the keys that fill them are
 * declared by each module beside its code (config_table.h says how) and
 * only config_load.c talks to iniparser. Strings are owned by the struct
 * and freed by conf_free(). Durations are nanoseconds, sizes bytes.
 */
#ifndef RF_CONFIG_H
#define RF_CONFIG_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include "common/value.h"

#define CONF_NAME_MAX 64
#define CONF_MAX_FIELDS 128   /* CSV columns */
#define CONF_MAX_OUTPUTS 128  /* [transform] output fields */
#define CONF_MAX_RULES 64
#define CONF_MAX_KEYS 16      /* key fields per rule */
#define CONF_MAX_AGGS 64      /* aggregates per rule */
#define CONF_MAX_KV 64        /* kafka.* passthrough pairs */
#define CONF_MAX_ANALYZERS 32
#define CONF_EXIT_CONFIG 78   /* EX_CONFIG: fatal config error, never respawn */
#define CONF_MAX_PROCESSES 64 /* per role, also for `auto` (pipeline/proc.h RF_MAX_PER_ROLE) */
#define CONF_MAX_WARNINGS 8
#define CONF_WARNING_MAX 256

/*
 * Bounds of [aggregate.*] windows (checked when conf_load reads a rule,
 * aggregate/rule_config.c; listed by `ringflow --keys`).
 *
 * A record updates every window that contains it: window / every of them
 * (aggregate/winstore.c walks them one by one, a hash lookup and an update
 * of every aggregate each). Above 1000 the per-record cost dwarfs parsing
 * and routing (a 1 ms hop over a 10-year window would be 3*10^11 updates
 * per record); a long sliding view is better built from short tumbling
 * windows summed at query time.
 *
 * A window stays open until the watermark (newest event time - lateness)
 * passes its end, so window / every + ceil(lateness / every) windows are
 * open at once per rule in every aggregate process, each holding a record
 * for each of its keys plus at least one 64 KiB arena chunk
 * (aggregate/arena.h), and every checkpoint serialises all of them.
 * 10000 open windows is already >= 625 MiB per rule and process before any
 * key data.
 */
#define CONF_MAX_WINDOWS_PER_RECORD 1000
#define CONF_MAX_OPEN_WINDOWS 10000

/* checkpoint_interval: 0 would checkpoint back to back (one LMDB sync
 * after another, barriers through every ring all the time); more than a
 * day means a crash replays more than a day of Kafka and lag tools see the
 * group's commits a day late. */
#define CONF_CHECKPOINT_MIN_NS (100 * 1000000LL)
#define CONF_CHECKPOINT_MAX_NS (86400 * 1000000000LL)

enum conf_input_type { CONF_INPUT_KAFKA = 0, CONF_INPUT_FILE, CONF_INPUT_TYPE_COUNT };
enum conf_output_type { CONF_OUTPUT_INFLUXDB = 0, CONF_OUTPUT_FILE, CONF_OUTPUT_TYPE_COUNT };
enum conf_time_format {
	CONF_TIME_UNIX = 0, CONF_TIME_UNIX_MS, CONF_TIME_UNIX_US, CONF_TIME_UNIX_NS,
	CONF_TIME_RFC3339, CONF_TIME_FORMAT_COUNT
};

struct conf_kv {
	char *key;   /* without the "kafka." prefix */
	char *value;
};

struct conf_field {
	char name[CONF_NAME_MAX];
	enum rf_vtype type;  /* RF_V_STR, RF_V_INT, RF_V_FLOAT or RF_V_IP */
};

struct conf_ringflow {
	char *name;
	char *state_dir;
	char *run_dir;
	int log_level;               /* enum rf_log_level */
	int64_t checkpoint_interval_ns;
};

/* [processes] analyze = auto: one analyzer host (supervisor/layout.c
 * rf_layout_counts), never more hosts than analyzers. */
#define CONF_ANALYZE_AUTO (-1)

/* [processes] cpu_affinity (docs/OPERATIONS.md "CPU placement"). */
enum conf_cpu_affinity { CONF_AFFINITY_AUTO = 0, CONF_AFFINITY_NO, CONF_AFFINITY_LIST, CONF_AFFINITY_COUNT };
#define CONF_MAX_CPUS 1024           /* cpu numbers 0..1023 (CPU_SETSIZE) */

struct conf_processes {
	int ingest, transform, aggregate, writer; /* "auto" already resolved */
	int analyze;                 /* 0..CONF_MAX_PROCESSES, or CONF_ANALYZE_AUTO */
	uint64_t ring_size;
	enum conf_cpu_affinity cpu_affinity;
	int ncpus;                   /* LIST: cpus[0..ncpus-1], ascending, distinct */
	int cpus[CONF_MAX_CPUS];
};

/* Who decides which ingest reads which partition (docs/OPERATIONS.md). */
enum conf_assignment { CONF_ASSIGN_RINGFLOW = 0, CONF_ASSIGN_GROUP, CONF_ASSIGN_COUNT };
/* Whether a Kafka input ever ends (docs/OPERATIONS.md "Bounded runs"). */
enum conf_stop_at { CONF_STOP_NEVER = 0, CONF_STOP_END, CONF_STOP_COUNT };

struct conf_input {
	enum conf_input_type type;
	enum conf_assignment assignment;
	enum conf_stop_at stop_at;
	int64_t metadata_refresh_ns;
	char *brokers;
	char *topics;                /* comma list, as written */
	char *group;
	char *start;                 /* earliest | latest */
	struct conf_kv kafka[CONF_MAX_KV];
	int nkafka;
	char *path;                  /* type = file; "-" = stdin */
	char separator;
	struct conf_field fields[CONF_MAX_FIELDS];
	int nfields;
	int time_field;              /* index into fields, -1 = processing time */
	char *time_field_name;       /* as written; resolved into time_field once fields are known */
	enum conf_time_format time_format;
	int64_t idle_timeout_ns;
	int64_t max_skew_ns;         /* 0: no watermark alignment */
};

struct conf_geoip {
	char *country, *city, *asn;  /* .mmdb paths, NULL when not configured */
	char *country_path, *city_path, *asn_path, *as_org_path; /* "a/b/c" */
};

struct conf_output_field {
	char name[CONF_NAME_MAX];
	char *expr;                  /* source text, compiled by transform/ */
};

struct conf_transform {
	char *filter;                /* NULL = keep everything */
	struct conf_output_field out[CONF_MAX_OUTPUTS];
	int nout;
};

struct conf_agg {
	char name[CONF_NAME_MAX];    /* output field name in the point */
	char *expr;                  /* as written: "sum(bytes)", "p99(rtt)" */
};

struct conf_rule {
	char name[CONF_NAME_MAX];
	char measurement[CONF_NAME_MAX * 2];
	int64_t window_ns;
	int64_t every_ns;            /* == window_ns for tumbling windows */
	int64_t lateness_ns;
	char keys[CONF_MAX_KEYS][CONF_NAME_MAX];
	int nkeys;
	uint64_t max_keys;
	int top_n;                   /* 0 = keep all keys */
	char top_by[CONF_NAME_MAX];  /* an aggregate name of this rule */
	struct conf_agg aggs[CONF_MAX_AGGS];
	int naggs;
};

struct conf_output {
	enum conf_output_type type;
	char *url;
	char *database;
	int64_t retention_ns;        /* 0 = infinite */
	char *retention;             /* as written, for CREATE RETENTION POLICY */
	char *org, *bucket, *token, *token_file;  /* v2 */
	char *username, *password;   /* v1 auth; never logged */
	int batch_points;
	int64_t flush_interval_ns;
	int64_t timeout_ns;
	int gzip;
	char *path;                  /* type = file; "-" = stdout */
};

/* [metrics]: the pipeline's own counters written beside the traffic. */
struct conf_metrics {
	char *enabled;               /* auto | yes | no (as written) */
	int on;                      /* resolved: auto = on with an InfluxDB output */
	int64_t interval_ns;
	char *measurement;
};

struct conf_analyzer {
	char name[CONF_NAME_MAX];
	char *exec;
	char *args;
	char *input;                 /* comma list of rules, NULL = all */
	int queue;                   /* windows waiting for it, at most */
	int64_t timeout_ns;          /* not reading for this long: killed */
};

struct conf_alerts {
	int log;
	char *kafka_brokers, *kafka_topic, *webhook, *measurement;
	struct conf_kv kafka[CONF_MAX_KV];    /* other kafka.* keys, prefix removed */
	int nkafka;
	struct conf_kv headers[CONF_MAX_KV];  /* webhook.header.NAME: key = NAME; values are secrets */
	int nheaders;
	int64_t webhook_timeout_ns;
	int webhook_retries;
	int webhook_queue;
	int state_changes_only;
};

struct conf_section; /* common/config_table.h */

struct rf_config {
	char *path;
	/* The sections conf_load() loaded with (a NULL-terminated list), so
	 * conf_free() knows what each one allocated. */
	const struct conf_section *const *sections;
	struct conf_ringflow ringflow;
	struct conf_processes processes;
	struct conf_input input;
	struct conf_geoip geoip;
	struct conf_transform transform;
	struct conf_rule rules[CONF_MAX_RULES];
	int nrules;
	struct conf_output output;
	struct conf_metrics metrics;
	struct conf_analyzer analyzers[CONF_MAX_ANALYZERS];
	int nanalyzers;
	struct conf_alerts alerts;
	/* Accepted, but worth telling the operator: `ringflow -t` prints them
	 * on stderr and the start logs them (e.g. sections that do nothing in
	 * this version). One line each; at most CONF_MAX_WARNINGS are kept. */
	char warnings[CONF_MAX_WARNINGS][CONF_WARNING_MAX];
	int nwarnings;
};

/*
 * Loads and validates path against sections, a NULL-terminated list of
 * section descriptors (the supervisor's is sup_config_sections,
 * supervisor/config_sections.h); the list must outlive conf. On error
 * returns -1 with err holding "[section] key: problem" (the first
 * problem). Caller frees with conf_free(), which accepts a zeroed or
 * already freed struct. Does not compile expressions: transform/ and
 * aggregate/ do that (see rf_pipeline_load).
 */
int conf_load(const char *path, const struct conf_section *const *sections, struct rf_config *conf,
	      char *err, size_t errlen);
void conf_free(struct rf_config *conf);
/* Prints every section of the list and its keys with default and meaning
 * (`ringflow --keys`). Defaults only: no file is read, no secret shown. */
void conf_print_keys(FILE *out, const struct conf_section *const *sections);

#endif
