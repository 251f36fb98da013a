# husk-agent (the guest's /init), build/initramfs.cpio and the protocol
# fuzzers. Included by the top-level Makefile.
#
# The agent runs containers with the same runtime/linux/ and oci/ code as
# container mode. It links dynamically (Debian ships no libmnl.a);
# mkinitramfs.sh copies its shared libraries and the dynamic loader.

AGENT_RT_OBJS := $(call obj,$(OCI_SRCS) $(LINUX_SRCS))
AGENT_LIBS := $(LIBS) -lpthread

$(BUILD)/husk-agent: $(call obj,guest-agent/main.c) $(LIBAGENT) $(AGENT_RT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(call obj,guest-agent/main.c) $(LIBAGENT) \
		$(AGENT_RT_OBJS) $(LIBAGENT) $(AGENT_LIBS)

# The guest kernel's modules come from the installed linux-image-cloud-amd64
# (newest one unless HUSK_KVER names it). `make` builds the initramfs only
# when such a kernel is installed; `make initramfs` says what is missing.
HUSK_KVER ?=
INITRAMFS_COMPRESS ?= none
KMOD_DEPS := $(wildcard /lib/modules/*-cloud-amd64/modules.dep)

.PHONY: initramfs fuzz-proto
initramfs: $(BUILD)/initramfs.cpio

$(BUILD)/initramfs.cpio: $(BUILD)/husk-agent guest-agent/mkinitramfs.sh $(KMOD_DEPS)
	@if [ -n "$(strip $(SAN))" ]; then \
		echo "initramfs: needs a husk-agent built without SAN" >&2; exit 1; fi
	bash guest-agent/mkinitramfs.sh --agent $(BUILD)/husk-agent --out $@ \
		--compress $(INITRAMFS_COMPRESS) $(if $(HUSK_KVER),--kver $(HUSK_KVER))

ifneq ($(KMOD_DEPS),)
ifeq ($(strip $(SAN)),)
all: $(BUILD)/initramfs.cpio
endif
endif

# libFuzzer harnesses for both parsers (tests/fuzz/fuzz_proto.c):
# the agent's request parser and the host's reply parser.
FUZZ_CC ?= clang
PROTO_FUZZ_FLAGS := -std=gnu11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
PROTO_FUZZ_SRCS := tests/fuzz/fuzz_proto.c common/proto.c common/err.c common/util.c

fuzz-proto: $(BUILD)/fuzz/fuzz_proto_request $(BUILD)/fuzz/fuzz_proto_reply

$(BUILD)/fuzz/fuzz_proto_request: $(PROTO_FUZZ_SRCS) common/proto.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(PROTO_FUZZ_FLAGS) -DFUZZ_REQUEST -o $@ $(PROTO_FUZZ_SRCS) -lyajl

$(BUILD)/fuzz/fuzz_proto_reply: $(PROTO_FUZZ_SRCS) common/proto.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(PROTO_FUZZ_FLAGS) -DFUZZ_REPLY -o $@ $(PROTO_FUZZ_SRCS) -lyajl
