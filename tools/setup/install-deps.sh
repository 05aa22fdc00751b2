#!/usr/bin/env bash
# Installs the Debian packages convexlite needs to build and test. Idempotent: when every
# package is already installed it does nothing and takes well under a second.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config ccache
  librocksdb-dev
  libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsimdjson-dev libabsl-dev libssl-dev libicu-dev libzip-dev libbrotli-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  zip unzip curl
)
# `make fuzz` only: clang and libFuzzer's runtime.
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
