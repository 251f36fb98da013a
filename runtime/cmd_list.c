/* husk list: every container in --root, as runc's table, JSON or ids. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/jsonw.h"
#include "runtime/cli.h"

struct row {
	struct oci_state *st;
	enum oci_status status;
	char *owner;
	char pid[16];
};

/* runc: the owner is the uid of the state directory, by name if known. */
static char *owner_name(const char *root, const char *id)
{
	_cleanup_free_ char *p = husk_asprintf("%s/%s", root, id);
	struct passwd pw, *res = NULL;
	char buf[1024];
	struct stat sb;

	if (stat(p, &sb) < 0)
		return husk_strdup("");
	if (getpwuid_r(sb.st_uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		return husk_strdup(res->pw_name);
	return husk_asprintf("#%u", (unsigned)sb.st_uid);
}

static enum oci_status live_status(const char *root, const struct oci_state *st)
{
	_cleanup_free_ char *p = husk_asprintf("%s/%s", root, st->id);
	_cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return OCI_STATUS_STOPPED;
	return oci_state_status(st, fd);
}

/* Go's text/tabwriter as runc sets it up (minwidth 12, padding 3): each
 * column but the last is as wide as its widest cell plus 3, at least 12. */
static void print_table(struct row *rows, size_t n)
{
	const char *head[6] = {"ID",	 "PID",	    "STATUS",
			       "BUNDLE", "CREATED", "OWNER"};
	size_t w[5];

	for (int c = 0; c < 5; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		const char *cells[5] = {rows[i].st->id, rows[i].pid,
					oci_status_name(rows[i].status),
					rows[i].st->bundle,
					rows[i].st->created};
		for (int c = 0; c < 5; c++)
			if (strlen(cells[c]) > w[c])
				w[c] = strlen(cells[c]);
	}
	for (int c = 0; c < 5; c++)
		w[c] = w[c] + 3 < 12 ? 12 : w[c] + 3;
	for (size_t i = 0; i <= n; i++) {
		const char *cells[6];
		if (i == 0) {
			memcpy(cells, head, sizeof(cells));
		} else {
			struct row *r = &rows[i - 1];
			cells[0] = r->st->id;
			cells[1] = r->pid;
			cells[2] = oci_status_name(r->status);
			cells[3] = r->st->bundle;
			cells[4] = r->st->created;
			cells[5] = r->owner;
		}
		for (int c = 0; c < 5; c++)
			printf("%-*s", (int)w[c], cells[c]);
		printf("%s\n", cells[5]);
	}
}

static int list_main(struct husk_ctx *ctx, int argc, char **argv,
		     struct husk_err **err)
{
	const char *format = "table";
	bool quiet = false;
	const struct cli_opt opts[] = {
		{"format", "f", CLI_STRING, &format},
		{"quiet", "q", CLI_BOOL, &quiet},
	};
	_cleanup_strv_ char **ids = NULL;
	struct row *rows;
	size_t n, k = 0;
	int npos, r;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("list");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("list", npos, 0, 0, err) < 0)
		return -1;
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return husk_err_set(err, EINVAL, "invalid format option");
	if (oci_state_list(ctx->root, &ids, &n, err) < 0)
		return -1;
	rows = husk_calloc(n + 1, sizeof(*rows));
	/* No locks: state.json is only ever replaced by rename, so each
	 * read sees one whole version; a container deleted meanwhile is
	 * simply not listed. */
	for (size_t i = 0; i < n; i++) {
		_cleanup_err_ struct husk_err *e = NULL;
		struct row *rw = &rows[k];
		if (oci_state_read(ctx->root, ids[i], &rw->st, &e) < 0)
			continue;
		rw->status = live_status(ctx->root, rw->st);
		snprintf(rw->pid, sizeof(rw->pid), "%d",
			 rw->status == OCI_STATUS_STOPPED ? 0
							  : (int)rw->st->pid);
		rw->owner = owner_name(ctx->root, ids[i]);
		k++;
	}
	if (quiet) {
		for (size_t i = 0; i < k; i++)
			printf("%s\n", rows[i].st->id);
	} else if (strcmp(format, "json") == 0) {
		struct jsonw w;
		char *s;
		jsonw_init(&w, NULL);
		if (k == 0) /* Go marshals runc's nil slice as null */
			jsonw_raw(&w, "null", 4);
		for (size_t i = 0; i < k; i++) {
			_cleanup_free_ char *one =
				oci_state_format(rows[i].st, rows[i].status,
						 rows[i].owner, false);
			jsonw_raw(&w, i == 0 ? "[" : ",", 1);
			jsonw_raw(&w, one, strlen(one));
		}
		if (k > 0)
			jsonw_raw(&w, "]", 1);
		s = jsonw_take(&w);
		printf("%s\n", s);
		free(s);
	} else {
		print_table(rows, k);
	}
	for (size_t i = 0; i < k; i++) {
		oci_state_free(rows[i].st);
		free(rows[i].owner);
	}
	free(rows);
	return 0;
}

const struct husk_cmd cmd_list = {
	"list",
	"lists containers started by husk with the given root",
	"[command options]",
	"OPTIONS:\n"
	"   --format value, -f value  select one of: table or json (default: "
	"\"table\")\n"
	"   --quiet, -q               display only container IDs\n",
	list_main,
};
