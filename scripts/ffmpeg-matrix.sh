#!/usr/bin/env bash
# The FFmpeg matrix: build the native core and its test suite, with -Werror,
# against the FFmpeg of other Debian releases, each in a debootstrap chroot,
# and run the native test suite there.
#
#   sudo scripts/ffmpeg-matrix.sh                  trixie (FFmpeg 7.1) and sid (FFmpeg 9.0)
#   sudo scripts/ffmpeg-matrix.sh bookworm sid     the releases named (bookworm: FFmpeg 5.1)
#   sudo scripts/ffmpeg-matrix.sh --compile-only trixie
#                                                  build only, no clips, no tests
#   sudo scripts/ffmpeg-matrix.sh --shell sid      a shell in the release's chroot
#   sudo scripts/ffmpeg-matrix.sh --node trixie    also build the addon with cmake-js and run a
#                                                  vitest smoke test (test/accuracy.test.ts, or
#                                                  $FRAMESNAP_MATRIX_VITEST) with the release's
#                                                  Node (installed in the chroot once); needs
#                                                  node_modules here (npm ci) and dist/ (tsc)
#   FRAMESNAP_MATRIX_PREPARE=script sudo scripts/ffmpeg-matrix.sh
#                                                  run the script in the chroot's copy of
#                                                  the tree first (to try a change there)
#
# The chroots are made once and cached in $FRAMESNAP_MATRIX_CACHE (default
# /var/cache/framesnap-matrix), one folder per release; a chroot is remade
# only when the package list below changes (delete the folder to force it).
# Each run copies the working tree (without build/, dist/, node_modules/) into
# the chroot and builds it there from scratch, so a run never reuses objects.
# The mirror is the one this machine's apt uses (or $FRAMESNAP_MATRIX_MIRROR).
# Needs root (debootstrap, chroot, mount) and debootstrap on PATH.
#
# Prints a summary line per release (FFmpeg version, result, seconds) and
# exits non-zero if any release fails; each release's full log is kept in
# $cache/logs/RELEASE.log.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'ffmpeg-matrix: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

cache=${FRAMESNAP_MATRIX_CACHE:-/var/cache/framesnap-matrix}
# What each chroot needs: the C++ toolchain, the FFmpeg and libcurl (the
# remote reader's transport) development packages, the ffmpeg CLI (it makes
# the test clips), and nginx and openssl (the remote tests' server and its
# throwaway certificate; debootstrap's fake start-stop-daemon keeps the
# package's own nginx from starting).
packages=(g++ cmake make pkg-config ca-certificates
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libcurl4-openssl-dev ffmpeg
  nginx openssl)

mode=test
with_node=0
releases=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --compile-only) mode=compile ;;
    --node) with_node=1 ;;
    --shell) mode=shell ;;
    -h | --help)
      sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) releases+=("$1") ;;
  esac
  shift
