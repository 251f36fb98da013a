/* oci/state: id validation, state.json round trip, status derivation, the
 * state directory's create/open/remove, runc's output layouts; and the
 * CLI's flag and signal parsers and log lines. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/features.h"
#include "oci/state.h"
#include "runtime/cli.h"
#include "runtime/log.h"
#include "unit.h"

static void id_table(void)
{
	static char long_ok[OCI_STATE_ID_MAX + 1], long_bad[2001];
	struct {
		const char *id;
		const char *want; /* NULL: valid; else a substring */
	} t[] = {
		{"a", NULL},
		{"abc-DEF_0.1+x", NULL},
		{".hidden", NULL},
		{long_ok, NULL},
		{"", "invalid container ID format: empty"},
		{".", "invalid container ID format"},
		{"..", "invalid container ID format"},
		{"../x", "character 0x2f at offset 2"},
		{"a/b", "character 0x2f at offset 1"},
		{"a b", "character 0x20"},
		{"a\nb", "character 0x0a"},
		{"caf\xc3\xa9", "character 0xc3"},
		{long_bad, "longer than 1024 characters"},
	};

	memset(long_ok, 'x', OCI_STATE_ID_MAX);
	memset(long_bad, 'y', 2000);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		_cleanup_err_ struct husk_err *err = NULL;
		char name[64], why[256] = "";
		int r = oci_state_id_check(t[i].id, &err);
		bool ok;

		if (t[i].want == NULL) {
			ok = r == 0 && err == NULL;
			if (!ok)
				snprintf(why, sizeof(why), "rejected: %s",
					 err ? err->msg : "?");
		} else {
			ok = r < 0 && err && strstr(err->msg, t[i].want);
			if (!ok)
				snprintf(why, sizeof(why),
					 "got \"%s\", want \"%s\"",
					 err ? err->msg : "(accepted)",
					 t[i].want);
		}
		snprintf(name, sizeof(name), "id_check_%zu", i);
		unit_report(name, ok, why);
	}
}

static struct oci_state *sample(void)
{
	struct oci_state *st = husk_calloc(1, sizeof(*st));

	st->id = husk_strdup("c1");
	st->pid = 4242;
	st->start_time = 123456789ULL;
	st->bundle = husk_strdup("/tmp/b \"q\"");
	st->rootfs = husk_strdup("/tmp/b/rootfs");
	st->created = husk_strdup("2026-11-25T09:00:00.5Z");
	st->owner = 1000;
	st->cgroup_path = husk_strdup("/husk/c1");
	st->sandbox = husk_strdup("container");
	st->systemd_cgroup = true;
	st->status = OCI_STATUS_CREATED;
	st->n_annotations = 2;
	st->annotations = husk_calloc(2, sizeof(struct oci_kv));
	st->annotations[0].key = husk_strdup("a");
	st->annotations[0].value = husk_strdup("1");
	st->annotations[1].key = husk_strdup("ctl\x01");
	st->annotations[1].value = husk_strdup("tab\there\\");
	return st;
}

TEST(state_json_round_trip)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct oci_state *a = sample(), *b = NULL;
	_cleanup_free_ char *j1 = NULL, *j2 = NULL;

	CHECK(oci_state_to_json(a, &j1, &err) == 0);
	CHECK(oci_state_from_json(j1, strlen(j1), &b, &err) == 0);
	CHECK(b != NULL);
	CHECK_STR(b->id, "c1");
	CHECK(b->pid == 4242);
	CHECK(b->start_time == 123456789ULL);
	CHECK_STR(b->bundle, "/tmp/b \"q\"");
	CHECK_STR(b->rootfs, "/tmp/b/rootfs");
	CHECK_STR(b->created, "2026-11-25T09:00:00.5Z");
	CHECK(b->owner == 1000);
	CHECK_STR(b->cgroup_path, "/husk/c1");
	CHECK_STR(b->sandbox, "container");
	CHECK(b->systemd_cgroup);
	CHECK(b->status == OCI_STATUS_CREATED);
	CHECK(b->n_annotations == 2);
	CHECK_STR(b->annotations[1].key, "ctl\x01");
	CHECK_STR(b->annotations[1].value, "tab\there\\");
	CHECK(oci_state_to_json(b, &j2, &err) == 0);
	CHECK_STR(j1, j2);
	oci_state_free(a);
	oci_state_free(b);
}

