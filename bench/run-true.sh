#!/usr/bin/env bash
# `run` of /bin/true, husk vs crun vs runc, on one bundle (the same config.json
# for every runtime). Runs are interleaved and the order rotates every round;
# a second crun column ("crun#2") is the noise control: its ratio to crun
# shows how far apart two identical runtimes land in this very run.
# Usage: bench/run-true.sh [ROUNDS]   (default 100; needs root)
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${1:-100}
HUSK=${HUSK:-$PWD/build/husk}
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
[ -x "$HUSK" ] || { echo "bench: $HUSK missing: run make first" >&2; exit 1; }
for r in crun runc; do
	command -v $r >/dev/null || { echo "bench: $r missing: apt-get install $r" >&2; exit 1; }
done

W=$(mktemp -d /tmp/husk-bench.XXXXXX)
mounted_hugetlb=
cleanup() {
	[ -z "$mounted_hugetlb" ] || { umount /sys/fs/cgroup/hugetlb; rmdir /sys/fs/cgroup/hugetlb; } 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

# crun 1.8 refuses hybrid hosts whose hugetlb controller sits on the v2 side;
# give it a v1 hierarchy for the bench (husk does not need this).
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] &&
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers &&
	[ ! -d /sys/fs/cgroup/hugetlb ]; then
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && mounted_hugetlb=1
fi

(
	export BUILD=build HUSK
	source tests/lib.sh
	trap - EXIT
	make_bundle "$W/bundle" true
	rm -rf "$T"
)

cc -O2 -o "$W/measure" bench/measure.c

python3 - "$W" "$ROUNDS" "$HUSK" <<'PY'
import os, sys, subprocess, statistics
w, rounds, husk = sys.argv[1], int(sys.argv[2]), sys.argv[3]
measure = os.path.join(w, "measure")
bundle = os.path.join(w, "bundle")
peers = [("husk", husk), ("crun", "crun"), ("runc", "runc"), ("crun#2", "crun")]
times = {n: [] for n, _ in peers}
rss = {n: 0 for n, _ in peers}
devnull = os.open(os.devnull, os.O_RDWR)
def one(name, binary, i):
    root = os.path.join(w, "root-" + name.replace("#", ""))
    argv = [binary, "--root", root, "run", "--bundle", bundle, "b%s%d" % (name.replace("#", ""), i)]
    r = subprocess.run([measure] + argv, stdin=devnull, stdout=devnull,
                       stderr=subprocess.PIPE, text=True)
    code, us, kib = (int(x) for x in r.stderr.split()[-3:])
    if code != 0:
        sys.exit("bench: %s run failed (status %d): %s" % (name, code, " ".join(argv)))
    times[name].append(us / 1000)
    rss[name] = max(rss[name], kib)
for n, b in peers:  # warm-up, not counted
    one(n, b, -1); times[n].clear()
for i in range(rounds):
    k = i % len(peers)
    for n, b in peers[k:] + peers[:k]:
        one(n, b, i)
def p90(v):
    v = sorted(v); return v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
print("runtime   runs  median_ms  p90_ms  peak_rss_kib")
for n, _ in peers:
    print("%-8s %5d %10.2f %7.2f %13d" % (n, len(times[n]), statistics.median(times[n]), p90(times[n]), rss[n]))
med = {n: statistics.median(v) for n, v in times.items()}
print("noise control: crun#2/crun = %.2f" % (med["crun#2"] / med["crun"]))
print("ratio husk/runc = %.2f" % (med["husk"] / med["runc"]))
print("ratio husk/crun = %.2f" % (med["husk"] / med["crun"]))
PY
