/*
 * ciipd_main.c - the daemon: flags and configuration, logging, signals,
 * and the order in which subsystems start and stop.
 */
#include "ciipd/ciipd.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	/* Only set flags here: the main loop does the work (ntpd's habit). */
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: ciipd [options]\n"
	        "  --config FILE     read configuration from FILE (YAML)\n"
	        "  --data DIR        directory for the database and all state\n"
	        "  --listen A:P      HTTP address and port (default 127.0.0.1:8443)\n"
	        "  --demo            seed demo content and print the URLs\n"
	        "  --log-json        log JSON lines\n"
	        "  --log-level L     debug, info, warn or error\n"
	        "  -n                check the configuration and exit\n"
	        "  --print-config    print the effective configuration and exit\n"
	        "  --version         print the version and exit\n");
}

static void
print_config_error(const struct err *e, void *arg __attribute__((unused)))
{
	char msg[1024];
	err_format(e, msg, sizeof(msg));
	fprintf(stderr, "ciipd: %s\n", msg);
}

enum {
	OPT_CONFIG = 256,
	OPT_DATA,
	OPT_LISTEN,
	OPT_DEMO,
	OPT_LOG_JSON,
	OPT_LOG_LEVEL,
	OPT_PRINT_CONFIG,
	OPT_VERSION,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"data", required_argument, NULL, OPT_DATA},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"demo", no_argument, NULL, OPT_DEMO},
	{"log-json", no_argument, NULL, OPT_LOG_JSON},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Copies a flag's value into a fixed config field, refusing overlong ones. */