TEST(state_json_rejects_bad)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\":1}",
		"{\"version\":2,\"id\":\"c1\"}",
		/* an id that would leave the root */
		"{\"version\":1,\"id\":\"../"
		"x\",\"status\":\"created\",\"pid\":1,"
		"\"start_time\":1,\"bundle\":\"/b\",\"rootfs\":\"/"
		"r\",\"created\":\"t\","
		"\"owner\":0,\"cgroup_path\":\"/c\",\"sandbox\":\"container\","
		"\"systemd_cgroup\":false,\"annotations\":{}}",
		/* a negative pid */
		"{\"version\":1,\"id\":\"x\",\"status\":\"created\",\"pid\":-1,"
		"\"start_time\":1,\"bundle\":\"/b\",\"rootfs\":\"/"
		"r\",\"created\":\"t\","
		"\"owner\":0,\"cgroup_path\":\"/c\",\"sandbox\":\"container\","
		"\"systemd_cgroup\":false,\"annotations\":{}}",
		/* an unknown status */
		"{\"version\":1,\"id\":\"x\",\"status\":\"zombie\",\"pid\":1,"
		"\"start_time\":1,\"bundle\":\"/b\",\"rootfs\":\"/"
		"r\",\"created\":\"t\","
		"\"owner\":0,\"cgroup_path\":\"/c\",\"sandbox\":\"container\","
		"\"systemd_cgroup\":false,\"annotations\":{}}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_err_ struct husk_err *err = NULL;
		struct oci_state *st = NULL;
		CHECK(oci_state_from_json(bad[i], strlen(bad[i]), &st, &err) <
		      0);
		CHECK(st == NULL && err != NULL);
	}
}

TEST(status_derivation)
{
	/* pid, recorded start, exists, state letter, actual start, fifo */
	CHECK(oci_status_derive(10, 5, true, 'S', 5, true) ==
	      OCI_STATUS_CREATED);
	CHECK(oci_status_derive(10, 5, true, 'S', 5, false) ==
	      OCI_STATUS_RUNNING);
	CHECK(oci_status_derive(10, 5, true, 'R', 5, false) ==
	      OCI_STATUS_RUNNING);
	CHECK(oci_status_derive(10, 5, false, 0, 0, false) ==
	      OCI_STATUS_STOPPED);
	CHECK(oci_status_derive(10, 5, false, 0, 0, true) ==
	      OCI_STATUS_STOPPED);
	CHECK(oci_status_derive(10, 5, true, 'Z', 5, false) ==
	      OCI_STATUS_STOPPED);
	/* a reused pid: same number, another process */
	CHECK(oci_status_derive(10, 5, true, 'S', 6, false) ==
	      OCI_STATUS_STOPPED);
	CHECK(oci_status_derive(10, 5, true, 'S', 6, true) ==
	      OCI_STATUS_STOPPED);
	CHECK(oci_status_derive(0, 0, true, 'S', 0, false) ==
	      OCI_STATUS_STOPPED);
}

TEST(status_of_live_and_dead_processes)
{
	char tmpl[] = "/tmp/husk-unit-state.XXXXXX";
	char *dir = mkdtemp(tmpl);
	_cleanup_close_ int dfd = -1;
	struct oci_state st = {0};
	unsigned long long start;
	pid_t child;
	int status;

	CHECK(dir != NULL);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	CHECK(husk_proc_stat(getpid(), &start, NULL) == 0);
	st.pid = getpid();
	st.start_time = start;
	CHECK(oci_state_status(&st, dfd) == OCI_STATUS_RUNNING);
	CHECK(mkfifoat(dfd, "exec.fifo", 0600) == 0);
	CHECK(oci_state_status(&st, dfd) == OCI_STATUS_CREATED);
	st.start_time = start + 1; /* our pid, but "another" process */
	CHECK(oci_state_status(&st, dfd) == OCI_STATUS_STOPPED);
	unlinkat(dfd, "exec.fifo", 0);
	rmdir(dir);
	/* a zombie, then a reaped (gone) pid */
	child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(0);
	CHECK(husk_proc_stat(child, &start, NULL) == 0);
	st.pid = child;
	st.start_time = start;
	usleep(50000);
	CHECK(oci_state_status(&st, dfd) == OCI_STATUS_STOPPED);
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(oci_state_status(&st, dfd) == OCI_STATUS_STOPPED);
}

