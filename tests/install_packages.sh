#!/usr/bin/env bash
# install_packages.sh - installs the Debian packages m2urt's build, tests and
# demo need, when any is missing (idempotent; silent when nothing is
# missing). Sourced or run by tests/run_all.sh and examples/run_demo.sh.
# Usage: install_packages.sh [PACKAGE...]   (default: the full list below)
set -euo pipefail
m2u_packages=(cmake ninja-build g++ pkg-config libboost-context-dev doctest-dev libbenchmark-dev
              libstb-dev zlib1g-dev clang-14 libclang-rt-14-dev python3-numpy python3-torch python3-onnx)
if (($#)); then m2u_packages=("$@"); fi
missing=()
for p in "${m2u_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_packages: installing Debian packages: ${missing[*]}"
  sudo_command=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install_packages: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo_command=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_command[@]}" apt-get update -qq
  "${sudo_command[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
