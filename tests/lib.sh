# Helpers for integration tests: sourced by tests/integration/*.sh.
# Each test prints "PASS name", "FAIL name: why" or "SKIP name: skipped: why".
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
HUSK=${HUSK:-$TOP/$BUILD/husk}
case "$HUSK" in /*) ;; *) HUSK=$TOP/$HUSK ;; esac
T=$(mktemp -d /tmp/husk-test.XXXXXX)
ROOT=$T/root # --root for every husk call of this test file
mkdir -p "$ROOT"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: ${2:-}"; }
skip() { echo "SKIP $1: skipped: $2"; }

# expect NAME GOT WANT
expect() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# expect_match NAME GOT REGEX
expect_match() {
	if [[ "$2" =~ $3 ]]; then pass "$1"; else fail "$1" "got '$2', want match of '$3'"; fi
}

h() { "$HUSK" --root "$ROOT" "$@"; }

need_root() {
	if [ "$(id -u)" != 0 ]; then skip "${1:-$(basename "$0")}" "needs root"; exit 0; fi
}

# make_rootfs DIR: a busybox-static rootfs.
make_rootfs() {
	local r=$1 bb
	bb=$(command -v busybox || echo /bin/busybox)
	mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,var}
	cp "$bb" "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	chmod 1777 "$r/tmp"
}

# make_bundle DIR ARGS...: rootfs plus the default config running ARGS.
make_bundle() {
	local b=$1; shift
	mkdir -p "$b"
	if [ ! -d "$T/.rootfs-cache" ]; then make_rootfs "$T/.rootfs-cache"; fi
	cp -a "$T/.rootfs-cache" "$b/rootfs"
	python3 - "$b/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
c = {
 "ociVersion": "1.0.2",
 "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args or ["sh"],
   "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
   "cwd": "/", "capabilities": {k: caps for k in ["bounding", "effective", "permitted"]},
   "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": True},
 "root": {"path": "rootfs", "readonly": True},
 "hostname": "husk",
 "mounts": [
   {"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
   {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
   {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
   {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
   {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
   {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}],
 "linux": {
   "resources": {"devices": [{"allow": False, "access": "rwm"}]},
   "namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount", "cgroup"]],
   "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
     "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
   "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]}}
json.dump(c, open(path, "w"), indent=1)
PY
}

# cfg BUNDLE 'python statements on c': edit config.json in place.
cfg() {
	python3 - "$1/config.json" "$2" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
exec(sys.argv[2])
json.dump(c, open(p, "w"), indent=1)
PY
}

husk_test_cleanup() {
	local id
	for id in $("$HUSK" --root "$ROOT" list -q 2>/dev/null); do
		"$HUSK" --root "$ROOT" delete --force "$id" >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap husk_test_cleanup EXIT
