#!/usr/bin/env bash
# The container lifecycle through the real binary, with runc's words and
# exit codes: create/start/state/kill/delete, run, list, logs, pid files,
# concurrency, bad input (nothing left behind), and CVE-2019-5736.
source "$(dirname "$0")/../lib.sh"
need_root lifecycle

B=$T/b
# The init is pid 1 of its namespace: the kernel drops signals it has no
# handler for, so it traps the ones the tests send.
make_bundle "$B" sh -c 'trap "exit 0" TERM INT HUP; while :; do sleep 0.1; done'

# status ID -> the "status" field of `husk state`
status() {
	h state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null
}
field() {
	h state "$1" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$2\"])" 2>/dev/null
}

# no_leftovers NAME ID ROOTFS: no state dir, no cgroup, no process in ROOTFS.
no_leftovers() {
	local name=$1 id=$2 rootfs=$3 p left=""
	[ -e "$ROOT/$id" ] && left+=" state-dir"
	for p in /sys/fs/cgroup/*/husk/"$id" /sys/fs/cgroup/husk/"$id"; do
		[ -e "$p" ] && left+=" cgroup:$p"
	done
	if [ -n "$rootfs" ]; then
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" == "$rootfs" ] && left+=" process:${p#/proc/}"
		done
	fi
	if [ -z "$left" ]; then pass "$name"; else fail "$name" "left behind:$left"; fi
}

# ---- the full cycle, each status checked ----------------------------------
id=life1
# (stdio of create/run -d goes to files: the init keeps them open, so a
# $(...) capture would wait for the container to exit)
h create --bundle "$B" --pid-file "$T/life.pid" $id >"$T/out" 2>&1
expect create_exit "$?" 0
expect state_created "$(status $id)" created
pid=$(field $id pid)
expect pid_file "$(cat "$T/life.pid" 2>/dev/null)" "$pid"
expect_match pid_file_no_newline "$(od -c "$T/life.pid" | head -1)" '[0-9] *$'
expect state_bundle "$(field $id bundle)" "$B"
expect state_rootfs "$(field $id rootfs)" "$B/rootfs"
expect_match state_created_time "$(field $id created)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]+)?Z$'
expect_match state_layout "$(h state $id | head -3 | tail -1)" '^  "id": "life1",$'
h start $id
expect start_exit "$?" 0
expect state_running "$(status $id)" running
msg=$(h start $id 2>&1); rc=$?
expect start_running_rc "$rc" 1
expect start_running_msg "$msg" "husk: cannot start an already running container"
msg=$(h delete $id 2>&1); rc=$?
expect delete_running_rc "$rc" 1
expect_match delete_running_msg "$msg" "cannot delete container life1 that is not stopped: running"
expect state_still_running "$(status $id)" running
h kill $id KILL
expect kill_exit "$?" 0
for _ in $(seq 50); do [ "$(status $id)" == stopped ] && break; sleep 0.1; done
expect state_stopped "$(status $id)" stopped
expect stopped_pid_zero "$(field $id pid)" 0
msg=$(h kill $id 2>&1); rc=$?
expect kill_stopped_rc "$rc" 1
expect kill_stopped_msg "$msg" "husk: container not running"
h kill --all $id KILL
expect kill_all_stopped_ok "$?" 0
msg=$(h start $id 2>&1); rc=$?
expect start_stopped_rc "$rc" 1
expect start_stopped_msg "$msg" "husk: cannot start a container that has stopped"
h delete $id
expect delete_exit "$?" 0
no_leftovers delete_cleans $id "$B/rootfs"
msg=$(h state $id 2>&1); rc=$?
expect state_unknown_rc "$rc" 1
expect state_unknown_msg "$msg" "husk: container does not exist"
for c in kill delete start; do
	msg=$(h $c nope 2>&1)
	expect_match "${c}_unknown_msg" "$msg" "container does not exist"
done
h delete --force nope
expect delete_force_unknown_ok "$?" 0

# ---- kill by name and number, --all, delete --force ------------------------
kill_case() { # NAME SIGNAL WANT-EXIT
	local id=k$1
	h run -d --bundle "$B" $id >/dev/null 2>&1 || { fail "kill_$1" "run -d failed"; return; }
	local pid
	pid=$(field $id pid)
	h kill $id "$2"
	# the init is not our child: wait until it is gone or a zombie
	for _ in $(seq 50); do [ "$(status $id)" == stopped ] && break; sleep 0.1; done
	expect "kill_$1" "$(status $id)" stopped
	h delete $id >/dev/null 2>&1
}
kill_case name_sig SIGTERM
kill_case name_bare KILL
kill_case name_lower int
kill_case number 9
h run -d --bundle "$B" kdef >/dev/null 2>&1
h kill kdef
for _ in $(seq 50); do [ "$(status kdef)" == stopped ] && break; sleep 0.1; done
expect kill_default_term "$(status kdef)" stopped
h delete kdef
h run -d --bundle "$B" kbad >/dev/null 2>&1
msg=$(h kill kbad FOO 2>&1); rc=$?
expect kill_bad_signal_rc "$rc" 1
expect kill_bad_signal_msg "$msg" 'husk: unknown signal "FOO"'
h kill --all kbad KILL
expect kill_all_running "$?" 0
for _ in $(seq 50); do [ "$(status kbad)" == stopped ] && break; sleep 0.1; done
expect kill_all_stops "$(status kbad)" stopped
h delete kbad
h run -d --bundle "$B" kforce >/dev/null 2>&1
h delete --force kforce
expect delete_force_rc "$?" 0
no_leftovers delete_force_cleans kforce "$B/rootfs"
h create --bundle "$B" kcreated >/dev/null 2>&1
h delete kcreated # runc deletes a created container without --force
expect delete_created_rc "$?" 0
no_leftovers delete_created_cleans kcreated "$B/rootfs"

# ---- run: exit codes, stdio, signals ----------------------------------------
R=$T/r
make_bundle "$R" sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'
out=$(h run --bundle "$R" run3 2>"$T/err"); rc=$?
expect run_exit_3 "$rc" 3
expect run_stdout "$out" to-stdout
expect run_stderr "$(cat "$T/err")" to-stderr
no_leftovers run_deletes run3 "$R/rootfs"
cfg "$R" 'c["process"]["args"] = ["true"]'
h run --bundle "$R" run0
expect run_exit_0 "$?" 0
cfg "$R" 'c["process"]["args"] = ["sleep", "100"]'
h run --bundle "$R" run9 &
rp=$!
for _ in $(seq 50); do [ "$(status run9)" == running ] && break; sleep 0.1; done
h kill run9 KILL
wait $rp
expect run_killed_137 "$?" 137
no_leftovers run_killed_deletes run9 "$R/rootfs"
# a signal sent to `husk run` reaches the container's process
cfg "$R" 'c["process"]["args"] = ["sh", "-c", "trap \"exit 7\" USR1; while :; do sleep 0.1; done"]'
"$HUSK" --root "$ROOT" run --bundle "$R" runsig & # $! must be husk itself
rp=$!
for _ in $(seq 50); do [ "$(status runsig)" == running ] && break; sleep 0.1; done
sleep 0.3 # let sh install its trap
kill -USR1 $rp
wait $rp
expect run_forwards_signal "$?" 7
no_leftovers run_signal_deletes runsig "$R/rootfs"
cfg "$R" 'c["process"]["args"] = ["true"]'
h run --keep --bundle "$R" runkeep
expect run_keep_status "$(status runkeep)" stopped
h delete runkeep
expect run_keep_delete "$?" 0

# ---- list ------------------------------------------------------------------
h create --bundle "$B" la >/dev/null
h run -d --bundle "$B" lb >/dev/null
tab=$(h list)
expect_match list_header "$(echo "$tab" | head -1)" '^ID +PID +STATUS +BUNDLE +CREATED +OWNER$'
expect_match list_row_created "$(echo "$tab" | grep '^la ')" "^la +[0-9]+ +created +$B +[0-9T:.Z-]+ +root$"
expect_match list_row_running "$(echo "$tab" | grep '^lb ')" "^lb +[0-9]+ +running +$B "
expect list_quiet "$(h list -q | tr '\n' ' ')" "la lb "
expect list_json "$(h list --format json | python3 -c 'import json,sys; print(" ".join(c["id"]+":"+c["status"]+":"+c["owner"] for c in json.load(sys.stdin)))')" "la:created:root lb:running:root"
h delete --force la; h delete --force lb
expect list_json_empty "$(h list --format json)" null
expect list_empty "$(h list)" "ID          PID         STATUS      BUNDLE      CREATED     OWNER"

# ---- logs ------------------------------------------------------------------
h --log "$T/log.json" --log-format json kill nope 2>/dev/null
expect log_json_last "$(tail -1 "$T/log.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["level"], d["msg"], len(d["time"]))')" "error container does not exist 20"
h --log "$T/log.txt" state nope 2>/dev/null
expect_match log_text "$(tail -1 "$T/log.txt")" '^time="[0-9T:-]+Z" level=error msg="container does not exist"$'
h --log "$T/log.dbg" --debug list >/dev/null
expect_match log_debug "$(cat "$T/log.dbg")" 'level=debug'

# ---- bad input: a clear message, exit 1, nothing left ----------------------
bad() { # NAME ID WANT-REGEX BUNDLE
	local msg rc
	h create --bundle "$4" "$2" >"$T/out" 2>&1; rc=$?
	msg=$(cat "$T/out")
	if [ "$rc" -ne 0 ] && [[ "$msg" =~ $3 ]]; then pass "$1"; else
		fail "$1" "rc=$rc msg='$msg' want /$3/"; fi
	if [ ${#2} -lt 256 ] && [[ "$2" != */* ]] && [ -n "$2" ]; then
		no_leftovers "$1_leftovers" "$2" "$4/rootfs"
	fi
}
X=$T/x
make_bundle "$X" true
echo '{"ociVersion": "1.0.2", "process": ' >"$X/config.json"
bad bad_json badjson 'husk: config.json: .*invalid JSON' "$X"
make_bundle "$T/norootfs" true
rm -rf "$T/norootfs/rootfs"
bad missing_rootfs norootfs 'husk: .*rootfs.*No such file or directory' "$T/norootfs"
bad id_dotdot '../x' 'invalid container ID format' "$B"
bad id_slash 'a/b' 'invalid container ID format' "$B"
bad id_empty '' 'invalid container ID format' "$B"
bad id_long "$(printf 'x%.0s' $(seq 2000))" 'invalid container ID format' "$B"
expect bad_leave_nothing "$(ls -A "$ROOT")" ""
h create --bundle "$B" dup >/dev/null
h create --bundle "$B" dup >"$T/out" 2>&1; rc=$?
msg=$(cat "$T/out")
expect dup_rc "$rc" 1
expect dup_msg "$msg" "husk: container with id exists: dup"
expect dup_first_intact "$(status dup)" created
h delete --force dup
make_bundle "$T/noexe" nosuchbinary
bad missing_exe noexe 'executable file not found in \$PATH' "$T/noexe"
h --log "$T/bad.json" --log-format json create --bundle "$X" badlog 2>/dev/null
expect_match bad_json_logged "$(tail -1 "$T/bad.json")" '"level":"error","msg":"config.json: '

