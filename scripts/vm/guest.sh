#!/bin/bash
# Stage 2: PID 1 in the guest, running on the host's root (overlay set up by ./init).
# Prepares what tests expect (modules, lo, bpffs, netns dir), runs the job run.sh left
# in vmt.out=DIR/argv (NUL-separated: script, args...) with cwd = WORK, writes its exit
# code to DIR/exitcode and powers off.
# No `set -e`: if PID 1 exits the kernel panics and the exit code is lost.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 VMTEST=1

KROOT='' WORK='' OUT=''
for a in $(</proc/cmdline); do
  case $a in
    vmt.kroot=*) KROOT=${a#*=} ;;
    vmt.work=*) WORK=${a#*=} ;;
    vmt.out=*) OUT=${a#*=} ;;
  esac
done

power_off() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 60
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# kmod looks in /lib/modules/$(uname -r); point it at the unpacked package (shared from
# the host). The root is an overlay, so this write stays in the guest. Kernel module
# autoloading (e.g. esp4 on the first ESP SA) runs the host's /sbin/modprobe, which
# finds the modules through this link.
KV=$(uname -r)
mkdir -p /lib/modules && ln -sfn "$KROOT/lib/modules/$KV" "/lib/modules/$KV"

hostname weft-vmtest
ip link set lo up
# `ip netns add` bind-mounts namespace files under /run/netns (/var/run -> /run)
mkdir -p /run/netns /run/lock
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

if ! mapfile -d '' -t ARGV <"$OUT/argv" || [ ${#ARGV[@]} -eq 0 ]; then
  echo "vmtest: no job in $OUT/argv"
  power_off
fi

echo "vmtest: guest up at $(uptime_s)s (kernel $KV), running ${ARGV[*]}"
(cd "$WORK" && exec bash "${ARGV[@]}") </dev/null
rc=$?
echo "$rc" >"$OUT/exitcode"
echo "vmtest: exit code $rc at $(uptime_s)s"
power_off
