#!/usr/bin/env bash
# husk-agent on the host (--listen unix:): the protocol end to end through a
# python client, and the agent surviving garbage and oversize frames.
. "$(dirname "$0")/../lib.sh"

AGENT=$TOP/$BUILD/husk-agent
if [ ! -x "$AGENT" ]; then
	fail agent_host "$AGENT not built"
	exit 0
fi
sock=$T/a.sock
"$AGENT" --listen "unix:$sock" >"$T/agent.log" 2>&1 &
apid=$!
for _ in $(seq 100); do
	grep -q '^husk-agent: ready [0-9]*$' "$T/agent.log" && break
	sleep 0.05
done
expect_match agent_host_ready_marker "$(head -n 1 "$T/agent.log")" '^husk-agent: ready [0-9]+$'
[ -S "$sock" ] && pass agent_host_socket || fail agent_host_socket "$sock is not a socket"

python3 - "$sock" "$(uname -r)" "$(nproc --all)" "$(nproc)" >"$T/client.log" 2>&1 <<'PY' || echo "FAIL agent_host_client: python client died" >>"$T/client.log"
import json, socket, struct, sys

sock, kernel, nproc_all, nproc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def res(name, ok, why=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    return s

def send(s, obj=None, raw=None):
    b = raw if raw is not None else json.dumps(obj).encode()
    s.sendall(struct.pack(">I", len(b)) + b)

def recv(s):
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                return None
            b += c
        return b
    h = exact(4)
    if h is None:
        return None
    body = exact(struct.unpack(">I", h)[0])
    return json.loads(body)

s = conn()
send(s, {"id": 1, "op": "hello", "version": 1})
r = recv(s)
res("agent_host_hello", r is not None and r.get("id") == 1 and r.get("ok") is True, repr(r))
res("agent_host_hello_version", r.get("version") == 1, repr(r))
res("agent_host_hello_kernel", r.get("kernel") == kernel, "%r vs %s" % (r.get("kernel"), kernel))
res("agent_host_hello_nproc", r.get("nproc") in (nproc, nproc_all), "%r" % r.get("nproc"))
res("agent_host_hello_agent", str(r.get("agent", "")).startswith("husk-agent "), repr(r.get("agent")))
res("agent_host_hello_boot_ms", isinstance(r.get("boot_ms"), int) and r["boot_ms"] > 0, repr(r.get("boot_ms")))

# A host newer than the agent gets the agent's version back.
send(s, {"id": 2, "op": "hello", "version": 9})
r = recv(s)
res("agent_host_hello_newer_host", r == dict(r, id=2, ok=True, version=2), repr(r))

send(s, {"id": 3, "op": "ping"})
r = recv(s)
res("agent_host_ping", r == {"id": 3, "ok": True}, repr(r))

# Garbage in a well-formed frame: an error reply, and the stream goes on.
send(s, raw=b"\x00garbage{")
r = recv(s)
res("agent_host_garbage_reply", r is not None and r.get("ok") is False and "id" not in r
    and r.get("error") == "message contains a NUL byte", repr(r))
send(s, {"id": 4, "op": "nope"})
r = recv(s)
res("agent_host_unknown_op", r == {"id": 4, "ok": False, "error": 'op: unknown operation "nope"'}, repr(r))
send(s, {"id": "5", "op": "ping"})
r = recv(s)
res("agent_host_bad_id", r == {"ok": False, "error": "id: must be an integer"}, repr(r))
send(s, {"id": 6, "op": "ping"})
r = recv(s)
res("agent_host_after_garbage", r == {"id": 6, "ok": True}, repr(r))

# Raw garbage that breaks framing: the agent drops this connection only.
s.sendall(b"\xde\xad\xbe\xef garbage")
try:
    r = recv(s)
    res("agent_host_garbage_frame_dropped", r is None, repr(r))
except OSError as e:
    res("agent_host_garbage_frame_dropped", True)
s.close()
s = conn()
send(s, {"id": 7, "op": "ping"})
res("agent_host_next_client", recv(s) == {"id": 7, "ok": True})

# An oversize length: connection dropped without reading the body.
s2 = conn()
s2.sendall(struct.pack(">I", (1 << 20) + 1))
try:
    r = recv(s2)
    res("agent_host_oversize_dropped", r is None, repr(r))
except OSError:
    res("agent_host_oversize_dropped", True)
s2.close()
# Exactly 1 MiB is accepted.
s3 = conn()
pad = b'{"id":8,"op":"ping","pad":"'
body = pad + b"x" * ((1 << 20) - len(pad) - 2) + b'"}'
send(s3, raw=body)
r = recv(s3)
res("agent_host_1mib_frame", r == {"id": 8, "ok": True}, repr(r))
s3.close()

# Several clients at once, each answered on its own stream.
cs = [conn() for _ in range(5)]
for i, c in enumerate(cs):
    send(c, {"id": 100 + i, "op": "ping"})
ok = all(recv(c) == {"id": 100 + i, "ok": True} for i, c in enumerate(cs))
res("agent_host_concurrent_clients", ok)
for c in cs:
    c.close()

# The first connection is still alive after all that.
send(s, {"id": 9, "op": "ping"})
res("agent_host_alive", recv(s) == {"id": 9, "ok": True})

send(s, {"id": 10, "op": "shutdown"})
r = recv(s)
res("agent_host_shutdown_reply", r == {"id": 10, "ok": True}, repr(r))
PY
cat "$T/client.log"
grep -q '^PASS agent_host_shutdown_reply' "$T/client.log" || kill "$apid" 2>/dev/null

# shutdown on the host ends the agent cleanly (status 0) and removes its
# socket; it never reboots anything.
rc=0
for _ in $(seq 100); do
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.05
done
if kill -0 "$apid" 2>/dev/null; then
	fail agent_host_shutdown_exit "agent still running after shutdown"
	kill -9 "$apid"
else
	wait "$apid" || rc=$?
	expect agent_host_shutdown_exit "$rc" 0
fi
[ ! -e "$sock" ] && pass agent_host_socket_removed || fail agent_host_socket_removed "$sock left behind"

# SIGTERM also ends a host agent cleanly.
"$AGENT" --listen "unix:$T/b.sock" >"$T/agent2.log" 2>&1 &
apid=$!
for _ in $(seq 100); do [ -S "$T/b.sock" ] && break; sleep 0.05; done
kill -TERM "$apid"
rc=0; wait "$apid" || rc=$?
expect agent_host_sigterm_exit "$rc" 0

# Bad invocations fail with a clear message.
out=$("$AGENT" 2>&1); rc=$?
expect_match agent_host_usage "$rc:$out" '^2:usage: husk-agent'
out=$("$AGENT" --listen tcp:1 2>&1); rc=$?
expect agent_host_bad_listen "$rc:$out" "1:husk-agent: --listen tcp:1: want unix:PATH or vsock:PORT"
touch "$T/busy"
out=$("$AGENT" --listen "unix:$T/busy" 2>&1); rc=$?
expect agent_host_path_in_use "$rc:$out" "1:husk-agent: bind unix:$T/busy: Address already in use"
[ -e "$T/busy" ] && pass agent_host_keeps_foreign_file || fail agent_host_keeps_foreign_file "removed $T/busy"