# ---- kill -9 of husk create at any moment: delete --force cleans up ----------
for d in 0.001 0.004 0.008 0.015 0.03; do
	"$HUSK" --root "$ROOT" create --bundle "$B" k9 >/dev/null 2>&1 &
	p=$!
	sleep $d
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	h delete --force k9 >/dev/null 2>&1
	no_leftovers "kill9_create_$d" k9 "$B/rootfs"
done
expect kill9_root_clean "$(h list -q)" ""

# ---- 20 at once ---------------------------------------------------------------
for i in $(seq 20); do h create --bundle "$B" "par$i" >/dev/null 2>"$T/par$i.err" & done
for i in $(seq 5); do h list >/dev/null 2>>"$T/parlist.err" & done
wait
expect parallel_created "$(h list -q | grep -c '^par')" 20
expect parallel_list_errors "$(cat "$T"/par*.err | wc -c)" 0
expect parallel_json "$(h list --format json | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["status"] == "created"))')" 20
for i in $(seq 20); do
	if [ $((i % 2)) = 0 ]; then h start "par$i" & fi
	h state "par$i" >/dev/null &
done
wait
expect parallel_started "$(h list --format json | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["status"] == "running"))')" 10
for i in $(seq 20); do h delete --force "par$i" 2>>"$T/pardel.err" & done
wait
expect parallel_deleted "$(h list -q | wc -l)" 0
expect parallel_delete_errors "$(cat "$T/pardel.err")" ""
left=$(ls -A "$ROOT"); expect parallel_root_empty "$left" ""

