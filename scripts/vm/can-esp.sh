#!/bin/bash
# Probe: can the running kernel install an ESP SA with rfc4106(gcm(aes)), the AEAD
# Weft uses? Exit 0 if so, non-zero if not; prints one line saying which and why.
# Works in a throwaway netns so the caller's xfrm state is never touched.
# Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN for `ip netns add`).
set -euo pipefail

ns=$(mktemp -u can-esp-XXXXXXXX)
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT

one_line() { tr '\n' ' ' | sed 's/ *$//'; }

if ! err=$(ip netns add "$ns" 2>&1); then
  echo "can-esp: no: cannot create a network namespace: $(one_line <<<"$err")"
  exit 2
fi
# 160-bit key = 128-bit AES key + 32-bit salt; 128-bit ICV. Documentation addresses.
if err=$(ip -n "$ns" xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x00000100 \
  mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 2>&1); then
  echo "can-esp: yes: kernel $(uname -r) installed an ESP SA (rfc4106(gcm(aes)))"
  exit 0
fi
echo "can-esp: no: kernel $(uname -r) refused an ESP SA: $(one_line <<<"$err")"
exit 1