static int
set_flag(char *dst, size_t cap, const char *v, const char *flag)
{
	if (strlen(v) >= cap) {
		fprintf(stderr, "ciipd: %s: value too long\n", flag);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Loads the config file then applies flags over it. Returns 0, 1 to exit
 * with success (e.g. -n), or -1 on error. */
static int
configure(struct node *n, int argc, char **argv)
{
	bool check_only = false, print = false;
	const char *cfgfile = getenv("CIIP_CONFIG");
	int c;
	/* First pass: only the config file, so that flags override it. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n", long_opts, NULL)) != -1)
		if (c == OPT_CONFIG)
			cfgfile = optarg;
	config_defaults(&n->cfg);
	if (cfgfile) {
		struct err e;
		snprintf(n->config_path, sizeof(n->config_path), "%s", cfgfile);
		int nerr = config_load_file(&n->cfg, cfgfile, &e, print_config_error, NULL);
		if (nerr > 0) {
			fprintf(stderr, "ciipd: %d error%s in %s, not starting\n", nerr,
			        nerr == 1 ? "" : "s", cfgfile);
			return -1;
		}
	}
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "n", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			break;
		case OPT_DATA:
			if (set_flag(n->cfg.data_dir, sizeof(n->cfg.data_dir), optarg, "--data"))
				return -1;
			break;
		case OPT_LISTEN: {
			char host[256];
			int port;
			if (parse_hostport(optarg, host, sizeof(host), &port) != 0) {
				fprintf(stderr, "ciipd: --listen: '%s' is not ADDRESS:PORT\n", optarg);
				return -1;
			}
			if (set_flag(n->cfg.http_listen, sizeof(n->cfg.http_listen), optarg, "--listen"))
				return -1;
			break;
		}
		case OPT_DEMO:
			n->cfg.demo = true;
			break;
		case OPT_LOG_JSON:
			n->cfg.log_json = true;
			break;
		case OPT_LOG_LEVEL: {
			enum log_level l;
			if (log_level_parse(optarg, &l) != 0) {
				fprintf(stderr, "ciipd: --log-level: '%s' is not debug, info, warn or error\n",
				        optarg);
				return -1;
			}
			snprintf(n->cfg.log_level, sizeof(n->cfg.log_level), "%s", optarg);
			break;
		}
		case 'n':
			check_only = true;
			break;
		case OPT_PRINT_CONFIG:
			print = true;
			break;
		case OPT_VERSION:
			printf("ciipd %s\n", CIIP_VERSION);
			return 1;
		case OPT_HELP:
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ciipd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (print) {
		struct buf b = {0};
		config_dump(&n->cfg, &b);
		fputs(b.data, stdout);
		buf_free(&b);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		return 1;
	}
	return 0;
}

/* SIGHUP: reopen the log and re-read what can change without a restart. */
static void
reload(struct node *n)
{
	if (log_reopen() != 0)
		log_warn("ciipd", "cannot reopen the log file");
	if (n->config_path[0] == '\0') {
		log_info("ciipd", "SIGHUP: log reopened (no config file to reload)");
		return;
	}
	struct config fresh;
	struct err e;
	config_defaults(&fresh);
	if (config_load_file(&fresh, n->config_path, &e, NULL, NULL) > 0) {
		char msg[1024];
		err_format(&e, msg, sizeof(msg));
		log_warnx("ciipd", "SIGHUP: keeping the running configuration: %s", msg);
		return;
	}
	enum log_level l;
	if (log_level_parse(fresh.log_level, &l) == 0)
		log_set_level(l);
	snprintf(n->cfg.log_level, sizeof(n->cfg.log_level), "%s", fresh.log_level);
	log_info("ciipd", "SIGHUP: configuration reloaded (log level %s); "
	                  "listen address, data directory and TLS need a restart",
	         fresh.log_level);
}

/* Every subsystem's tables, registered before the store opens. */
static void
register_schemas(void)
{
	ops_schema_register_all();
	auth_schema_register();
	cert_schema_register();
	advisory_schema_register();
	taxii_schema_register();
	detect_schema_register();
	ingest_schema_register();
}

/* Gives the data directory's files to a user (they were created before the
 * switch) and switches to it for good, each step checked (OpenSMTPD's
 * habit): a daemon that meant to drop root and could not must not run. */
static int
drop_privileges(struct node *n)
{
	if (n->cfg.run_as[0] == '\0') {
		if (geteuid() == 0)
			log_warnx("ciipd", "running as root: set run_as to a dedicated user");
		return 0;
	}
	if (geteuid() != 0) {
		log_info("ciipd", "not root: ignoring run_as (%s)", n->cfg.run_as);
		return 0;
	}
	struct passwd *pw = getpwnam(n->cfg.run_as);
	if (pw == NULL) {
		log_errorx("ciipd", "run_as: no user '%s'", n->cfg.run_as);
		return -1;
	}
	static const char *files[] = {"", "/ciip.db", "/ciip.db-wal", "/ciip.db-shm",
	                              "/demo-credentials.json", "/seal.key"};
	for (size_t i = 0; i <= CIIP_ARRAY_LEN(files); i++) {
		char path[CONFIG_MAX_PATH + 32];
		if (i < CIIP_ARRAY_LEN(files))
			snprintf(path, sizeof(path), "%s%s", n->cfg.data_dir, files[i]);
		else if (n->cfg.auth_seal_key_file[0] != '\0')
			snprintf(path, sizeof(path), "%s", n->cfg.auth_seal_key_file);
		else
			break;
		if (chown(path, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT) {
			log_warn("ciipd", "chown %s", path);
			return -1;
		}
	}
	if (n->cfg.log_file[0] && chown(n->cfg.log_file, pw->pw_uid, pw->pw_gid) != 0) {
		log_warn("ciipd", "chown %s", n->cfg.log_file);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		log_warn("ciipd", "cannot switch to user %s", n->cfg.run_as);
		return -1;
	}
	if (setuid(0) == 0) {
		log_errorx("ciipd", "could switch back to root after dropping privileges");
		return -1;
	}
	log_info("ciipd", "running as %s (uid %d)", n->cfg.run_as, (int)pw->pw_uid);
	return 0;
}

/* Published advisories go into the STIX store too, so TAXII subscribers and
 * the federation receive them. */
static int
advisory_to_taxii(struct auth_ctx *x, const json_t *objects, void *arg)
{
	/* The node writes it, on behalf of the reviewer who published: the
	 * reviewer's role need not have write rights on the collection. */
	struct auth_caller node;
	auth_caller_local(&node, x->st);
	snprintf(node.name, sizeof(node.name), "advisory-publication");
	snprintf(node.remote, sizeof(node.remote), "%s", x->remote ? x->remote : "");
	struct auth_ctx nx = {.st = x->st, .cfg = x->cfg, .caller = &node, .remote = x->remote};
	json_t *out = NULL;
	int status = taxii_svc_add(arg, &nx, "advisories", objects, &out);
	if (status < 200 || status >= 300) {
		const char *msg =
			json_string_value(json_object_get(json_object_get(out, "error"), "message"));
		log_warnx("advisory", "cannot add the published report to the STIX store: %s",
		          msg ? msg : "failed");
	}
	json_decref(out);
	return status >= 200 && status < 300 ? 0 : -1;
}

static int
start(struct node *n)
{
	struct err e;
	err_clear(&e);
	register_schemas();
	struct store_opts so = {
		.data_dir = n->cfg.data_dir,
		.busy_timeout_ms = n->cfg.store_busy_timeout_ms,
		.readers = (int)n->cfg.store_readers,
	};
	n->store = store_open(&so, &e);
	if (n->store == NULL) {
		log_errorx("store", "cannot open the database in %s: %s", n->cfg.data_dir, e.msg);
		return -1;
	}
	log_info("store", "database %s/ciip.db open, schema version %d", n->cfg.data_dir,
	         store_schema_version(n->store));

	struct http_opts ho = {
		.listen = n->cfg.http_listen,
		.threads = (int)n->cfg.http_threads,
		.max_body_bytes = n->cfg.http_max_body_bytes,
		.max_header_bytes = n->cfg.http_max_header_bytes,
		.request_timeout_s = n->cfg.http_request_timeout_s,
		.max_connections = n->cfg.http_max_connections,
		.tls_cert = n->cfg.http_tls_cert,
		.tls_key = n->cfg.http_tls_key,
		.web_root = n->cfg.web_root,
	};
	n->http = http_server_new(&ho, &e);
	if (n->http == NULL) {
		log_errorx("http", "%s", e.msg);
		return -1;
	}
	n->ops = ops_new(n->store, n->http, CIIP_VERSION);
	ops_routes(n->ops, n->http);
	n->auth = auth_new(n->store, &n->cfg);
	auth_routes(n->auth, n->http);
	int sealed = 0;
	if (auth_seal_secrets(n->store, &n->cfg, &sealed, &e) != 0) {
		log_errorx("auth", "cannot seal the TOTP secrets: %s", e.msg);
		return -1;
	}
	if (sealed > 0)
		log_info("auth", "sealed %d TOTP secrets stored in clear", sealed);
	n->taxii = taxii_new(n->store, &n->cfg);
	taxii_routes(n->taxii, n->http);
	n->cert = cert_new(n->store, &n->cfg, n->auth, &e);
	if (n->cert == NULL) {
		log_errorx("cert", "%s", e.msg);
		return -1;
	}
	cert_routes(n->cert, n->http);
	ops_add_collector(n->ops, cert_metrics, n->cert);
	n->advisory = advisory_new(n->store, &n->cfg, n->auth);
	advisory_routes(n->advisory, n->http);
	advisory_stix_sink_set(advisory_to_taxii, n->taxii);
	ops_add_collector(n->ops, advisory_metrics, n->advisory);

	/* The SOC: alerts, the matcher fed from the STIX store, the pipeline,
	 * and the sources that feed it. Demo mode turns the listeners on. */
	if (n->cfg.demo) {
		if (n->cfg.ingest_json_tcp[0] == '\0')
			snprintf(n->cfg.ingest_json_tcp, sizeof(n->cfg.ingest_json_tcp), "127.0.0.1:5141");
		if (n->cfg.ingest_syslog_udp[0] == '\0')
			snprintf(n->cfg.ingest_syslog_udp, sizeof(n->cfg.ingest_syslog_udp), "127.0.0.1:5140");
		if (n->cfg.ingest_syslog_tcp[0] == '\0')
			snprintf(n->cfg.ingest_syslog_tcp, sizeof(n->cfg.ingest_syslog_tcp), "127.0.0.1:5140");
	}
	n->alerts = detect_alerts_new(n->store, &n->cfg, n->taxii);
	detect_alerts_routes(n->alerts, n->http);
	ops_add_collector(n->ops, detect_alerts_metrics, n->alerts);
	detect_matcher_huge_pages(n->cfg.detect_huge_pages);
	n->feed = detect_feed_new(n->store, &e);
	if (n->feed == NULL) {
		log_errorx("detect", "cannot build the indicator matcher: %s", e.msg);
		return -1;
	}
	ops_add_collector(n->ops, detect_feed_metrics, n->feed);
	n->pipeline = detect_pipeline_new(&n->cfg, n->alerts, n->feed);
	ops_add_collector(n->ops, detect_pipeline_metrics, n->pipeline);
	n->ingest = ingest_new(n->store, &n->cfg, detect_pipeline_input(n->pipeline), &e);
	if (n->ingest == NULL) {
		log_errorx("ingest", "%s", e.msg);
		return -1;
	}
	ingest_routes(n->ingest, n->http);
	ops_add_collector(n->ops, ingest_metrics, n->ingest);

	if (n->cfg.demo && ciipd_demo_seed(n, &e) != 0) {
		log_errorx("demo", "cannot seed demo content: %s", e.msg);
		return -1;
	}
	/* Bind while still privileged, drop, and only then serve. */
	if (http_server_bind(n->http, &e) != 0) {
		log_errorx("http", "%s", e.msg);
		return -1;
	}
	/* The event listeners bind now too (syslog's port 514 needs root), and
	 * are running before /healthz first answers. */
	if (detect_pipeline_start(n->pipeline, n->ingest, &e) != 0 ||
	    ingest_start(n->ingest, &e) != 0) {
		log_errorx("ingest", "%s", e.msg);
		return -1;
	}
	if (drop_privileges(n) != 0)
		return -1;
	if (http_server_start(n->http, &e) != 0) {
		log_errorx("http", "%s", e.msg);
		return -1;
	}
	log_info("http", "listening on %s%s (port %d)", n->cfg.http_listen,
	         http_server_tls(n->http) ? " with TLS" : "", http_server_port(n->http));
	return 0;
}

static void
stop(struct node *n)
{
	if (n->http)
		http_server_stop(n->http, 10000);
	/* Sources first, then the pipeline drains what they queued. */
	if (n->ingest)
		ingest_stop(n->ingest);
	if (n->pipeline) {
		detect_pipeline_stop(n->pipeline);
		detect_pipeline_free(n->pipeline);
	}
	ingest_free(n->ingest);
	detect_alerts_free(n->alerts);
	detect_feed_free(n->feed);
	http_server_free(n->http);
	advisory_stix_sink_set(NULL, NULL);
	advisory_free(n->advisory);
	cert_free(n->cert);
	taxii_free(n->taxii);
	auth_free(n->auth);
	ops_free(n->ops);
	store_close(n->store);
}

int
main(int argc, char **argv)
{
	static struct node node;
	struct node *n = &node;
	int rc = configure(n, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;

	enum log_level lvl = LOG_LVL_INFO;
	if (log_level_parse(n->cfg.log_level, &lvl) != 0)
		lvl = LOG_LVL_INFO;
	if (log_open(lvl, n->cfg.log_json, n->cfg.log_file) != 0) {
		fprintf(stderr, "ciipd: cannot open log file %s: %s\n", n->cfg.log_file, strerror(errno));
		return 2;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("ciipd", "ciipd %s starting, data in %s", CIIP_VERSION, n->cfg.data_dir);
	if (start(n) != 0) {
		stop(n);
		log_close();
		return 1;
	}
	if (n->cfg.demo)
		ciipd_demo_banner(n);
	log_info("ciipd", "ready");

	while (!got_term) {
		if (got_hup) {
			got_hup = 0;
			reload(n);
		}
		struct timespec ts = {0, 100 * 1000000};
		nanosleep(&ts, NULL);
	}
	log_info("ciipd", "shutting down: finishing requests in flight");
	stop(n);
	log_info("ciipd", "stopped");
	log_close();
	return 0;
}
