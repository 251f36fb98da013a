#!/usr/bin/env bash
# linux.resources on this host's cgroup layout: what the process inside
# sees, what the host's cgroup files hold, `update`, `pause`/`resume`,
# `ps`, and that nothing is left behind.
source "$(dirname "$0")/../lib.sh"
need_root cgroups
[ -x "$HUSK" ] || { fail cgroups "no $HUSK: run make first"; exit 1; }

N=0
newid() { N=$((N + 1)); ID="cg$$-$N"; CGP="/husk-test-$$/$ID"; }
bundle() { B=$T/$1; shift; make_bundle "$B" "$@"; }
# with_res BUNDLE 'python dict': set linux.resources (devices kept) and a
# unique cgroupsPath.
with_res() {
	cfg "$1" "c['linux']['resources'].update($2); c['linux']['cgroupsPath']='$CGP'"
}
run_in() {
	local b=$1; shift
	OUT=$(cd "$b" && timeout 30 "$HUSK" --root "$ROOT" run "$@" "$ID" 2>&1 </dev/null)
	RC=$?
}
v1() { echo /sys/fs/cgroup/$1$CGP/$2; }
cleanup_cg() {
	local d
	for d in /sys/fs/cgroup/*/husk-test-$$; do [ -d "$d" ] && rmdir "$d"; done
}
trap 'husk_test_cleanup; cleanup_cg' EXIT

if [ ! -d /sys/fs/cgroup/memory ] || [ ! -d /sys/fs/cgroup/cpu ]; then
	skip cgroups "the v1 memory and cpu controllers are not mounted"
	exit 0
fi

# ---- limits at create, read back inside ---------------------------------
newid
bundle limits sh -c 'cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes memory/memory.swappiness cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us pids/pids.max cpuset/cpuset.cpus | tr "\n" " "; grep oom_kill_disable memory/memory.oom_control'
with_res "$B" '{"memory":{"limit":67108864,"reservation":33554432,"swappiness":10,"disableOOMKiller":True},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},"pids":{"limit":42}}'
run_in "$B"
expect inside_limits "$OUT" "67108864 33554432 10 512 50000 100000 42 0 oom_kill_disable 1"
expect_match inside_limits_rc "$RC" '^0$'
if [ -e "$(dirname "$(v1 memory x)")" ]; then
	fail limits_cgroup_removed "$(v1 memory '') left behind"
else pass limits_cgroup_removed; fi

# memsw = limit + swap (v1 semantics of the spec's swap)
if [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
	newid
	bundle swap cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes
	with_res "$B" '{"memory":{"limit":67108864,"swap":134217728}}'
	run_in "$B"
	expect memsw_limit "$OUT" 134217728
else
	skip memsw_limit "no memory.memsw (swapaccount=0)"
fi

# cpu burst, realtime, idle where the kernel has the files
newid
bundle burst cat /sys/fs/cgroup/cpu/cpu.cfs_burst_us
with_res "$B" '{"cpu":{"quota":20000,"period":100000,"burst":10000}}'
if [ -e /sys/fs/cgroup/cpu/cpu.cfs_burst_us ]; then
	run_in "$B"
	expect cpu_burst "$OUT" 10000
else skip cpu_burst "no cpu.cfs_burst_us"; fi

# pids.limit refuses forks inside
newid
bundle forks sh -c 'sh -c "for i in 1 2 3 4 5 6 7 8; do sleep 10 & done" >/dev/shm/log 2>&1; grep -q "can.t fork" /dev/shm/log && echo refused; cat /sys/fs/cgroup/pids/pids.max'
with_res "$B" '{"pids":{"limit":5}}'
run_in "$B"
expect pids_limit_refuses_forks "$OUT" "refused
5"

# hugepageLimits: v1 hugetlb if mounted, else the unified hierarchy's.
newid
bundle huge true
with_res "$B" '{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}'
if [ -d /sys/fs/cgroup/hugetlb ] ||
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
	bundle huge2 sh -c 'sleep 3'
	with_res "$B" '{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}'
	(cd "$B" && "$HUSK" --root "$ROOT" run -d "$ID" >/dev/null 2>&1 </dev/null)
	f=/sys/fs/cgroup/hugetlb$CGP/hugetlb.2MB.limit_in_bytes
	[ -e "$f" ] || f=/sys/fs/cgroup/unified$CGP/hugetlb.2MB.max
	expect hugetlb_limit "$(cat "$f" 2>&1)" 4194304
	h delete --force "$ID" >/dev/null 2>&1
else
	run_in "$B"
	expect hugetlb_refused "$OUT" "husk: linux.resources.hugepageLimits: the hugetlb cgroup controller is not available on this host"
fi

# Controllers this host lacks are refused by name, and leave nothing.
refused() {
	newid
	bundle "r$1" true
	with_res "$B" "$2"
	run_in "$B"
	expect "refuse_$1" "$OUT" "husk: $3"
	if [ -n "$(ls -d /sys/fs/cgroup/*$CGP 2>/dev/null)" ] || [ -e "$ROOT/$ID" ]; then
		fail "refuse_$1_clean" "left behind"
	else pass "refuse_$1_clean"; fi
}
[ -d /sys/fs/cgroup/net_cls ] ||
	refused classid '{"network":{"classID":1048577}}' "linux.resources.network.classID: no net_cls cgroup controller is mounted"
[ -d /sys/fs/cgroup/rdma ] ||
	refused rdma '{"rdma":{"mlx5_0":{"hcaHandles":3}}}' "linux.resources.rdma: the rdma cgroup controller is not available on this host"
refused kerneltcp '{"memory":{"kernelTCP":1048576}}' "linux.resources.memory.kernelTCP: kernel TCP memory limits are not supported"
refused unified_name '{"unified":{"../memory.max":"1"}}' 'config.json: linux.resources.unified["../memory.max"]: invalid cgroup file name'
grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null ||
	refused unified_ctrl '{"unified":{"memory.max":"1000000"}}' 'linux.resources.unified["memory.max"]: the memory controller is not enabled in /sys/fs/cgroup/unified'
refused swappiness '{"memory":{"swappiness":101}}' "config.json: linux.resources.memory.swappiness: must be in [0, 100]"

# ---- update, pause/resume, ps on a running container ---------------------
# start_bg NAME RES ARGS...: a detached container; ID, B, CGP set.
start_bg() {
	local name=$1 res=$2; shift 2
	newid
	bundle "$name" "$@"
	with_res "$B" "$res"
	(cd "$B" && timeout 30 "$HUSK" --root "$ROOT" run -d "$ID" >/dev/null 2>"$T/err" </dev/null)
}
status_of() { h state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
# utime (field 14) + stime of a pid
cputime() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_bg upd '{"memory":{"limit":67108864},"cpu":{"quota":50000,"period":100000},"pids":{"limit":42}}' sh -c 'while :; do cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes >/dev/shm/seen; sleep 0.1; done'
upid=$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
h update --memory 134217728 --cpu-quota 20000 --cpu-period 50000 --pids-limit 17 --cpu-shares 256 --memory-reservation 1m "$ID"
expect update_rc "$?" 0
expect update_flags "$(cat "$(v1 memory memory.limit_in_bytes)" "$(v1 memory memory.soft_limit_in_bytes)" "$(v1 cpu cpu.cfs_quota_us)" "$(v1 cpu cpu.cfs_period_us)" "$(v1 cpu cpu.shares)" "$(v1 pids pids.max)" | tr '\n' ' ')" "134217728 1048576 20000 50000 256 17 "
echo '{"memory":{"limit":33554432},"pids":{"limit":-1},"cpu":{"cpus":"0"}}' >"$T/res.json"
h update --resources "$T/res.json" "$ID"
expect update_resources_file "$(cat "$(v1 memory memory.limit_in_bytes)" "$(v1 pids pids.max)" "$(v1 cpuset cpuset.cpus)" | tr '\n' ' ')" "33554432 max 0 "
echo '{"pids":{"limit":9}}' | h update -r - "$ID"
expect update_resources_stdin "$(cat "$(v1 pids pids.max)")" 9
sleep 0.5
expect update_seen_inside "$(tr '\n' ' ' <"/proc/$upid/root/dev/shm/seen")" "9 33554432 "
msg=$(h update --memory lots "$ID" 2>&1)
expect update_bad_flag "$msg" 'husk: invalid value "lots" for flag --memory'
msg=$(echo '{"memory":{"limit":"x"}}' | h update -r - "$ID" 2>&1)
expect_match update_bad_json "$msg" '^husk: --resources -: .*memory.limit'
h delete --force "$ID"

# pause freezes a busy loop; resume continues it
start_bg busy '{}' sh -c 'while :; do :; done'
pid=$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
sleep 0.3
h pause "$ID"
expect pause_rc "$?" 0
expect state_paused "$(status_of "$ID")" paused
expect freezer_frozen "$(cat "$(v1 freezer freezer.state)")" FROZEN
t1=$(cputime "$pid"); sleep 0.5; t2=$(cputime "$pid")
expect paused_no_cpu_time "$t2" "$t1"
msg=$(h pause "$ID" 2>&1)
expect pause_twice "$msg" "husk: container not running"
h resume "$ID"
expect resume_rc "$?" 0
expect state_running_again "$(status_of "$ID")" running
sleep 0.5; t3=$(cputime "$pid")
if [ "$t3" -gt "$t2" ]; then pass resumed_cpu_time; else fail resumed_cpu_time "$t3 <= $t2"; fi
msg=$(h resume "$ID" 2>&1)
expect resume_not_paused "$msg" "husk: container not paused"

# ps: json is the cgroup's pids; table is ps -ef filtered
expect ps_json "$(h ps --format json "$ID")" "[$pid]"
out=$(h ps "$ID")
expect_match ps_table_header "$(echo "$out" | head -1)" 'PID'
expect_match ps_table_row "$(echo "$out" | sed -n 2p)" "^[^ ]+ +$pid "
expect ps_table_rows "$(echo "$out" | wc -l)" 2
expect ps_bad_format "$(h ps --format xml "$ID" 2>&1)" "husk: invalid format option"

# delete --force of a paused container leaves nothing
h pause "$ID"
h delete --force "$ID"
expect delete_paused_rc "$?" 0
left=$(ls -d /sys/fs/cgroup/*$CGP 2>/dev/null)
expect delete_paused_no_cgroup "$left" ""
# gone, or a zombie waiting for a reaper that is not husk
st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
if [ -z "$st" ] || [ "$st" = Z ]; then pass delete_paused_process; else fail delete_paused_process "$pid is in state $st"; fi

# kill -9 of a paused container kills it
start_bg busy2 '{}' sleep 100
pid=$(h state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
h pause "$ID"
h kill "$ID" KILL
expect kill_paused_rc "$?" 0
for i in $(seq 50); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.1; done
expect kill_paused_stopped "$(status_of "$ID")" stopped
h delete "$ID"
expect kill_paused_delete_clean "$(ls -d /sys/fs/cgroup/*$CGP 2>/dev/null)" ""

# stopped containers refuse update/pause/ps
start_bg stopped '{}' true
sleep 0.3
expect update_stopped "$(h update --pids-limit 3 "$ID" 2>&1)" "husk: container not running"
expect pause_stopped "$(h pause "$ID" 2>&1)" "husk: container not running"
expect ps_stopped "$(h ps "$ID" 2>&1)" "husk: container not running"
h delete "$ID"

# ---- events ----------------------------------------------------------------
start_bg ev '{"memory":{"limit":67108864},"pids":{"limit":20}}' sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 100'
sleep 0.5
out=$(h events --stats "$ID")
expect events_stats_rc "$?" 0
expect events_stats_schema "$(echo "$out" | python3 -c '
import json, sys
e = json.loads(sys.stdin.read()); d = e["data"]
print(e["type"], e["id"] == sys.argv[1], d["memory"]["usage"]["limit"],
      d["memory"]["usage"]["usage"] > 0, d["pids"]["current"], d["pids"]["limit"],
      d["cpu"]["usage"]["total"] > 0, len(d["cpu"]["usage"]["percpu"]) > 0,
      "raw" in d["memory"], isinstance(d["blkio"], dict), isinstance(d["hugetlb"], dict))
' "$ID" 2>&1)" "stats True 67108864 True 1 20 True True True True True"
n=$(timeout 1 "$HUSK" --root "$ROOT" events --interval 200ms "$ID" | grep -c '"type":"stats"')
if [ "$n" -ge 3 ] && [ "$n" -le 6 ]; then pass events_interval; else fail events_interval "$n lines in 1s at 200ms"; fi
expect events_bad_interval "$(h events --interval x "$ID" 2>&1)" 'husk: invalid value "x" for flag -interval: parse error'
h delete --force "$ID"
start_bg evend '{}' sleep 0.5
timeout 5 "$HUSK" --root "$ROOT" events --interval 100ms "$ID" >/dev/null
expect events_stream_ends_with_container "$?" 0
expect events_stopped "$(h events --stats "$ID" 2>&1)" "husk: container with id $ID is not running"
h delete "$ID"

# memory.checkBeforeUpdate refuses a limit below the usage
start_bg cbu '{"memory":{"limit":67108864}}' sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=8 2>/dev/null; sleep 100'
sleep 0.5
echo '{"memory":{"limit":1048576,"checkBeforeUpdate":true}}' >"$T/cbu.json"
expect_match update_check_before_update "$(h update -r "$T/cbu.json" "$ID" 2>&1)" '^husk: linux.resources.memory.limit: 1048576 is below the current usage [0-9]+ \(checkBeforeUpdate\)$'
expect update_check_before_update_kept "$(cat "$(v1 memory memory.limit_in_bytes)")" 67108864
h delete --force "$ID"

# an OOM kill inside shows as an "oom" event in the stream
start_bg oom '{"memory":{"limit":16777216,"swap":16777216}}' sh -c 'sleep 1; dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null; sleep 100'
out=$(timeout 3 "$HUSK" --root "$ROOT" events --interval 100ms "$ID")
expect events_oom "$(echo "$out" | grep -c "^{\"type\":\"oom\",\"id\":\"$ID\"}$")" 1
expect events_oom_counted "$(grep -w oom_kill "$(v1 memory memory.oom_control)")" "oom_kill 1"
h delete --force "$ID"

# blkio throttles and cpu.idle on the host's files
dev=$(cat /sys/block/vda/dev 2>/dev/null || cat /sys/block/loop0/dev 2>/dev/null)
if [ -n "$dev" ] && [ -e /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device ]; then
	maj=${dev%:*}; min=${dev#*:}
	start_bg throttle "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":$maj,\"minor\":$min,\"rate\":100}]},\"cpu\":{\"idle\":1}}" sleep 100
	expect blkio_throttle_read_bps "$(cat "$(v1 blkio blkio.throttle.read_bps_device)")" "$dev 1048576"
	expect blkio_throttle_write_iops "$(cat "$(v1 blkio blkio.throttle.write_iops_device)")" "$dev 100"
	if [ -e /sys/fs/cgroup/cpu/cpu.idle ]; then
		expect cpu_idle "$(cat "$(v1 cpu cpu.idle)")" 1
	fi
	h delete --force "$ID"
else
	skip blkio_throttle "no block device or no blkio throttle files"
fi

# blockIO.weight: blkio.weight (CFQ) or blkio.bfq.weight, else refused by name
newid
bundle bw true
with_res "$B" '{"blockIO":{"weight":300}}'
# the root cgroup lacks the weight files: look in a probe child
probe=/sys/fs/cgroup/blkio/husk-test-probe-$$
mkdir "$probe"
ls "$probe" | grep -qE '^blkio\.(bfq\.)?weight$'; has_weight=$?
rmdir "$probe"
if [ "$has_weight" = 0 ]; then
	bundle bw2 sh -c 'cat /sys/fs/cgroup/blkio/blkio.weight 2>/dev/null || cat /sys/fs/cgroup/blkio/blkio.bfq.weight'
	with_res "$B" '{"blockIO":{"weight":300}}'
	run_in "$B"
	expect_match blkio_weight "$OUT" '300'
else
	run_in "$B"
	expect blkio_weight_refused "$OUT" "husk: linux.resources.blockIO.weight: /sys/fs/cgroup/blkio$CGP/blkio.weight: the kernel has no such file"
fi

# 1000 run cycles with limits leave no cgroup directory behind
newid
bundle cycles true
with_res "$B" '{"memory":{"limit":67108864},"pids":{"limit":10},"cpu":{"shares":512}}'
bad=0
for i in $(seq 1000); do
	(cd "$B" && "$HUSK" --root "$ROOT" run "$ID-$i" </dev/null >/dev/null 2>&1) || bad=$((bad + 1))
done
expect run_cycles_ok "$bad" 0
expect run_cycles_no_cgroup "$(find /sys/fs/cgroup/*$(dirname "$CGP") -mindepth 1 -type d 2>/dev/null | wc -l)" 0
expect run_cycles_no_state "$(ls "$ROOT" | wc -l)" 0

# a created container can be paused too (runc allows it), and start then refuses
newid
bundle pc true
with_res "$B" '{}'
(cd "$B" && h create "$ID" </dev/null >/dev/null 2>&1)
h pause "$ID"
expect pause_created_state "$(status_of "$ID")" paused
expect start_paused_refused "$(h start "$ID" 2>&1)" "husk: cannot start an already paused container"
h resume "$ID"
expect resume_created_state "$(status_of "$ID")" created
h start "$ID"
expect start_after_resume "$?" 0
for i in $(seq 50); do [ "$(status_of "$ID")" = stopped ] && break; sleep 0.1; done
expect created_paused_then_ran "$(status_of "$ID")" stopped
h delete "$ID"

# update of memory with swap in both directions (v1 memsw >= limit at every step)
if [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
	start_bg swapupd '{"memory":{"limit":67108864,"swap":134217728}}' sleep 100
	h update --memory 268435456 --memory-swap 536870912 "$ID"
	expect update_swap_raise "$(cat "$(v1 memory memory.limit_in_bytes)") $(cat "$(v1 memory memory.memsw.limit_in_bytes)")" "268435456 536870912"
	h update --memory 33554432 --memory-swap 50331648 "$ID"
	expect update_swap_lower "$(cat "$(v1 memory memory.limit_in_bytes)") $(cat "$(v1 memory memory.memsw.limit_in_bytes)")" "33554432 50331648"
	h delete --force "$ID"
fi

# --systemd-cgroup without systemd: a clear error, nothing left
if [ ! -d /run/systemd/system ]; then
	newid
	bundle sd true
	cfg "$B" "c['linux']['cgroupsPath']='system.slice:husk:$ID'"
	out=$(cd "$B" && "$HUSK" --root "$ROOT" --systemd-cgroup run "$ID" 2>&1 </dev/null)
	expect systemd_cgroup_no_systemd "$out" "husk: --systemd-cgroup: systemd is not running on this host (no /run/systemd/system)"
	expect systemd_cgroup_no_state "$(ls "$ROOT" | wc -l)" 0
fi
