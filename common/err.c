/* The husk_err type: one message per failure, written where it is understood. */
#include "common/err.h"

#include <errno.h>
#include <string.h>

static int err_vset(struct husk_err **err, int errnum, const char *suffix,
		    const char *fmt, va_list ap)
{
	char *msg = NULL;
	struct husk_err *e;

	if (err == NULL || *err != NULL)
		return -1;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && suffix) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", msg, suffix) >= 0) {
			free(msg);
			msg = full;
		}
	}
	e->errnum = errnum;
	e->msg = msg ? msg : strdup("out of memory");
	*err = e;
	return -1;
}

int husk_err_set(struct husk_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, errnum, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int husk_err_sys(struct husk_err **err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, saved, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int husk_err_prefix(struct husk_err **err, const char *fmt, ...)
{
	char *prefix = NULL, *full = NULL;
	va_list ap;

	if (err == NULL || *err == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&prefix, fmt, ap) < 0)
		prefix = NULL;
	va_end(ap);
	if (prefix && asprintf(&full, "%s: %s", prefix, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(prefix);
	return -1;
}

void husk_err_free(struct husk_err **err)
{
	if (err && *err) {
		free((*err)->msg);
		free(*err);
		*err = NULL;
	}
}
