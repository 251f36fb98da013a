#!/usr/bin/env bash
# Builds the virtqueue/vsock libFuzzer harness and runs it for 10 seconds
# over the seed corpus: PASS when nothing crashed or tripped a sanitizer.
. "$(dirname "$0")/../lib.sh"

name=fuzz_virtq
if ! command -v clang >/dev/null 2>&1; then
	skip "$name" "clang is not installed"
	exit 0
fi
fbuild=$T/build
if ! make -s -C "$TOP" BUILD="$fbuild" fuzz-virtq >"$T/build.log" 2>&1; then
	fail "$name" "make fuzz-virtq failed: $(tail -n 3 "$T/build.log" | tr '\n' ' ')"
	exit 0
fi
mkdir -p "$T/corpus" "$T/artifacts"
if (cd "$T/artifacts" && "$fbuild/fuzz/fuzz_virtq" -max_total_time=10 \
	-max_len=65600 -rss_limit_mb=2048 \
	"$T/corpus" "$TOP/tests/fuzz/corpus/virtq") >"$T/fuzz.log" 2>&1; then
	runs=$(grep -oE 'Done [0-9]+ runs' "$T/fuzz.log" | grep -oE '[0-9]+')
	pass "$name (${runs:-?} runs)"
else
	crash=$(ls "$T/artifacts" 2>/dev/null | head -n 1)
	fail "$name" "$(grep -m1 -E 'ERROR|SUMMARY' "$T/fuzz.log") ${crash:+(input $crash)}"
fi
