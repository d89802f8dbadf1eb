#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages tracewire needs to build and test. Idempotent:
# does nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
  # build
  gcc make cmake pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
  libcjson-dev libcurl4-openssl-dev
  # the /metrics endpoint (EventsTrace --metrics-listen): HTTP by libmicrohttpd
  libmicrohttpd-dev
  # tests
  libcriterion-dev libclang-rt-14-dev bc procps util-linux
  # the install test: man page lint (groff), the public header compiled as C++ (g++)
  groff-base g++
  # EventsTrace under valgrind (testing/valgrind), network tests (ip, tc)
  valgrind iproute2
  # the shipper's tests: a real ClickHouse (started by the test itself, never by systemd) and curl
  clickhouse-server clickhouse-client curl
  # the network benchmark and its smoke test (testing/bench/net_bench.sh)
  iperf3 sockperf
  # the peer agent in make bench (testing/bench/bpftrace/)
  bpftrace
  # the fault collector speaks HTTPS too, with a certificate made by the test
  libssl-dev openssl
  # the kernel matrix (testing/kernels): guests under qemu, an initramfs made with cpio, the
  # guest kernels' modules unpacked with xz
  qemu-system-x86 cpio xz-utils
  # the metrics tests: promtool checks the exposition text, a real Prometheus (started by
  # the test on loopback, never by systemd) scrapes EventsTrace
  prometheus
  # the atop test's workload (testing/integration/test_atop.sh; atop itself is fetched from
  # trixie by testing/atop/fetch-atop.sh, with apt-get download, and never installed)
  python3
)
[ "${1:-}" = "--with-bench" ] && packages+=(linux-perf procps)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (clickhouse-server) must not start it: the tests start their own
# on free ports. policy-rc.d answering 101 tells invoke-rc.d "not allowed"; only ours is removed.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
