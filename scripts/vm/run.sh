#!/bin/bash
# Run a bash script as root inside a throwaway VM that boots Debian's stock kernel.
#
# Why: dev and CI hosts run a kernel without ESP, so Weft's data path (VXLAN over
# ESP) cannot be exercised there. Debian's linux-image-amd64 has esp4, xfrm_user,
# vxlan and veth as modules. The guest's root is the host's root (9p, read-only)
# under a tmpfs overlay, so every host binary runs unchanged inside; WORK is
# shared read-write at the same path, so build products and results are shared.
#
# Usage: scripts/vm/run.sh SCRIPT [ARGS...]    (the script runs with cwd = WORK)
# Env:   WORK            shared read-write (default: repo root)
#        VMDIR           kernel + initramfs cache (default: <repo>/.vm)
#        VMTEST_TIMEOUT  seconds (1200)   VMTEST_MEM (2G)   VMTEST_CPUS (2)
#        VMTEST_ACCEL    tcg|kvm (default: kvm only if the CPU has vmx/svm)
#        VMTEST_KERNEL_PKG  pin a kernel package (default: what linux-image-amd64 depends on)
#        VMTEST_KOPTS    extra kernel command line
# Exit:  the script's exit code; 125 if none came back (timeout, panic, harness error).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

die() { echo "vm: $*" >&2; exit 125; }
[ $# -ge 1 ] || die "usage: $0 SCRIPT [ARGS...]"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run scripts/vm/setup-host.sh"

WORK=$(realpath "${WORK:-$REPO}")
VMDIR=${VMDIR:-$REPO/.vm}
mkdir -p "$VMDIR"
VMDIR=$(realpath "$VMDIR")
SCRIPT=$(realpath "$1")
shift
[ -f "$SCRIPT" ] || die "no such script: $SCRIPT"

# The guest mounts fresh tmpfs on /tmp, /var/tmp and /run (hiding the host's files
# there) and then WORK on top, so everything the guest reads must be inside WORK or
# outside those.
for p in "$SCRIPT" "$VMDIR" "$HERE"; do
  case $p in
    "$WORK" | "$WORK"/*) ;;
    /tmp | /tmp/* | /var/tmp | /var/tmp/* | /run | /run/*) die "$p is hidden in the guest; move it under WORK=$WORK" ;;
  esac
done
# These go on the kernel command line, which is split at whitespace.
case "$WORK$VMDIR$HERE" in *[[:space:]]*) die "WORK, VMDIR and $HERE must not contain whitespace" ;; esac

TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT

# --- kernel: Debian's package, unpacked (never installed) into $VMDIR/kernel ----------

# linux-image-amd64 is a meta package; the real one is renamed with every ABI bump
# (linux-image-6.1.0-NN-amd64, i.e. every security release). Resolve it on each run
# so the guest follows updates; the cached kernel is kept when apt knows nothing.
kernel_pkg() {
  if [ -n "${VMTEST_KERNEL_PKG:-}" ]; then echo "$VMTEST_KERNEL_PKG"; return; fi
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

fetch_kernel() {
  local pkg=$1 new=$VMDIR/kernel.new kv i
  echo "vm: fetching $pkg into $VMDIR/kernel (~70 MB download, ~400 MB unpacked)" >&2
  rm -rf "$new"
  mkdir -p "$new/deb"
  # As root, apt drops to the _apt user for downloads, which cannot write here.
  for i in 1 2 3; do
    (cd "$new/deb" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >&2) && break
    [ "$i" -lt 3 ] || die "apt-get download $pkg failed"
    sleep $((i * 5))
  done
  dpkg -x "$new"/deb/*.deb "$new/root"
  rm -rf "$new/deb"
  kv=$(ls "$new/root/lib/modules")
  # A .deb ships no modules.dep (its postinst runs depmod); modprobe needs one.
  depmod -b "$new/root" "$kv"
  echo "$pkg" >"$new/root/.pkg"
  echo "$kv" >"$new/root/.kver"
  rm -rf "$VMDIR/kernel"
  mv "$new/root" "$VMDIR/kernel"
  rmdir "$new"
}

# Under TCG the bzImage spends ~3.5 s of every boot unpacking itself (XZ). Unpack it
# once here and boot the ELF through its PVH entry point instead (qemu supports that for
# an uncompressed vmlinux); fall back to the bzImage when that is not possible.
extract_vmlinux() {
  local bz=$KROOT/boot/vmlinuz-$KV off
  grep -q '^CONFIG_PVH=y' "$KROOT/boot/config-$KV" 2>/dev/null || return 1
  off=$(LC_ALL=C grep -m1 -obUaP '\xfd7zXZ\x00' "$bz" | cut -d: -f1) || return 1
  # xz stops after the stream; tail may then die of SIGPIPE, which is fine
  { tail -c +"$((off + 1))" "$bz" || true; } | xz -dcq --single-stream >"$KROOT/vmlinux.tmp" || return 1
  [ "$(head -c 4 "$KROOT/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || return 1
  mv "$KROOT/vmlinux.tmp" "$KROOT/vmlinux"
}

# --- initramfs: static busybox + ./init + the modules needed to reach the host's root -

build_initramfs() {
  local s ko m
  s=$(mktemp -d)
  TMPS+=("$s")
  mkdir -p "$s/bin" "$s/dev" "$s/proc" "$s/sys" "$s/mods"
  if ldd /bin/busybox >/dev/null 2>&1; then
    die "/bin/busybox is dynamically linked: run scripts/vm/setup-host.sh (busybox-static)"
  fi
  cp /bin/busybox "$s/bin/busybox"
  install -m 0755 "$HERE/init" "$s/init"
  # --show-depends lists dependencies first, so the file order is a valid insmod order.
  for m in virtio_pci virtio_rng 9pnet_virtio 9p overlay; do
    modprobe -d "$KROOT" -S "$KV" --show-depends "$m" || exit 1
  done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
    # busybox insmod cannot decompress (newer Debian kernels ship .ko.xz)
    case $ko in
      *.xz) xz -dc "$ko" >"$s/mods/$(basename "$ko" .xz)" ;;
      *.zst) zstd -qdc "$ko" >"$s/mods/$(basename "$ko" .zst)" ;;
      *) cp "$ko" "$s/mods/" ;;
    esac
    basename "${ko%.xz}" .zst >>"$s/modules.list"
  done || die "cannot collect initramfs modules from $KROOT"
  (cd "$s" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.tmp"
  mv "$INITRD.tmp" "$INITRD"
}

# Concurrent runs sharing a VMDIR fetch and build once.
exec 9>"$VMDIR/.lock"
flock 9
want=$(kernel_pkg || true)
have=$(cat "$VMDIR/kernel/.pkg" 2>/dev/null || true)
if [ -n "$want" ] && [ "$want" != "$have" ]; then
  fetch_kernel "$want"
elif [ -z "$have" ]; then
  die "cannot resolve linux-image-amd64: run scripts/vm/setup-host.sh (it runs apt-get update)"
fi
KROOT=$VMDIR/kernel
KV=$(cat "$KROOT/.kver")
INITRD=$VMDIR/initramfs.cpio.gz
if [ ! -e "$KROOT/vmlinux" ] && [ ! -e "$KROOT/.no-vmlinux" ]; then
  extract_vmlinux || { rm -f "$KROOT/vmlinux.tmp"; touch "$KROOT/.no-vmlinux"; }
fi
KERNEL=$KROOT/vmlinux
[ -e "$KERNEL" ] || KERNEL=$KROOT/boot/vmlinuz-$KV
# Rebuild when the init, this builder or the kernel changed.
if ! [ "$INITRD" -nt "$HERE/init" ] || ! [ "$INITRD" -nt "$HERE/run.sh" ] || ! [ "$INITRD" -nt "$KROOT/.kver" ]; then
  build_initramfs
fi
exec 9>&- # unlock; qemu need not inherit it

# --- boot ---------------------------------------------------------------------------

# /dev/kvm alone proves nothing: on some cloud hosts it is a paravirtual hypervisor
# that cannot boot a stock kernel (qemu aborts on an MSR or hangs). Use KVM only
# when the CPU advertises hardware virtualization.
ACCEL_NAME=${VMTEST_ACCEL:-}
if [ -z "$ACCEL_NAME" ]; then
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL_NAME=kvm; else ACCEL_NAME=tcg; fi
fi
# shellcheck disable=SC2054 # the commas are qemu's option syntax
case $ACCEL_NAME in
  kvm) ACCEL=(-accel kvm -cpu host) ;;
  tcg) ACCEL=(-accel tcg,thread=multi -cpu max) ;;
  *) die "VMTEST_ACCEL must be tcg or kvm" ;;
esac

# The job travels through WORK, not the command line: arguments may hold anything.
mkdir -p "$WORK/.vmtest-out"
OUT=$(mktemp -d "$WORK/.vmtest-out/run.XXXXXX")
TMPS+=("$OUT")
printf '%s\0' "$SCRIPT" "$@" >"$OUT/argv"

# panic=-1 + -no-reboot: a guest panic ends qemu at once instead of hanging until the
# timeout. mitigations=off: they only cost time under emulation.
APPEND="console=ttyS0 loglevel=3 panic=-1 mitigations=off"
APPEND+=" vmt.stage2=$HERE/guest.sh vmt.work=$WORK vmt.kroot=$KROOT vmt.out=$OUT ${VMTEST_KOPTS:-}"
TIMEOUT=${VMTEST_TIMEOUT:-1200}

t0=$EPOCHREALTIME
set +e
# The serial console ends lines with CRLF; strip the CR so logs stay clean.
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
  "${ACCEL[@]}" -smp "${VMTEST_CPUS:-2}" -m "${VMTEST_MEM:-2G}" -machine q35 \
  -nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
  -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$WORK",mount_tag=work,security_model=none,multidevs=remap \
  -device virtio-rng-pci </dev/null | sed -u 's/\r$//'
qrc=${PIPESTATUS[0]}
set -e
wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

if [ -s "$OUT/exitcode" ]; then
  rc=$(cat "$OUT/exitcode")
else
  case $qrc in
    124 | 137) why="timed out after ${TIMEOUT}s (VMTEST_TIMEOUT)" ;;
    *) why="qemu exited with $qrc (boot failure or guest panic?)" ;;
  esac
  echo "vm: no exit code from the guest: $why" >&2
  rc=125
fi
echo "vm: exit $rc, ${wall}s wall, kernel $KV ($(basename "$KERNEL")), $ACCEL_NAME, $(basename "$SCRIPT")" >&2
rm -rf "$OUT"
rmdir "$WORK/.vmtest-out" 2>/dev/null || true # only if no other run is using it
exit "$rc"