done
[[ ${#releases[@]} -gt 0 ]] || releases=(trixie sid)
[[ $mode != shell || ${#releases[@]} -eq 1 ]] || die "--shell takes one release"

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot and mount): run it with sudo"
command -v debootstrap >/dev/null ||
  die "debootstrap is missing; install it with: apt-get install -y debootstrap"

# The mirror this machine's apt uses, else Debian's own.
mirror=${FRAMESNAP_MATRIX_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(grep -hsE '^(URIs:|deb) ' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

mkdir -p "$cache/logs"

# ---- The chroots ------------------------------------------------------------
mounted=()
unmount_all() {
  local index
  for ((index = ${#mounted[@]} - 1; index >= 0; index--)); do
    umount -l "${mounted[index]}" 2>/dev/null || true
  done
  mounted=()
}
trap unmount_all EXIT

mount_into() { # mount_into CHROOT: /proc and /dev for the tools that want them
  local chroot=$1
  mount -t proc proc "$chroot/proc" && mounted+=("$chroot/proc")
  mount --bind /dev "$chroot/dev" && mounted+=("$chroot/dev")
}

remove_chroot() { # remove_chroot CHROOT: never through a mount left by a killed run
  local chroot=$1 target
  while read -r target; do
    umount -l "$target" 2>/dev/null || true
  done < <(awk -v prefix="$chroot/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$chroot"
}

make_chroot() { # make_chroot RELEASE: the cached chroot, made if missing or stale
  local release=$1 chroot="$cache/$1" wanted
  wanted="${packages[*]}"
  if [[ -f $chroot/.framesnap-packages && $(<"$chroot/.framesnap-packages") == "$wanted" ]]; then
    return 0
  fi
  remove_chroot "$chroot"
  log "$release: making the chroot from $mirror (once; cached in $chroot)"
  local include
  include=$(
    IFS=,
    echo "${packages[*]}"
  )
  if ! debootstrap --variant=minbase --include="$include" "$release" "$chroot" "$mirror" \
    >"$cache/logs/$release.debootstrap.log" 2>&1; then
    tail -n 20 "$cache/logs/$release.debootstrap.log" >&2
    remove_chroot "$chroot"
    die "$release: debootstrap failed (log: $cache/logs/$release.debootstrap.log)"
  fi
  printf '%s' "$wanted" >"$chroot/.framesnap-packages"
}

# ---- One release -------------------------------------------------------------
# The script run inside the chroot: configure, build (-Werror is in
# CMakeLists.txt), make the clips, run the native suite.
inside_script='
set -euo pipefail
cd /framesnap
echo "== FFmpeg: libavformat $(pkg-config --modversion libavformat), libavcodec $(pkg-config --modversion libavcodec), libavutil $(pkg-config --modversion libavutil), libswscale $(pkg-config --modversion libswscale); $(ffmpeg -hide_banner -version | head -n 1)"
echo "== compiler: $(c++ --version | head -n 1); $(cmake --version | head -n 1)"
cmake -S . -B build/matrix -DFRAMESNAP_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Debug \
  -DFRAMESNAP_TEST_CLIPS=/framesnap/build/matrix/clips
cmake --build build/matrix --target framesnap_native_tests -- -k -j"$(nproc)"
status=0
if [[ $1 == test ]]; then
  bash scripts/native-tests.sh --make-clips build/matrix/clips
  build/matrix/native/tests/framesnap_native_tests build/matrix/clips || status=1
fi
if [[ $2 == 1 ]]; then
  echo "== node $(node --version): the addon (cmake-js) and vitest $3"
  node node_modules/cmake-js/bin/cmake-js compile --log-level warn >build/cmake-js.log 2>&1 ||
    { cat build/cmake-js.log; exit 1; }
  node node_modules/vitest/vitest.mjs run $3 || status=1
fi
exit $status
'

run_release() { # run_release RELEASE -> prints the summary line, returns the result
  local release=$1 chroot="$cache/$1" started seconds result version
  started=$(date +%s)
  make_chroot "$release"
  local made=$(($(date +%s) - started))
  rm -rf "$chroot/framesnap"
  mkdir -p "$chroot/framesnap"
  # The working tree as it is now (committed or not), without build outputs.
  tar -C "$root" --exclude=./build --exclude=./dist --exclude=./node_modules --exclude=./.git \
    --exclude=./prebuilds --exclude=./bench/.cache --exclude=./test/.cache -cf - . |
    tar -C "$chroot/framesnap" -xf -
  if [[ -n ${FRAMESNAP_MATRIX_PREPARE:-} ]]; then
    if ! (cd "$chroot/framesnap" && "$FRAMESNAP_MATRIX_PREPARE") >&2; then
      echo "$release: FAILED: $FRAMESNAP_MATRIX_PREPARE failed"
      return 1
    fi
  fi
  if [[ $with_node -eq 1 ]]; then
    [[ -d $root/node_modules && -f $root/dist/index.js ]] ||
      { echo "$release: FAILED: --node needs node_modules (npm ci) and dist/ (tsc) here"; return 1; }
  fi
  # The native suite's clips are made by scripts/clips.mjs: node is needed to test.
  if [[ $with_node -eq 1 || $mode == test ]]; then
    if ! chroot "$chroot" /usr/bin/env PATH=/usr/bin:/bin node --version >/dev/null 2>&1; then
      log "$release: installing nodejs in the chroot (once)"
      chroot "$chroot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        /bin/bash -c 'apt-get -o Acquire::Check-Valid-Until=false update -qq && apt-get install -y -qq --no-install-recommends nodejs' \
        >"$cache/logs/$release.nodejs.log" 2>&1 ||
        { echo "$release: FAILED: installing nodejs (log: $cache/logs/$release.nodejs.log)"; return 1; }
    fi
  fi
  if [[ $with_node -eq 1 ]]; then
    # node_modules as hard links when on the same file system (fast; nothing
    # in it is modified in place), dist/ as built here.
    cp -al "$root/node_modules" "$chroot/framesnap/node_modules" 2>/dev/null ||
      cp -a "$root/node_modules" "$chroot/framesnap/node_modules"
    cp -a "$root/dist" "$chroot/framesnap/dist"
  fi
  # debootstrap writes no /etc/hosts: the remote tests connect to "localhost".
  [[ -s $chroot/etc/hosts ]] ||
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$chroot/etc/hosts"
  mount_into "$chroot"
  if [[ $mode == shell ]]; then
    chroot "$chroot" /bin/bash -l || true
    unmount_all
    return 0
  fi
  local logfile="$cache/logs/$release.log"
  log "$release: building$([[ $mode == test ]] && echo ' and testing') (log: $logfile)"
  # /usr/sbin: nginx, which the remote tests start.
  if chroot "$chroot" /usr/bin/env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    /bin/bash -c "$inside_script" inside "$mode" "$with_node" "${FRAMESNAP_MATRIX_VITEST:-test/accuracy.test.ts}" >"$logfile" 2>&1; then
    result=ok
  else
    result=FAILED
  fi
  unmount_all
  seconds=$(($(date +%s) - started - made))
  version=$(sed -n 's/^== FFmpeg: .*; ffmpeg version \([^ ]*\).*/\1/p' "$logfile" | head -n 1)
  local summary
  summary="$release: FFmpeg ${version:-?} ($(sed -n 's/^== FFmpeg: \(libavformat [^,]*\).*/\1/p' "$logfile")): $result"
  summary+=" in ${seconds}s"
  [[ $made -gt 1 ]] && summary+=" (+${made}s making the chroot)"
  if [[ $mode == test ]]; then
    summary+="; native tests: $(grep -E '^[0-9]+ passed' "$logfile" | tail -n 1 || echo 'not run')"
  fi
  if [[ $with_node -eq 1 ]]; then
    summary+="; vitest: $(sed 's/\x1b\[[0-9;]*m//g' "$logfile" | grep -E '^ *Tests +[0-9]' | tail -n 1 | sed 's/^ *Tests *//' || true)"
  fi
  echo "$summary"
  if [[ $result != ok ]]; then
    grep -E 'error:|warning:|Error|FAIL|failed' "$logfile" | grep -vE '^[0-9]+ passed' | head -n 40 | sed 's/^/    /'
    return 1
  fi
}

status=0
summaries=()
for release in "${releases[@]}"; do
  if line=$(run_release "$release"); then
    summaries+=("$line")
  else
    summaries+=("$line")
    status=1
  fi
  [[ $mode == shell ]] && exit 0
done
echo "== FFmpeg matrix summary"
printf '%s\n' "${summaries[@]}"
exit $status
