/* husk spec: write a default config.json, as `runc spec` does. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/template.h"
#include "runtime/cli.h"

static int spec_main(struct husk_ctx *ctx, int argc, char **argv,
		     struct husk_err **err)
{
	const char *bundle = NULL;
	bool rootless = false;
	const struct cli_opt opts[] = {
		{"bundle", "b", CLI_STRING, &bundle},
		{"rootless", NULL, CLI_BOOL, &rootless},
	};
	_cleanup_free_ char *json = NULL, *path = NULL;
	_cleanup_close_ int fd = -1;
	int npos, r;

	r = cli_parse(opts, ARRAY_SIZE(opts), argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("spec");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("spec", npos, 0, 0, err) < 0)
		return -1;
	path = bundle ? husk_asprintf("%s/config.json", bundle)
		      : husk_strdup("config.json");
	/* runc's words and rule: never overwrite a config someone wrote. */
	if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return husk_err_set(err, EEXIST,
				    "File config.json exists. Remove it first");
	if (oci_template_generate(rootless, &json, err) < 0)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0666);
	if (fd < 0) {
		if (errno == EEXIST)
			return husk_err_set(
				err, EEXIST,
				"File config.json exists. Remove it first");
		return husk_err_sys(err, "open %s", path);
	}
	if (husk_write_all(fd, json, strlen(json)) < 0) {
		husk_err_sys(err, "write %s", path);
		unlink(path);
		return -1;
	}
	return 0;
}

const struct husk_cmd cmd_spec = {
	"spec",
	"create a new specification file",
	"[command options]",
	"DESCRIPTION:\n"
	"   Writes a default config.json (runc's defaults: a non-terminal "
	"shell, the\n"
	"default mounts, namespaces, masked and read-only paths) into the "
	"bundle.\n\n"
	"OPTIONS:\n"
	"   --bundle value, -b value  path to the root of the bundle "
	"directory\n"
	"   --rootless                generate a configuration for a rootless "
	"container\n",
	spec_main,
};
