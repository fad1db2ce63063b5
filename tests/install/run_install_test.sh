#!/usr/bin/env bash
# run_install_test.sh BUILD_DIR - installs a configured and built m2urt tree
# into a temporary prefix and uses it from outside, as a firmware project
# would (registered with ctest as install_package by tests/install/CMakeLists.txt):
#   1. cmake --install BUILD_DIR --prefix TMP; the files are there, libm2urt.so
#      has SONAME libm2urt.so.<major> and exports the C API only (m2u_*; the
#      emu flavour also its CUDA runtime shim, cuda*);
#   2. consumer/ (plain C99, -Werror) configured with -DCMAKE_PREFIX_PATH=TMP:
#      find_package(m2urt 0.2) links m2urt::m2urt and m2urt::m2urt_static;
#      both run the fixture model; the static one must not need libm2urt.so;
#      find_package(m2urt 1.0) must be refused (SameMajorVersion);
#   3. pkg-config (PKG_CONFIG_PATH=TMP/lib/pkgconfig): consumer.c compiled with
#      `cc $(pkg-config --cflags --libs m2urt)`, run with LD_LIBRARY_PATH; and
#      statically with `pkg-config --static` (Libs.private);
#   4. every consumer prints the same line;
#   5. (in 2) examples/'s m2u_infer, m2u_firmware_loop and m2u_firmware_dpc
#      built against the installed header and library alone; m2u_infer runs.
# The flavour, the C compiler and sanitizer flags come from BUILD_DIR's
# CMakeCache.txt. Environment: CMAKE (the cmake to use), M2U_KEEP_INSTALL=1
# keeps the temporary directory. Exit status 0 when everything holds.
set -euo pipefail

