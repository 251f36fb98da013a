/* `--log FILE --log-format text|json`: runc's log lines (logrus), which
 * containerd's shim reads back (the last line's "msg" is the error). */
#ifndef HUSK_LOG_H
#define HUSK_LOG_H

#include <stdbool.h>

#include "common/err.h"

enum husk_log_level {
	HUSK_LOG_ERROR,
	HUSK_LOG_WARN,
	HUSK_LOG_INFO,
	HUSK_LOG_DEBUG
};

struct husk_log {
	int fd;	    /* -1: no --log */
	bool json;  /* --log-format json */
	bool debug; /* --debug */
};

#define HUSK_LOG_INIT            \
	{                        \
		-1, false, false \
	}

/* format is NULL or "text" or "json"; path NULL means no file. The file is
 * opened O_APPEND so lines from concurrent commands never interleave. */
int husk_log_open(struct husk_log *l, const char *path, const char *format,
		  bool debug, struct husk_err **err);

/* One line: {"level":"error","msg":"...","time":"2026-11-25T09:00:00Z"} or
 * time="2026-11-25T09:00:00Z" level=error msg="...". Debug lines are kept
 * only with --debug, and go to stderr when there is no --log. */
void husk_log(const struct husk_log *l, enum husk_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The line itself (no newline), for the unit tests. */
char *husk_log_format(bool json, enum husk_log_level level, const char *msg,
		      const char *time);

void husk_log_close(struct husk_log *l);

#endif
