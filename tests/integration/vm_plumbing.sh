#!/usr/bin/env bash
# vm mode without KVM: the test build of husk (make test-transport) reaches
# a husk-agent started here, on the host, through $HUSK_TEST_AGENT_SOCKET.
# Covers the stand-in (stdio byte-exact, signals, exit statuses, kill -9),
# create/start/state/kill/delete/run in vm mode, the trust annotations, and
# that the real build never reads the variable.
. "$(dirname "$0")/../lib.sh"
need_root vm_plumbing

TT=${HUSK_TT:-$TOP/build-tt/husk}
AGENT=$TOP/$BUILD/husk-agent
if [ ! -x "$TT" ]; then
	skip vm_plumbing "build-tt/husk not built (make test-transport)"
	exit 0
fi
if [ ! -x "$AGENT" ]; then
	fail vm_plumbing "$AGENT not built"
	exit 0
fi
sock=$T/a.sock
unshare --mount --pid --fork --mount-proc --propagation private \
	"$AGENT" --listen "unix:$sock" --state "$T/state" >"$T/agent.log" 2>&1 &
upid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { fail vm_plumbing_agent "no socket: $(cat "$T/agent.log")"; exit 0; }
export HUSK_TEST_AGENT_SOCKET=$sock
tag=vmp$$
v() { "$TT" --root "$ROOT" --sandbox vm "$@"; }

# agent OP CONTAINER: the agent's reply to a request about a container.
agent() {
	python3 - "$sock" "$1" "$2" <<'PY'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
b = json.dumps({"id": 1, "op": sys.argv[2], "container": sys.argv[3]}).encode()
s.sendall(struct.pack(">I", len(b)) + b)
def ex(n):
    d = b""
    while len(d) < n:
        c = s.recv(n - len(d))
        if not c: sys.exit(1)
        d += c
    return d
r = json.loads(ex(struct.unpack(">I", ex(4))[0]))
print(r.get("status") if r.get("ok") else "error: " + r.get("error", ""))
PY
}

# subreap SCRIPT: run SCRIPT as a child subreaper would (containerd's shim,
# conmon), so the stand-ins husk forks are reaped here; prints one line
# "<pid> <exit status>" per reaped orphan.
subreap() {
	python3 - "$1" <<'PY'
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
p = subprocess.Popen(["bash", "-c", sys.argv[1]])
out, main_done, deadline = [], False, None
while True:
    try:
        pid, st = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    code = os.waitstatus_to_exitcode(st)
    code = 128 - code if code < 0 else code
    if pid == p.pid:
        continue
    out.append("%d %d" % (pid, code))
print("\n".join(out), flush=True)
PY
}

make_bundle "$T/b" sh -c 'cat; echo to-stderr >&2; exit 3'
head -c 1048576 /dev/urandom >"$T/in"

# 1 MiB in through stdin, back out through stdout, then exit 3: the
# stand-in's own status is 3 and every byte arrives.
cd "$T/b"
res=$(subreap "'$TT' --root '$ROOT' --sandbox vm create --pid-file '$T/c1.pid' $tag-c1 <'$T/in' >'$T/out' 2>'$T/err' && '$TT' --root '$ROOT' --sandbox vm start $tag-c1")
spid=$(cat "$T/c1.pid" 2>/dev/null)
expect vm_standin_status_3 "$res" "$spid 3"
if cmp -s "$T/in" "$T/out"; then pass vm_stdio_byte_exact; else
	fail vm_stdio_byte_exact "$(stat -c %s "$T/out") bytes out"; fi
expect vm_stderr "$(cat "$T/err")" "to-stderr"
expect vm_state_stopped "$(v state $tag-c1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" stopped
v delete $tag-c1 && pass vm_delete || fail vm_delete "rc $?"
expect vm_delete_in_agent "$(agent state $tag-c1)" "error: container \"$tag-c1\": no such container"

# run: the same through husk run (the stand-in is run's child).
v run $tag-r1 <"$T/in" >"$T/out2" 2>"$T/run.err"
expect vm_run_status "$?:$(cat "$T/run.err")" "3:to-stderr"
cmp -s "$T/in" "$T/out2" && pass vm_run_byte_exact || fail vm_run_byte_exact "$(stat -c %s "$T/out2") bytes"
expect vm_run_deleted "$(v list -q)" ""

# State transitions and kill: created, running, then a signal through the
# agent. Without a pid namespace the process is not an init, so SIGTERM's
# default action applies.
make_bundle "$T/s" sleep 1000
python3 - "$T/s/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc"]
json.dump(c, open(sys.argv[1], "w"))
PY
cd "$T/s"
st() { v state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
res=$(subreap "
'$TT' --root '$ROOT' --sandbox vm create --pid-file '$T/k.pid' $tag-k </dev/null >/dev/null 2>'$T/k.err' || { cat '$T/k.err' >&2; exit 1; }
'$TT' --root '$ROOT' --sandbox vm state $tag-k >'$T/k.created'
'$TT' --root '$ROOT' --sandbox vm start $tag-k
'$TT' --root '$ROOT' --sandbox vm state $tag-k >'$T/k.running'
'$TT' --root '$ROOT' --sandbox vm kill $tag-k TERM
'$TT' --root '$ROOT' --sandbox vm create --pid-file '$T/u.pid' $tag-u </dev/null >/dev/null 2>'$T/u.err' || { cat '$T/u.err' >&2; exit 1; }
'$TT' --root '$ROOT' --sandbox vm start $tag-u
sleep 0.3
kill -USR1 \$(cat '$T/u.pid')
")
kpid=$(cat "$T/k.pid" 2>/dev/null); upid2=$(cat "$T/u.pid" 2>/dev/null)
jq_status() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"], d["annotations"]["run.husk.sandbox"])' "$1"; }
expect vm_state_created "$(jq_status "$T/k.created")" "created vm"
expect vm_state_running "$(jq_status "$T/k.running")" "running vm"
expect_match vm_kill_term_143 "$res" "(^|
)$kpid 143($|
)"
expect_match vm_signal_forwarded_138 "$res" "(^|
)$upid2 138($|
)"
expect vm_state_after_kill "$(st $tag-k)" stopped
v delete $tag-k; v delete $tag-u

