#!/usr/bin/env bash
# husk-agent running containers on the host (protocol version 2): started
# as the init of fresh mount and pid namespaces, driven by a python client
# over its unix socket: streams, byte-exact output, exit statuses, signals,
# exec with and without a tty, pause/resume, the stand-in guard, stats,
# update, delete, and bad requests that leave the agent alive.
. "$(dirname "$0")/../lib.sh"
need_root agent_containers

AGENT=$TOP/$BUILD/husk-agent
if [ ! -x "$AGENT" ]; then
	fail agent_containers "$AGENT not built"
	exit 0
fi
sock=$T/a.sock
unshare --mount --pid --fork --mount-proc --propagation private \
	"$AGENT" --listen "unix:$sock" --state "$T/state" >"$T/agent.log" 2>&1 &
upid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { fail agent_containers_start "no socket: $(cat "$T/agent.log")"; exit 0; }

make_bundle "$T/b" sh
py=$T/client.py
cat >"$py" <<'PY'
import json, os, socket, struct, sys, threading, time

sock, bundle, tag = sys.argv[1], sys.argv[2], sys.argv[3]
rootfs = bundle + "/rootfs"
base = json.load(open(bundle + "/config.json"))
ids = [0]

def res(name, ok, why=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)

def conn(timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    return s

def send(s, obj):
    ids[0] += 1
    obj = dict(obj, id=ids[0])
    b = json.dumps(obj).encode()
    s.sendall(struct.pack(">I", len(b)) + b)

def exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b

def recv(s):
    h = exact(s, 4)
    if h is None:
        return None
    return json.loads(exact(s, struct.unpack(">I", h)[0]))

def call(obj, s=None):
    own = s is None
    s = s or conn()
    send(s, obj)
    r = recv(s)
    if own:
        s.close()
    return r

def attach(ctr, stream, exe=None):
    s = conn()
    req = {"op": "attach", "container": ctr, "stream": stream}
    if exe:
        req["exec"] = exe
    r = call(req, s)
    assert r.get("ok"), r
    return s

def readall(s, out):
    b = b""
    while True:
        try:
            c = s.recv(65536)
        except OSError:
            break
        if not c:
            break
        b += c
    out.append(b)

def reader(s):
    out = []
    t = threading.Thread(target=readall, args=(s, out))
    t.start()
    return t, out

def config(args, terminal=False, pidns=True):
    c = json.loads(json.dumps(base))
    c["process"]["args"] = args
    c["process"]["terminal"] = terminal
    if not pidns:
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
    return json.dumps(c)

def create(ctr, args, stdio=(False, False, False), **kw):
    return call({"op": "create", "container": ctr, "rootfs": rootfs,
                 "config": config(args, **kw), "stdin": stdio[0],
                 "stdout": stdio[1], "stderr": stdio[2]})

def proc(args, terminal=False, **kw):
    p = {"args": args, "cwd": "/", "terminal": terminal,
         "env": ["PATH=/bin:/sbin:/usr/bin", "TERM=xterm"],
         "user": {"uid": 0, "gid": 0}}
    p.update(kw)
    return json.dumps(p)

def state(ctr, exe=None):
    req = {"op": "state", "container": ctr}
    if exe:
        req["exec"] = exe
    return call(req)

# ---- 1 MiB of output then exit 3, stdin and stderr --------------------------
c1 = tag + "-io"
si, so, se = attach(c1, "stdin"), attach(c1, "stdout"), attach(c1, "stderr")
r = create(c1, ["sh", "-c", 'read l; echo "in:$l"; echo oops >&2; '
                'yes abcdefg | head -c 1048576; exit 3'], (True, True, True))
res("agent_containers_create", r.get("ok") is True and r.get("pid", 0) > 0, repr(r))
res("agent_containers_state_created", state(c1).get("status") == "created", repr(state(c1)))
to, oo = reader(so)
te, eo = reader(se)
g = conn(30)
send(g, {"op": "wait", "container": c1, "guard": True})
r = call({"op": "start", "container": c1})
res("agent_containers_start", r.get("ok") is True, repr(r))
si.sendall(b"hello\n")
si.close()
w = recv(g)
to.join(30); te.join(30)
want = b"in:hello\n" + (b"abcdefg\n" * 131072)[:1048576]
res("agent_containers_status_3", w is not None and w.get("status") == 3, repr(w))
res("agent_containers_stdout_exact", oo and oo[0] == want,
    "got %d bytes" % (len(oo[0]) if oo else -1))
res("agent_containers_stderr", eo == [b"oops\n"], repr(eo))
st = state(c1)
res("agent_containers_state_stopped", st.get("status") == "stopped" and st.get("exit_status") == 3, repr(st))
res("agent_containers_delete", call({"op": "delete", "container": c1}) == {"id": ids[0], "ok": True})
res("agent_containers_cgroup_removed", not any(os.path.exists("/sys/fs/cgroup/%s/husk/%s" % (h, c1))
    for h in ("unified", "memory", "pids", "freezer")))
g.close()

# ---- signals: 128+N -----------------------------------------------------------
c2 = tag + "-sig"
create(c2, ["sleep", "1000"], pidns=False)
call({"op": "start", "container": c2})
g = conn(30)
send(g, {"op": "wait", "container": c2})
r = call({"op": "signal", "container": c2, "signal": 15})
w = recv(g)
res("agent_containers_sigterm_143", r.get("ok") and w and w.get("status") == 143, "%r %r" % (r, w))
call({"op": "delete", "container": c2})
c3 = tag + "-kill"
create(c3, ["sleep", "1000"])
call({"op": "start", "container": c3})
call({"op": "signal", "container": c3, "signal": 9})
w = call({"op": "wait", "container": c3})
res("agent_containers_sigkill_137", w.get("status") == 137, repr(w))
call({"op": "delete", "container": c3})

# ---- exec, with and without a tty; resize; the guard --------------------------
c4 = tag + "-exec"
create(c4, ["sleep", "1000"])
call({"op": "start", "container": c4})
o = attach(c4, "stdout", "e1")
t, out = reader(o)
r = call({"op": "exec", "container": c4, "exec": "e1", "stdout": True,
          "process": proc(["sh", "-c", "echo out:$(hostname):$$; exit 5"])})
w = call({"op": "wait", "container": c4, "exec": "e1"})
t.join(10)
res("agent_containers_exec", r.get("ok") and w.get("status") == 5, "%r %r" % (r, w))
# hostname of the container's uts namespace; a pid in its pid namespace
res("agent_containers_exec_in_container", out and out[0].startswith(b"out:husk:") and
    out[0] != b"out:husk:1\n", repr(out))
p = attach(c4, "pty", "t1")
r = call({"op": "exec", "container": c4, "exec": "t1",
          "process": proc(["sh", "-c", "tty; stty size; read x; stty size; echo got:$x"], True,
                          consoleSize={"height": 30, "width": 100})})
res("agent_containers_exec_tty", r.get("ok") is True, repr(r))
time.sleep(0.5)
rz = call({"op": "resize", "container": c4, "exec": "t1", "rows": 40, "cols": 120})
p.sendall(b"line\n")
t, out = reader(p)
w = call({"op": "wait", "container": c4, "exec": "t1"})
t.join(10)
txt = out[0].decode(errors="replace") if out else ""
res("agent_containers_exec_tty_output", "/dev/pts/" in txt and "30 100" in txt and
    "40 120" in txt and "got:line" in txt and w.get("status") == 0 and rz.get("ok"), repr((txt, w, rz)))
r = call({"op": "resize", "container": c4, "exec": "e1", "rows": 1, "cols": 1})
res("agent_containers_resize_no_tty", r.get("error") == "resize: the process has no terminal", repr(r))
r = call({"op": "exec", "container": c4, "exec": "e1", "process": proc(["true"])})
res("agent_containers_exec_dup", r.get("error") == 'exec "e1" of container "%s": already exists' % c4, repr(r))
r = call({"op": "exec", "container": c4, "exec": "nf", "process": proc(["nonexistent"])})
res("agent_containers_exec_not_found", r.get("ok") is False and "nonexistent" in r.get("error", ""), repr(r))
r = call({"op": "exec", "container": c4, "exec": "e9", "stdout": True, "process": proc(["true"])})
res("agent_containers_exec_stream_missing", r.get("error") == "stdout: stream not attached", repr(r))
# The guard: closing it kills exactly its process.
for e in ("g1", "g2"):
    call({"op": "exec", "container": c4, "exec": e, "process": proc(["sleep", "1000"])})
g1 = conn()
send(g1, {"op": "wait", "container": c4, "exec": "g1", "guard": True})
g2 = conn()
send(g2, {"op": "wait", "container": c4, "exec": "g2", "guard": True})
time.sleep(0.2)
g1.close()
time.sleep(0.5)
s1, s2, si_ = state(c4, "g1"), state(c4, "g2"), state(c4)
res("agent_containers_guard_kills_its_process", s1.get("status") == "stopped" and
    s1.get("exit_status") == 137, repr(s1))
res("agent_containers_guard_spares_others", s2.get("status") == "running" and
    si_.get("status") == "running", "%r %r" % (s2, si_))
r = call({"op": "delete", "container": c4})
res("agent_containers_delete_running_refused", r.get("error") ==
    'container "%s": is running (force deletes it)' % c4, repr(r))
r = call({"op": "delete", "container": c4, "force": True})
w = recv(g2)
res("agent_containers_delete_force", r.get("ok") is True and w and w.get("status") == 137, "%r %r" % (r, w))
g2.close()
r = state(c4)
res("agent_containers_deleted", r.get("error") == 'container "%s": no such container' % c4, repr(r))

# guard on the init
c5 = tag + "-guard"
create(c5, ["sleep", "1000"])
call({"op": "start", "container": c5})
g = conn()
send(g, {"op": "wait", "container": c5, "guard": True})
time.sleep(0.2)
g.close()
time.sleep(0.5)
st = state(c5)
res("agent_containers_guard_init", st.get("status") == "stopped" and st.get("exit_status") == 137, repr(st))
call({"op": "delete", "container": c5})

# ---- pause/resume, stats, update ---------------------------------------------
c6 = tag + "-busy"
create(c6, ["sh", "-c", "while :; do :; done"])
call({"op": "start", "container": c6})
time.sleep(0.3)
def cpu():
    return call({"op": "stats", "container": c6}).get("cpu_usage_ns", -1)
s = call({"op": "stats", "container": c6})
res("agent_containers_stats", all(isinstance(s.get(k), int) for k in
    ("cpu_usage_ns", "memory_usage", "memory_limit", "pids_current", "pids_limit"))
    and s["cpu_usage_ns"] > 0 and s["pids_current"] >= 1, repr(s))
r = call({"op": "pause", "container": c6})
st = state(c6)
a1 = cpu(); time.sleep(0.5); a2 = cpu()
res("agent_containers_pause", r.get("ok") and st.get("status") == "paused" and a2 - a1 < 5000000,
    "%r %r %d" % (r, st, a2 - a1))
r = call({"op": "resume", "container": c6})
b1 = cpu(); time.sleep(0.5); b2 = cpu()
res("agent_containers_resume", r.get("ok") and state(c6).get("status") == "running" and
    b2 - b1 > 100000000, "%r %d" % (r, b2 - b1))
r = call({"op": "update", "container": c6, "resources": json.dumps({"memory": {"limit": 67108864}, "pids": {"limit": 50}})})
s = call({"op": "stats", "container": c6})
res("agent_containers_update", r.get("ok") and s.get("memory_limit") == 67108864 and
    s.get("pids_limit") == 50, "%r %r" % (r, s))
r = call({"op": "update", "container": c6, "resources": json.dumps({"blockIO": {"weight": 10}})})
res("agent_containers_update_refused", r.get("error") == "resources: blockIO: not supported by husk-agent", repr(r))
r = call({"op": "pause", "container": c6})
r = call({"op": "delete", "container": c6, "force": True})
res("agent_containers_delete_paused", r.get("ok") is True, repr(r))

# ---- bad requests; the agent lives on ----------------------------------------
bad = [
    ({"op": "start", "container": "nope"}, 'container "nope": no such container'),
    ({"op": "create", "container": "x", "rootfs": rootfs, "config": "{"},
     "config: invalid JSON"),
    ({"op": "create", "container": "x", "rootfs": "/nonexistent", "config": config(["true"])},
     "config: rootfs: /nonexistent: No such file or directory"),
    ({"op": "create", "container": "x", "rootfs": "/", "config": config(["true"])},
     "config: rootfs: / cannot be a container's rootfs"),
    ({"op": "create", "container": "x", "rootfs": rootfs, "config": config(["true"])[:-1] +
      ',"bogus":1}'.replace(',"bogus":1}', '}')}, None),
    ({"op": "signal", "container": "nope", "signal": 0}, "signal: must be in 1..64"),
    ({"op": "attach", "container": "../x", "stream": "stdin"}, 'container: invalid id "../x"'),
    ({"op": "exec", "container": "nope", "exec": "e", "process": "[]"}, "process"),
]
for i, (req, want) in enumerate(bad):
    r = call(req)
    if want is None:  # a valid create: clean it up
        call({"op": "delete", "container": req["container"], "force": True})
        continue
    res("agent_containers_bad_%d" % i, r.get("ok") is False and r.get("error", "").startswith(want), repr(r))
nsc = json.loads(config(["true"]))
nsc["linux"]["namespaces"][1]["path"] = "/proc/1/ns/net"
r = call({"op": "create", "container": "x", "rootfs": rootfs, "config": json.dumps(nsc)})
res("agent_containers_ns_path_refused", r.get("error", "").startswith(
    "config: linux.namespaces[1].path: not allowed in husk-agent"), repr(r))
create("dup", ["true"])
r = create("dup", ["true"])
res("agent_containers_dup_create", r.get("error") == 'container "dup": already exists', repr(r))
call({"op": "delete", "container": "dup", "force": True})
s = conn()
s.sendall(b"\xff\xff\xff\xffjunk")
try:
    res("agent_containers_junk_dropped", s.recv(10) == b"")
except OSError:
    res("agent_containers_junk_dropped", True)
res("agent_containers_alive", call({"op": "ping"}).get("ok") is True)
PY
timeout 300 python3 "$py" "$sock" "$T/b" "agt$$" 2>&1 | sed 's/^Traceback/FAIL agent_containers_client: Traceback/'
python3 - "$sock" <<'PY' >/dev/null 2>&1
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
b = json.dumps({"id": 1, "op": "shutdown"}).encode(); s.sendall(struct.pack(">I", len(b)) + b); s.recv(100)
PY
for _ in $(seq 100); do kill -0 "$upid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$upid" 2>/dev/null; then
	fail agent_containers_shutdown "agent still running"
	kill -9 "$upid"
else
	pass agent_containers_shutdown
fi
left=$(ls /sys/fs/cgroup/unified/husk 2>/dev/null | grep "^agt$$-" || true)
[ -z "$left" ] && pass agent_containers_no_cgroups_left || fail agent_containers_no_cgroups_left "$left"
grep -i "sanitizer\|runtime error" "$T/agent.log" && fail agent_containers_agent_clean "$(head -c 300 "$T/agent.log")"
exit 0
