#!/usr/bin/env bash
# The container backend (runtime/linux/) through the real binary: what the
# process inside actually saw, hostile rootfs content, and that failures
# leave nothing behind.
source "$(dirname "$0")/../lib.sh"
need_root container
[ -x "$HUSK" ] || { fail container "no $HUSK: run make first"; exit 1; }

N=0
newid() { N=$((N + 1)); ID="ct$$-$N"; }

# run_in BUNDLE [husk run options]: run a fresh container; OUT and RC.
run_in() {
	local b=$1; shift
	newid
	OUT=$(cd "$b" && timeout 30 "$HUSK" --root "$ROOT" run "$@" "$ID" 2>&1 </dev/null)
	RC=$?
}

# bundle NAME ARGS...: a new bundle under $T running ARGS; sets B.
bundle() { B=$T/$1; shift; make_bundle "$B" "$@"; }

# leftovers ID BUNDLE: what a container left on the host (empty = none).
leftovers() {
	local id=$1 b=$2 d
	for d in /sys/fs/cgroup/*/husk/"$id"; do [ -e "$d" ] && echo "cgroup $d"; done
	grep -F "$b" /proc/self/mountinfo | sed 's/^/mount /'
	ps -eo pid=,args= | grep -F -- "$ROOT" | grep -v -e grep -e "ps -eo" | sed 's/^/process /'
	[ -e "$ROOT/$id" ] && echo "state $ROOT/$id"
}

expect_clean() {
	local left
	left=$(leftovers "$2" "$3")
	if [ -z "$left" ]; then pass "$1"; else fail "$1" "left behind: $left"; fi
}

# ---- process ---------------------------------------------------------------

bundle out sh -c 'echo hello; exit 3'
run_in "$B"
expect run_output "$OUT" hello
expect run_exit_status "$RC" 3

bundle env sh -c 'echo "$FOO|$PATH"; pwd; umask'
cfg "$B" 'c["process"]["env"].append("FOO=bar baz"); c["process"]["cwd"]="/work/sub"; c["process"]["user"]["umask"]=0o27'
run_in "$B"
expect env_cwd_umask "$OUT" "bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
/work/sub
0027"

bundle user sh -c 'id -u; id -g; id -G; touch /tmp/f && stat -c %u:%g /tmp/f'
cfg "$B" 'c["process"]["user"]={"uid":1000,"gid":1001,"additionalGids":[10,20]}; c["root"]["readonly"]=False'
run_in "$B"
expect user_ids "$OUT" "1000
1001
1001 10 20
1000:1001"

bundle caps sh -c 'grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status | tr -d "\t"'
run_in "$B"
expect caps_default "$OUT" "CapInh:0000000000000000
CapPrm:0000000020000420
CapEff:0000000020000420
CapBnd:0000000020000420
CapAmb:0000000000000000"

# All five sets, as a non-root user: ambient needs permitted+inheritable.
cfg "$B" 'c["process"]["user"]={"uid":1000,"gid":1000}; c["process"]["capabilities"]={"bounding":["CAP_CHOWN","CAP_KILL","CAP_NET_RAW","CAP_SYS_ADMIN"],"permitted":["CAP_CHOWN","CAP_KILL","CAP_NET_RAW"],"effective":["CAP_KILL"],"inheritable":["CAP_NET_RAW","CAP_KILL"],"ambient":["CAP_NET_RAW"]}'
run_in "$B"
# CHOWN 0, KILL 5, NET_RAW 13, SYS_ADMIN 21; ambient is added to the
# permitted and effective sets at execve.
expect caps_all_sets_nonroot "$OUT" "CapInh:0000000000002020
CapPrm:0000000000002000
CapEff:0000000000002000
CapBnd:0000000000202021
CapAmb:0000000000002000"

cfg "$B" 'c["process"]["capabilities"]["ambient"]=["CAP_SYS_ADMIN"]'
run_in "$B"
expect_match caps_ambient_not_permitted "$OUT" "ambient: raise cap_sys_admin: Operation not permitted"

bundle rlim sh -c 'ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status | tr -d "\t"'
cfg "$B" 'c["process"]["rlimits"]=[{"type":"RLIMIT_NOFILE","soft":100,"hard":200}]; c["process"]["oomScoreAdj"]=123'
run_in "$B"
expect rlimits_oom_nnp "$OUT" "100
200
123
NoNewPrivs:1"

hard=$(ulimit -Hn)
cfg "$B" "c['process']['rlimits']=[{'type':'RLIMIT_NOFILE','soft':1024,'hard':$((hard + 1))}]"
run_in "$B"
expect rlimit_above_hard "$OUT" "husk: setrlimit RLIMIT_NOFILE: Operation not permitted"
expect_clean rlimit_above_hard_clean "$ID" "$B"

bundle notfound nope
run_in "$B"
expect exec_not_found "$OUT" 'husk: exec: "nope": executable file not found in $PATH'
expect exec_not_found_status "$RC" 1
expect_clean exec_not_found_clean "$ID" "$B"

# ---- fds: only 0..2 and --preserve-fds reach the process ----------------------

# No pipeline: the shell's own pipe fds would race with ls.
bundle fds sh -c 'ls /proc/1/fd; cat <&3'
echo preserved >"$T/pfile"
newid
OUT=$(cd "$B" && exec 3<"$T/pfile" 4<"$T/pfile" && timeout 30 "$HUSK" --root "$ROOT" run --preserve-fds 1 "$ID" 2>&1 </dev/null)
expect preserve_fds "$OUT" "0
1
2
3
preserved"
newid
OUT=$(cd "$B" && exec 3<"$T/pfile" && timeout 30 "$HUSK" --root "$ROOT" run "$ID" 2>&1 </dev/null)
expect_match no_fd_leak "$OUT" $'^0\n1\n2\nsh: (can\'t open|3: Bad file)'

# ---- rootfs and mounts ----------------------------------------------------------

bundle mnt sh -c 'cat /proc/self/mountinfo; touch /rofile 2>&1; echo x >/proc/sys/kernel/domainname 2>&1; wc -c </proc/keys; ls /sys/firmware | wc -l; hostname; cat /proc/sys/kernel/domainname'
cfg "$B" 'c["domainname"]="example.org"'
run_in "$B"
mi=$OUT
mnt_has() { grep -E "$2" <<<"$mi" >/dev/null && pass "$1" || fail "$1" "no line matching '$2' in mountinfo: $(head -c 400 <<<"$mi")"; }
mnt_has mount_root_ro '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ro[, ]'
mnt_has mount_proc ' /proc [^ ]+ .*- proc proc '
mnt_has mount_sysfs_ro ' /sys ro,nosuid,nodev,noexec[^ ]* .*- sysfs sysfs '
mnt_has mount_dev_tmpfs ' /dev rw,nosuid .*- tmpfs tmpfs .*mode=755'
mnt_has mount_devpts ' /dev/pts rw,nosuid,noexec[^ ]* .*- devpts devpts .*ptmxmode=666'
mnt_has mount_shm ' /dev/shm rw,nosuid,nodev,noexec[^ ]* .*- tmpfs shm '
mnt_has mount_mqueue ' /dev/mqueue rw,nosuid,nodev,noexec[^ ]* .*- mqueue mqueue '
if [ -d /sys/fs/cgroup/unified ] || ! grep -q cgroup2 /proc/self/mounts; then
	mnt_has mount_cgroup_v1_tmpfs ' /sys/fs/cgroup ro,nosuid,nodev,noexec[^ ]* .*- tmpfs '
	mnt_has mount_cgroup_v1_memory '^[0-9]+ [0-9]+ [^ ]+ / /sys/fs/cgroup/memory ro,.* - cgroup cgroup .*memory'
else
	mnt_has mount_cgroup2 ' /sys/fs/cgroup ro,.* - cgroup2 '
fi
mnt_has readonly_path_proc_sys ' /proc/sys ro,'
mnt_has masked_dir_tmpfs ' /sys/firmware ro,.* - tmpfs '
expect_match rootfs_readonly "$mi" "touch: /rofile: Read-only file system"
expect_match readonly_path_write "$mi" "can't create /proc/sys/kernel/domainname: Read-only file system"
expect_match masked_file_and_dir "$mi" $'\n0\n0\nhusk\nexample.org$'

# Bind mounts with flags and propagation; tmpfs data options; rro.
mkdir -p "$T/src/sub" && echo data >"$T/src/file"
mount -t tmpfs -o size=1m tmpfs "$T/src/sub"
bundle bind sh -c 'cat /proc/self/mountinfo; echo x >/b/new 2>&1; cat /bf; echo y >/rro/sub/x 2>&1; ls /rw'
cfg "$B" "c['mounts'] += [
 {'destination':'/b','type':'bind','source':'$T/src','options':['rbind','ro','nosuid','nodev','noexec','noatime','rshared']},
 {'destination':'/bf','type':'bind','source':'$T/src/file','options':['bind']},
 {'destination':'/rro','type':'bind','source':'$T/src','options':['rbind','rro','rslave']},
 {'destination':'/rw','type':'bind','source':'$T/src','options':['bind','rw','private']},
 {'destination':'/t','type':'tmpfs','source':'tmpfs','options':['nodev','mode=700','size=1m']}]"
run_in "$B"
mi=$OUT
mnt_has bind_flags_propagation ' /b ro,nosuid,nodev,noexec,noatime shared:'
mnt_has bind_file ' /bf rw'
mnt_has bind_rro_submount ' /rro/sub ro,'
mnt_has tmpfs_data ' /t rw,nodev[^ ]* .*- tmpfs tmpfs .*size=1024k,mode=700'
expect_match bind_ro_write "$mi" "can't create /b/new: Read-only file system"
expect_match bind_file_content "$mi" $'\ndata\n'
expect_match bind_rro_write "$mi" "can't create /rro/sub/x: Read-only file system"
expect_match bind_nonrec "$mi" $'file\nsub$'
umount "$T/src/sub"

# Hostile destinations: "..", symlinks to host paths, in the rootfs.
hostdir=$(mktemp -d /tmp/husk-hostile.XXXXXX)
bundle hostile sh -c 'ls /etc/husk-hostile-dd /etc/husk-hostile-ln /hostdir-ln/marker'
ln -s /etc "$B/rootfs/evil"
ln -s "$hostdir" "$B/rootfs/hostdir-ln"
ln -s ../../../../../../etc/husk-hostile-f "$B/rootfs/rel-evil"
cfg "$B" "c['root']['readonly']=False; c['mounts'] += [
 {'destination':'/../../../../etc/husk-hostile-dd','type':'tmpfs','source':'tmpfs'},
 {'destination':'/evil/husk-hostile-ln','type':'tmpfs','source':'tmpfs'},
 {'destination':'/hostdir-ln/marker','type':'bind','source':'$T/src/file','options':['bind']},
 {'destination':'/rel-evil','type':'bind','source':'$T/src/file','options':['bind']}]"
run_in "$B"
expect hostile_mounts_ran "$RC" 0
if [ -e /etc/husk-hostile-dd ] || [ -e /etc/husk-hostile-ln ] || [ -e /etc/husk-hostile-f ] ||
	[ -n "$(ls -A "$hostdir")" ]; then
	fail hostile_mounts_stay_inside "host touched: $(ls -d /etc/husk-hostile-* 2>/dev/null) $(ls -A "$hostdir")"
	rm -rf /etc/husk-hostile-dd /etc/husk-hostile-ln /etc/husk-hostile-f
else
	pass hostile_mounts_stay_inside
fi
if [ -d "$B/rootfs/etc/husk-hostile-dd" ] && [ -d "$B/rootfs/etc/husk-hostile-ln" ] &&
	[ -f "$B/rootfs/$hostdir/marker" ] && [ -f "$B/rootfs/etc/husk-hostile-f" ]; then
	pass hostile_mounts_resolved_in_root
else
	fail hostile_mounts_resolved_in_root "$(cd "$B/rootfs" && find etc/husk-hostile-* tmp 2>&1 | head)"
fi
rmdir "$hostdir" 2>/dev/null

# A rootfs that is a symlink out of the bundle is refused.
bundle rootlink true
rm -rf "$B/rootfs" && ln -s "$T/out/rootfs" "$B/rootfs"
run_in "$B"
expect_match rootfs_symlink_out "$OUT" "root.path: rootfs resolves to .*, outside the bundle"

bundle nopivot sh -c 'cat /marker; ls -d /proc/1'
echo inside >"$B/rootfs/marker"
run_in "$B" --no-pivot
expect no_pivot "$OUT" "inside
/proc/1"

bundle prop sh -c 'awk "\$5 == \"/\" {print \$7}" /proc/self/mountinfo'
for p in rshared:shared runbindable:unbindable rprivate:-; do
	cfg "$B" "c['linux']['rootfsPropagation']='${p%%:*}'"
	run_in "$B"
	expect_match "rootfs_propagation_${p%%:*}" "$OUT" "^${p#*:}"
	expect_clean "rootfs_propagation_${p%%:*}_clean" "$ID" "$B"
done

# ---- devices -----------------------------------------------------------------

bundle dev sh -c 'echo x >/dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; ls -l /dev/ptmx /dev/fd | cut -c1; head -c1 /dev/mymem 2>&1; ls -ln /dev/myfifo /dev/mychar | awk "{print \$1,\$3,\$4,\$5,\$6}"'
cfg "$B" 'c["linux"]["devices"]=[{"path":"/dev/mymem","type":"c","major":1,"minor":1},{"path":"/dev/myfifo","type":"p","fileMode":0o640},{"path":"/dev/mychar","type":"c","major":1,"minor":3,"fileMode":0o600,"uid":7,"gid":8}]'
run_in "$B"
expect_match dev_null_zero "$OUT" $'^null-ok\n4\nl\nl\n'
expect_match devices_cgroup_denies "$OUT" "/dev/mymem: Operation not permitted"
expect_match dev_fifo_node "$OUT" "prw-r-----"
expect_match dev_char_node "$OUT" "crw------- 7 8 1, 3"

cfg "$B" 'c["linux"]["resources"]["devices"].append({"allow":True,"type":"c","major":1,"minor":1,"access":"r"})'
run_in "$B"
if grep -q "/dev/mymem: Operation not permitted" <<<"$OUT"; then
	fail devices_cgroup_allow_rule "$OUT"
else
	pass devices_cgroup_allow_rule
fi

# ---- namespaces, hostname, sysctl, network --------------------------------------

bundle ns sh -c 'ip -o link show lo | grep -o "UP,LOWER_UP"; cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/shmmni; readlink /proc/self/ns/net'
cfg "$B" 'c["linux"]["sysctl"]={"net.ipv4.ip_forward":"1","kernel.shmmni":"1234"}'
run_in "$B"
expect_match loopback_up_sysctl "$OUT" $'^UP,LOWER_UP\n1\n1234\nnet:'
[ "$(readlink /proc/self/ns/net)" != "$(tail -1 <<<"$OUT")" ] && pass netns_new || fail netns_new "$OUT"

cfg "$B" 'c["linux"]["sysctl"]={"kernel.panic":"1"}'
run_in "$B"
expect_match sysctl_not_namespaced "$OUT" '^husk: .*linux.sysctl.*kernel.panic.*namespace'

if command -v ip >/dev/null && ip netns add "husk$$" 2>/dev/null; then
	bundle netns sh -c 'readlink /proc/self/ns/net; ip -o link show lo | grep -c LOWER_UP'
	cfg "$B" "c['linux']['namespaces']=[n if n['type']!='network' else {'type':'network','path':'/var/run/netns/husk$$'} for n in c['linux']['namespaces']]"
	run_in "$B"
	want="net:[$(stat -L -c %i /var/run/netns/husk$$)]"
	# A joined namespace is used as it is: its lo stays down.
	expect netns_joined_by_path "$OUT" "$want
0"
	ip netns del "husk$$"
else
	skip netns_joined_by_path "ip netns unavailable"
fi

# uts and pid joined from another container's init (left created).
bundle nsa true
cfg "$B" 'c["hostname"]="alpha"'
newid; ida=$ID
(cd "$B" && "$HUSK" --root "$ROOT" create "$ida" >/dev/null 2>&1 </dev/null)
pida=$("$HUSK" --root "$ROOT" state "$ida" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
bundle nsb sh -c 'hostname; echo $$'
cfg "$B" "c.pop('hostname'); c['linux']['namespaces']=[n if n['type'] not in ('uts','pid') else {'type':n['type'],'path':'/proc/$pida/ns/'+n['type']} for n in c['linux']['namespaces']]"
run_in "$B"
expect ns_joined_uts_pid "$OUT" "alpha
2"
for h in /sys/fs/cgroup/memory /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ -f "$h/husk/$ida/cgroup.procs" ] || continue
	expect_match cgroup_placed "$(cat "$h/husk/$ida/cgroup.procs")" "^$pida$"
	break
done
if [ -f /sys/fs/cgroup/devices/husk/$ida/devices.list ]; then
	expect cgroup_v1_devices_list "$(sort /sys/fs/cgroup/devices/husk/$ida/devices.list | tr '\n' ' ')" \
		"$(printf '%s\n' 'b *:* m' 'c *:* m' 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:7 rwm' 'c 1:8 rwm' 'c 1:9 rwm' 'c 136:* rwm' 'c 5:0 rwm' 'c 5:2 rwm' | sort | tr '\n' ' ')"
fi
"$HUSK" --root "$ROOT" delete --force "$ida" >/dev/null 2>&1
expect_clean delete_removes_everything "$ida" "$T/nsa"

bundle timens readlink /proc/self/ns/time
cfg "$B" 'c["linux"]["namespaces"].append({"type":"time"})'
run_in "$B"
[ "$RC" = 0 ] && [ "$OUT" != "$(readlink /proc/self/ns/time)" ] && pass time_namespace || fail time_namespace "$OUT"

bundle cgpath cat /proc/self/cgroup
cfg "$B" "c['linux']['cgroupsPath']='/husk-test$$/x'"
newid
(cd "$B" && "$HUSK" --root "$ROOT" create "$ID" >/dev/null 2>&1 </dev/null)
if [ -d /sys/fs/cgroup/pids/husk-test$$/x ] || [ -d /sys/fs/cgroup/husk-test$$/x ]; then pass cgroups_path_absolute; else fail cgroups_path_absolute "no /husk-test$$/x"; fi
"$HUSK" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1
if ls -d /sys/fs/cgroup/*/husk-test$$/x /sys/fs/cgroup/husk-test$$/x 2>/dev/null | grep -q .; then
	fail cgroups_path_removed "$(ls -d /sys/fs/cgroup/*/husk-test$$/x)"
else
	pass cgroups_path_removed
fi
rmdir /sys/fs/cgroup/*/husk-test$$ /sys/fs/cgroup/husk-test$$ 2>/dev/null

# ---- lifecycle: exec.fifo, kill --all, delete -----------------------------------

bundle life sh -c 'echo started; sleep 100 & sleep 100'
newid
(cd "$B" && "$HUSK" --root "$ROOT" create "$ID" >"$T/life.out" 2>&1 </dev/null)
[ -p "$ROOT/$ID/exec.fifo" ] && pass fifo_while_created || fail fifo_while_created "$(ls -l "$ROOT/$ID")"
[ -s "$T/life.out" ] && fail create_does_not_run "$(cat "$T/life.out")" || pass create_does_not_run
"$HUSK" --root "$ROOT" start "$ID"
expect start_status $? 0
for _ in $(seq 100); do [ -s "$T/life.out" ] && break; sleep 0.05; done
expect start_releases_init "$(cat "$T/life.out")" started
[ -e "$ROOT/$ID/exec.fifo" ] && fail fifo_removed_on_start "still there" || pass fifo_removed_on_start
out=$("$HUSK" --root "$ROOT" start "$ID" 2>&1)
[ $? -ne 0 ] && pass start_twice_fails || fail start_twice_fails "$out"
"$HUSK" --root "$ROOT" kill --all "$ID" KILL
pid=$(cat /sys/fs/cgroup/pids/husk/$ID/cgroup.procs 2>/dev/null | head -1)
for _ in $(seq 100); do [ -z "$(cat /sys/fs/cgroup/pids/husk/$ID/cgroup.procs 2>/dev/null)" ] && break; sleep 0.05; done
expect kill_all_empties_cgroup "$(cat /sys/fs/cgroup/pids/husk/$ID/cgroup.procs 2>/dev/null)" ""
"$HUSK" --root "$ROOT" delete "$ID" >/dev/null 2>&1
expect_clean kill_all_then_delete_clean "$ID" "$B"

# start must not hang when the init died after create.
bundle dead true
newid
(cd "$B" && "$HUSK" --root "$ROOT" create "$ID" >/dev/null 2>&1 </dev/null)
p=$("$HUSK" --root "$ROOT" state "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
kill -9 "$p"
# SIGKILL is asynchronous: wait (bounded) until the init is really gone.
for _ in $(seq 100); do
	"$HUSK" --root "$ROOT" state "$ID" 2>/dev/null | grep -q '"status": "stopped"' && break
	sleep 0.05
done
timeout 5 "$HUSK" --root "$ROOT" start "$ID" >/dev/null 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && pass start_dead_init_no_hang || fail start_dead_init_no_hang "status $rc"
"$HUSK" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1

# delete --force of a running container with children
bundle force sh -c 'sleep 100 & sleep 100'
newid
(cd "$B" && "$HUSK" --root "$ROOT" run -d "$ID" >/dev/null 2>&1 </dev/null)
"$HUSK" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1
expect_clean delete_force_running_clean "$ID" "$B"

# ---- failures leave nothing behind --------------------------------------------------

bundle badmount true
cfg "$B" 'c["mounts"].append({"destination":"/mnt/x","type":"nosuchfs","source":"none"})'
run_in "$B"
expect mount_error_message "$OUT" "husk: mount none on /mnt/x: No such device"
expect_clean mount_error_clean "$ID" "$B"

bundle badbind true
cfg "$B" "c['mounts'].append({'destination':'/mnt/x','type':'bind','source':'$T/nonexistent','options':['bind']})"
run_in "$B"
expect bind_error_message "$OUT" "husk: mount $T/nonexistent on /mnt/x: No such file or directory"
expect_clean bind_error_clean "$ID" "$B"

# ---- refused until a later issue ---------------------------------------------------

refused() {
	local name=$1 edit=$2 want=$3
	bundle "r$name" true
	cfg "$B" "$edit"
	run_in "$B"
	expect "refuse_$name" "$OUT" "husk: $want"
	expect_clean "refuse_${name}_clean" "$ID" "$B"
}
refused memory 'c["linux"]["resources"]["memory"]={"kernel":1048576}' "linux.resources.memory.kernel: kernel memory limits are not supported"
refused userns 'c["linux"]["namespaces"].append({"type":"user"}); c["linux"]["uidMappings"]=c["linux"]["gidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]' "linux.namespaces[6] (user): not supported yet"
refused tmpcopyup 'c["mounts"][1]["options"].append("tmpcopyup")' "mounts[1].options[4]: tmpcopyup: not supported yet"

bundle nochange echo ok
cfg "$B" 'c["linux"]["resources"].update({"memory":{"disableOOMKiller":False},"cpu":{"shares":0},"pids":{"limit":0},"hugepageLimits":[]})'
run_in "$B"
expect accepts_values_that_change_nothing "$OUT" ok
