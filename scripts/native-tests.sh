#!/usr/bin/env bash
# The native test suite: plain C++ against framesnap_core, without Node.
#
#   scripts/native-tests.sh               build, make the clips, run the tests
#   scripts/native-tests.sh --valgrind    the same binary under valgrind (memcheck)
#   scripts/native-tests.sh --asan       a separate AddressSanitizer + LeakSanitizer build
#   scripts/native-tests.sh --make-clips DIR   only (re)make the fixture clips in DIR
#                                          (ctest's setup step calls this)
#
# Idempotent: the build is incremental and the clips are cached in
# build/native-tests/clips, remade only when their recipe changes.
# Exits non-zero on any build error, test failure, or memory error.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { printf 'native-tests: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

clips_default="$root/build/native-tests/clips"

# ---- Fixture clips --------------------------------------------------------
# The clips come from the project's one recipe list (scripts/clips.mjs), made
# by the ffmpeg CLI from lavfi sources; each is kept beside a sidecar of its
# recipe, so a changed recipe remakes it and an unchanged one is kept.
NATIVE_CLIPS=(h264 mpeg2 hevc long360p vp9Sar1080p h264At10s rawH264 rawM2v rawHevc streams64 rawMjpeg mjpegMkv)

make_clips() { # make_clips DIR
  local dir=$1
  command -v ffmpeg >/dev/null || die "the ffmpeg CLI is missing (scripts/setup.sh installs it)"
  command -v node >/dev/null || die "node is missing: the clip recipes are scripts/clips.mjs"
  node "$root/scripts/clips.mjs" "$dir" "${NATIVE_CLIPS[@]}" >/dev/null
}

# ---- Arguments --------------------------------------------------------------
mode=plain
case "${1:-}" in
  "") ;;
  --valgrind) mode=valgrind ;;
  --asan) mode=asan ;;
  --make-clips)
    [[ $# -eq 2 ]] || die "usage: $0 --make-clips DIR"
    make_clips "$2"
    exit 0
    ;;
  -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown option $1 (try --help)" ;;
esac
[[ $# -le 1 ]] || die "one mode at a time (try --help)"

# ---- Build ------------------------------------------------------------------
build_dir=build/native-tests
cmake_options=(-DFRAMESNAP_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug "-DFRAMESNAP_TEST_CLIPS=$clips_default")
if [[ $mode == asan ]]; then
  build_dir=build/native-tests-asan
  cmake_options+=(-DFRAMESNAP_SANITIZE=ON)
else
  cmake_options+=(-DFRAMESNAP_SANITIZE=OFF)
fi
generator=Ninja
command -v ninja >/dev/null || generator="Unix Makefiles"
# A build folder configured with another generator cannot be reused as is;
# forget its configuration only (the clips live next to it and are kept).
if [[ -f $build_dir/CMakeCache.txt ]] &&
  ! grep -qx "CMAKE_GENERATOR:INTERNAL=$generator" "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
fi
# Quiet unless something fails; then the whole log.
quietly() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    die "failed: $*"
  fi
}
quietly cmake -S . -B "$build_dir" -G "$generator" "${cmake_options[@]}"
quietly cmake --build "$build_dir" --target framesnap_native_tests
test_binary="$build_dir/native/tests/framesnap_native_tests"

make_clips "$clips_default"

# ---- Run --------------------------------------------------------------------
case $mode in
  plain)
    "$test_binary" "$clips_default"
    ;;
  asan)
    ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
      "$test_binary" "$clips_default"
    # LeakSanitizer prints nothing when it finds nothing; say so.
    log "AddressSanitizer + LeakSanitizer: no errors, no leaks"
    ;;
  valgrind)
    if ! command -v valgrind >/dev/null; then
      [[ $(id -u) -eq 0 ]] || die "valgrind is missing; install it with: sudo apt-get install -y valgrind"
      log "installing valgrind"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
    fi
    valgrind --leak-check=full --show-leak-kinds=definite,indirect \
      --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40 \
      --track-origins=yes --suppressions=native/tests/valgrind.supp \
      "$test_binary" "$clips_default"
    ;;
esac
