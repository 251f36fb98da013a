#!/usr/bin/env bash
# The cgroup v2 paths on a hybrid host: a private mount namespace where
# /sys/fs/cgroup is the unified hierarchy alone, so husk sees a pure v2
# layout (cgroup.freeze, cgroup.kill, the eBPF device filter, unified keys).
# On this host the controllers are bound to v1, so limits are refused there
# by name; the v2 files resources.c writes are covered by test_cgroups.
if [ "${1:-}" != --inner ]; then
	source "$(dirname "$0")/../lib.sh"
	need_root cgroups_v2
	[ -x "$HUSK" ] || { fail cgroups_v2 "no $HUSK: run make first"; exit 1; }
	if ! grep -q ' - cgroup2 ' /proc/self/mountinfo; then
		skip cgroups_v2 "no cgroup2 hierarchy is mounted"
		exit 0
	fi
	trap - EXIT
	rm -rf "$T"
	exec unshare -m --propagation private bash "$0" --inner
fi
source "$(dirname "$0")/../lib.sh"
u=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
if [ "$u" != /sys/fs/cgroup ]; then
	umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup || {
		fail cgroups_v2_mount "cannot mount cgroup2 on /sys/fs/cgroup"; exit 0; }
fi
CGP=/husk-test-v2-$$
trap 'husk_test_cleanup; rmdir /sys/fs/cgroup$CGP 2>/dev/null' EXIT
B=$T/b
make_bundle "$B" sh -c 'while :; do :; done'
cfg "$B" "c['linux']['cgroupsPath']='$CGP/c1'; c['linux']['resources']['unified']={'cgroup.max.descendants':'3'}; c['mounts'][-1]={'destination':'/sys/fs/cgroup','type':'cgroup2','source':'cgroup2','options':['nosuid','noexec','nodev','ro']}"
(cd "$B" && h run -d c1 </dev/null)
expect v2_run_rc "$?" 0
D=/sys/fs/cgroup$CGP/c1
expect v2_unified_key "$(cat $D/cgroup.max.descendants)" 3
pid=$(h state c1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
expect v2_ps_json "$(h ps --format json c1)" "[$pid]"
h pause c1
expect v2_pause_frozen "$(grep frozen $D/cgroup.events)" "frozen 1"
expect v2_state_paused "$(h state c1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" paused
t1=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 0.4; t2=$(awk '{print $14+$15}' /proc/$pid/stat)
expect v2_paused_no_cpu_time "$t2" "$t1"
h resume c1
expect v2_resume_thawed "$(grep frozen $D/cgroup.events)" "frozen 0"
sleep 0.4; t3=$(awk '{print $14+$15}' /proc/$pid/stat)
if [ "$t3" -gt "$t2" ]; then pass v2_resumed_cpu_time; else fail v2_resumed_cpu_time "$t3 <= $t2"; fi
out=$(h events --stats c1 | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["type"], e["data"]["cpu"]["usage"]["total"] > 0)')
expect v2_events_stats "$out" "stats True"
h pause c1
h delete --force c1
expect v2_delete_paused_rc "$?" 0
if [ -e "$D" ]; then fail v2_delete_paused_clean "$D left"; else pass v2_delete_paused_clean; fi
# limits whose controller this v2 hierarchy lacks are refused by name
for ctrl in memory pids; do
	grep -qw $ctrl /sys/fs/cgroup/cgroup.controllers && continue
	make_bundle "$T/$ctrl" true
	case $ctrl in
	memory) res='{"limit":1048576}'; want='linux.resources.memory: the memory cgroup controller is not available on this host' ;;
	pids) res='{"limit":5}'; want='linux.resources.pids.limit: the pids cgroup controller is not available on this host' ;;
	esac
	cfg "$T/$ctrl" "c['linux']['cgroupsPath']='$CGP/$ctrl'; c['linux']['resources']['$ctrl']=$res"
	out=$(cd "$T/$ctrl" && h run "r$ctrl" 2>&1 </dev/null)
	expect "v2_refuse_$ctrl" "$out" "husk: $want"
	if [ -e "/sys/fs/cgroup$CGP/$ctrl" ]; then fail "v2_refuse_${ctrl}_clean" left; else pass "v2_refuse_${ctrl}_clean"; fi
done
