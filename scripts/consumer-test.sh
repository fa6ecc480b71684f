#!/usr/bin/env bash
# The consumer test: framesnap as a user meets it, through its npm tarball.
#
#   scripts/consumer-test.sh                   npm pack here, then test the tarball
#   scripts/consumer-test.sh --tarball FILE    test a tarball made before
#   scripts/consumer-test.sh --keep            keep the temporary app (its path is printed)
#
# Steps: check the tarball's contents (dist/ without source maps, LICENSE, no
# tests or dev tooling); `npm install` it into a new app (the addon builds
# from source unless a prebuilt one loads; the install must print no stack
# trace); take real snapshots of a clip made with the ffmpeg CLI from an ES
# module and from a CommonJS script (test/consumer/); type-check the README's
# examples with TypeScript's module node16, nodenext (ES module and CommonJS
# files each) and bundler; run `npx framesnap --version`.
#
# `npm pack` runs the package's `prepare` script, which rebuilds dist/ (a
# clean build without source maps). Needs network access or an npm cache
# holding the dependencies, and the ffmpeg CLI (FFMPEG_PATH or on PATH).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'consumer-test: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

tarball=
keep=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --tarball)
      [[ $# -ge 2 ]] || die "--tarball needs a file"
      tarball=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
      shift
      ;;
    --keep) keep=1 ;;
    -h | --help)
      sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
  shift
done

work=$(mktemp -d "${TMPDIR:-/tmp}/framesnap-consumer-XXXXXX")
if [[ $keep -eq 1 ]]; then
  log "keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
started=$SECONDS
step_started=$SECONDS
step() { # step NAME: prints the time the previous step took
  local now=$SECONDS
  [[ -z ${step_name:-} ]] || log "$step_name: ok ($((now - step_started)) s)"
  step_name=$1
  step_started=$now
}

# ---- The tarball ----------------------------------------------------------------
step "npm pack"
if [[ -z $tarball ]]; then
  (cd "$root" && npm pack --silent --pack-destination "$work" >"$work/pack.log" 2>&1) ||
    { cat "$work/pack.log" >&2; die "npm pack"; }
  tarball=$(ls "$work"/framesnap-*.tgz)
fi
[[ -f $tarball ]] || die "no tarball at $tarball"

step "tarball contents"
contents=$(tar -tzf "$tarball" | sed 's|^package/||' | sort)
for wanted in package.json LICENSE README.md dist/index.js dist/index.d.ts dist/index.d.cts dist/cli/main.js \
  CMakeLists.txt scripts/install.mjs native/binding.cpp; do
  grep -qx "$wanted" <<<"$contents" || die "the tarball lacks $wanted"
done
unwanted=$(grep -E '\.map$|^src/|^test/|^bench/|^examples/|^docs/|^native/tests/|^native/fuzz/|^\.ci/|^scripts/(setup|native-tests|ffmpeg-matrix|consumer-test)|^build/|^node_modules/' \
  <<<"$contents" || true)
[[ -z $unwanted ]] || die "the tarball holds files a user does not need: $(tr '\n' ' ' <<<"$unwanted")"
log "$(wc -l <<<"$contents") files, $(du -k "$tarball" | cut -f1) KiB"

# ---- The app --------------------------------------------------------------------
step "npm install"
app=$work/app
mkdir -p "$app"
cp "$root"/test/consumer/esm.mjs "$root"/test/consumer/cjs.cjs "$app/"
for extension in mts cts ts; do
  cp "$root/test/consumer/readme-examples.ts" "$app/readme-examples.$extension"
done
typescript_version=$(node -p "require('$root/node_modules/typescript/package.json').version" 2>/dev/null || echo 5)
types_node_version=$(node -p "require('$root/node_modules/@types/node/package.json').version" 2>/dev/null || echo 20)
cat >"$app/package.json" <<'EOF'
{ "name": "framesnap-consumer", "version": "1.0.0", "private": true }
EOF
# --foreground-scripts: show what the install script prints (npm hides it otherwise).
if ! (cd "$app" && npm install --no-audit --no-fund --foreground-scripts "$tarball" \
  "typescript@$typescript_version" "@types/node@$types_node_version" >"$work/install.log" 2>&1); then
  cat "$work/install.log" >&2
  die "npm install of the tarball"
fi
if grep -nE '^\s+at .*(:[0-9]+:[0-9]+\)?|\(node:)' "$work/install.log" >&2; then
  cat "$work/install.log" >&2
  die "the install printed a stack trace"
fi
grep -E '^framesnap: ' "$work/install.log" >&2 || log "(a prebuilt addon loaded: nothing was built)"

# ---- Snapshots from ES module and CommonJS code -----------------------------------------
step "ES module and CommonJS snapshots"
ffmpeg=${FFMPEG_PATH:-ffmpeg}
"$ffmpeg" -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -g 25 \
  -pix_fmt yuv420p "$app/clip.mp4" || die "the ffmpeg CLI could not make the clip"
(cd "$app" && node esm.mjs clip.mp4) || die "the ES module script"
(cd "$app" && node cjs.cjs clip.mp4) || die "the CommonJS script"

# ---- TypeScript -----------------------------------------------------------------
step "TypeScript type-checks"
# node16 also checks the package's declarations themselves (skipLibCheck off:
# slower, as it checks @types/node too); the others look at resolution only.
for mode in node16 nodenext bundler; do
  skip_lib_check=true
  [[ $mode == node16 ]] && skip_lib_check=false
  if [[ $mode == bundler ]]; then
    files='["readme-examples.ts"]'
    module='"module": "esnext", "moduleResolution": "bundler"'
  else
    files='["readme-examples.mts", "readme-examples.cts"]'
    module="\"module\": \"$mode\", \"moduleResolution\": \"$mode\""
  fi
  cat >"$app/tsconfig.$mode.json" <<EOF
{
  "compilerOptions": {
    $module,
    "target": "es2022",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": $skip_lib_check,
    "types": ["node"]
  },
  "files": $files
}
EOF
  (cd "$app" && npx --no-install tsc -p "tsconfig.$mode.json") || die "tsc with module $mode"
  log "tsc --module $mode: no errors"
done

# ---- The command line -------------------------------------------------------------
step "npx framesnap --version"
expected_version=$(node -p "require(process.argv[1]).version" "$root/package.json")
version=$(cd "$app" && npx --no-install framesnap --version 2>&1) || { printf '%s\n' "$version" >&2; die "npx framesnap --version"; }
[[ $version == "$expected_version" ]] || die "npx framesnap --version printed '$version', not $expected_version"
log "framesnap --version: $version"

step done
log "all passed in $((SECONDS - started)) s"
