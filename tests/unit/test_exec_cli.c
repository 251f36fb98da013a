/* The CLI pieces of `exec` and terminals: repeatable flags (urfave's
 * StringSlice), exec's in-order parsing, runc's console-socket rules. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runtime/cli.h"
#include "tests/unit/unit.h"

TEST(strv_flags_repeat)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct cli_strv env = {0}, caps = {0};
	bool tty = false;
	const struct cli_opt opts[] = {
		{"env", "e", CLI_STRV, &env},
		{"cap", "c", CLI_STRV, &caps},
		{"tty", "t", CLI_BOOL, &tty},
	};
	char *v[] = {"-e", "A=1", "--env=B=2", "-t", "id", "sh",
		     "-e", "C=3", NULL};
	int np;

	/* exec's rule: the words after the id are the command's */
	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 8, v, true, &np, &err) == 0);
	CHECK(np == 4);
	CHECK_STR(v[0], "id");
	CHECK_STR(v[1], "sh");
	CHECK_STR(v[2], "-e");
	CHECK_STR(v[3], "C=3");
	CHECK(v[4] == NULL);
	CHECK(tty);
	CHECK(env.n == 2);
	CHECK_STR(env.v[0], "A=1");
	CHECK_STR(env.v[1], "B=2");
	CHECK(env.v[2] == NULL);
	CHECK(caps.n == 0 && caps.v == NULL);
	free(env.v);
}

TEST(strv_flag_needs_value)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct cli_strv env = {0};
	const struct cli_opt opts[] = {{"env", "e", CLI_STRV, &env}};
	char *v[] = {"-e", NULL};
	int np;

	CHECK(cli_parse(opts, ARRAY_SIZE(opts), 1, v, true, &np, &err) < 0);
	CHECK_STR(err->msg, "flag needs an argument: -e");
	free(env.v);
}

TEST(terminal_rules)
{
	struct husk_err *err = NULL;

	CHECK(husk_check_terminal(false, NULL, false, &err) == 0);
	CHECK(husk_check_terminal(true, "/s", false, &err) == 0);
	CHECK(husk_check_terminal(false, "/s", true, &err) == 0);
	CHECK(husk_check_terminal(true, NULL, false, &err) < 0);
	CHECK_STR(err->msg, "cannot allocate tty if husk will detach without "
			    "setting console socket");
	husk_err_free(&err);
	CHECK(husk_check_terminal(true, "", false, &err) < 0);
	husk_err_free(&err);
	CHECK(husk_check_terminal(false, "/s", false, &err) < 0);
	CHECK_STR(err->msg, "cannot use console socket if husk will not detach "
			    "or allocate tty");
	husk_err_free(&err);
}

TEST(console_listen_and_nobody)
{
	_cleanup_err_ struct husk_err *err = NULL;
	struct husk_console hc;
	int master = 7;

	CHECK(husk_console_listen(&hc, &err) == 0);
	CHECK(hc.fd >= 0 && hc.path != NULL);
	/* nobody connected: the process had no terminal */
	CHECK(husk_console_recv(&hc, &master, &err) == 0);
	CHECK(master == -1);
	husk_console_close(&hc);
	CHECK(hc.path == NULL && hc.fd == -1);
}

int main(void)
{
	RUN(strv_flags_repeat);
	RUN(strv_flag_needs_value);
	RUN(terminal_rules);
	RUN(console_listen_and_nobody);
	UNIT_EXIT();
}
