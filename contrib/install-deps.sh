#!/usr/bin/env bash
# Installs what building and testing husk needs on Debian 12 (run as root).
# Quick when everything is already there: dpkg is asked first, apt only if needed.
# linux-image-cloud-amd64 is the guest kernel (and its modules go into the
# initramfs); qemu-system-x86 boots that initramfs in a test without KVM.
set -eu
pkgs="build-essential pkg-config libyajl-dev libseccomp-dev libcap-dev libmnl-dev
busybox-static python3 iproute2 procps cpio lz4 clang file
qemu-system-x86 linux-image-cloud-amd64"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
