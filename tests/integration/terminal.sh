#!/usr/bin/env bash
# process.terminal: the pty master over --console-socket as runc sends it
# (a receiver like conmon's or containerd's shim), /dev/console, the window
# size, runc's console-socket rules, and `husk run` relaying the pty to the
# caller's terminal.
source "$(dirname "$0")/../lib.sh"
need_root terminal
[ -x "$HUSK" ] || { fail terminal "no $HUSK: run make first"; exit 1; }

N=0
newid() { N=$((N + 1)); ID="tty$$-$N"; }

# The console-socket receiver: accepts one connection, records the data of
# the SCM_RIGHTS message, then (optionally) writes INPUT to the master and
# copies everything the pty gives until it hangs up.
cat >"$T/recv.py" <<'PY'
import array, os, socket, sys, time
path, out, inp = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(30)
c, _ = s.accept()
fds = array.array("i")
msg, anc, flags, _ = c.recvmsg(1024, socket.CMSG_LEN(4 * fds.itemsize))
for lvl, typ, data in anc:
    if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
res = {"data": msg.decode(), "nfds": len(fds), "out": ""}
if fds:
    m = fds[0]
    res["isatty"] = os.isatty(m)
    if inp:
        time.sleep(0.3)
        os.write(m, inp.encode())
    buf = b""
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            d = os.read(m, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
    res["out"] = buf.decode(errors="replace")
open(out, "w").write(repr(res))
PY

# On a pty of python's pty module sized ROWSxCOLS: run husk ARGS, feed
# INPUT; prints the output and the exit status.
cat >"$T/onpty.py" <<'PY'
import fcntl, os, struct, sys, termios, time
rows, cols, inp, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
pid, fd = os.forkpty()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execv(argv[0], argv)
if inp:
    time.sleep(1)
    os.write(fd, inp.encode())
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
print("rc=%d" % os.waitstatus_to_exitcode(st))
PY

tty_bundle() {
	B=$T/$1; shift
	make_bundle "$B" "$@"
	cfg "$B" 'c["process"]["terminal"] = True; c["process"]["consoleSize"] = {"height": 33, "width": 101}'
}

# recv_start SOCK OUT [INPUT]: the receiver in the background, socket ready.
recv_start() {
	rm -f "$1" "$2"
	python3 "$T/recv.py" "$@" &
	RPID=$!
	for _ in $(seq 100); do [ -S "$1" ] && break; sleep 0.05; done
}
field() { python3 -c 'import ast,sys; print(ast.literal_eval(open(sys.argv[1]).read()).get(sys.argv[2]))' "$@"; }

# ---- create + start with --console-socket ------------------------------------
tty_bundle cs sh -c 'tty; stty size; stat -c "%t:%T" /dev/console; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; ls -l /proc/self/fd/ | grep -c "pts/0"; exit 7'
newid
recv_start "$T/cs.sock" "$T/cs.out"
msg=$(cd "$B" && h create --console-socket "$T/cs.sock" "$ID" 2>&1)
expect cs_create "$?:$msg" "0:"
expect cs_status "$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" created
h start "$ID"
wait "$RPID"
expect cs_scm_data "$(field "$T/cs.out" data)" /dev/ptmx
expect cs_one_fd "$(field "$T/cs.out" nfds)" 1
expect cs_master_isatty "$(field "$T/cs.out" isatty)" True
OUT=$(field "$T/cs.out" out | tr -d '\r')
expect_match cs_tty "$OUT" "^/dev/pts/0"
expect_match cs_console_size "$OUT" $'\n33 101\n'
# /dev/console is the pty slave: major 136 (0x88), minor 0
expect_match cs_dev_console "$OUT" $'\n88:0\n'
expect_match cs_stdio_tty "$OUT" $'\nall-tty\n'
for _ in $(seq 50); do
	[ "$(h state "$ID" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = stopped ] && break
	sleep 0.1
done
expect cs_stopped "$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" stopped
h delete "$ID"

# ---- input through the master (what `docker attach` does) -------------------
tty_bundle in sh -c 'read x; echo "got:$x"'
newid
recv_start "$T/in.sock" "$T/in.out" $'hello\n'
(cd "$B" && h run -d --console-socket "$T/in.sock" "$ID") >/dev/null 2>&1
wait "$RPID"
expect_match cs_input "$(field "$T/in.out" out | tr -d '\r')" $'\ngot:hello'
h delete -f "$ID" >/dev/null 2>&1

# ---- runc's rules -------------------------------------------------------------
tty_bundle rules true
newid
msg=$(cd "$B" && h create "$ID" 2>&1)
expect create_tty_no_socket "$?:$msg" "1:husk: cannot allocate tty if husk will detach without setting console socket"
expect create_tty_no_socket_clean "$(h list -q)" ""
msg=$(cd "$B" && h run -d "$ID" 2>&1)
expect run_detach_tty_no_socket "$?:$msg" "1:husk: cannot allocate tty if husk will detach without setting console socket"
make_bundle "$T/notty" true
msg=$(cd "$T/notty" && h create --console-socket "$T/x.sock" "$ID" 2>&1)
expect socket_without_tty "$?:$msg" "1:husk: cannot use console socket if husk will not detach or allocate tty"
msg=$(cd "$B" && h run --console-socket "$T/x.sock" "$ID" 2>&1)
expect socket_without_detach "$?:$msg" "1:husk: cannot use console socket if husk will not detach or allocate tty"
msg=$(cd "$B" && h create --console-socket "$T/none.sock" "$ID" 2>&1)
expect_match socket_missing "$?:$msg" "^1:husk: .*none.sock"
expect socket_missing_clean "$(h list -q)" ""
# a receiver that accepts and closes at once: create fails, nothing left
python3 - "$T/closer.sock" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.close()
PY
RPID=$!
for _ in $(seq 100); do [ -S "$T/closer.sock" ] && break; sleep 0.05; done
newid
msg=$(cd "$B" && timeout 20 "$HUSK" --root "$ROOT" create --console-socket "$T/closer.sock" "$ID" 2>&1); rc=$?
wait "$RPID"
# the kernel may queue the fd before it sees the close: either way no hang
if [ $rc = 124 ]; then fail socket_peer_closes_no_hang "create hung"; else pass socket_peer_closes_no_hang; fi
h delete -f "$ID" >/dev/null 2>&1

# ---- husk run attached to the caller's terminal --------------------------------
tty_bundle pty sh -c 'tty; stty size; exit 7'
newid
OUT=$(cd "$B" && timeout 30 python3 "$T/onpty.py" 40 120 "" "$HUSK" --root "$ROOT" run "$ID")
expect_match run_pty_tty "$OUT" "^/dev/pts/0"
# the caller's window size wins over consoleSize, as runc's resize does
expect_match run_pty_size "$OUT" $'\n40 120\n'
expect_match run_pty_status "$OUT" $'\nrc=7$'
expect run_pty_deleted "$(h list -q)" ""

tty_bundle pin sh -c 'read x; echo "got:$x"; exit 4'
newid
OUT=$(cd "$B" && timeout 30 python3 "$T/onpty.py" 24 80 $'abc\n' "$HUSK" --root "$ROOT" run "$ID")
expect_match run_pty_input "$OUT" $'\ngot:abc\n'
expect_match run_pty_input_status "$OUT" $'\nrc=4$'

# stdin and stdout not terminals: the relay still copies
tty_bundle pnull sh -c 'echo out; [ -t 1 ] && echo is-tty; exit 3'
newid
OUT=$(cd "$B" && timeout 30 "$HUSK" --root "$ROOT" run "$ID" </dev/null 2>&1 | tr -d '\r')
expect run_tty_no_caller_tty "$OUT" $'out\nis-tty'
newid
(cd "$B" && timeout 30 "$HUSK" --root "$ROOT" run "$ID" </dev/null >/dev/null 2>&1)
expect run_tty_status "$?" 3
