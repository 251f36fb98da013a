/* A small JSON writer: runc's layouts (json.MarshalIndent with two spaces,
 * json.Marshal on one line) byte for byte. */
#include "oci/jsonw.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

void jsonw_init(struct jsonw *w, const char *indent)
{
	memset(w, 0, sizeof(*w));
	w->indent = indent;
	w->first = true;
}

void jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n + 1)
			cap *= 2;
		w->buf = husk_reallocarray(w->buf, cap, 1);
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void put(struct jsonw *w, const char *s)
{
	jsonw_raw(w, s, strlen(s));
}

static void newline(struct jsonw *w)
{
	if (w->indent == NULL)
		return;
	put(w, "\n");
	for (int i = 0; i < w->depth; i++)
		put(w, w->indent);
}

/* Separator and indentation before a value or a key. */
static void before_item(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first)
		put(w, ",");
	w->first = false;
	newline(w);
}

void jsonw_quote(struct jsonw *w, const char *s)
{
	char esc[8];

	put(w, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const unsigned char *q = p;
		while (*q && *q >= 0x20 && *q != '"' && *q != '\\')
			q++;
		if (q != p) {
			jsonw_raw(w, (const char *)p, (size_t)(q - p));
			p = q;
			if (*p == '\0')
				break;
		}
		switch (*p) {
		case '"':
			put(w, "\\\"");
			break;
		case '\\':
			put(w, "\\\\");
			break;
		case '\n':
			put(w, "\\n");
			break;
		case '\r':
			put(w, "\\r");
			break;
		case '\t':
			put(w, "\\t");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			put(w, esc);
		}
	}
	put(w, "\"");
}

static void begin(struct jsonw *w, const char *open)
{
	before_item(w);
	put(w, open);
	w->depth++;
	w->first = true;
}

static void end(struct jsonw *w, const char *close)
{
	bool empty = w->first;

	w->depth--;
	if (!empty)
		newline(w);
	put(w, close);
	w->first = false;
}

void jsonw_begin_object(struct jsonw *w)
{
	begin(w, "{");
}

void jsonw_end_object(struct jsonw *w)
{
	end(w, "}");
}

void jsonw_begin_array(struct jsonw *w)
{
	begin(w, "[");
}

void jsonw_end_array(struct jsonw *w)
{
	end(w, "]");
}

void jsonw_key(struct jsonw *w, const char *key)
{
	before_item(w);
	jsonw_quote(w, key);
	put(w, w->indent ? ": " : ":");
	w->after_key = true;
}

void jsonw_string(struct jsonw *w, const char *s)
{
	before_item(w);
	jsonw_quote(w, s ? s : "");
}

void jsonw_int(struct jsonw *w, long long v)
{
	char b[32];

	before_item(w);
	snprintf(b, sizeof(b), "%lld", v);
	put(w, b);
}

void jsonw_uint(struct jsonw *w, unsigned long long v)
{
	char b[32];

	before_item(w);
	snprintf(b, sizeof(b), "%llu", v);
	put(w, b);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	before_item(w);
	put(w, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w)
{
	before_item(w);
	put(w, "null");
}

char *jsonw_take(struct jsonw *w)
{
	char *s = w->buf ? w->buf : husk_strdup("");

	w->buf = NULL;
	w->len = w->cap = 0;
	return s;
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}
