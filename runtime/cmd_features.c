/* husk features: what this husk supports (runtime-spec features.md). */
#include <stdio.h>

#include "oci/features.h"
#include "runtime/cli.h"

static int features_main(struct husk_ctx *ctx, int argc, char **argv,
			 struct husk_err **err)
{
	_cleanup_free_ char *json = NULL;
	int npos, r;

	r = cli_parse(NULL, 0, argc, argv, false, &npos, err);
	if (r != 0) {
		if (r == 1)
			husk_cmd_help("features");
		return r == 1 ? 0 : -1;
	}
	if (cli_nargs("features", npos, 0, 0, err) < 0)
		return -1;
	if (oci_features_json(HUSK_VERSION, &json, err) < 0)
		return -1;
	fputs(json, stdout);
	return 0;
}

const struct husk_cmd cmd_features = {
	"features",
	"show the enabled features",
	"",
	"DESCRIPTION:\n"
	"   Shows the features husk applies now (runtime-spec features.md); "
	"anything not\n"
	"listed makes create fail with an error naming it.\n",
	features_main,
};
