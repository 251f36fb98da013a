#!/usr/bin/env bash
# linux.seccomp through the real binary: what the process inside saw (the
# configured errno, death by SIGSYS), the notify listener reaching an agent
# at listenerPath, and loading with noNewPrivileges false for a non-root
# user (the filter must go in while CAP_SYS_ADMIN is still held).
source "$(dirname "$0")/../lib.sh"
need_root seccomp_module
[ -x "$HUSK" ] || { fail seccomp_module "no $HUSK: run make first"; exit 1; }

N=0
run_in() {
	local b=$1; shift
	N=$((N + 1)); ID="sc$$-$N"
	OUT=$(cd "$b" && timeout 30 "$HUSK" --root "$ROOT" run "$@" "$ID" 2>&1 </dev/null)
	RC=$?
}
bundle() { B=$T/$1; shift; make_bundle "$B" "$@"; }

# mkdir is mkdir(2) or mkdirat(2) depending on the libc: name both.
MKDIR_RULE='{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1234}'

bundle errno sh -c 'mkdir /dev/shm/x; echo "rc=$?"; echo ok'
cfg "$B" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32'],'syscalls':[$MKDIR_RULE]}"
run_in "$B"
if [[ "$OUT" == *"linux.seccomp: not supported yet"* ]]; then
	skip seccomp_module "husk does not apply linux.seccomp yet (runtime/linux/supported.c)"
	exit 0
fi
expect_match errno_seen "$OUT" "Unknown error 1234"
expect_match errno_others_work "$OUT" "rc=1"$'\n'"ok"

bundle kill sh -c 'mkdir /dev/shm/y; echo "rc=$?"'
cfg "$B" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir','mkdirat'],'action':'SCMP_ACT_KILL_PROCESS'}]}"
run_in "$B"
# the shell reports its child's death ("Bad system call") before the rc
expect_match kill_process_sigsys "$OUT" "(^|"$'\n'")rc=$((128 + 31))\$"

# noNewPrivileges false, uid 1000 without CAP_SYS_ADMIN in the end: the
# load has to come before the capabilities are dropped.
bundle nonnp sh -c 'mkdir /dev/shm/z; echo "rc=$?"; grep NoNewPrivs /proc/self/status | tr -d "\t"'
cfg "$B" "c['process']['noNewPrivileges']=False; c['process']['user']={'uid':1000,'gid':1000}; c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','syscalls':[$MKDIR_RULE]}"
run_in "$B"
expect_match no_nnp_user_loads "$OUT" "Unknown error 1234"
expect_match no_nnp_stays_off "$OUT" "NoNewPrivs:0"

# A seccomp agent: receives the containerProcessState and the listener,
# writes the state to a file, answers the mkdir with errno 3210.
AGENT=$T/agent.sock
python3 - "$AGENT" "$T/agent.out" <<'PY' &
import array, fcntl, json, os, select, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(30)
open(out + ".ready", "w").close()
c, _ = s.accept()
data, fds, _, _ = socket.recv_fds(c, 65536, 4)
while True:
    more = c.recv(65536)
    if not more:
        break
    data += more
st = json.loads(data)
with open(out, "w") as f:
    json.dump({"nfds": len(fds), "state": st}, f)
fd = fds[0]
NOTIF_RECV, NOTIF_SEND = 0xC0502100, 0xC0182101
while True:
    r, _, _ = select.select([fd], [], [], 30)
    if not r:
        break
    req = bytearray(80)
    try:
        fcntl.ioctl(fd, NOTIF_RECV, req)
    except OSError:
        break
    nid = struct.unpack_from("=Q", req, 0)[0]
    fcntl.ioctl(fd, NOTIF_SEND, bytearray(struct.pack("=QqiI", nid, 0, -3210, 0)))
PY
APID=$!
for _ in $(seq 50); do [ -e "$T/agent.out.ready" ] && break; sleep 0.1; done
bundle notify sh -c 'mkdir /dev/shm/n; echo "rc=$?"'
cfg "$B" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'$AGENT','listenerMetadata':'meta-1','syscalls':[{'names':['mkdir','mkdirat'],'action':'SCMP_ACT_NOTIFY'}]}"
run_in "$B"
expect_match notify_agent_answered "$OUT" "Unknown error 3210"
kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null
if [ -f "$T/agent.out" ]; then
	GOT=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["state"]; print(d["nfds"], s["fds"], s.get("metadata"), s["state"]["id"], s["state"]["status"], s["pid"] == s["state"]["pid"])' "$T/agent.out" 2>&1)
	expect notify_process_state "$GOT" "1 ['seccompFd'] meta-1 $ID creating True"
else
	fail notify_process_state "the agent received nothing"
fi
