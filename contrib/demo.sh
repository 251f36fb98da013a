#!/usr/bin/env bash
# `make demo`: an OCI bundle made from busybox-static, run by husk; prints
# what the container saw, then removes everything it made.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
HUSK=$PWD/$BUILD/husk
[ "$(id -u)" = 0 ] || { echo "demo: run as root (containers need it)" >&2; exit 1; }
W=$(mktemp -d /tmp/husk-demo.XXXXXX)
trap 'rm -rf "$W"' EXIT

mkdir -p "$W/bundle/rootfs/bin"
cp "$(command -v busybox)" "$W/bundle/rootfs/bin/busybox"
for a in $("$W/bundle/rootfs/bin/busybox" --list); do [ -e "$W/bundle/rootfs/bin/$a" ] || ln -s busybox "$W/bundle/rootfs/bin/$a"; done
mkdir -p "$W/bundle/rootfs/"{proc,sys,dev,tmp,etc}
(cd "$W/bundle" && "$HUSK" spec)
# Replace the default interactive shell with a script that reports what it sees.
python3 - "$W/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c",
  "echo \"hostname:  $(hostname)\"; echo \"pid 1:     $(cat /proc/1/cmdline | tr '\\0' ' ')\";"
  " echo \"uid/gid:   $(id)\"; echo \"mounts:\"; grep -o '^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]*' /proc/self/mountinfo | cut -d' ' -f5 | sed 's/^/  /'"]
json.dump(c, open(p, "w"), indent=2)
PY
echo "== husk run (container sandbox)"
"$HUSK" --root "$W/state" run --bundle "$W/bundle" husk-demo
echo "== done: the container is gone"
"$HUSK" --root "$W/state" list
