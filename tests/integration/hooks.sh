#!/usr/bin/env bash
# OCI hooks through the real binary (config.md#posix-platform-hooks,
# runtime.md#lifecycle): each kind leaves a marker "kind status pid mntns
# root" in a file of the bundle; order, status per kind, where each ran,
# env and args passed exactly, timeout, and the failure rules.
source "$(dirname "$0")/../lib.sh"
need_root hooks
[ -x "$HUSK" ] || { fail hooks "no $HUSK: run make first"; exit 1; }

HOST_MNT=$(readlink /proc/self/ns/mnt)
N=0
new_id() { N=$((N + 1)); ID="hk$$-$N"; }
# create: the init keeps create's stdio, so never a pipe that $(...) waits on.
hcreate() {
	(cd "$B" && h create "$ID" >"$T/create.out" 2>&1 </dev/null)
	RC=$?; OUT=$(cat "$T/create.out")
}

# The hook: POSIX sh, so it runs with the host's /bin/sh and the rootfs's
# busybox alike. "root" tells whether / is the container's rootfs.
HOOK='#!/bin/sh
st=$(cat)
status=$(echo "$st" | sed -n "s/.*\"status\":\"\([a-z]*\)\".*/\1/p")
pid=$(echo "$st" | sed -n "s/.*\"pid\":\([0-9]*\).*/\1/p")
id=$(echo "$st" | sed -n "s/.*\"id\":\"\([^\"]*\)\".*/\1/p")
root=host; [ -e /rootfs-only ] && root=container
echo "$1 $status ${pid:-none} $(readlink /proc/self/ns/mnt) $root $id" >>"$2"
'

# hook_bundle NAME ARGS...: a bundle whose /marks is $B/marks.
hook_bundle() {
	B=$T/$1; shift
	make_bundle "$B" "$@"
	mkdir -p "$B/marks"
	touch "$B/rootfs/rootfs-only"
	printf '%s' "$HOOK" >"$B/rootfs/hook.sh"
	chmod 755 "$B/rootfs/hook.sh"
	cfg "$B" "c['mounts'].append({'destination':'/marks','type':'bind','source':'$B/marks','options':['rbind','rw']})"
}

# hooks_all: every kind runs the marker hook (startContainer by its path
# in the container's root, the others by the host path).
hooks_all() {
	cfg "$B" "
h = lambda k, p, log: {'path': p, 'args': ['hook.sh', k, log]}
hp, log = '$B/rootfs/hook.sh', '$B/marks/log'
c['hooks'] = {k: [h(k, hp, log)] for k in ['prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop']}
c['hooks']['startContainer'] = [h('startContainer', '/hook.sh', '/marks/log')]
"
}

# nothing_left: no container, no state dir, no cgroup of $ID.
nothing_left() {
	local left=""
	[ -z "$(h list -q)" ] || left+=" container"
	[ ! -e "$ROOT/$ID" ] || left+=" state"
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup/memory /sys/fs/cgroup/pids; do
		[ ! -e "$d/husk/$ID" ] || left+=" cgroup:$d"
	done
	expect "$1" "${left:-none}" none
}

# ---- order, status, pid, namespaces ------------------------------------------
hook_bundle order sh -c 'echo ran >/marks/process; sleep 1'
hooks_all
new_id
hcreate; expect create_rc "$RC:$OUT" "0:"
PID=$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
CMNT=$(readlink "/proc/$PID/ns/mnt")
expect create_kinds "$(cut -d' ' -f1 "$B/marks/log" | tr '\n' ' ')" "prestart createRuntime createContainer "
OUT=$(h start "$ID" 2>&1); expect start_rc "$?:$OUT" "0:"
expect start_kinds "$(cut -d' ' -f1 "$B/marks/log" | tr '\n' ' ')" "prestart createRuntime createContainer startContainer poststart "
for _ in $(seq 50); do [ "$(h state "$ID" | grep -c stopped)" = 1 ] && break; sleep 0.1; done
OUT=$(h delete "$ID" 2>&1); expect delete_rc "$?:$OUT" "0:"
expect all_kinds "$(cut -d' ' -f1 "$B/marks/log" | tr '\n' ' ')" "prestart createRuntime createContainer startContainer poststart poststop "
expect process_ran "$(cat "$B/marks/process")" ran
want="prestart creating $PID $HOST_MNT host $ID
createRuntime creating $PID $HOST_MNT host $ID
createContainer creating 1 $CMNT host $ID
startContainer created 1 $CMNT container $ID
poststart running $PID $HOST_MNT host $ID
poststop stopped $PID $HOST_MNT host $ID"
expect markers "$(cat "$B/marks/log")" "$want"

