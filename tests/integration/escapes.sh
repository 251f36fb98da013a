# Regression tests for the known runc escape classes (issue 3): each attack is
# attempted through the real binary and must fail.
source "$(dirname "$0")/../lib.sh"
need_root escapes

# CVE-2024-21626 class: process.cwd pointing at an fd husk might have leaked.
# Whatever happens, the process must never reach the host's filesystem.
M=$(mktemp -d /tmp/husk-esc-marker.XXXXXX)
echo host-secret >"$M/marker"
make_bundle "$T/cwd" sh -c "cat ../../../../../../../../..$M/marker 2>/dev/null; cat /proc/self/cwd/../../../../../../..$M/marker 2>/dev/null; true"
leaked=
for n in 3 4 5 6 7 8 9 10; do
	cfg "$T/cwd" "c['process']['cwd']='/proc/self/fd/$n'"
	out=$(cd "$T/cwd" && h run "cwd$n" 2>&1)
	h delete --force "cwd$n" >/dev/null 2>&1
	case "$out" in *host-secret*) leaked="$leaked $n" ;; esac
done
expect cve_2024_21626_cwd_fd "${leaked:-none}" none

# ... and no fd of husk's reaches the process, in run or in exec.
make_bundle "$T/fds" sh -c 'ls /proc/self/fd | tr "\n" " "; sleep 30'
fds=$(cd "$T/fds" && timeout 10 "$HUSK" --root "$ROOT" run -d fds >/dev/null 2>&1; sleep 0.3
	h exec fds ls /proc/self/fd | tr '\n' ' ')
expect exec_no_leaked_fds "$fds" "0 1 2 3 "
h delete --force fds >/dev/null 2>&1
make_bundle "$T/fds2" sh -c 'ls /proc/self/fd | tr "\n" " "'
expect run_no_leaked_fds "$(cd "$T/fds2" && h run fds2 2>&1 </dev/null)" "0 1 2 3 "

# CVE-2019-19921 class: /proc in the rootfs is a symlink, so proc lands
# elsewhere; the masked paths must still be masked where proc really is.
make_bundle "$T/procsym" sh -c 'wc -c </proc/keys; wc -c </evil/keys'
rmdir "$T/procsym/rootfs/proc"
mkdir "$T/procsym/rootfs/evil"
ln -s /evil "$T/procsym/rootfs/proc"
out=$(cd "$T/procsym" && h run procsym 2>&1)
expect cve_2019_19921_proc_symlink_masked "$(echo $out)" "0 0"

# A mount destination that is a symlink to a host path stays in the rootfs.
make_bundle "$T/mntsym" true
ln -s "$M" "$T/mntsym/rootfs/hostdir"
cfg "$T/mntsym" "c['mounts'].append({'destination': '/hostdir', 'type': 'tmpfs', 'source': 'tmpfs'})"
(cd "$T/mntsym" && h run mntsym >/dev/null 2>&1)
expect symlink_destination_stays_inside "$(cat "$M/marker" 2>&1)" host-secret
expect symlink_destination_no_host_mount "$(grep -c " $M " /proc/self/mountinfo)" 0
rm -rf "$M"
