/* Errors that carry a message naming what failed, and cleanup attributes.
 * A fallible function returns int (< 0 on failure) and fills *err once, where
 * the failure is understood; only a program's main() prints it. */
#ifndef HUSK_ERR_H
#define HUSK_ERR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct husk_err {
	int errnum; /* errno of the failure, 0 if none */
	char *msg;  /* full message, without the "husk: " prefix */
};

/* Set *err to a formatted message; returns -1 so callers can
 * `return husk_err_set(err, EINVAL, "...")`. If *err is already set the
 * new message is dropped (the first failure is the one that matters). */
int husk_err_set(struct husk_err **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like husk_err_set with errnum = errno, appending ": strerror(errno)". */
int husk_err_sys(struct husk_err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepend "<context>: " to an existing error; returns -1. */
int husk_err_prefix(struct husk_err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void husk_err_free(struct husk_err **err);

/* ---- cleanup attributes ------------------------------------------------ */

static inline void husk_freep(void *p)
{
	free(*(void **)p);
}
static inline void husk_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void husk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void husk_strvfreep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_free_ __attribute__((cleanup(husk_freep)))
#define _cleanup_close_ __attribute__((cleanup(husk_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(husk_fclosep)))
#define _cleanup_strv_ __attribute__((cleanup(husk_strvfreep)))
#define _cleanup_err_ __attribute__((cleanup(husk_err_free)))

/* Hand ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                            \
	({                                                                     \
		__typeof__(p) _tmp = (p);                                      \
		(p) = NULL;                                                    \
		_tmp;                                                          \
	})
#define TAKE_FD(fd)                                                            \
	({                                                                     \
		int _tmp = (fd);                                               \
		(fd) = -1;                                                     \
		_tmp;                                                          \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
