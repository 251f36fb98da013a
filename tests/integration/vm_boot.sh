#!/usr/bin/env bash
# husk-vmm end to end: argument errors (no KVM needed); with /dev/kvm the
# seccomp kill, then booting Debian's cloud kernel with build/initramfs.cpio
# to husk-agent over vsock (hello/ping, nproc with 2 vCPUs, shutdown ending
# husk-vmm with 0), 10 VMs at once, and what kill -9 leaves behind.
source "$(dirname "$0")/../lib.sh"

VMM=$TOP/$BUILD/husk-vmm
INITRD=$TOP/$BUILD/initramfs.cpio
KERNEL=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$KERNEL" ] || KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
CMDLINE="console=ttyS0 quiet reboot=k panic=-1 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check cryptomgr.notests"
BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-30}

if [ ! -x "$VMM" ]; then
	skip vm_boot "husk-vmm not built ($VMM)"
	exit 0
fi

# vmm_err NAME WANT ARGS...: husk-vmm fails at once, status 1, and says WANT.
vmm_err() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout 10 "$VMM" "$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -eq 1 ] && [[ "$out" == *"$want"* ]]; then
		pass "$name"
	else
		fail "$name" "status $rc, output '$out', want status 1 and '$want'"
	fi
}

echo "not a kernel" >"$T/text"
K=${KERNEL:-/nonexistent}
vmm_err vmm_arg_no_kernel "--kernel is required" --mem 128M
vmm_err vmm_arg_missing_kernel \
	"--kernel $T/nope: No such file or directory" --kernel "$T/nope"
vmm_err vmm_arg_not_bzimage \
	"$T/text: not a bzImage (no \"HdrS\" setup header) nor an ELF vmlinux" \
	--kernel "$T/text"
vmm_err vmm_arg_missing_initrd "--initrd $T/nope: No such file or directory" \
	--kernel "$K" --initrd "$T/nope"
vmm_err vmm_arg_mem_small "--mem 16M: must be between 64M and 256G" \
	--kernel "$K" --mem 16M
vmm_err vmm_arg_mem_bad "--mem lots: not a size" --kernel "$K" --mem lots
vmm_err vmm_arg_vcpus "--vcpus 0: must be 1..32" --kernel "$K" --vcpus 0
vmm_err vmm_arg_vcpus_big "--vcpus 33: must be 1..32" --kernel "$K" --vcpus 33
vmm_err vmm_arg_blk "--blk /x: not supported yet" --kernel "$K" --blk /x
vmm_err vmm_arg_fs "--fs-socket /x,tag: not supported yet" \
	--kernel "$K" --fs-socket /x,tag
vmm_err vmm_arg_unknown "--frobnicate: unknown option" --frobnicate
if [ -n "$KERNEL" ]; then
	long=$(head -c 3000 /dev/zero | tr '\0' a)
	vmm_err vmm_arg_cmdline \
		"kernel command line is 3000 bytes, $KERNEL accepts at most" \
		--kernel "$KERNEL" --cmdline "$long"
	longpath=$T/$(head -c 100 /dev/zero | tr '\0' s)
	vmm_err vmm_arg_vsock_long "path too long for a unix socket" \
		--kernel "$KERNEL" --vsock-socket "$longpath"
	touch "$T/taken.sock"
	vmm_err vmm_arg_vsock_exists "--vsock-socket $T/taken.sock: already exists" \
		--kernel "$KERNEL" --vsock-socket "$T/taken.sock"
else
	skip vmm_arg_cmdline "no /boot/vmlinuz-*"
fi

if [ ! -c /dev/kvm ] || ! { exec 9<>/dev/kvm; } 2>/dev/null; then
	skip vm_boot "no /dev/kvm"
	exit 0
fi
exec 9>&-
if [ -z "$KERNEL" ]; then
	skip vm_boot "no /boot/vmlinuz-* (apt-get install linux-image-cloud-amd64)"
	exit 0
fi

# The seccomp filter: a syscall outside the allow-list kills husk-vmm with
# SIGSYS (128 + 31), after it has confined itself and started the guest.
timeout 20 "$VMM" --kernel "$KERNEL" --cmdline "$CMDLINE" --mem 128M \
	--test-forbidden-syscall >/dev/null 2>&1
expect vmm_seccomp_kills "$?" 159
# ...and the allow-list is enough for a running VM: stopped by SIGTERM after
# two seconds of guest execution, it exits through its own cleanup.
out=$(timeout --preserve-status -s TERM 2 "$VMM" --kernel "$KERNEL" --cmdline "$CMDLINE" \
	--mem 128M --vsock-socket "$T/term.sock" 2>&1)
rc=$?
expect_match vmm_seccomp_allows_run "$rc:$out" '^1:husk-vmm: stopped by signal 15$'
if [ -e "$T/term.sock" ]; then
	fail vmm_sigterm_cleanup "$T/term.sock left behind"
