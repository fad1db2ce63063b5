#!/usr/bin/env bash
# install_cuda118.sh [CACHE_DIR] - the CUDA 11.8 toolchain (Debian 12's
# nvidia-cuda-toolkit, nvidia-cuda-dev, libcudart11.0 and libnvvm4 from the
# non-free component) unpacked into a private tree, for the Nano's sm_53,
# sm_61 and Xavier's sm_72 (CUDA 13 dropped sm_5x/6x/70-72) and for the GPU
# simulator. The system's apt sources, package database and CUDA 13
# (/usr/local/cuda) are left untouched: a private sources list and lists
# directory under CACHE_DIR, `apt-get download` and `dpkg -x` into
# CACHE_DIR/tree (about 870 MB of packages, 2.9 GB unpacked), and an
# nvcc.profile rewritten for that prefix. Idempotent: a finished tree is
# reused. Prints, as its last line, the tree's nvcc:
#   CACHE_DIR/tree/usr/lib/nvidia-cuda-toolkit/bin/nvcc
# nvcc 11.8 needs an older host compiler than g++-12: pass
# -ccbin clang++-14 (installed here when missing).
# CACHE_DIR defaults to $M2U_CUDA118_CACHE or /var/cache/m2urt-cuda118.
set -euo pipefail
cache="${1:-${M2U_CUDA118_CACHE:-/var/cache/m2urt-cuda118}}"
tree="$cache/tree"
nvcc="$tree/usr/lib/nvidia-cuda-toolkit/bin/nvcc"
packages=(nvidia-cuda-toolkit nvidia-cuda-dev libcudart11.0 libnvvm4)
stamp="bookworm non-free: ${packages[*]}"
if [[ -f "$cache/.done" && "$(cat "$cache/.done")" == "$stamp" && -x "$nvcc" ]]; then
  echo "$nvcc"
  exit 0
fi
command -v clang++-14 >/dev/null || apt-get install -y -qq --no-install-recommends clang-14 >/dev/null
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" "$cache/debs"
echo "deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware" >"$cache/apt/sources.list"
apt_options=(-o "Dir::Etc::SourceList=$cache/apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
             -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache"
             -o "APT::Sandbox::User=root")
echo "install_cuda118: fetching ${packages[*]} (bookworm non-free) into $cache" >&2
apt-get "${apt_options[@]}" update -qq
(cd "$cache/debs" && rm -f ./*.deb && apt-get "${apt_options[@]}" download -qq "${packages[@]}")
rm -rf "$tree"
mkdir -p "$tree"
for deb in "$cache/debs"/*.deb; do dpkg -x "$deb" "$tree"; done
# The packaged nvcc.profile (a link to /etc/nvcc.profile) names /usr paths:
# one for this prefix instead, relative to nvcc itself (_HERE_).
profile="$tree/usr/lib/nvidia-cuda-toolkit/bin/nvcc.profile"
rm -f "$profile"
cat >"$profile" <<'PROFILE'
NVVMIR_LIBRARY_DIR = $(_HERE_)/../../cuda/nvvm/libdevice
PATH += $(_HERE_):$(_HERE_)/../../../bin:
INCLUDES += "-I$(_HERE_)/../../../include" $(_SPACE_)
LIBRARIES =+ $(_SPACE_) "-L$(_HERE_)/../../x86_64-linux-gnu/stubs" "-L$(_HERE_)/../../x86_64-linux-gnu"
PROFILE
"$nvcc" --version | grep -q 'release 11\.8' || { echo "install_cuda118: $nvcc is not CUDA 11.8" >&2; exit 1; }
echo "$stamp" >"$cache/.done"
echo "$nvcc"
