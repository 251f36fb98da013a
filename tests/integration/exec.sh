#!/usr/bin/env bash
# husk exec: what the new process sees (the init's namespaces, cgroup,
# hostname, mounts), its own env/cwd/user/caps, exit statuses and signals,
# --detach with --pid-file as containerd and podman call it, --process,
# terminals, and runc's errors.
source "$(dirname "$0")/../lib.sh"
need_root exec
[ -x "$HUSK" ] || { fail exec "no $HUSK: run make first"; exit 1; }

ID="ex$$"
B=$T/b
make_bundle "$B" sleep 1000
(cd "$B" && h run -d "$ID") || { fail exec_setup "run -d failed"; exit 1; }
INIT=$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
x() { h exec "$ID" "$@" 2>&1; }

# ---- the init's world -----------------------------------------------------------
expect hostname "$(x hostname)" husk
for ns in mnt uts ipc net pid cgroup; do
	expect "ns_$ns" "$(x readlink /proc/self/ns/$ns)" "$(x readlink /proc/1/ns/$ns)"
done
expect ns_pid_not_host "$(x readlink /proc/self/ns/pid)" "$(x readlink /proc/1/ns/pid)"
[ "$(x readlink /proc/self/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && pass ns_pid_differs_from_host || fail ns_pid_differs_from_host "same as the host's"
expect pid_in_container "$(x sh -c 'ps -o pid | grep -qw $$ && echo inside')" inside
expect sees_init "$(x cat /proc/1/cmdline | tr '\0' ' ')" "sleep 1000 "
expect mounts "$(x sh -c 'cat /proc/self/mountinfo | cut -d" " -f5 | sort' | md5sum)" "$(x sh -c 'cat /proc/1/mountinfo | cut -d" " -f5 | sort' | md5sum)"
expect root_readonly "$(x sh -c 'touch /x 2>/dev/null && echo rw || echo ro')" ro
expect cgroupns_root "$(x sh -c 'grep -c ":/$" /proc/self/cgroup')" "$(x sh -c 'grep -c ":/$" /proc/1/cgroup')"

# ---- detach + pid-file (containerd: exec --process P --detach --pid-file F) -----
cat >"$T/p.json" <<'EOF'
{"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "30"],
 "env": ["PATH=/bin", "A=1"], "cwd": "/", "noNewPrivileges": true,
 "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}}
EOF
# stdio elsewhere: the detached process keeps it open
h exec --process "$T/p.json" --detach --pid-file "$T/pid" "$ID" >"$T/dout" 2>&1
expect detach_rc "$?:$(cat "$T/dout")" "0:"
P=$(cat "$T/pid")
expect_match pid_file_bare "$P" '^[0-9]+$'
expect detach_alive "$(tr '\0' ' ' </proc/$P/cmdline)" "sleep 30 "
expect detach_cgroup "$(cat /proc/$P/cgroup)" "$(cat /proc/$INIT/cgroup)"
for ns in mnt uts ipc net pid cgroup; do
	expect "detach_ns_$ns" "$(readlink /proc/$P/ns/$ns)" "$(readlink /proc/$INIT/ns/$ns)"
done
expect detach_env "$(tr '\0' '\n' </proc/$P/environ | sort | tr '\n' ' ')" "A=1 PATH=/bin "
expect detach_caps "$(grep CapEff /proc/$P/status | cut -f2)" 0000000000000020
expect detach_nnp "$(grep NoNewPrivs /proc/$P/status | cut -f2)" 1
expect detach_in_ps "$(x ps -o comm | grep -c sleep)" 2
kill "$P"

# ---- the process's own settings -------------------------------------------------
expect env_add "$(x env | grep -c '^TERM=xterm$')" 1
expect env_flag "$(h exec -e FOO=bar -e TERM=vt100 "$ID" sh -c 'echo $FOO $TERM; env | grep -c ^TERM=' 2>&1)" $'bar vt100\n1'
expect cwd "$(h exec --cwd /tmp "$ID" pwd 2>&1)" /tmp
expect user "$(h exec -u 1000:1001 -g 7 -g 9 "$ID" sh -c 'id -u; id -g; id -G' 2>&1)" $'1000\n1001\n1001 7 9'
expect user_uid_only "$(h exec --user 1234 "$ID" id -u 2>&1)" 1234
expect caps_default "$(x grep CapEff /proc/self/status | cut -f2)" 0000000020000420
expect caps_add "$(h exec --cap CAP_SYS_ADMIN "$ID" grep CapEff /proc/self/status 2>&1 | cut -f2)" 0000000020200420
expect nnp_config "$(x grep NoNewPrivs /proc/self/status | cut -f2)" 1
cat >"$T/nonnp.json" <<'EOF'
{"args": ["grep", "NoNewPrivs", "/proc/self/status"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["PATH=/bin"]}
EOF
expect nnp_process_json "$(h exec -p "$T/nonnp.json" "$ID" 2>&1 | cut -f2)" 0
expect rlimit_config "$(x sh -c 'ulimit -n')" 1024
expect session_leader "$(x sh -c '[ "$(cut -d" " -f6 /proc/$$/stat)" = "$$" ] && echo leader')" leader
expect fds_clean "$(x ls /proc/self/fd | sort -n | tr '\n' ' ')" "0 1 2 3 "

# ---- exit statuses and signals ----------------------------------------------------
h exec "$ID" sh -c 'exit 3' >/dev/null 2>&1
expect exit_status "$?" 3
h exec "$ID" sh -c 'kill -KILL $$' >/dev/null 2>&1
expect exit_signal "$?" 137
"$HUSK" --root "$ROOT" exec "$ID" sh -c 'exec sleep 20' &
EP=$!
sleep 1
kill -TERM "$EP"
wait "$EP"
expect signal_forwarded "$?" 143
# (zombies are left out: detached processes go to the host's reaper)
expect no_leftover "$(x ps -o stat,comm | awk '$1 !~ /Z/ && $2 == "sleep"' | wc -l)" 1
h exec "$ID" nosuchcmd >/dev/null 2>&1
expect exec_not_found_rc "$?" 1
expect exec_not_found "$(x nosuchcmd)" 'husk: exec: "nosuchcmd": executable file not found in $PATH'

# ---- --preserve-fds ----------------------------------------------------------------
echo preserved >"$T/fd3"
expect preserve_fds "$(h exec --preserve-fds 1 "$ID" cat /proc/self/fd/3 3<"$T/fd3" 2>&1)" preserved
expect no_preserve "$(h exec "$ID" ls /proc/self/fd 3<"$T/fd3" 2>&1 | sort -n | tr '\n' ' ')" "0 1 2 3 "

# ---- terminals -------------------------------------------------------------------
cat >"$T/recv.py" <<'PY'
import array, os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(30)
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(1024, socket.CMSG_LEN(4 * fds.itemsize))
for lvl, typ, data in anc:
    if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
buf = b""
while fds:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    buf += d
open(out, "w").write(msg.decode() + "|" + buf.decode().replace("\r\n", "\n"))
PY
rm -f "$T/e.sock"
python3 "$T/recv.py" "$T/e.sock" "$T/e.out" &
RPID=$!
for _ in $(seq 100); do [ -S "$T/e.sock" ] && break; sleep 0.05; done
h exec -t -d --console-socket "$T/e.sock" --pid-file "$T/tpid" "$ID" sh -c 'tty; [ -t 0 ] && echo tty0' >"$T/dout" 2>&1
expect tty_socket_rc "$?:$(cat "$T/dout")" "0:"
wait "$RPID"
expect tty_socket "$(cat "$T/e.out")" $'/dev/ptmx|/dev/pts/0\ntty0'
cat >"$T/onpty.py" <<'PY'
import fcntl, os, struct, sys, termios
argv = sys.argv[1:]
pid, fd = os.forkpty()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.execv(argv[0], argv)
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
print(out.decode().replace("\r\n", "\n") + "rc=%d" % os.waitstatus_to_exitcode(st))
PY
expect tty_relay "$(timeout 30 python3 "$T/onpty.py" "$HUSK" --root "$ROOT" exec -t "$ID" sh -c 'stty size; exit 5')" $'40 120\nrc=5'
msg=$(h exec -t -d "$ID" true 2>&1)
expect tty_detach_no_socket "$?:$msg" "1:husk: cannot allocate tty if husk will detach without setting console socket"
msg=$(h exec --console-socket "$T/e.sock" "$ID" true 2>&1)
expect socket_attached "$?:$msg" "1:husk: cannot use console socket if husk will not detach or allocate tty"

# ---- refusals and runc's errors -----------------------------------------------------
expect no_args "$(h exec "$ID" 2>&1; echo $?)" $'husk: process args cannot be empty\n1'
expect no_id "$(h exec 2>&1; echo $?)" $'husk: "exec" requires a minimum of 1 argument(s)\n1'
expect unknown "$(h exec nosuch true 2>&1; echo $?)" $'husk: container does not exist\n1'
expect apparmor "$(h exec --apparmor prof "$ID" true 2>&1; echo $?)" $'husk: --apparmor: not supported yet (no AppArmor support)\n1'
expect label "$(h exec --process-label l "$ID" true 2>&1; echo $?)" $'husk: --process-label: not supported yet (no SELinux support)\n1'
expect bad_user "$(h exec -u x "$ID" true 2>&1; echo $?)" $'husk: --user: "x": invalid id\n1'
expect rel_cwd "$(h exec --cwd tmp "$ID" true 2>&1; echo $?)" $'husk: --cwd: "tmp": must be an absolute path\n1'
expect bad_cap "$(h exec --cap CAP_NOPE "$ID" true 2>&1; echo $?)" $'husk: process.capabilities: unknown capability "CAP_NOPE"\n1'
echo '{"args": []}' >"$T/bad.json"
expect_match bad_process_json "$(h exec -p "$T/bad.json" "$ID" 2>&1)" '^husk: --process .*bad.json: process.args'
cat >"$T/aa.json" <<'EOF'
{"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "apparmorProfile": "docker-default"}
EOF
expect apparmor_json "$(h exec -p "$T/aa.json" "$ID" 2>&1)" "husk: process.apparmorProfile: not supported yet"

# ---- a stopped container ------------------------------------------------------------
h kill "$ID" KILL
for _ in $(seq 50); do [ -d /proc/$INIT ] || break; sleep 0.1; done
expect stopped "$(h exec "$ID" true 2>&1; echo $?)" $'husk: cannot exec in a stopped container\n1'
h delete "$ID"
expect deleted "$(h list -q)" ""

# ---- the container's seccomp filter applies to exec'd processes too ----------------
make_bundle "$T/sc" sleep 1000
cfg "$T/sc" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
# (output to a file: the init would hold a $(...) pipe open)
(cd "$T/sc" && h run -d "${ID}sc" >"$T/sc.out" 2>&1)
msg=$(cat "$T/sc.out")
if [ "$msg" = "husk: linux.seccomp: not supported yet" ]; then
	skip exec_seccomp "create refuses linux.seccomp in this build"
else
	expect exec_seccomp_init "$msg" ""
	expect exec_seccomp "$(h exec "${ID}sc" sh -c 'mkdir /tmp/d 2>&1 || echo refused' 2>&1 | tail -1)" refused
	expect exec_seccomp_mode "$(h exec "${ID}sc" grep Seccomp: /proc/self/status 2>&1 | cut -f2)" 2
	expect exec_seccomp_nnp_false "$(h exec -p "$T/nonnp.json" "${ID}sc" 2>&1 | cut -f2)" 0
	h delete -f "${ID}sc" >/dev/null 2>&1
fi
