/* A tiny unit-test harness: each TEST is a function; results are printed one
 * line each ("PASS name", "FAIL name: why") for tests/run to count. */
#ifndef HUSK_UNIT_H
#define HUSK_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_ctx {
	const char *name;
	int failed;
};

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			printf("FAIL %s: %s:%d: %s\n", u_->name, __FILE__,      \
			       __LINE__, #c);                                  \
			u_->failed = 1;                                        \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {         \
			printf("FAIL %s: %s:%d: got \"%s\", want \"%s\"\n",    \
			       u_->name, __FILE__, __LINE__,                   \
			       a_ ? a_ : "(null)", b_ ? b_ : "(null)");        \
			u_->failed = 1;                                        \
			return;                                                \
		}                                                              \
	} while (0)

#define TEST(fn) static void fn(struct unit_ctx *u_)

/* Run one TEST; a test may also report a case name of its own with
 * unit_report() for table-driven tests. */
#define RUN(fn)                                                                \
	do {                                                                   \
		struct unit_ctx c_ = {#fn, 0};                                 \
		fn(&c_);                                                       \
		if (!c_.failed)                                                \
			printf("PASS %s\n", #fn);                              \
		unit_failures_ += c_.failed;                                   \
	} while (0)

static int unit_failures_;

static inline void unit_report(const char *name, int ok, const char *why)
{
	if (ok)
		printf("PASS %s\n", name);
	else
		printf("FAIL %s: %s\n", name, why ? why : "");
	unit_failures_ += !ok;
}

#define UNIT_EXIT() return unit_failures_ ? 1 : 0

#endif
