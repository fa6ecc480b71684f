#!/usr/bin/env bash
# Idempotent set-up shared by `npm run demo` and `npm test`: Debian packages,
# npm packages, the native addon and the TypeScript build, each only when
# missing or stale. Safe to run again and again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# 1. Debian packages: compilers, FFmpeg's libraries and headers, the ffmpeg CLI,
#    clang with its libFuzzer and sanitizer runtimes (npm run fuzz), and
#    redis-server, which the job-store tests start on free loopback ports.
#    The remote-input tests start nginx (HTTP/HTTPS, with openssl for a throwaway
#    certificate) and OpenStack Swift with s3api (python3-swift, with memcached
#    for tempauth) as their own processes; Debian's services for them are not used.
#    libcurl (its OpenSSL flavour) is the transport of the native remote reader.
packages=(g++ make cmake pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
  clang libclang-rt-14-dev clang-format redis-server nginx openssl python3-swift memcached
  libcurl4-openssl-dev)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages; install them with:"
    echo "sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

newer_than() { # newer_than TARGET SOURCES...: true when a source is newer than TARGET
  local target=$1
  shift
  [[ -e $target ]] || return 0
  # The native suite's and the fuzzer's sources are not the addon's.
  [[ -n $(find "$@" \( -path native/tests -o -path native/fuzz \) -prune -o -newer "$target" -print -quit 2>/dev/null) ]]
}

# 2. npm packages (npm ci also builds the addon through the install script).
if [[ ! -d node_modules ]] || newer_than node_modules/.package-lock.json package-lock.json; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi

# 3. The native addon.
addon=build/Release/framesnap.node
if newer_than "$addon" native CMakeLists.txt; then
  log "building the native addon"
  npx --no-install cmake-js compile --log-level warn >/dev/null
fi

# 4. The TypeScript build.
if newer_than dist/index.js src tsconfig.json; then
  log "compiling TypeScript"
  npx --no-install tsc -p tsconfig.json
fi
