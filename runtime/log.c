/* runc-compatible log lines: logrus's JSON and text formatters. */
#include "runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "oci/jsonw.h"

static const char *const level_names[] = {
	[HUSK_LOG_ERROR] = "error",
	[HUSK_LOG_WARN] = "warning",
	[HUSK_LOG_INFO] = "info",
	[HUSK_LOG_DEBUG] = "debug",
};

int husk_log_open(struct husk_log *l, const char *path, const char *format,
		  bool debug, struct husk_err **err)
{
	l->debug = debug;
	if (format == NULL || strcmp(format, "text") == 0)
		l->json = false;
	else if (strcmp(format, "json") == 0)
		l->json = true;
	else
		return husk_err_set(
			err, EINVAL,
			"invalid log-format: %s (want text or json)", format);
	if (path == NULL || *path == '\0')
		return 0;
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (l->fd < 0)
		return husk_err_sys(err, "open log file %s", path);
	return 0;
}

/* logrus's text formatter quotes a value that needs it the way Go's %q
 * does; msg is always quoted by runc's configuration. */
static void quote_text(struct jsonw *w, const char *s)
{
	jsonw_quote(w, s);
}

char *husk_log_format(bool json, enum husk_log_level level, const char *msg,
		      const char *time)
{
	struct jsonw w;

	jsonw_init(&w, NULL);
	if (json) {
		/* logrus sorts the keys: level, msg, time */
		jsonw_begin_object(&w);
		jsonw_key(&w, "level");
		jsonw_string(&w, level_names[level]);
		jsonw_key(&w, "msg");
		jsonw_string(&w, msg);
		jsonw_key(&w, "time");
		jsonw_string(&w, time);
		jsonw_end_object(&w);
	} else {
		jsonw_raw(&w, "time=", 5);
		quote_text(&w, time);
		jsonw_raw(&w, " level=", 7);
		jsonw_raw(&w, level_names[level], strlen(level_names[level]));
		jsonw_raw(&w, " msg=", 5);
		quote_text(&w, msg);
	}
	return jsonw_take(&w);
}

void husk_log(const struct husk_log *l, enum husk_log_level level,
	      const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *line = NULL, *full = NULL;
	char now[64];
	struct tm tm;
	time_t t;
	va_list ap;
	int fd = l->fd;

	if (level == HUSK_LOG_DEBUG && !l->debug)
		return;
	if (fd < 0) {
		if (level != HUSK_LOG_DEBUG)
			return; /* main prints errors to stderr itself */
		fd = STDERR_FILENO;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = husk_log_format(l->json && fd == l->fd, level, msg, now);
	full = husk_asprintf("%s\n", line);
	/* One write: O_APPEND makes it land whole after other writers'. */
	if (husk_write_all(fd, full, strlen(full)) < 0)
		return;
}

void husk_log_close(struct husk_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