TEST(state_dir_lifecycle)
{
	char tmpl[] = "/tmp/husk-unit-root.XXXXXX";
	char *root = mkdtemp(tmpl);
	struct oci_state *st = sample(), *got = NULL;
	struct oci_state_dir d = OCI_STATE_DIR_INIT, d2 = OCI_STATE_DIR_INIT;
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_strv_ char **ids = NULL;
	_cleanup_free_ char *p = NULL;
	struct stat sb;
	size_t n;

	CHECK(root != NULL);
	CHECK(oci_state_dir_create(root, st, &d, &err) == 0);
	p = husk_asprintf("%s/c1", root);
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	/* a second create of the same id */
	CHECK(oci_state_dir_create(root, st, &d2, &err) < 0);
	CHECK(err && err->errnum == EEXIST);
	CHECK_STR(err->msg, "container with id exists: c1");
	husk_err_free(&err);
	/* stale detection must not take a held lock for stale */
	CHECK(oci_state_dir_remove_stale(root, "c1", &err) == 0);
	oci_state_dir_close(&d);
	CHECK(oci_state_list(root, &ids, &n, &err) == 0);
	CHECK(n == 1);
	CHECK_STR(ids[0], "c1");
	CHECK(oci_state_dir_open(root, "c1", true, &d, &got, &err) == 0);
	CHECK(got->pid == 4242);
	CHECK(oci_state_dir_remove(&d, &err) == 0);
	oci_state_dir_close(&d);
	oci_state_free(got);
	got = NULL;
	CHECK(oci_state_dir_open(root, "c1", false, &d, &got, &err) < 0);
	CHECK(err && err->errnum == ENOENT);
	CHECK_STR(err->msg, "container does not exist");
	husk_err_free(&err);
	CHECK(oci_state_dir_open(root, "../x", false, &d, &got, &err) < 0);
	husk_err_free(&err);
	/* the hidden directory of a create killed before its rename is
	 * swept by the next create once its pid is gone */
	{
		pid_t dead = fork();
		_cleanup_free_ char *hidden = NULL, *f = NULL;
		CHECK(dead >= 0);
		if (dead == 0)
			_exit(0);
		CHECK(waitpid(dead, NULL, 0) == dead);
		hidden = husk_asprintf("%s/~new-%d", root, (int)dead);
		f = husk_asprintf("%s/.lock", hidden);
		CHECK(mkdir(hidden, 0700) == 0);
		CHECK(husk_write_file_at(AT_FDCWD, f, "", 0, 0600, &err) == 0);
		free(st->id);
		st->id = husk_strdup("c2");
		CHECK(oci_state_dir_create(root, st, &d, &err) == 0);
		CHECK(stat(hidden, &sb) < 0 && errno == ENOENT);
		CHECK(oci_state_dir_remove(&d, &err) == 0);
		oci_state_dir_close(&d);
	}
	/* a leftover without state.json is removed */
	CHECK(mkdir(p, 0700) == 0);
	CHECK(oci_state_dir_remove_stale(root, "c1", &err) == 1);
	CHECK(stat(p, &sb) < 0 && errno == ENOENT);
	oci_state_free(st);
	CHECK(rmdir(root) == 0);
}

TEST(runc_state_layout)
{
	struct oci_state *st = sample();
	_cleanup_free_ char *pretty = NULL, *line = NULL;

	st->n_annotations = 1;
	free(st->bundle);
	st->bundle = husk_strdup("/b");
	pretty = oci_state_format(st, OCI_STATUS_RUNNING, "", true);
	CHECK_STR(pretty, "{\n"
			  "  \"ociVersion\": \"" OCI_STATE_SPEC_VERSION "\",\n"
			  "  \"id\": \"c1\",\n"
			  "  \"pid\": 4242,\n"
			  "  \"status\": \"running\",\n"
			  "  \"bundle\": \"/b\",\n"
			  "  \"rootfs\": \"/tmp/b/rootfs\",\n"
			  "  \"created\": \"2026-11-25T09:00:00.5Z\",\n"
			  "  \"annotations\": {\n"
			  "    \"a\": \"1\"\n"
			  "  },\n"
			  "  \"owner\": \"\"\n"
			  "}");
	st->n_annotations = 0;
	line = oci_state_format(st, OCI_STATUS_STOPPED, "root", false);
	CHECK_STR(line, "{\"ociVersion\":\"" OCI_STATE_SPEC_VERSION
			"\",\"id\":\"c1\","
			"\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/b\","
			"\"rootfs\":\"/tmp/b/"
			"rootfs\",\"created\":\"2026-11-25T09:00:00.5Z\","
			"\"owner\":\"root\"}");
	st->n_annotations = 2;
	oci_state_free(st);
}

TEST(rfc3339_nano)
{
	_cleanup_free_ char *t = oci_state_now_rfc3339();
	size_t n = strlen(t);

	CHECK(n >= 20 && n <= 30);
	CHECK(t[4] == '-' && t[10] == 'T' && t[n - 1] == 'Z');
	CHECK(t[n - 2] != '0'); /* Go drops trailing zeros */
}

