#!/usr/bin/env bash
# Boot to the agent's ready marker: husk-vmm vs QEMU microvm, same kernel,
# initramfs, command line and memory; median of N runs each, interleaved.
# Time: from process start to the marker line on the serial console (the one
# moment both can be seen from outside; QEMU has no vsock here). Memory: the
# VMM's RSS without the guest-RAM mapping (from /proc/<pid>/smaps) and the
# process's total PSS, sampled when the marker appears.
# Ends with "ratio husk-vmm/qemu = <x.xx>" (boot-to-marker medians).
#   bench/vm-boot.sh [N]   env: KERNEL INITRD MEM QEMU_CPU VM_TIMEOUT
set -u
cd "$(dirname "$0")/.."
N=${1:-20}
BUILD=${BUILD:-build}
VMM=$PWD/$BUILD/husk-vmm
KERNEL=${KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)}
INITRD=${INITRD:-$PWD/$BUILD/initramfs.cpio}
MEM=${MEM:-256}
QEMU_CPU=${QEMU_CPU:-host}
CMDLINE="console=ttyS0 quiet reboot=k panic=-1 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check cryptomgr.notests husk.marker_only=1"

die() { echo "bench: $*" >&2; exit 2; }
[ -x "$VMM" ] || die "no $VMM (run make)"
[ -n "$KERNEL" ] && [ -f "$KERNEL" ] || die "no kernel (set KERNEL=)"
[ -f "$INITRD" ] || die "no $INITRD (run make)"
[ -c /dev/kvm ] || die "no /dev/kvm"
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64"
if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] &&
	[ ! -d /sys/module/kvm_amd ]; then
	die "/dev/kvm is kvm_pvm here: it emulates a non-PVM guest kernel instruction by instruction; boot times would measure that emulator, not the VMMs"
fi

python3 - "$N" "$VMM" "$KERNEL" "$INITRD" "$MEM" "$QEMU_CPU" "$CMDLINE" \
	"${VM_TIMEOUT:-30}" <<'PY'
import os, select, signal, statistics, subprocess, sys, tempfile, time
n, vmm, kernel, initrd, mem, qcpu, cmdline, tmo = sys.argv[1:]
n, mem, tmo = int(n), int(mem), float(tmo)
MARK = b"husk-agent: ready"
tmp = tempfile.mkdtemp(prefix="husk-bench.")

def husk_cmd(i):
    return [vmm, "--kernel", kernel, "--initrd", initrd, "--cmdline", cmdline,
            "--mem", "%dM" % mem, "--vcpus", "1", "--console", "-",
            "--vsock-socket", os.path.join(tmp, "v%d.sock" % i)]

def qemu_cmd(i):
    return ["qemu-system-x86_64", "-M",
            "microvm,acpi=on,x-option-roms=off,rtc=off",
            "-accel", "kvm", "-cpu", qcpu, "-m", "%dM" % mem, "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
            "-append", cmdline, "-device", "virtio-rng-device"]

def smaps(pid, guest_bytes):
    """RSS without the guest-RAM mapping, and total PSS, in KiB."""
    rss = pss = 0
    size = 0
    skip = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                size = hi - lo
                # the guest RAM: husk's memfd, QEMU's big anonymous block
                skip = "husk-guest-ram" in line or size >= guest_bytes
            elif parts[0] == "Rss:" and not skip:
                rss += int(parts[1])
            elif parts[0] == "Pss:":
                pss += int(parts[1])
    return rss, pss

def run(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    buf = b""
    t = None
    mem = (0, 0)
    while time.monotonic() - t0 < tmo:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if not r:
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        if MARK in buf:
            t = (time.monotonic() - t0) * 1000
            try:
                mem = smaps(p.pid, mem_bytes)
            except OSError:
                pass
            break
    p.kill()
    p.wait()
    return t, mem

mem_bytes = mem << 20
res = {"husk-vmm": [], "qemu": []}
mems = {"husk-vmm": [], "qemu": []}
fails = {"husk-vmm": 0, "qemu": 0}
for i in range(n):
    for name, cmd in (("husk-vmm", husk_cmd(i)), ("qemu", qemu_cmd(i))):
        t, m = run(cmd)
        if t is None:
            fails[name] += 1
        else:
            res[name].append(t)
            mems[name].append(m)
for f in os.listdir(tmp):
    os.unlink(os.path.join(tmp, f))
os.rmdir(tmp)
print("kernel %s, initrd %s, %d MiB, %d runs each" % (kernel, initrd, mem, n))
for name in res:
    if not res[name]:
        print("%-8s  no run reached the marker (%d failed)" % (name, fails[name]))
        continue
    rss = statistics.median(m[0] for m in mems[name])
    pss = statistics.median(m[1] for m in mems[name])
    print("%-8s  boot-to-marker median %7.1f ms  min %7.1f  max %7.1f  "
          "VMM RSS w/o guest RAM %6.0f KiB  PSS %7.0f KiB  failures %d" %
          (name, statistics.median(res[name]), min(res[name]),
           max(res[name]), rss, pss, fails[name]))
if res["husk-vmm"] and res["qemu"]:
    print("ratio husk-vmm/qemu = %.2f" %
          (statistics.median(res["husk-vmm"]) / statistics.median(res["qemu"])))
else:
    print("ratio husk-vmm/qemu = n/a")
    sys.exit(1)
PY
