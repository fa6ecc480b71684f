#!/usr/bin/env bash
# Fuzzing of the native core: a libFuzzer harness (native/fuzz/fuzz_core.cpp)
# built with clang, AddressSanitizer and UndefinedBehaviorSanitizer against
# the core's sources and the system FFmpeg.
#
#   scripts/fuzz.sh [--seconds N] [--jobs J]   replay the regression inputs, then fuzz
#                                              for N seconds (default 60) in J processes
#                                              (default 1)
#   scripts/fuzz.sh ... --keep-going           go on after a finding (libFuzzer's fork
#                                              mode), to collect several in one run
#   scripts/fuzz.sh --replay                   only replay native/fuzz/regressions/*
#   scripts/fuzz.sh --build                    only build (build/fuzz/fuzz_core)
#   scripts/fuzz.sh --minimize FILE            shrink a crashing FILE (to FILE.min)
#   scripts/fuzz.sh ... -- ARGS                extra libFuzzer arguments
#
# Builds when stale, makes the seeds (native/fuzz/make-seeds.sh) in
# build/fuzz/seeds, keeps the growing corpus in build/fuzz/corpus and what the
# fuzzer finds (crash-*, leak-*, timeout-*, oom-*) in build/fuzz/crashes.
# Exits non-zero when a regression input fails or the fuzzer finds anything.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

seconds=60
jobs=1
mode=fuzz
keep_going=0
minimize_input=
extra=()
while (($# > 0)); do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a value}; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    --keep-going) keep_going=1; shift ;;
    --replay) mode=replay; shift ;;
    --build) mode=build; shift ;;
    --minimize) mode=minimize; minimize_input=${2:?--minimize needs a file}; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 ]] || die "--seconds wants a whole number of seconds, got '$seconds'"
[[ $jobs =~ ^[0-9]+$ && $jobs -ge 1 ]] || die "--jobs wants a whole number >= 1, got '$jobs'"

out=$root/build/fuzz
binary=$out/fuzz_core
regressions=$root/native/fuzz/regressions

# ---- Tools --------------------------------------------------------------------
# clang and its runtime (libFuzzer, the sanitizers); Debian 12's clang is 14.
fuzzer_runtime_present() {
  command -v clang++ >/dev/null &&
    [[ -n $(find /usr/lib/llvm-*/lib/clang -name 'libclang_rt.fuzzer-x86_64.a' -print -quit 2>/dev/null) ||
      -n $(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null | grep /) ]]
}
if ! fuzzer_runtime_present; then
  [[ $(id -u) -eq 0 ]] || die "clang and libFuzzer are missing; install them with: sudo apt-get install -y clang libclang-rt-14-dev"
  log "installing clang libclang-rt-14-dev"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi
command -v ffmpeg >/dev/null && pkg-config --exists libavformat libavcodec libswscale libavutil libcurl ||
  die "FFmpeg's CLI, or FFmpeg's or libcurl's development files, are missing (bash scripts/setup.sh installs them)"

# ---- Build --------------------------------------------------------------------
# Every core source but the Node binding, and the harness; one object each,
# recompiled when its source, any core header or the flags change. libcurl:
# the remote reader is part of the core (the harness reads files only).
ffmpeg_cflags=$(pkg-config --cflags libavformat libavcodec libswscale libavutil libcurl)
ffmpeg_libs=$(pkg-config --libs libavformat libavcodec libswscale libavutil libcurl)
sanitizers=address,undefined
cxxflags="-std=c++17 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,$sanitizers -fno-sanitize-recover=undefined -Wall -Wextra -Inative $ffmpeg_cflags"

