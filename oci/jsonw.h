/* A small JSON writer for the documents husk prints and stores (state,
 * features, log lines), where the exact layout matters to clients. */
#ifndef HUSK_OCI_JSONW_H
#define HUSK_OCI_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct jsonw {
	char *buf;
	size_t len, cap;
	const char *indent; /* NULL: one line; else the unit of indentation */
	int depth;
	bool first;	/* no member written yet at this depth */
	bool after_key; /* the next value follows "key": on the same line */
};

/* indent NULL for compact output ("[{"a":1}]"), "  " for runc's layout. */
void jsonw_init(struct jsonw *w, const char *indent);

void jsonw_begin_object(struct jsonw *w);
void jsonw_end_object(struct jsonw *w);
void jsonw_begin_array(struct jsonw *w);
void jsonw_end_array(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, long long v);
void jsonw_uint(struct jsonw *w, unsigned long long v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* Append s as a JSON string literal (quotes included) to w's buffer:
 * control characters as \u00XX, other bytes as they are. */
void jsonw_quote(struct jsonw *w, const char *s);
void jsonw_raw(struct jsonw *w, const char *s, size_t n);

/* Hand the NUL-terminated text over (the writer is reset). */
char *jsonw_take(struct jsonw *w);
void jsonw_free(struct jsonw *w);

#endif
