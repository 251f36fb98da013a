#!/usr/bin/env bash
# Builds husk's initramfs: husk-agent as /init (with its shared libraries and
# the dynamic loader when it is dynamically linked), the guest kernel's
# modules husk needs (with their dependencies, in load order, uncompressed)
# and /lib/modules/husk.order listing them. Needs no root: the cpio (newc)
# is written directly, owners 0:0, so /dev/console can be a device node.
#
# usage: mkinitramfs.sh --agent BIN --out FILE [--kver VER]
#                       [--modules "m1 m2 ..."] [--late-modules "m3 ..."]
#                       [--compress none|lz4|gzip|zstd]
set -euo pipefail

agent="" out="" kver="" compress=none
# Load order is taken from modules.dep. Before the ready marker the guest
# needs the virtio transports (mmio described in ACPI, pci for q35-style
# VMs), vsock to reach the host and rng for early entropy. The "late" ones
# (blk for --blk disks, fuse+virtiofs and overlay for the container rootfs)
# load in the background after the marker: they are half of the module
# time and nothing needs them before the host's first create.
modules="virtio_mmio virtio_pci virtio_rng vmw_vsock_virtio_transport"
late_modules="virtio_blk virtiofs overlay"

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--agent) agent=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--kver) kver=$2; shift 2 ;;
	--modules) modules=$2; shift 2 ;;
	--late-modules) late_modules=$2; shift 2 ;;
	--compress) compress=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
[ -n "$agent" ] && [ -n "$out" ] || die "need --agent BIN and --out FILE"
[ -x "$agent" ] || die "$agent: not an executable (build husk-agent first)"

if [ -z "$kver" ]; then
	kver=$(cd /lib/modules 2>/dev/null && ls -d -- *-cloud-amd64 2>/dev/null |
		sort -V | tail -n 1 || true)
	[ -n "$kver" ] || die "no guest kernel: /lib/modules/*-cloud-amd64 not found;" \
		"install it with: apt-get install linux-image-cloud-amd64"
fi
kdir=/lib/modules/$kver
[ -f "$kdir/modules.dep" ] || die "$kdir/modules.dep not found;" \
	"install it with: apt-get install linux-image-$kver (or linux-image-cloud-amd64)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/husk-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib/modules"

# modules.dep: "kernel/a/b.ko[.xz]: dep1 dep2 ...", every dependency listed
# (transitively); a depth-first walk puts each module after its deps.
declare -A path_of=() deps_of=() seen=()
while IFS= read -r line; do
	p=${line%%:*}
	b=${p##*/}
	b=${b%%.ko*}
	b=${b//-/_}
	path_of[$b]=$p
	deps_of[$b]=${line#*:}
done <"$kdir/modules.dep"

order=()
visit() {
	local m=${1//-/_} d db
	[ -z "${seen[$m]:-}" ] || return 0
	seen[$m]=1
	[ -n "${path_of[$m]:-}" ] || die "module $m: not in $kdir/modules.dep" \
		"(built into this kernel, or not shipped by it)"
	for d in ${deps_of[$m]}; do
		db=${d##*/}
		visit "${db%%.ko*}"
	done
	order+=("$m")
}
for m in $modules; do
	visit "$m"
done
n_early=${#order[@]}
for m in $late_modules; do
	visit "$m"
done

{
	echo "# kernel $kver"
	echo "# husk-agent loads these in order with finit_module(fd, \"\", 0)"
} >"$stage/lib/modules/husk.order"
i=0
for m in "${order[@]}"; do
	if [ "$i" -eq "$n_early" ]; then
		echo "# late: loaded after the ready marker" >>"$stage/lib/modules/husk.order"
	fi
	i=$((i + 1))
	src=$kdir/${path_of[$m]}
	dst=$stage/lib/modules/$m.ko
	# finit_module without MODULE_DECOMPRESS only takes plain ELF.
	case "$src" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "$src: unknown module format" ;;
	esac
	echo "$m.ko" >>"$stage/lib/modules/husk.order"
done

cp "$agent" "$stage/init"
# Debug info is of no use inside the guest and costs boot time to unpack.
strip --strip-all "$stage/init" 2>/dev/null || true
# A dynamic agent brings what ldd lists (libraries and the loader) at the
# same absolute paths; the guest has no ld.so.cache, and the loader's
# built-in search path covers Debian's multiarch directories.
if readelf -l "$agent" 2>/dev/null | grep -q 'INTERP'; then
	libs=$(ldd "$agent" | grep -oE '/[^ ]+' | sort -u) ||
		die "$agent: ldd failed"
	[ -n "$libs" ] || die "$agent: ldd lists no libraries"
	for l in $libs; do
		mkdir -p "$stage$(dirname "$l")"
		cp -L "$l" "$stage$l"
		strip --strip-unneeded "$stage$l" 2>/dev/null || true
	done
fi

mkdir -p "$(dirname "$out")"
tmp=$out.tmp.$$
python3 - "$stage" "$tmp" <<'PY'
# cpio "newc" (the format the kernel unpacks, Documentation/driver-api/
# early-userspace/buffer-format.rst), owners 0:0, fixed mtime: the same
# inputs give the same bytes.
import os, sys

stage, out = sys.argv[1], sys.argv[2]
ino = [1000]

def entry(f, name, mode, data=b"", rdev=(0, 0), nlink=1):
    ino[0] += 1
    nb = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        ino[0], mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
        len(nb), 0))
    f.write(hdr.encode() + nb)
    f.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
    f.write(data)
    f.write(b"\0" * ((4 - len(data) % 4) % 4))

with open(out, "wb") as f:
    for d in ("dev", "proc", "sys", "run", "tmp", "mnt", "lib"):
        entry(f, d, 0o40755 if d != "tmp" else 0o41777, nlink=2)
    # The kernel opens /dev/console for init's stdio before init runs.
    entry(f, "dev/console", 0o20600, rdev=(5, 1))
    for root, dirs, files in os.walk(stage):
        dirs.sort()
        rel = os.path.relpath(root, stage)
        for d in dirs:
            p = os.path.normpath(os.path.join(rel, d))
            if p not in ("lib",):
                entry(f, p, 0o40755, nlink=2)
        for fn in sorted(files):
            p = os.path.normpath(os.path.join(rel, fn))
            with open(os.path.join(root, fn), "rb") as src:
                data = src.read()
            # The loader and libraries are mapped executable (the
            # loader is exec'd by the kernel: it needs the x bit).
            exe = p == "init" or ".so" in fn
            entry(f, p, 0o100755 if exe else 0o100644, data)
    entry(f, "TRAILER!!!", 0, nlink=1)
PY

case "$compress" in
none) ;;
lz4) lz4 -l -9 -q -f "$tmp" "$tmp.c" && mv "$tmp.c" "$tmp" ;;
gzip) gzip -9 -n -c "$tmp" >"$tmp.c" && mv "$tmp.c" "$tmp" ;;
zstd) zstd -q -19 -f "$tmp" -o "$tmp.c" && mv "$tmp.c" "$tmp" ;;
*) rm -f "$tmp"; die "--compress $compress: want none, lz4, gzip or zstd" ;;
esac
mv "$tmp" "$out"
echo "mkinitramfs: $out: kernel $kver, ${#order[@]} modules, $(stat -c %s "$out") bytes"