if [[ $# -ne 1 || ! -f "$1/CMakeCache.txt" ]]; then
  echo "usage: $0 BUILD_DIR   (a configured and built m2urt build tree)" >&2
  exit 2
fi
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
MODEL="$HERE/../fixtures/cin1_relu.m2u"
CMAKE="${CMAKE:-cmake}"

cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt" | head -1; }
FLAVOUR="$(cache M2U_FLAVOUR)"
CC_FROM_BUILD="$(cache CMAKE_C_COMPILER)"
SANITIZE="$(cache M2U_SANITIZE)"
CUDA_COMPILER="$(cache CMAKE_CUDA_COMPILER)"
CC="${CC_FROM_BUILD:-cc}"
FLAGS=()
if [[ -n "$SANITIZE" ]]; then
  # The installed library is instrumented: its consumers link the runtime.
  FLAGS=(-fsanitize="$SANITIZE" -fno-omit-frame-pointer)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/m2urt-install-test.XXXXXX")"
if [[ "${M2U_KEEP_INSTALL:-0}" == 1 ]]; then
  echo "install test: keeping $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi
PREFIX="$WORK/prefix"
fail() { echo "install test: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

# ---------------------------------------------------------------- 1. install
step "cmake --install $BUILD --prefix $PREFIX ($FLAVOUR flavour)"
"$CMAKE" --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" || { cat "$WORK/install.log"; fail "cmake --install"; }
PC="$(find "$PREFIX" -name m2urt.pc | head -1)"
[[ -n "$PC" ]] || fail "no m2urt.pc installed"
LIBDIR="$(dirname "$(dirname "$PC")")"
for file in "$PREFIX/include/m2urt.h" "$LIBDIR/libm2urt.a" "$LIBDIR/libm2urt.so" \
            "$LIBDIR/cmake/m2urt/m2urtConfig.cmake" "$LIBDIR/cmake/m2urt/m2urtConfigVersion.cmake"; do
  [[ -e "$file" ]] || fail "not installed: ${file#"$PREFIX"/}"
done
MAJOR="$(sed -n 's/^#define M2U_VERSION_MAJOR \([0-9]*\).*/\1/p' "$PREFIX/include/m2urt.h")"
SONAME="$(readelf -d "$LIBDIR/libm2urt.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[[ "$SONAME" == "libm2urt.so.$MAJOR" ]] || fail "SONAME is '$SONAME', expected libm2urt.so.$MAJOR"
[[ -e "$LIBDIR/$SONAME" ]] || fail "$SONAME not installed"
echo "installed: $(cd "$PREFIX" && find . -type f -o -type l | sed 's|^\./||' | sort | tr '\n' ' ')"

symbols="$(nm -D --defined-only "$LIBDIR/libm2urt.so" | awk '{print $3}')"
allowed='^m2u_'
[[ "$FLAVOUR" == emu ]] && allowed='^(m2u_|cuda[A-Z])'
others="$(grep -Ev "$allowed" <<<"$symbols" || true)"
if [[ -n "$others" ]]; then
  echo "$others" | head -20 >&2
  fail "libm2urt.so exports $(wc -l <<<"$others") symbols beyond the C API (first ones above)"
fi
echo "libm2urt.so: SONAME $SONAME, exports $(grep -c '^m2u_' <<<"$symbols") m2u_* functions" \
     "and $(grep -c '^cuda' <<<"$symbols" || true) cuda* (emu runtime shim) symbols, nothing else"
# Every function m2urt.h declares is exported.
for function in $(grep -oE 'M2U_API [^(]*\(' "$PREFIX/include/m2urt.h" | grep -oE 'm2u_[a-z_]+\($' | tr -d '('); do
  grep -qx "$function" <<<"$symbols" || fail "libm2urt.so does not export $function"
done

# ---------------------------------------------------------------- 2. CMake
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
CMAKE_ARGS=("${GENERATOR[@]}" -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_C_COMPILER="$CC"
            -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if ((${#FLAGS[@]})); then
  CMAKE_ARGS+=(-DCMAKE_C_FLAGS="${FLAGS[*]}" -DCMAKE_EXE_LINKER_FLAGS="${FLAGS[*]}")
fi
[[ -n "$CUDA_COMPILER" ]] && CMAKE_ARGS+=(-DCUDAToolkit_ROOT="$(dirname "$(dirname "$CUDA_COMPILER")")")
step "consumer project: find_package(m2urt 0.2 CONFIG REQUIRED), with m2u_infer and the firmware examples"
"$CMAKE" -S "$HERE/consumer" -B "$WORK/consumer" "${CMAKE_ARGS[@]}" -DM2URT_EXAMPLES_DIR="$HERE/../../examples" \
  -DCMAKE_CXX_COMPILER="$(cache CMAKE_CXX_COMPILER)" \
  ${FLAGS[@]+-DCMAKE_CXX_FLAGS="${FLAGS[*]}"} >"$WORK/configure.log" 2>&1 \
  || { cat "$WORK/configure.log"; fail "configuring the consumer"; }
grep -- "-- m2urt " "$WORK/configure.log" || true
"$CMAKE" --build "$WORK/consumer" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "building the consumer"; }
if readelf -d "$WORK/consumer/consumer_static" | grep -q "libm2urt"; then
  fail "consumer_static needs libm2urt.so: $(readelf -d "$WORK/consumer/consumer_static" | grep NEEDED)"
fi
readelf -d "$WORK/consumer/consumer_shared" | grep -q "\[$SONAME\]" || fail "consumer_shared does not need $SONAME"
OUTPUTS=()
run() {  # run NAME COMMAND...: runs a consumer, keeps its output line
  local name="$1" line; shift
  line="$("$@")" || fail "$name exited with $?"
  echo "$name: $line"
  OUTPUTS+=("$line")
}
run "cmake, m2urt::m2urt       " "$WORK/consumer/consumer_shared" "$MODEL"
run "cmake, m2urt::m2urt_static" "$WORK/consumer/consumer_static" "$MODEL"
# The examples built from the installed header alone run too.
"$WORK/consumer/m2u_infer" --help | grep -q "^usage: m2u_infer" || fail "m2u_infer (installed package) does not run"
printf 'P5\n48 32\n255\n' > "$WORK/frame.pgm"
head -c $((48 * 32)) /dev/urandom >> "$WORK/frame.pgm"
"$WORK/consumer/m2u_infer" --model "$MODEL" --out "$WORK/infer_out" --quiet "$WORK/frame.pgm" \
  || fail "m2u_infer (installed package) failed on a 48x32 frame"
[[ -s "$WORK/infer_out/frame.json" ]] || fail "m2u_infer (installed package) wrote no JSON"
{ "$WORK/consumer/m2u_firmware_dpc" 2>&1 || true; } | grep -q "^usage:" || fail "m2u_firmware_dpc (installed package) does not run"
"$WORK/consumer/m2u_calibrate" --help | grep -q "^usage: m2u_calibrate" || fail "m2u_calibrate (installed package) does not run"
echo "m2u_infer, m2u_calibrate, m2u_firmware_loop and m2u_firmware_dpc built from examples/ against the installed m2urt.h; m2u_infer ran"

step "find_package(m2urt 1.0) must be refused"
if "$CMAKE" -S "$HERE/consumer" -B "$WORK/consumer-1.0" "${CMAKE_ARGS[@]}" -DM2URT_REQUEST=1.0 \
     >"$WORK/configure-1.0.log" 2>&1; then
  fail "find_package(m2urt 1.0) accepted version 0.x"
fi
grep -q 'requested version "1.0"' "$WORK/configure-1.0.log" \
  || { cat "$WORK/configure-1.0.log"; fail "find_package(m2urt 1.0) failed, but not on the version"; }
echo "refused, as expected: m2urtConfig.cmake, $(grep -m1 -o 'version: [0-9.]*' "$WORK/configure-1.0.log")"

# ---------------------------------------------------------------- 3. pkg-config
PKG_CONFIG_PATH="$(dirname "$PC")"
export PKG_CONFIG_PATH
step "pkg-config (PKG_CONFIG_PATH=$PKG_CONFIG_PATH)"
VERSION="$(pkg-config --modversion m2urt)"
echo "pkg-config m2urt: version $VERSION, --cflags --libs: $(pkg-config --cflags --libs m2urt)," \
     "--static --libs: $(pkg-config --static --libs m2urt)"
[[ "$(sed -n 's/^Version: //p' "$PC")" == "$VERSION" ]] || fail "pkg-config version"
# shellcheck disable=SC2046  # pkg-config output is word-split on purpose
"$CC" -std=c99 -Wall -Wextra -Werror "${FLAGS[@]}" -o "$WORK/consumer_pc" "$HERE/consumer/consumer.c" \
  $(pkg-config --cflags --libs m2urt) || fail "cc \$(pkg-config --cflags --libs m2urt)"
# The -L directories (libm2urt's; cudart's in the cuda flavour) for the loader.
LOADER_PATH="$(pkg-config --static --libs-only-L m2urt | sed 's/-L//g; s/ *$//; s/ \+/:/g')"
LOADER_PATH="$LOADER_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
run "pkg-config, shared        " env LD_LIBRARY_PATH="$LOADER_PATH" "$WORK/consumer_pc" "$MODEL"
# shellcheck disable=SC2046
"$CC" -std=c99 -Wall -Wextra -Werror "${FLAGS[@]}" -o "$WORK/consumer_pc_static" "$HERE/consumer/consumer.c" \
  $(pkg-config --cflags m2urt) $(pkg-config --static --libs m2urt | sed 's/-lm2urt\b/-l:libm2urt.a/') \
  || fail "cc \$(pkg-config --static --libs m2urt) with -l:libm2urt.a"
readelf -d "$WORK/consumer_pc_static" | grep -q "libm2urt" && fail "consumer_pc_static needs libm2urt.so"
run "pkg-config, static        " env LD_LIBRARY_PATH="$LOADER_PATH" "$WORK/consumer_pc_static" "$MODEL"

# ---------------------------------------------------------------- 4. agree
for line in "${OUTPUTS[@]}"; do
  [[ "$line" == "${OUTPUTS[0]}" ]] || fail "the consumers disagree: '$line' vs '${OUTPUTS[0]}'"
done
[[ "${OUTPUTS[0]}" == *"above 0.5: "* ]] || fail "unexpected output '${OUTPUTS[0]}'"
echo "install test: passed (${#OUTPUTS[@]} consumers agree)"
