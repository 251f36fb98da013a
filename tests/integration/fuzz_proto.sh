#!/usr/bin/env bash
# Builds the protocol libFuzzer harnesses (the agent's request parser and the
# host's reply parser) and runs each for 5 seconds over the seed corpus:
# PASS when nothing crashed, leaked, tripped a sanitizer or broke a round trip.
. "$(dirname "$0")/../lib.sh"

if ! command -v clang >/dev/null 2>&1; then
	skip fuzz_proto "clang is not installed"
	exit 0
fi
fbuild=$T/build
if ! make -s -C "$TOP" BUILD="$fbuild" fuzz-proto >"$T/build.log" 2>&1; then
	fail fuzz_proto "make fuzz-proto failed: $(tail -n 3 "$T/build.log" | tr '\n' ' ')"
	exit 0
fi
for which in request reply; do
	name=fuzz_proto_$which
	mkdir -p "$T/corpus-$which" "$T/artifacts-$which"
	if (cd "$T/artifacts-$which" && "$fbuild/fuzz/$name" -max_total_time=5 \
		-dict="$TOP/tests/fuzz/proto.dict" -max_len=4096 -rss_limit_mb=2048 \
		"$T/corpus-$which" "$TOP/tests/fuzz/corpus/proto_$which") \
		>"$T/fuzz-$which.log" 2>&1; then
		runs=$(grep -oE 'Done [0-9]+ runs' "$T/fuzz-$which.log" | grep -oE '[0-9]+')
		pass "$name (${runs:-?} runs)"
	else
		crash=$(ls "$T/artifacts-$which" 2>/dev/null | head -n 1)
		fail "$name" "$(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$T/fuzz-$which.log") ${crash:+(input $crash)}"
	fi
done
