/* husk events: a container's cgroup statistics in runc's JSON, once
 * (--stats) or every --interval until the container stops. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "oci/jsonw.h"
#include "runtime/cli.h"

/* A Go duration as runc's flag takes it: "5s", "100ms", "1m30s". */
static int parse_duration(const char *s, unsigned long long *ns,
			  struct husk_err **err)
{
	static const struct {
		const char *unit;
		unsigned long long ns;
	} units[] = {{"ns", 1},        {"us", 1000},          {"ms", 1000000},
		     {"s", 1000000000}, {"m", 60000000000ull}, {"h", 3600000000000ull}};
	const char *p = s;

	*ns = 0;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		size_t best = 0, k = ARRAY_SIZE(units);

		if (end == p || v < 0)
			goto bad;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t len = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, len) == 0 && len > best) {
				best = len;
				k = i;
			}
		}
		if (k == ARRAY_SIZE(units) || v * units[k].ns > 1e18)
			goto bad;
		*ns += (unsigned long long)(v * (double)units[k].ns);
		p = end + best;
	}
	if (*ns == 0)
		goto bad;
	return 0;
bad:
	return husk_err_set(err, EINVAL,
			    "invalid value \"%s\" for flag -interval: parse "
			    "error",
			    s);
}

/* One stats line; *gone when the container has stopped. With ooms, an
 * {"type":"oom"} line first when the cgroup's OOM kill count grew (the
 * count outlives the init, so the kill that stopped it is reported). */
static int stats_once(struct husk_ctx *ctx, const char *id, bool *gone,
		      uint64_t *ooms, struct husk_err **err)
{
	struct oci_state_dir d = OCI_STATE_DIR_INIT;
	struct oci_state *st = NULL;
	struct linux_container c;
	char *json = NULL;
	int r = 0;

	*gone = false;
	if (oci_state_dir_open(ctx->root, id, false, &d, &st, err) < 0)
		return -1;
	husk_state_to_container(st, &c);
	if (st->sandbox && strcmp(st->sandbox, "container") != 0) {
		r = husk_err_set(err, ENOSYS,
				 "events: not supported yet in the %s sandbox",
				 st->sandbox);
	} else if (ooms) {
		uint64_t n = 0;
		r = linux_container_oom_kills(&c, &n, err);
		/* UINT64_MAX: the first look, which sets the baseline. */
		if (r == 0 && *ooms != UINT64_MAX && n > *ooms) {
			_cleanup_free_ char *q = NULL;
			struct jsonw w;
			jsonw_init(&w, NULL);
			jsonw_quote(&w, st->id);
			q = jsonw_take(&w);
			printf("{\"type\":\"oom\",\"id\":%s}\n", q);
			fflush(stdout);
		}
		if (r == 0)
			*ooms = n;
	}
	if (r == 0 && oci_state_status(st, d.dirfd) == OCI_STATUS_STOPPED) {
		*gone = true;
		r = husk_err_set(err, ESRCH, "container with id %s is not "
					     "running", id);
	}
	if (r == 0)
		r = linux_container_stats_json(&c, st->id, &json, err);
	oci_state_dir_close(&d);
	oci_state_free(st);
	if (r < 0)
		return -1;
	printf("%s\n", json);
	fflush(stdout);
	free(json);
	return 0;
}

static int events_main(struct husk_ctx *ctx, int argc, char **argv,
		       struct husk_err **err)
{
	bool stats = false;
	const char *interval = "5s";
	const struct cli_opt opts[] = {
		{"stats", NULL, CLI_BOOL, &stats},
		{"interval", NULL, CLI_STRING, &interval}};
	unsigned long long ns;
	struct timespec ts;
	uint64_t ooms = UINT64_MAX;
	bool gone;
	int npos, r;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("events");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("events", npos, 1, 1, err) < 0)
		return -1;
	if (parse_duration(interval, &ns, err) < 0)
		return -1;
	if (stats)
		return stats_once(ctx, argv[0], &gone, NULL, err) < 0 ? -1
								       : 0;
	ts.tv_sec = (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	for (;;) {
		if (stats_once(ctx, argv[0], &gone, &ooms, err) < 0) {
			/* The stream ends when the container does. */
			if (gone) {
				husk_err_free(err);
				return 0;
			}
			return -1;
		}
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ts.tv_sec = (time_t)(ns / 1000000000ull);
		ts.tv_nsec = (long)(ns % 1000000000ull);
	}
}

const struct husk_cmd cmd_events = {
	"events",
	"display container events such as OOM notifications, cpu, memory, and "
	"IO usage statistics",
	"[command options] <container-id>",
	"OPTIONS:\n"
	"   --interval value  set the stats collection interval (default: "
	"5s)\n"
	"   --stats           display the container's stats then exit\n",
	events_main,
};
