#!/usr/bin/env bash
# device_check.sh - m2urt's static device check (needs nvcc, no GPU).
#
# Compiles every kernel source for each target architecture with
# `ptxas -v`, keeps the PTX / cubin / ptxas report, prints a resource table
# per architecture and enforces the project's kernel rules:
#
#   * A kernel whose __global__ declaration carries the marker macro
#     M2U_HOT_KERNEL (defined empty in kernels/m2u_cuda.h) must not spill and
#     must have a zero stack frame (no local memory) on every architecture.
#     Non-hot kernels that spill only produce a warning.
#
#   * Directive comments in a .cu file check the PTX of a kernel's entry
#     function (the `.entry` body in the .ptx file), on every architecture:
#
#       // device_check: kernel_x expects-ptx dp4a.s32.s32
#       // device_check: kernel_x forbids-ptx ld.local
#
#     expects-ptx: the body of every entry whose name matches kernel_x must
#     contain the substring (everything after the verb, trimmed).
#     forbids-ptx: ... must not contain it.
#     An unknown verb, or a kernel that matches no entry, is an error.
#
# Usage: .ci/device_check.sh [--arch "75 87"] [--out DIR] [--jobs N] [--quiet]
#                            [FILES...]
#
#   FILES    default: every kernels/*.cu and tests/**/kernels/*.cu under the
#            repository root (the parent of this script's directory).
#   --arch   space/comma separated SM numbers, default "75 87".
#   --out    keep results in DIR: DIR/sm_XX/<name>.ptx, <name>.cubin,
#            <name>.ptxas.txt (full compiler output), summary.txt.
#            Without --out a temporary directory is used; it is deleted on
#            success and kept (and named) on failure.
#   --jobs   parallel compiles, default 2.
#   --quiet  do not print the per-architecture tables.
#
# Table columns (per source file, per kernel): registers, stack (bytes of
# local memory: the larger of ptxas' "stack frame" and "cumulative stack
# size"), spill stores / loads (bytes), static shared memory (bytes; dynamic
# shared memory is not known at compile time), hot (M2U_HOT_KERNEL), the
# demangled kernel name.
#
# Environment: NVCC (compiler, default nvcc on PATH or
# /usr/local/cuda/bin/nvcc), CUFILT (demangler, default cu++filt, else
# c++filt), M2U_DEVICE_CHECK_NVCC_FLAGS (extra nvcc flags, word-split).
#
# Exit status: 0 ok, 1 a check or a compile failed, 2 usage / environment.
#
# A kernel identifier `kernel_x` (parsed from the source) matches a compiled
# entry whose demangled name contains `kernel_x(` or `kernel_x<` (not as the
# tail of a longer identifier), or is exactly `kernel_x` (extern "C").
set -euo pipefail

# ---------------------------------------------------------------------------
# Internal mode: compile one (arch, source) pair. Invoked through xargs.
# ---------------------------------------------------------------------------
if [[ "${1:-}" == "--compile-one" ]]; then
  arch="$2" src="$3" name="$4" dir="$5"
  work="$(mktemp -d "$dir/.work.${name}.XXXXXX")"
  log="$dir/$name.ptxas.txt"
  rc=0
  # shellcheck disable=SC2086  # extra flags are deliberately word-split
  "$DC_NVCC" -std=c++14 -O3 -cubin -arch="sm_$arch" -Xptxas -v \
    --keep --keep-dir "$work" \
    -I "$DC_ROOT/kernels" -I "$DC_ROOT/runtime/include" \
    ${M2U_DEVICE_CHECK_NVCC_FLAGS:-} \
    -o "$work/$name.cubin" "$src" >"$log" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    base="$(basename "$src")"
    base="${base%.*}"
    if [[ -f "$work/$base.ptx" ]]; then
      mv "$work/$base.ptx" "$dir/$name.ptx"
    else
      echo "device_check: nvcc left no PTX ($base.ptx) in its keep dir" >>"$log"
      rc=1
    fi
    mv "$work/$name.cubin" "$dir/$name.cubin" 2>/dev/null || true
  fi
  rm -rf "$work"
  echo "$rc" >"$dir/$name.rc"
  exit 0
