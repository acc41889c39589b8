#!/bin/bash
# Install what scripts/vm/run.sh needs on a Debian 12 host (CI or dev box).
# Safe to re-run. Needs root.
#
#   qemu-system-x86  boots the guest (TCG or KVM)
#   busybox-static   the initramfs' only userland; must not depend on the host's libc
#   kmod             depmod/modprobe against the unpacked kernel package
#   xz-utils         unpacks the kernel image once (see run.sh)
#   tcpdump iproute2 iputils-ping
#                    used by the guest tests (the guest runs the host's binaries)
#
# apt-get update also matters for run.sh: it resolves linux-image-amd64 from the
# package lists, which minimal images (containers) ship empty.
set -euo pipefail

PKGS=(qemu-system-x86 busybox-static kmod xz-utils tcpdump iproute2 iputils-ping)
export DEBIAN_FRONTEND=noninteractive

[ "$(id -u)" -eq 0 ] || { echo "setup-host: needs root" >&2; exit 1; }

# Retry: a concurrent `apt-get update` elsewhere (or the docker-clean hook) can pull
# lists or downloaded .debs out from under us mid-way; the lock timeout covers a
# concurrent dpkg run.
retry() {
  local i
  for i in 1 2 3 4 5; do
    "$@" && return 0
    echo "setup-host: '$*' failed (try $i/5), retrying" >&2
    sleep $((i * 3))
  done
  return 1
}

retry apt-get -q -o DPkg::Lock::Timeout=120 update >/dev/null
retry apt-get -q -y -o DPkg::Lock::Timeout=120 install --no-install-recommends "${PKGS[@]}" >/dev/null

command -v qemu-system-x86_64 modprobe depmod tcpdump ip ping >/dev/null
if ldd /bin/busybox >/dev/null 2>&1; then
  echo "setup-host: /bin/busybox is dynamically linked (busybox-static not in effect?)" >&2
  exit 1
fi
echo "setup-host: ok ($(qemu-system-x86_64 --version | head -1))"