# ---- CVE-2019-5736: no /proc/*/exe a container sees is the host binary ----
C=$T/cve
make_bundle "$C" true
host_id=$(stat -L -c '%d:%i' "$HUSK")
sum_before=$(sha256sum <"$HUSK")
# Without a pid namespace the container sees `husk run` (its parent), and
# with CAP_SYS_PTRACE (a privileged container) it may open its exe.
cfg "$C" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
caps = ["CAP_SYS_PTRACE", "CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_KILL"]
for k in ["bounding", "effective", "permitted"]: c["process"]["capabilities"][k] = caps
c["process"]["args"] = ["sh", "-c", "for p in /proc/[0-9]*; do [ \"$(stat -L -c %d:%i $p/exe 2>/dev/null)\" = \"$HOST\" ] && echo FOUND:$p; done; echo $(readlink /proc/$PPID/exe); (printf x >>/proc/$PPID/exe) 2>/dev/null && echo WROTE; true"]
c["process"]["env"].append("HOST='"$host_id"'")'
out=$(h run --bundle "$C" cve 2>&1)
expect_match cve_parent_is_memfd "$out" 'memfd:husk'
if [[ "$out" == *FOUND* ]]; then fail cve_no_host_exe "$out"; else pass cve_no_host_exe; fi
if [[ "$out" == *WROTE* ]]; then fail cve_exe_not_writable "$out"; else pass cve_exe_not_writable; fi
expect cve_host_binary_unchanged "$(sha256sum <"$HUSK")" "$sum_before"