TEST(cli_flags)
{
	_cleanup_err_ struct husk_err *err = NULL;
	const char *bundle = NULL, *pid = NULL;
	bool all = false;
	long long fds = 0;
	const struct cli_opt opts[] = {
		{"bundle", "b", CLI_STRING, &bundle},
		{"pid-file", NULL, CLI_STRING, &pid},
		{"all", "a", CLI_BOOL, &all},
		{"preserve-fds", NULL, CLI_INT, &fds},
	};
	char *v1[] = {
		"-b", "/x", "id", "--pid-file=/p", "-all", "--preserve-fds",
		"2",  NULL};
	char *v2[] = {"--all=false", "--", "-id", NULL};
	char *v3[] = {"--nope", NULL};
	char *v4[] = {"--bundle", NULL};
	char *v5[] = {"id", "-h", NULL};
	int np;

	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 7, v1, false, &np, &err) == 0);
	CHECK(np == 1);
	CHECK_STR(v1[0], "id");
	CHECK_STR(bundle, "/x");
	CHECK_STR(pid, "/p");
	CHECK(all && fds == 2);
	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 3, v2, false, &np, &err) == 0);
	CHECK(!all && np == 1);
	CHECK_STR(v2[0], "-id");
	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 1, v3, false, &np, &err) < 0);
	CHECK_STR(err->msg, "flag provided but not defined: -nope");
	husk_err_free(&err);
	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 1, v4, false, &np, &err) < 0);
	CHECK_STR(err->msg, "flag needs an argument: -bundle");
	husk_err_free(&err);
	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 2, v5, false, &np, &err) == 1);
	CHECK(cli_nargs("kill", 3, 1, 2, &err) < 0);
	CHECK_STR(err->msg, "\"kill\" requires a maximum of 2 argument(s)");
}

TEST(signal_names)
{
	_cleanup_err_ struct husk_err *err = NULL;
	int s = 0;

	CHECK(husk_parse_signal("TERM", &s, &err) == 0 && s == SIGTERM);
	CHECK(husk_parse_signal("SIGKILL", &s, &err) == 0 && s == SIGKILL);
	CHECK(husk_parse_signal("hup", &s, &err) == 0 && s == SIGHUP);
	CHECK(husk_parse_signal("9", &s, &err) == 0 && s == 9);
	CHECK(husk_parse_signal("RTMIN+2", &s, &err) == 0 && s == SIGRTMIN + 2);
	CHECK(husk_parse_signal("FOO", &s, &err) < 0);
	CHECK_STR(err->msg, "unknown signal \"FOO\"");
	husk_err_free(&err);
	CHECK(husk_parse_signal("0", &s, &err) < 0);
	husk_err_free(&err);
	CHECK(husk_parse_signal("99", &s, &err) < 0);
}

TEST(log_lines)
{
	_cleanup_free_ char *j =
		husk_log_format(true, HUSK_LOG_ERROR, "bad \"x\"\n", "T");
	_cleanup_free_ char *t =
		husk_log_format(false, HUSK_LOG_DEBUG, "hi", "T");

	CHECK_STR(j, "{\"level\":\"error\",\"msg\":\"bad "
		     "\\\"x\\\"\\n\",\"time\":\"T\"}");
	CHECK_STR(t, "time=\"T\" level=debug msg=\"hi\"");
}

TEST(features_truth)
{
	_cleanup_err_ struct husk_err *err = NULL;
	_cleanup_free_ char *j = NULL;

	CHECK(oci_features_json("0", &j, &err) == 0);
	CHECK(strstr(j, "\"seccomp\": {\n            \"enabled\": true") !=
	      NULL);
	CHECK(strstr(j, "\"SCMP_ACT_NOTIFY\"") != NULL);
	CHECK(strstr(j, "\"CAP_SYS_ADMIN\"") != NULL);
	CHECK(strstr(j, "\"user\"") == NULL);
	CHECK(strstr(j, "\"hooks\": [\n        \"prestart\",") != NULL);
	CHECK(strstr(j, "\"poststop\"\n    ]") != NULL);
}

int main(void)
{
	id_table();
	RUN(state_json_round_trip);
	RUN(state_json_rejects_bad);
	RUN(status_derivation);
	RUN(status_of_live_and_dead_processes);
	RUN(state_dir_lifecycle);
	RUN(runc_state_layout);
	RUN(rfc3339_nano);
	RUN(cli_flags);
	RUN(signal_names);
	RUN(log_lines);
	RUN(features_truth);
	UNIT_EXIT();
}
