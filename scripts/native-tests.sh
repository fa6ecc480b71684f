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
# Each clip is made by the ffmpeg CLI from a lavfi testsrc2 source, as
# test/fixtures.ts does; a sidecar NAME.recipe holds the arguments it was made
# with, so a changed recipe remakes the clip and an unchanged one is kept.
make_clip() { # make_clip DIR FILE ffmpeg-args...
  local dir=$1 file=$2
  shift 2
  local recipe="$*"
  if [[ -s $dir/$file && -f $dir/$file.recipe && $(<"$dir/$file.recipe") == "$recipe" ]]; then
    return 0
  fi
  log "making $file"
  local temporary="$dir/.tmp-$$-$file"
  ffmpeg -nostdin -v error -y "$@" "$temporary"
  mv -f "$temporary" "$dir/$file"
  printf '%s' "$recipe" >"$dir/$file.recipe"
}

make_clips() { # make_clips DIR
  local dir=$1
  command -v ffmpeg >/dev/null || die "the ffmpeg CLI is missing (scripts/setup.sh installs it)"
  mkdir -p "$dir"
  local source=(-f lavfi -i testsrc2=size=320x240:rate=25 -t 4)
  # H.264 with B-frames (3, pyramid), a keyframe each second: keyframes at 0, 1, 2, 3 s.
  make_clip "$dir" h264.mp4 "${source[@]}" -c:v libx264 -preset veryfast -g 25 -keyint_min 25 \
    -sc_threshold 0 -bf 3 -pix_fmt yuv420p
  # MPEG-2 in MPEG-TS, B-frames, GOP of 12: no seek index, inexact seeks.
  make_clip "$dir" mpeg2.ts "${source[@]}" -c:v mpeg2video -g 12 -bf 2 -b:v 1500k -pix_fmt yuv420p
  # 40 s at 640x360, for the deadline and abort tests: a full decode takes
  # far longer than their deadlines.
  make_clip "$dir" long.mp4 -f lavfi -i testsrc2=size=640x360:rate=25 -t 40 -c:v libx264 \
    -preset ultrafast -g 250 -pix_fmt yuv420p
  # Hostile and unusual inputs (issue 8); the tests patch some of them further.
  # 1080p VP9 in MP4 with a pasp box (2:1 here; the tests write 500:1 into a copy).
  make_clip "$dir" vp9-1080p.mp4 -f lavfi -i testsrc2=size=1920x1080:rate=25 -t 0.2 \
    -vf setsar=2/1 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 200k -pix_fmt yuv420p
  # The H.264 clip in Matroska starting at 10 s (same bitstream: same pixels).
  make_clip "$dir" h264-at-10s.mkv -i "$dir/h264.mp4" -c copy -output_ts_offset 10
  # Raw elementary streams, stream-copied from the clips above (same pictures).
  make_clip "$dir" h264.h264 -i "$dir/h264.mp4" -c copy -bsf:v h264_mp4toannexb -f h264
  make_clip "$dir" mpeg2.m2v -i "$dir/mpeg2.ts" -c copy -f mpeg2video
  make_clip "$dir" hevc.mkv "${source[@]}" -c:v libx265 -preset veryfast \
    -x265-params keyint=25:min-keyint=25:bframes=3:log-level=error -pix_fmt yuv420p
  make_clip "$dir" hevc.hevc -i "$dir/hevc.mkv" -c copy -f hevc
  # 64 copies of one small H.264 stream in one MPEG-TS (the vitest suite makes 1000).
  local maps=()
  for _ in $(seq 64); do maps+=(-map 0:v); done
  make_clip "$dir" streams.ts -f lavfi -i testsrc2=size=64x48:rate=25 -t 2 "${maps[@]}" \
    -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p -f mpegts
  make_clip "$dir" mjpeg.mjpeg -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v mjpeg \
    -pix_fmt yuvj420p -f mjpeg
  make_clip "$dir" mjpeg.mkv -i "$dir/mjpeg.mjpeg" -c copy
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