else
	pass vmm_sigterm_cleanup
fi

# Some hosts offer /dev/kvm from kvm_pvm (nested, without hardware
# virtualization): it runs only PVM-enabled guest kernels natively and
# emulates any other kernel instruction by instruction, which takes minutes
# and stops at instructions its emulator lacks (cmpxchg16b, xsave).
if [ -d /sys/module/kvm_pvm ] && [ ! -d /sys/module/kvm_intel ] &&
	[ ! -d /sys/module/kvm_amd ]; then
	skip vm_boot "/dev/kvm is kvm_pvm here, which cannot run the distribution kernel at usable speed; needs hardware KVM (kvm_intel/kvm_amd)"
	exit 0
fi
if [ ! -f "$INITRD" ]; then
	skip vm_boot "no $INITRD yet (built by make from guest-agent/, the agent engineer's part)"
	exit 0
fi

# agent SOCK OP...: connect through the vsock socket, CONNECT 1024, send
# each op and print "op=<reply json>" lines; hello first.
agent() {
	python3 - "$@" <<'PY'
import json, socket, struct, sys
path, ops = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(path)
s.sendall(b"CONNECT 1024\n")
line = b""
while not line.endswith(b"\n"):
    c = s.recv(1)
    if not c:
        sys.exit("vsock: closed before OK")
    line += c
if not line.startswith(b"OK "):
    sys.exit("vsock: got %r" % line)
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("agent closed the stream")
        b += c
    return b
for i, op in enumerate(ops, 1):
    req = {"id": i, "op": op}
    if op == "hello":
        req["version"] = 1
    body = json.dumps(req).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    n, = struct.unpack(">I", recvn(4))
    print(op + "=" + recvn(n).decode())
PY
}

# boot NAME VCPUS: start a VM in the background; sets PID and SOCK.
boot() {
	local name=$1 vcpus=$2
	SOCK=$T/$name.sock
	"$VMM" --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$CMDLINE" \
		--mem 256M --vcpus "$vcpus" --vsock-socket "$SOCK" \
		--console "$T/$name.console" --verbose 2>"$T/$name.log" &
	PID=$!
}

# wait_ready NAME: the agent's marker on the serial console.
wait_ready() {
	local i
	for ((i = 0; i < BOOT_TIMEOUT * 10; i++)); do
		grep -q "husk-agent: ready" "$T/$1.console" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

boot vm1 2
if ! wait_ready vm1; then
	fail vm_boot_ready "no ready marker in ${BOOT_TIMEOUT}s: $(tail -5 "$T/vm1.console" "$T/vm1.log" 2>/dev/null | tr '\n' ' ')"
	kill -9 "$PID" 2>/dev/null
	exit 0
fi
pass vm_boot_ready
out=$(agent "$SOCK" hello ping 2>&1)
expect_match vm_agent_ping "$out" 'ping=\{"id": ?2, ?"ok": ?true'
expect_match vm_two_vcpus "$out" '"nproc": ?2'
grep -E "kernel entry|agent ready" "$T/vm1.log" | sed 's/^/# /'
agent "$SOCK" shutdown >/dev/null 2>&1
wait "$PID"
expect vm_shutdown_exit0 "$?" 0
if [ -e "$SOCK" ]; then
	fail vm_shutdown_cleanup "$SOCK left behind"
else
	pass vm_shutdown_cleanup
fi

# Ten VMs at once, one vCPU each.
pids=()
for i in $(seq 1 10); do
	boot many$i 1
	pids+=("$PID")
done
ok=0
for i in $(seq 1 10); do
	if wait_ready many$i &&
		agent "$T/many$i.sock" hello ping 2>/dev/null | grep -q '^ping=.*"ok": *true'; then
		ok=$((ok + 1))
	fi
	agent "$T/many$i.sock" shutdown >/dev/null 2>&1
done
expect vm_ten_at_once "$ok" 10
rcs=0
for p in "${pids[@]}"; do
	wait "$p" || rcs=$((rcs + 1))
done
expect vm_ten_exit0 "$rcs" 0

# kill -9: husk-vmm cannot clean up; what is left is the socket (which husk
# removes), nothing else.
mkdir "$T/k9"
"$VMM" --kernel "$KERNEL" --initrd "$INITRD" --cmdline "$CMDLINE" \
	--mem 256M --vsock-socket "$T/k9/v.sock" >/dev/null 2>&1 &
PID=$!
sleep 1
kill -9 "$PID"
wait "$PID" 2>/dev/null
rm -f "$T/k9/v.sock" "$T"/k9/v.sock_*
left=$(ls -A "$T/k9")
expect vm_kill9_leaves_nothing "$left" ""