fi

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
now_ms() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    local t="${EPOCHREALTIME/[.,]/}"
    echo $((t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}
die() { echo "device_check: error: $*" >&2; exit 2; }
warn() { echo "device_check: warning: $*" >&2; }
usage() {
  awk '/^# Usage:/ { on = 1 } on && /^# Exit status/ { print; exit } on' "$0" |
    sed 's/^# \{0,1\}//'
}
TAB=$'\t'

T0="$(now_ms)"
SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

ARCHS="75 87"
OUT=""
JOBS=2
QUIET=0
FILES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --arch) [[ $# -ge 2 ]] || die "--arch needs a value"; ARCHS="$2"; shift 2 ;;
    --arch=*) ARCHS="${1#--arch=}"; shift ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a value"; OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    --jobs|-j) [[ $# -ge 2 ]] || die "--jobs needs a value"; JOBS="$2"; shift 2 ;;
    --jobs=*) JOBS="${1#--jobs=}"; shift ;;
    --quiet|-q) QUIET=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; FILES+=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) FILES+=("$1"); shift ;;
  esac
done
ARCHS="${ARCHS//,/ }"
read -r -a ARCH_LIST <<<"$ARCHS"
[[ ${#ARCH_LIST[@]} -gt 0 ]] || die "--arch list is empty"
for a in "${ARCH_LIST[@]}"; do
  a="${a#sm_}"
  [[ "$a" =~ ^[0-9]+[a-z]?$ ]] || die "bad architecture '$a' (want e.g. 75 or sm_87)"
done
ARCH_LIST=("${ARCH_LIST[@]#sm_}")
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive integer"

# ---- tools ----------------------------------------------------------------
if [[ -z "${NVCC:-}" ]]; then
  if command -v nvcc >/dev/null 2>&1; then NVCC="$(command -v nvcc)"
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then NVCC=/usr/local/cuda/bin/nvcc
  else die "nvcc not found (set NVCC or put it on PATH)"
  fi
fi
command -v "$NVCC" >/dev/null 2>&1 || die "NVCC='$NVCC' is not executable"
if [[ -z "${CUFILT:-}" ]]; then
  NVCC_DIR="$(dirname "$(command -v "$NVCC")")"
  if command -v cu++filt >/dev/null 2>&1; then CUFILT=cu++filt
  elif [[ -x "$NVCC_DIR/cu++filt" ]]; then CUFILT="$NVCC_DIR/cu++filt"
  elif command -v c++filt >/dev/null 2>&1; then CUFILT=c++filt
  else
    warn "neither cu++filt nor c++filt found: kernel names stay mangled and hot kernels cannot be matched"
    CUFILT=""
  fi
fi

# ---- files ----------------------------------------------------------------
if [[ ${#FILES[@]} -eq 0 ]]; then
  while IFS= read -r -d '' f; do FILES+=("$f"); done < <(
    {
      [[ -d "$ROOT/kernels" ]] &&
        find "$ROOT/kernels" -maxdepth 1 -type f -name '*.cu' -print0
      [[ -d "$ROOT/tests" ]] &&
        find "$ROOT/tests" -type f -path '*/kernels/*.cu' -print0 |
          while IFS= read -r -d '' g; do
            [[ "$(basename "$(dirname "$g")")" == kernels ]] && printf '%s\0' "$g"
          done
      true
    } | sort -z)
  if [[ ${#FILES[@]} -eq 0 ]]; then
    echo "device_check: no kernel sources found (kernels/*.cu, tests/**/kernels/*.cu); nothing to check"
    exit 0
  fi
else
  for i in "${!FILES[@]}"; do
    f="${FILES[$i]}"
    [[ -f "$f" ]] || die "no such file: $f"
    FILES[i]="$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
  done
fi

# Display path (relative to the repo root when inside it) and output name:
# the basename without .cu, or the flattened path when basenames collide.
declare -a REL NAME
declare -A SEEN=()
for i in "${!FILES[@]}"; do
  f="${FILES[$i]}"
  REL[i]="${f#"$ROOT"/}"
  b="$(basename "$f")"; b="${b%.*}"
  SEEN[$b]=$(( ${SEEN[$b]:-0} + 1 ))
done
for i in "${!FILES[@]}"; do
  b="$(basename "${FILES[$i]}")"; b="${b%.*}"
  if [[ ${SEEN[$b]} -gt 1 ]]; then
    n="${REL[$i]%.*}"; n="${n#/}"; n="${n//\//__}"
    NAME[i]="${n//[^A-Za-z0-9_.+-]/_}"
  else
    NAME[i]="${b//[^A-Za-z0-9_.+-]/_}"
  fi
done

# ---- output dir -----------------------------------------------------------
KEEP_OUT=1
if [[ -z "$OUT" ]]; then
  OUT="$(mktemp -d "${TMPDIR:-/tmp}/m2u-device-check.XXXXXX")"
  KEEP_OUT=0
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
for a in "${ARCH_LIST[@]}"; do
  rm -rf "${OUT:?}/sm_$a"
  mkdir -p "$OUT/sm_$a"
done
FAILED=0
cleanup() {
  if [[ $KEEP_OUT -eq 0 ]]; then
    if [[ $FAILED -eq 0 ]]; then rm -rf "$OUT"
    else echo "device_check: outputs kept in $OUT" >&2
    fi
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
# Source scanning (pure awk, works with mawk and gawk)
# ---------------------------------------------------------------------------

# Print the identifiers of the hot kernels declared in a source file, one per
# line. The marker may sit anywhere in the declaration before the kernel name
# (same line as __global__, the line before, after `template <...>`).
# Comments and preprocessor lines are ignored.
hot_kernels() {
  awk '
    BEGIN { text = ""; inblock = 0; cont = 0 }
    {
      line = $0
      if (cont) { cont = (line ~ /\\$/); next }
      if (!inblock && line ~ /^[ \t]*#/) { cont = (line ~ /\\$/); next }
      out = ""
      while (length(line) > 0) {
        if (inblock) {
          p = index(line, "*/")
          if (p == 0) { line = ""; break }
          line = substr(line, p + 2); inblock = 0; out = out " "
          continue
        }
        p1 = index(line, "//"); p2 = index(line, "/*")
        if (p1 == 0 && p2 == 0) { out = out line; line = ""; break }
        if (p1 != 0 && (p2 == 0 || p1 < p2)) { out = out substr(line, 1, p1 - 1); line = ""; break }
        out = out substr(line, 1, p2 - 1) " "; line = substr(line, p2 + 2); inblock = 1
      }
      text = text " " out
    }
    function isid(c) { return c ~ /[A-Za-z0-9_]/ }
    END {
      n = length(text); start = 1
      while (1) {
        rest = substr(text, start)
        p = index(rest, "__global__")
        if (p == 0) break
        g = start + p - 1                 # position of __global__
        e = g + length("__global__")
        start = e
        if ((g > 1 && isid(substr(text, g - 1, 1))) || isid(substr(text, e, 1))) continue
        # Declaration prefix: back to the previous ; { or }.
        b = g - 1
        while (b >= 1 && substr(text, b, 1) !~ /[;{}]/) b--
        decl = substr(text, b + 1, g - b - 1)
        # Scan forward for the kernel name: the first identifier followed by
        # ( or < that is not an attribute such as __launch_bounds__(...).
        i = e; name = ""; hot = 0; depth = 0
        while (i <= n) {
          c = substr(text, i, 1)
          if (isid(c)) {
            j = i
            while (j <= n && isid(substr(text, j, 1))) j++
            id = substr(text, i, j - i)
            k = j
            while (k <= n && substr(text, k, 1) ~ /[ \t]/) k++
            nc = substr(text, k, 1)
            if (id == "M2U_HOT_KERNEL") { hot = 1; i = j; continue }
            if (nc == "(" && (id ~ /^__/ )) {
              # attribute: skip its balanced parentheses
              depth = 0
              while (k <= n) {
                c2 = substr(text, k, 1)
                if (c2 == "(") depth++
                else if (c2 == ")") { depth--; if (depth == 0) break }
                k++
              }
              i = k + 1; continue
            }
            if (nc == "(" || nc == "<") { name = id; break }
            i = j; continue
          }
          if (c == ";" || c == "{" || c == "(") break
          i++
        }
        if (name == "") continue
        if (decl ~ /(^|[^A-Za-z0-9_])M2U_HOT_KERNEL([^A-Za-z0-9_]|$)/) hot = 1
        if (hot && !(name in done)) { done[name] = 1; print name }
      }
    }' "$1"
}

# Print, one per line, the project headers a source includes with
# #include "..." (recursively), resolved like nvcc does here: the including
# file's directory, then kernels/, then runtime/include/. System headers and
# unresolvable names are skipped.
local_headers() {
  local -A seen=()
  local queue=("$1") f inc d cand
  while [[ ${#queue[@]} -gt 0 ]]; do
    f="${queue[0]}"; queue=("${queue[@]:1}")
    d="$(dirname "$f")"
    while IFS= read -r inc; do
      for cand in "$d/$inc" "$ROOT/kernels/$inc" "$ROOT/runtime/include/$inc"; do
        if [[ -f "$cand" ]]; then
          cand="$(cd "$(dirname "$cand")" && pwd)/$(basename "$cand")"
          if [[ -z "${seen[$cand]:-}" ]]; then
            seen[$cand]=1; queue+=("$cand"); printf '%s\n' "$cand"
          fi
          break
        fi
      done
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  done
}

# Print the directives of a source file as "lineno<TAB>kernel<TAB>verb<TAB>arg".
directives() {
  awk '
    {
      p = index($0, "device_check:")
      if (p == 0) next
      pre = substr($0, 1, p - 1)
      if (pre !~ /\/\/[ \t]*$/) next
      s = substr($0, p + length("device_check:"))
      sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s)
      k = s; sub(/[ \t].*$/, "", k)
      s = substr(s, length(k) + 1); sub(/^[ \t]+/, "", s)
      v = s; sub(/[ \t].*$/, "", v)
      s = substr(s, length(v) + 1); sub(/^[ \t]+/, "", s)
      printf "%d\t%s\t%s\t%s\n", NR, k, v, s
    }' "$1"
}

# Parse a ptxas -v report into one line per entry function:
# mangled<TAB>regs<TAB>stack<TAB>spill_st<TAB>spill_ld<TAB>smem<TAB>cumstack
# and, for non-entry functions with a stack frame or spills, a line
# "func<TAB>mangled<TAB>stack<TAB>spill_st<TAB>spill_ld".
parse_ptxas() {
  awk '
    function num_before(s, word,    p, t) {
      p = index(s, word); if (p == 0) return -1
      t = substr(s, 1, p - 1); sub(/[ \t]+$/, "", t)
      sub(/^.*[^0-9]/, "", t)
      return t + 0
    }
    /Compiling entry function \047/ {
      s = $0; sub(/^.*Compiling entry function \047/, "", s); sub(/\047.*$/, "", s)
      cur = s; isentry[cur] = 1
      if (!(cur in regs)) { order[++ne] = cur; regs[cur] = 0; stk[cur] = 0; sst[cur] = 0; sld[cur] = 0; smem[cur] = 0; cum[cur] = 0 }
      next
    }
    /Function properties for / {
      s = $0; sub(/^.*Function properties for /, "", s); sub(/[ \t\r]+$/, "", s)
      prop = s; next
    }
    /bytes stack frame/ {
      a = num_before($0, "bytes stack frame"); b = num_before($0, "bytes spill stores"); c = num_before($0, "bytes spill loads")
      if (prop in isentry) { stk[prop] = a; sst[prop] = b; sld[prop] = c }
      else if (prop != "" && (a > 0 || b > 0 || c > 0)) printf "func\t%s\t%d\t%d\t%d\n", prop, a, b, c
      prop = ""; next
    }
    /Used [0-9]+ registers/ {
      if (cur == "") next
      regs[cur] = num_before($0, "registers")
      v = num_before($0, "bytes smem"); if (v >= 0) smem[cur] = v
      v = num_before($0, "bytes cumulative stack size"); if (v >= 0) cum[cur] = v
      next
    }
    END {
      for (i = 1; i <= ne; i++) { e = order[i]
        printf "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", e, regs[e], stk[e], sst[e], sld[e], smem[e], cum[e] }
    }' "$1"
}

# Print the body of the PTX entry `$2` in file `$1` (the `.entry` line through
# the closing `}` at column 0).
ptx_entry_body() {
  awk -v want="$2" '
    !on && index($0, ".entry") {
      s = $0; sub(/^.*\.entry[ \t]+/, "", s); sub(/[ \t(].*$/, "", s)
      if (s == want) on = 1
    }
    on { print; if ($0 ~ /^}[ \t\r]*$/) exit }' "$1"
}

# Demangle each argument, one name per line (arguments, not stdin: both
# cu++filt and c++filt take symbols on the command line).
demangle() {
  if [[ -n "$CUFILT" ]]; then "$CUFILT" "$@"; else printf '%s\n' "$@"; fi
}

# Does demangled name $1 belong to kernel identifier $2?
matches_kernel() {
  local d="$1" id="$2"
  [[ "$d" == "$id" ]] && return 0
  local re="(^|[^A-Za-z0-9_])${id}[(<]"
  [[ "$d" =~ $re ]]
}

# ---------------------------------------------------------------------------
# Compile everything
# ---------------------------------------------------------------------------
export DC_NVCC="$NVCC" DC_ROOT="$ROOT"
if [[ -n "${M2U_DEVICE_CHECK_NVCC_FLAGS:-}" ]]; then export M2U_DEVICE_CHECK_NVCC_FLAGS; fi
{
  for a in "${ARCH_LIST[@]}"; do
    for i in "${!FILES[@]}"; do
      printf '%s\0%s\0%s\0%s\0' "$a" "${FILES[$i]}" "${NAME[$i]}" "$OUT/sm_$a"
    done
  done
} | xargs -0 -n 4 -P "$JOBS" bash "$SCRIPT_DIR/$(basename "$0")" --compile-one ||
  true  # per-job status is in the .rc files

COMPILE_FAIL=0
for a in "${ARCH_LIST[@]}"; do
  for i in "${!FILES[@]}"; do
    n="${NAME[$i]}"
    rc="$(cat "$OUT/sm_$a/$n.rc" 2>/dev/null || echo missing)"
    if [[ "$rc" != 0 ]]; then
      COMPILE_FAIL=1
      echo "device_check: FAIL: ${REL[$i]} does not compile for sm_$a (nvcc exit $rc):" >&2
      sed 's/^/    /' "$OUT/sm_$a/$n.ptxas.txt" >&2 2>/dev/null || true
    fi
    rm -f "$OUT/sm_$a/$n.rc"
  done
done
if [[ $COMPILE_FAIL -ne 0 ]]; then FAILED=1; exit 1; fi

# ---------------------------------------------------------------------------
# Analyse
# ---------------------------------------------------------------------------
declare -a HOT_IDS_OF OWN_HOT_OF DIRS_OF
for i in "${!FILES[@]}"; do
  # Hot markers count in the .cu and in the project headers it includes
  # (kernel templates defined in a .cuh); a hot kernel without an entry is
  # only reported for kernels declared in the .cu itself.
  OWN_HOT_OF[i]="$(hot_kernels "${FILES[$i]}")"
  HOT_IDS_OF[i]="${OWN_HOT_OF[$i]}"
  while IFS= read -r hdr; do
    [[ -n "$hdr" ]] || continue
    HOT_IDS_OF[i]+=$'\n'"$(hot_kernels "$hdr")"
  done < <(local_headers "${FILES[$i]}")
  HOT_IDS_OF[i]="$(printf '%s\n' "${HOT_IDS_OF[$i]}" | awk 'NF && !seen[$0]++')"
  DIRS_OF[i]="$(directives "${FILES[$i]}")"
  # validate directives once (not per arch)
  while IFS=$'\t' read -r ln kid verb arg; do
    [[ -n "$ln" ]] || continue
    if [[ ! "$kid" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      echo "device_check: FAIL: ${REL[$i]}:$ln: bad directive: kernel name '$kid' is not an identifier" >&2; FAILED=1
    elif [[ "$verb" != expects-ptx && "$verb" != forbids-ptx ]]; then
      echo "device_check: FAIL: ${REL[$i]}:$ln: unknown directive verb '$verb' (known: expects-ptx, forbids-ptx)" >&2; FAILED=1
    elif [[ -z "$arg" ]]; then
      echo "device_check: FAIL: ${REL[$i]}:$ln: directive '$verb' for $kid has no PTX text" >&2; FAILED=1
    fi
  done <<<"${DIRS_OF[$i]}"
done
if [[ $FAILED -ne 0 ]]; then exit 1; fi

declare -A ALL_KERNELS=() HOT_KERNELS=()
N_CHECKS=0
for a in "${ARCH_LIST[@]}"; do
  table="$OUT/sm_$a/summary.txt"
  : >"$table.body"
  for i in "${!FILES[@]}"; do
    n="${NAME[$i]}" rel="${REL[$i]}"
    parsed="$(parse_ptxas "$OUT/sm_$a/$n.ptxas.txt")"
    entries=() demangled=()
    while IFS=$'\t' read -r m rest; do
      [[ -n "$m" ]] || continue
      if [[ "$m" == func ]]; then
        IFS=$'\t' read -r fm fs fst fld <<<"$rest"
        warn "sm_$a $rel: device function $(demangle "$fm"): ${fs} bytes stack frame, ${fst} bytes spill stores, ${fld} bytes spill loads"
        continue
      fi
      entries+=("$m$TAB$rest")
    done <<<"$parsed"
    if [[ ${#entries[@]} -gt 0 ]]; then
      mangled=()
      for e in "${entries[@]}"; do mangled+=("${e%%"$TAB"*}"); done
      mapfile -t demangled < <(demangle "${mangled[@]}")
      [[ ${#demangled[@]} -eq ${#mangled[@]} ]] || demangled=("${mangled[@]}")
    fi
    echo "  $rel" >>"$table.body"
    hot_ids=()
    if [[ -n "${HOT_IDS_OF[$i]}" ]]; then mapfile -t hot_ids <<<"${HOT_IDS_OF[$i]}"; fi
    declare -A hot_seen=()
    for j in "${!entries[@]}"; do
      IFS=$'\t' read -r m regs stk sst sld smem cum <<<"${entries[$j]}"
      d="${demangled[$j]:-$m}"
      ALL_KERNELS["$m"]=1
      is_hot=0 hot_id=""
      for h in "${hot_ids[@]}"; do
        if matches_kernel "$d" "$h"; then is_hot=1; hot_id="$h"; hot_seen[$h]=1; break; fi
      done
      lstk=$stk; [[ $cum -gt $lstk ]] && lstk=$cum
      printf '    %5s %6s %8s %8s %7s  %-3s  %s\n' "$regs" "$lstk" "$sst" "$sld" "$smem" \
        "$([[ $is_hot -eq 1 ]] && echo yes || echo -)" "$d" >>"$table.body"
      nums="$regs registers, $stk bytes stack frame"
      [[ $cum -gt 0 ]] && nums+=" ($cum bytes cumulative stack)"
      nums+=", $sst bytes spill stores, $sld bytes spill loads"
      if [[ $is_hot -eq 1 ]]; then
        HOT_KERNELS["$m"]=1
        if [[ $stk -gt 0 || $cum -gt 0 || $sst -gt 0 || $sld -gt 0 ]]; then
          echo "device_check: FAIL: hot kernel $hot_id spills / uses local memory on sm_$a: $d in $rel: $nums" >&2
          FAILED=1
        fi
      elif [[ $stk -gt 0 || $cum -gt 0 || $sst -gt 0 || $sld -gt 0 ]]; then
        warn "sm_$a $rel: kernel $d (not hot): $nums"
      fi
    done
    own_hot=()
    if [[ -n "${OWN_HOT_OF[$i]}" ]]; then mapfile -t own_hot <<<"${OWN_HOT_OF[$i]}"; fi
    for h in "${own_hot[@]}"; do
      [[ -n "${hot_seen[$h]:-}" ]] ||
        warn "sm_$a $rel: hot kernel $h has no compiled entry (template never instantiated?)"
    done
    unset hot_seen

    # PTX directives
    while IFS=$'\t' read -r ln kid verb arg; do
      [[ -n "$ln" ]] || continue
      found=0
      for j in "${!entries[@]}"; do
        m="${entries[$j]%%"$TAB"*}"
        d="${demangled[$j]:-$m}"
        matches_kernel "$d" "$kid" || continue
        found=1
        N_CHECKS=$((N_CHECKS + 1))
        body="$(ptx_entry_body "$OUT/sm_$a/$n.ptx" "$m")"
        if [[ -z "$body" ]]; then
          echo "device_check: FAIL: $rel:$ln: no .entry $m in $n.ptx for sm_$a" >&2; FAILED=1; continue
        fi
        if [[ "$verb" == expects-ptx && "$body" != *"$arg"* ]]; then
          echo "device_check: FAIL: $rel:$ln: kernel $kid ($d) on sm_$a: PTX does not contain '$arg' (see $OUT/sm_$a/$n.ptx)" >&2
          FAILED=1
        elif [[ "$verb" == forbids-ptx && "$body" == *"$arg"* ]]; then
          echo "device_check: FAIL: $rel:$ln: kernel $kid ($d) on sm_$a: PTX contains forbidden '$arg' (see $OUT/sm_$a/$n.ptx)" >&2
          FAILED=1
        fi
      done
      if [[ $found -eq 0 ]]; then
        echo "device_check: FAIL: $rel:$ln: directive names kernel $kid but no entry function matches on sm_$a" >&2
        FAILED=1
      fi
    done <<<"${DIRS_OF[$i]}"
  done
  {
    echo "sm_$a"
    printf '    %5s %6s %8s %8s %7s  %-3s  %s\n' regs stack spill_st spill_ld smem hot kernel
    cat "$table.body"
  } >"$table"
  rm -f "$table.body"
  if [[ $QUIET -eq 0 ]]; then
    sed 's/^/  /' "$table"
  fi
done

T1="$(now_ms)"
ms=$((T1 - T0))
wall="$((ms / 1000)).$(printf '%03d' $((ms % 1000)))s"
archs_str="$(printf 'sm_%s ' "${ARCH_LIST[@]}")"; archs_str="${archs_str% }"
nk=${#ALL_KERNELS[@]} nh=${#HOT_KERNELS[@]}
if [[ $FAILED -ne 0 ]]; then
  echo "device_check: FAILED: ${#FILES[@]} files, $nk kernels ($nh hot) on $archs_str in $wall" >&2
  exit 1
fi
extra=""
[[ $N_CHECKS -gt 0 ]] && extra=", $N_CHECKS PTX checks passed"
echo "device_check: ${#FILES[@]} files, $nk kernels ($nh hot) on $archs_str: no spills in hot kernels$extra ($wall)"