build() {
  mkdir -p "$out/obj"
  local flags_file=$out/obj/flags
  if [[ ! -f $flags_file || $(<"$flags_file") != "$cxxflags" ]]; then
    rm -f "$out"/obj/*.o
    printf '%s' "$cxxflags" >"$flags_file"
  fi
  local sources=() source object objects=() relink=0
  for source in native/*.cpp; do
    case $source in
      # The binding's files (Node-API: its headers are not on this path).
      native/binding.cpp | native/binding_*.cpp | native/environment_teardown.cpp) ;;
      *) sources+=("$source") ;;
    esac
  done
  sources+=(native/fuzz/fuzz_core.cpp)
  for source in "${sources[@]}"; do
    object=$out/obj/$(basename "${source%.cpp}").o
    objects+=("$object")
    if [[ ! -f $object || $source -nt $object ||
      -n $(find native -maxdepth 1 -name '*.h' -newer "$object" -print -quit) ]]; then
      log "compiling $source"
      local warnings=()
      # The harness is ours to keep warning-free; the core's -Werror is gcc's
      # business (CMakeLists.txt), so clang's opinions on it are only shown.
      [[ $source == native/fuzz/* ]] && warnings=(-Werror)
      # shellcheck disable=SC2086
      clang++ $cxxflags "${warnings[@]}" -c "$source" -o "$object.tmp"
      mv -f "$object.tmp" "$object"
      relink=1
    fi
  done
  if ((relink)) || [[ ! -x $binary ]] || [[ -n $(find "$out/obj" -name '*.o' -newer "$binary" -print -quit) ]] ||
    [[ $(printf '%s\n' "${objects[@]}") != "$(cat "$out/obj/linked" 2>/dev/null)" ]]; then
    log "linking $binary"
    # shellcheck disable=SC2086
    clang++ -fsanitize=fuzzer,$sanitizers "${objects[@]}" $ffmpeg_libs -lpthread -o "$binary.tmp"
    mv -f "$binary.tmp" "$binary"
    printf '%s\n' "${objects[@]}" >"$out/obj/linked"
  fi
}

# ---- Running ------------------------------------------------------------------
# The core gives up at its own deadline (5 s, see the harness); libFuzzer's
# -timeout is the backstop for a hang the deadline does not reach. One input
# may not allocate more than 1 GiB at once or hold more than 2 GiB: the core's
# pixel limits (8192x8192) keep honest buffers far below that.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0:detect_stack_use_after_return=1:strict_string_checks=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
libfuzzer_options=(-timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=1024)

replay() {
  local inputs=() input failed=()
  shopt -s nullglob
  for input in "$regressions"/*; do
    [[ -f $input && $input != *.md ]] && inputs+=("$input")
  done
  shopt -u nullglob
  if ((${#inputs[@]} == 0)); then
    log "no regression inputs in native/fuzz/regressions"
    return 0
  fi
  log "replaying ${#inputs[@]} regression inputs"
  for input in "${inputs[@]}"; do
    # A slow input is no regression failure on a loaded machine: only memory
    # errors, undefined behaviour, leaks, the memory limits and hangs are.
    if ! output=$(FRAMESNAP_FUZZ_ALLOW_TIMEOUTS=1 "$binary" "${libfuzzer_options[@]}" "${extra[@]}" "$input" 2>&1); then
      printf '%s\n' "$output" >&2
      failed+=("${input#"$root"/}")
    fi
  done
  if ((${#failed[@]} > 0)); then
    log "FAILED on ${#failed[@]} regression inputs: ${failed[*]}"
    return 1
  fi
  log "all ${#inputs[@]} regression inputs pass"
}

build
case $mode in
  build) exit 0 ;;
  replay) replay; exit ;;
  minimize)
    [[ -f $minimize_input ]] || die "no such file: $minimize_input"
    "$binary" "${libfuzzer_options[@]}" -minimize_crash=1 -runs=20000 \
      "-exact_artifact_path=$minimize_input.min" "${extra[@]}" "$minimize_input" || true
    [[ -f $minimize_input.min ]] || die "could not minimize $minimize_input (does it still crash?)"
    log "minimized to $minimize_input.min ($(stat -c %s "$minimize_input.min") bytes)"
    exit 0
    ;;
esac

status=0
replay || status=1

bash native/fuzz/make-seeds.sh "$out/seeds"
mkdir -p "$out/corpus" "$out/crashes" "$out/logs"
marker=$out/logs/.started
: >"$marker"
log "fuzzing for $seconds s in $jobs job(s); corpus build/fuzz/corpus, findings build/fuzz/crashes"
job_options=()
if ((keep_going)); then
  job_options=("-fork=$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
elif ((jobs > 1)); then
  job_options=("-jobs=$jobs" "-workers=$jobs")
fi
# libFuzzer writes its per-job logs (fuzz-N.log) in the working folder.
fuzzed=0
(cd "$out/logs" && "$binary" "${libfuzzer_options[@]}" "${job_options[@]}" \
  "-max_total_time=$seconds" -max_len=32768 -print_final_stats=1 "-dict=$root/native/fuzz/framesnap.dict" \
  "-artifact_prefix=$out/crashes/" "${extra[@]}" "$out/corpus" "$out/seeds") || fuzzed=$?
findings=()
while IFS= read -r -d '' finding; do
  findings+=("${finding#"$root"/}")
done < <(find "$out/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
  -o -name 'oom-*' \) -newer "$marker" -print0)
if ((fuzzed != 0 || ${#findings[@]} > 0)); then
  log "the fuzzer found something (exit status $fuzzed): ${findings[*]:-see the log above}"
  status=1
else
  log "no findings in $seconds s; corpus: $(find "$out/corpus" -type f | wc -l) inputs"
fi
exit $status
