#!/usr/bin/env bash
# Runs inside the Debian-kernel VM (via scripts/vm/run.sh, from scripts/test): the kernel
# integration tests again, now on a kernel with ESP, then the shell ESP self-test.
# The test bundle was built on the host; nothing is built here.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/opt/swift/usr/bin"

bundle=.build/debug/WeftPackageTests.xctest
[ -x "$bundle" ] || { echo "guest-tests: $bundle missing: build on the host first"; exit 1; }
echo "guest-tests: kernel $(uname -r), $(scripts/vm/can-esp.sh 2>&1)"

. scripts/lib.sh
rc=0
# One test at a time: the emulated VM is slow enough that parallel synchronous tests
# (pings, ip) starve the cooperative pool the async ones need.
suite /dev/null "IntegrationTests (VM)" '' "$bundle" --testing-library swift-testing --no-parallel --filter IntegrationTests || rc=1
suite /dev/null "test-overlay.sh (VM)" '' scripts/test-overlay.sh || rc=1
suite /dev/null "test-pod-policy.sh (VM)" '' scripts/test-pod-policy.sh || rc=1
suite /dev/null "test-controller.sh (VM)" '' scripts/test-controller.sh || rc=1
suite /dev/null "demo --check (VM)" '' scripts/demo --no-build --check || rc=1
suite /dev/null "test-bpf.sh (VM)" '' scripts/test-bpf.sh --no-build || rc=1
suite /dev/null "selftest.sh (VM)" '' scripts/vm/selftest.sh || rc=1
exit $rc