# kill -9 of one stand-in: the agent kills exactly its process.
v create --pid-file "$T/a.pid" $tag-a </dev/null >/dev/null 2>&1
v create --pid-file "$T/b.pid" $tag-b </dev/null >/dev/null 2>&1
v start $tag-a; v start $tag-b
expect vm_standin_name "$(cat /proc/"$(cat "$T/a.pid")"/comm 2>&1)" husk-standin
kill -9 "$(cat "$T/a.pid")"
for _ in $(seq 100); do [ "$(agent state $tag-a)" = stopped ] && break; sleep 0.05; done
expect vm_kill9_kills_its_process "$(agent state $tag-a)" stopped
expect vm_kill9_spares_others "$(agent state $tag-b)" running
expect vm_kill9_state "$(st $tag-a) $(st $tag-b)" "stopped running"
# exec would join the stand-in's (host) namespaces: refused until the
# agent's exec is wired.
out=$(v exec $tag-b true 2>&1); rc=$?
expect vm_exec_refused "$rc:$out" "1:husk: exec: not supported in the vm sandbox yet"
v kill --all $tag-b KILL
for _ in $(seq 100); do [ "$(st $tag-b)" = stopped ] && break; sleep 0.05; done
expect vm_kill_all "$(agent state $tag-b) $(st $tag-b)" "stopped stopped"
v delete $tag-a; v delete --force $tag-b
# delete --force of a running container waits for its stand-in.
v create --pid-file "$T/f.pid" $tag-f </dev/null >/dev/null 2>&1
v start $tag-f
fpid=$(cat "$T/f.pid")
v delete --force $tag-f
if kill -0 "$fpid" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$fpid"/stat)" != Z ]; then
	fail vm_delete_force_waits "stand-in $fpid still running"
else
	pass vm_delete_force_waits
fi
expect vm_delete_force_agent "$(agent state $tag-f)" "error: container \"$tag-f\": no such container"

# A network namespace path: the stand-in runs in it (hooks nsenter -t
# <pid> -n), and the agent gets the config without the path.
if ip netns add $tag 2>/dev/null; then
	python3 - "$T/s/config.json" "/run/netns/$tag" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for n in c["linux"]["namespaces"]:
    if n["type"] == "network":
        n["path"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
PY
	cd "$T/s"
	v create --pid-file "$T/n.pid" $tag-n </dev/null >/dev/null 2>&1
	expect vm_standin_netns "$(stat -L -c %i /proc/"$(cat "$T/n.pid" 2>/dev/null)"/ns/net 2>&1)" \
		"$(stat -L -c %i /run/netns/$tag)"
	expect vm_netns_path_stripped "$(agent state $tag-n)" created
	v delete $tag-n
	ip netns del $tag
else
	skip vm_standin_netns "ip netns add failed"
fi

# Trust: an annotation raises a container floor to vm; asking for
# container under a vm floor is refused, naming the annotation.
make_bundle "$T/t" sh -c 'echo inside'
python3 - "$T/t/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["annotations"] = {"run.husk.sandbox": "vm"}
json.dump(c, open(sys.argv[1], "w"))
PY
cd "$T/t"
out=$("$TT" --root "$ROOT" run --keep $tag-t </dev/null 2>&1)
expect vm_annotation_raises "$out:$("$TT" --root "$ROOT" state $tag-t | python3 -c 'import json,sys; print(json.load(sys.stdin)["annotations"]["run.husk.sandbox"])')" "inside:vm"
"$TT" --root "$ROOT" delete $tag-t
python3 - "$T/t/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["annotations"] = {"run.husk.sandbox": "container"}
json.dump(c, open(sys.argv[1], "w"))
PY
out=$(v create $tag-d </dev/null 2>&1); rc=$?
expect_match vm_downgrade_refused "$rc:$out" '^1:husk: config.json: annotations\["run.husk.sandbox"\]: "container" is below'
expect vm_downgrade_nothing_left "$(v list -q)" ""

# A docker-style id: 64 hex digits.
make_bundle "$T/l" sh -c 'echo inside'
cd "$T/l"
long=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
out=$(v run "$long" </dev/null 2>&1); rc=$?
expect vm_long_id "$rc:$out" "0:inside"

# The test build without the variable: refused, naming it.
out=$(env -u HUSK_TEST_AGENT_SOCKET "$TT" --root "$ROOT" --sandbox vm create $tag-nov 2>&1); rc=$?
expect_match vm_tt_needs_socket "$rc:$out" '^1:husk: sandbox "vm": not available yet: .*HUSK_TEST_AGENT_SOCKET'

# The real build never reads the variable.
out=$("$HUSK" --root "$ROOT" --sandbox vm create $tag-real 2>&1); rc=$?
expect_match vm_real_build_refuses "$rc:$out" '^1:husk: sandbox "vm": not available yet: husk does not boot husk-vmm yet'

python3 - "$sock" <<'PY'
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
b = json.dumps({"id": 1, "op": "shutdown"}).encode(); s.sendall(struct.pack(">I", len(b)) + b); s.recv(100)
PY
for _ in $(seq 100); do kill -0 "$upid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$upid" 2>/dev/null && kill -9 "$upid"
expect vm_nothing_left "$(v list -q)" ""
cd /
rm -rf "$T"
exit 0
