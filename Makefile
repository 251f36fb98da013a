# husk: `make` builds everything into build/, `make check` runs every test,
# `make demo` runs a bundle. Sources are picked up by directory: adding a .c
# file needs no change here.

CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
CFLAGS ?= -O2 -g
SAN ?=

WARN := -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -I. -MMD -MP -fno-strict-aliasing $(SAN)
LIBS := -lyajl -lseccomp -lcap -lmnl
LDFLAGS += $(SAN)

COMMON_SRCS := $(wildcard common/*.c)
OCI_SRCS := $(wildcard oci/*.c)
LINUX_SRCS := $(wildcard runtime/linux/*.c)
RUNTIME_SRCS := $(filter-out runtime/main.c,$(wildcard runtime/*.c))
SHIM_SRCS := $(filter-out shim/main.c,$(wildcard shim/*.c))
VMM_SRCS := $(filter-out vmm/main.c,$(wildcard vmm/*.c vmm/x86/*.c vmm/devices/*.c vmm/virtio/*.c))
AGENT_SRCS := $(filter-out guest-agent/main.c,$(wildcard guest-agent/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBHUSK := $(BUILD)/libhusk.a
LIBVMM := $(BUILD)/libvmm.a
LIBAGENT := $(BUILD)/libagent.a
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

BINS := $(BUILD)/husk
ifneq ($(wildcard vmm/main.c),)
BINS += $(BUILD)/husk-vmm
endif
ifneq ($(wildcard guest-agent/main.c),)
BINS += $(BUILD)/husk-agent
endif

.PHONY: all check demo asan install format lint clean unit deps fuzz
all: $(BINS) $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

$(LIBHUSK): $(call obj,$(COMMON_SRCS) $(OCI_SRCS) $(LINUX_SRCS) $(RUNTIME_SRCS) $(SHIM_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBVMM): $(call obj,$(VMM_SRCS) $(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBAGENT): $(call obj,$(AGENT_SRCS) $(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/husk: $(call obj,runtime/main.c) $(LIBHUSK)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf husk $(BUILD)/husk-vm

$(BUILD)/husk-vmm: $(call obj,vmm/main.c) $(LIBVMM)
	$(CC) $(LDFLAGS) -o $@ $^ -lseccomp -lpthread

-include guest-agent/agent.mk

# Unit tests link every library; the archives pull in only what is used.
$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIBHUSK) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHUSK) $(LIBVMM) $(LIBS) -lpthread

# libFuzzer harnesses (clang only); each links just the sources it tests.
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SPEC_SRCS := oci/spec.c oci/validate.c common/err.c common/util.c
fuzz: $(BUILD)/fuzz/fuzz_spec

$(BUILD)/fuzz/fuzz_spec: tests/fuzz/fuzz_spec.c $(FUZZ_SPEC_SRCS) oci/spec.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(FUZZ_FLAGS) -o $@ \
		tests/fuzz/fuzz_spec.c $(FUZZ_SPEC_SRCS) -lyajl -lcap

# virtqueue walker and virtio-vsock over arbitrary guest memory
FUZZ_VIRTQ_SRCS := vmm/mem.c vmm/event.c $(wildcard vmm/virtio/*.c) \
	common/err.c common/util.c
.PHONY: fuzz-virtq
fuzz: fuzz-virtq
fuzz-virtq: $(BUILD)/fuzz/fuzz_virtq
$(BUILD)/fuzz/fuzz_virtq: tests/fuzz/fuzz_virtq.c $(FUZZ_VIRTQ_SRCS) \
		$(wildcard vmm/virtio/*.h) vmm/mem.h vmm/event.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(FUZZ_FLAGS) -o $@ \
		tests/fuzz/fuzz_virtq.c $(FUZZ_VIRTQ_SRCS) -lpthread

deps:
	@bash contrib/install-deps.sh

check: deps
	$(MAKE) all
	$(MAKE) test-transport
	@BUILD=$(BUILD) bash tests/run

demo: deps
	$(MAKE) all
	@BUILD=$(BUILD) bash contrib/demo.sh

# The test build of husk: vm mode reaches a husk-agent on the host through
# $HUSK_TEST_AGENT_SOCKET (tests/integration/vm_plumbing.sh).
.PHONY: test-transport
test-transport:
	$(MAKE) BUILD=build-tt CFLAGS="$(CFLAGS) -DHUSK_TEST_TRANSPORT" \
		build-tt/husk

asan:
	$(MAKE) BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" CFLAGS="-O1 -g" all

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/husk $(DESTDIR)$(PREFIX)/bin/husk
	ln -sf husk $(DESTDIR)$(PREFIX)/bin/husk-vm
	for b in husk-vmm husk-agent; do \
		[ ! -f $(BUILD)/$$b ] || install -m 0755 $(BUILD)/$$b $(DESTDIR)$(PREFIX)/bin/$$b; done
	[ ! -f $(BUILD)/initramfs.cpio ] || { install -d $(DESTDIR)$(PREFIX)/lib/husk && \
		install -m 0644 $(BUILD)/initramfs.cpio $(DESTDIR)$(PREFIX)/lib/husk/initramfs.cpio; }

SRC_ALL = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(SRC_ALL)

lint:
	clang-tidy --quiet $(filter-out tests/fuzz/%,$(filter %.c,$(SRC_ALL))) -- $(BASE_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem -I. $(filter-out tests/fuzz/%,$(filter %.c,$(SRC_ALL)))

clean:
	rm -rf build build-asan build-tt

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