# ---- env and args exactly as given; stdin is the state -----------------------
hook_bundle env true
cfg "$B" "c['annotations'] = {'org.example': 'v'}; c['hooks'] = {'prestart': [{'path': '/usr/bin/python3', 'args': ['hookpy', '-c', 'import sys,json; a=open(\"/proc/self/environ\").read().split(\"\\\\0\")[:-1]; s=json.load(sys.stdin); json.dump([sys.argv[0], a, sorted(s)], open(\"$B/marks/env\",\"w\"))', 'X'], 'env': ['A=1', 'B=two words', 'PATH=/nowhere']}]}"
new_id
OUT=$(cd "$B" && h run "$ID" 2>&1); expect env_run "$?:$OUT" "0:"
expect env_exact "$(cat "$B/marks/env" 2>&1)" '["-c", ["A=1", "B=two words", "PATH=/nowhere"], ["annotations", "bundle", "id", "ociVersion", "pid", "status"]]'

# ---- failures ----------------------------------------------------------------
# A failing prestart, createRuntime or createContainer fails create, and
# nothing is left.
for k in prestart createRuntime createContainer; do
	hook_bundle "fail-$k" true
	cfg "$B" "c['hooks'] = {'$k': [{'path': '/bin/sh', 'args': ['sh', '-c', 'echo boom >&2; exit 3']}]}"
	new_id
	hcreate
	expect "fail_${k}_rc" "$RC" 1
	expect_match "fail_${k}_msg" "$OUT" "$k hook\\[0\\] /bin/sh: exit status 3.*boom"
	nothing_left "fail_${k}_nothing_left"
done

# A hook over its timeout is killed and fails create.
hook_bundle timeout true
cfg "$B" "c['hooks'] = {'createRuntime': [{'path': '/bin/sleep', 'args': ['sleep', '20'], 'timeout': 1}]}"
new_id
S=$(date +%s)
hcreate
expect timeout_rc "$RC" 1
expect_match timeout_msg "$OUT" "createRuntime hook\\[0\\] /bin/sleep: timed out after 1s"
[ $(($(date +%s) - S)) -lt 10 ] && pass timeout_fast || fail timeout_fast "took $(($(date +%s) - S))s"
nothing_left timeout_nothing_left

# startContainer failing fails start; the process never runs.
hook_bundle fail-start sh -c 'echo ran >/marks/process'
cfg "$B" "c['hooks'] = {'startContainer': [{'path': '/bin/sh', 'args': ['sh', '-c', 'exit 4']}]}"
new_id
hcreate
OUT=$(h start "$ID" 2>&1); RC=$?
expect fail_startContainer_rc "$RC" 1
expect_match fail_startContainer_msg "$OUT" "startContainer hook\\[0\\] /bin/sh: exit status 4"
expect fail_startContainer_no_process "$(cat "$B/marks/process" 2>/dev/null)" ""
expect_match fail_startContainer_stopped "$(h state "$ID")" '"status": "stopped"'
h delete --force "$ID" >/dev/null 2>&1

# poststart failing kills the container and fails start.
hook_bundle fail-poststart sleep 100
cfg "$B" "c['hooks'] = {'poststart': [{'path': '/bin/false'}]}"
new_id
hcreate
OUT=$(h start "$ID" 2>&1); RC=$?
expect fail_poststart_rc "$RC" 1
expect_match fail_poststart_msg "$OUT" "poststart hook\\[0\\] /bin/false: exit status 1"
for _ in $(seq 50); do h state "$ID" 2>/dev/null | grep -q '"stopped"' && break; sleep 0.1; done
expect_match fail_poststart_killed "$(h state "$ID")" '"status": "stopped"'
h delete --force "$ID" >/dev/null 2>&1

# poststop failures warn; delete succeeds and every poststop hook runs.
hook_bundle fail-poststop true
cfg "$B" "c['hooks'] = {'poststop': [{'path': '/bin/false'}, {'path': '/bin/sh', 'args': ['sh', '-c', 'echo second >$B/marks/poststop']}]}"
new_id
hcreate
OUT=$(h delete "$ID" 2>&1); RC=$?
expect fail_poststop_rc "$RC" 0
expect_match fail_poststop_warns "$OUT" "warning: .*poststop hook\\[0\\] /bin/false: exit status 1"
expect fail_poststop_rest_ran "$(cat "$B/marks/poststop" 2>&1)" second
nothing_left fail_poststop_nothing_left

# poststop still runs when the bundle is gone (create kept the config).
hook_bundle gone true
cfg "$B" "c['hooks'] = {'poststop': [{'path': '/bin/sh', 'args': ['sh', '-c', 'echo ran >$T/gone-poststop']}]}"
new_id
hcreate
rm -rf "$B"
OUT=$(h delete "$ID" 2>&1); expect poststop_bundle_gone_rc "$?:$OUT" "0:"
expect poststop_bundle_gone_ran "$(cat "$T/gone-poststop" 2>&1)" ran
