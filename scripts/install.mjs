#!/usr/bin/env node
// npm's install step for framesnap.
//
// 1. A prebuilt addon (prebuilds/, made by `npm run prebuild`) or an earlier
//    build (build/Release) that loads is used as is: nothing is compiled and
//    nothing is printed. Loading is the test that it matches this machine: the
//    addon links the FFmpeg libraries by their versioned names
//    (libavcodec.so.61, ...), which exist only where the same FFmpeg major
//    versions are installed.
// 2. Otherwise the addon is built from source with cmake-js, after one line
//    saying so; cmake-js's output is shown only when the build fails.
// 3. When something the build needs is missing (a C++ compiler, make or
//    ninja, cmake, pkg-config, FFmpeg's development files, or an FFmpeg older
//    than 5.1, libcurl's development files or a libcurl older than 7.85: the
//    remote reader's transport), one short message names it with the
//    packages to install on Debian/Ubuntu, Fedora, Alpine and macOS, and the
//    install fails.
//
// `npm install --build-from-source` (or FRAMESNAP_BUILD_FROM_SOURCE=1) skips
// step 1.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The FFmpeg libraries the addon links, as pkg-config names them. */
export const FFMPEG_MODULES = ['libavformat', 'libavcodec', 'libswscale', 'libavutil'];

/** The oldest FFmpeg the native code supports. */
export const MINIMUM_FFMPEG = '5.1';

/** The oldest libcurl the native code builds with (CURLOPT_PROTOCOLS_STR; CMakeLists.txt). */
export const MINIMUM_CURL = '7.85';

/**
 * The first libavutil version of each FFmpeg release (libavutil/version.h at
 * each release; 9.0 as Debian's 9.0.2 has it), newest first: how an
 * installed libavutil names its FFmpeg release for the message.
 */
const FFMPEG_RELEASES = [
  ['9.0', [61, 1]],
  ['8.0', [60, 8]],
  ['7.1', [59, 39]],
  ['7.0', [59, 8]],
  ['6.1', [58, 29]],
  ['6.0', [58, 2]],
  ['5.1', [57, 28]],
  ['5.0', [57, 17]],
  ['4.4', [56, 70]],
  ['4.3', [56, 51]],
  ['4.2', [56, 31]],
  ['4.1', [56, 22]],
  ['4.0', [56, 14]],
];

function parseVersion(text) {
  const match = /^(\d+)\.(\d+)/.exec(String(text).trim());
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

function atLeast([major, minor], [wantedMajor, wantedMinor]) {
  return major > wantedMajor || (major === wantedMajor && minor >= wantedMinor);
}

/**
 * The FFmpeg release ("7.1") that ships a libavutil version ("59.39.100"); a
 * libavutil newer than the table knows is named by itself.
 */
export function ffmpegRelease(libavutilVersion) {
  const version = parseVersion(libavutilVersion);
  if (version === undefined) return `with libavutil ${libavutilVersion}`;
  const newest = FFMPEG_RELEASES[0];
  if (version[0] > newest[1][0]) return `with libavutil ${libavutilVersion}`;
  for (const [release, first] of FFMPEG_RELEASES) {
    if (atLeast(version, first)) return release;
  }
  return `older than 4.0 (libavutil ${libavutilVersion})`;
}

/** Whether a libavutil version is FFmpeg 5.1 or later. */
export function supportedLibavutil(libavutilVersion) {
  const version = parseVersion(libavutilVersion);
  return version !== undefined && atLeast(version, [57, 28]);
}

/** Whether a libcurl version ("7.88.1") is MINIMUM_CURL or later. */
export function supportedLibcurl(libcurlVersion) {
  const version = parseVersion(libcurlVersion);
  return version !== undefined && atLeast(version, parseVersion(MINIMUM_CURL));
}

/**
 * The packages that provide each prerequisite, per system. The compiler on
 * macOS comes with Xcode's command line tools, not Homebrew.
 */
const PACKAGES = {
  compiler: { apt: ['g++'], dnf: ['gcc-c++'], apk: ['g++'], brew: [] },
  make: { apt: ['make'], dnf: ['make'], apk: ['make'], brew: [] },
  cmake: { apt: ['cmake'], dnf: ['cmake'], apk: ['cmake'], brew: ['cmake'] },
  'pkg-config': { apt: ['pkg-config'], dnf: ['pkgconf-pkg-config'], apk: ['pkgconf'], brew: ['pkgconf'] },
  ffmpeg: {
    apt: ['libavformat-dev', 'libavcodec-dev', 'libswscale-dev', 'libavutil-dev'],
    dnf: ['libavformat-free-devel', 'libavcodec-free-devel', 'libswscale-free-devel', 'libavutil-free-devel'],
    apk: ['ffmpeg-dev'],
    brew: ['ffmpeg'],
  },
  // Homebrew's curl is keg-only: its libcurl.pc is found with
  // PKG_CONFIG_PATH="$(brew --prefix curl)/lib/pkgconfig".
  curl: { apt: ['libcurl4-openssl-dev'], dnf: ['libcurl-devel'], apk: ['curl-dev'], brew: ['curl'] },
};

const NAMES = {
  compiler: 'a C++ compiler (c++, g++ or clang++)',
  make: 'make',
  cmake: 'cmake',
  'pkg-config': 'pkg-config',
};

function describeFfmpeg(ffmpeg) {
  if (ffmpeg.tooOld !== undefined) {
    return `FFmpeg ${MINIMUM_FFMPEG} or later (this system has FFmpeg ${ffmpegRelease(ffmpeg.tooOld)})`;
  }
  if (ffmpeg.missing.length === FFMPEG_MODULES.length || ffmpeg.missing.length === 0) {
    return "FFmpeg's development files (libavformat, libavcodec, libswscale, libavutil)";
  }
  return `FFmpeg's development files (${ffmpeg.missing.join(', ')})`;
}

function describeCurl(curl) {
  if (curl.tooOld !== undefined) {
    return `libcurl ${MINIMUM_CURL} or later (this system has libcurl ${curl.tooOld})`;
  }
  return "libcurl's development files";
}

function joinNames(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * The message for what is missing. `missing` lists 'compiler', 'make',
 * 'cmake', 'pkg-config', 'ffmpeg' and 'curl' (in any order); `ffmpeg` tells
 * which FFmpeg modules are missing ({ missing: [...] }) or that the installed
 * one is too old ({ missing: [], tooOld: libavutilVersion }); `curl` that the
 * installed libcurl is too old ({ tooOld: libcurlVersion }) rather than
 * missing ({}). Returns several lines without a trailing newline.
 */
export function missingMessage(missing, ffmpeg = { missing: FFMPEG_MODULES }, curl = {}) {
  const order = ['compiler', 'make', 'cmake', 'pkg-config', 'ffmpeg', 'curl'];
  const wanted = order.filter((item) => missing.includes(item));
  const describe = (item) => {
    if (item === 'ffmpeg') return describeFfmpeg(ffmpeg);
    if (item === 'curl') return describeCurl(curl);
    return NAMES[item];
  };
  const names = wanted.map(describe);
  // "... files are missing", "FFmpeg 5.1 or later (...) is missing"
  const plural =
    wanted.length > 1 || (wanted[0] === 'ffmpeg' && ffmpeg.tooOld === undefined) || (wanted[0] === 'curl' && curl.tooOld === undefined);
  const install = (system) => [...new Set(wanted.flatMap((item) => PACKAGES[item][system]))].join(' ');
  const lines = [
    `framesnap: cannot build the native addon: ${joinNames(names)} ${plural ? 'are' : 'is'} missing. Install ${plural ? 'them' : 'it'}, then run npm install again:`,
  ];
  lines.push(`  Debian/Ubuntu: sudo apt-get install ${install('apt')}`);
  lines.push(`  Fedora:        sudo dnf install ${install('dnf')}`);
  lines.push(`  Alpine:        apk add ${install('apk')}`);
  const brew = install('brew');
  const xcode = wanted.includes('compiler') || wanted.includes('make');
  const mac = [xcode ? 'xcode-select --install' : '', brew === '' ? '' : `brew install ${brew}`].filter(Boolean);
  lines.push(`  macOS:         ${mac.join(' && ')}`);
  return lines.join('\n');
}

/** The line printed before a build from source. */
export function buildingMessage(libavutilVersion) {
  return `framesnap: building the native addon from source (FFmpeg ${ffmpegRelease(libavutilVersion)} found)`;
}

// ---- Looking at this machine ------------------------------------------------

/** The full path of a command on env.PATH, or undefined. */
function which(command, env = process.env) {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder !== '' && isExecutable(join(folder, command))) return join(folder, command);
  }
  return undefined;
}

function onPath(command, env = process.env) {
  return which(command, env) !== undefined;
}

/** Where FFmpeg's headers usually are, for when there is no pkg-config to ask. */
export function defaultIncludeDirs() {
  const dirs = ['/usr/include', '/usr/local/include', '/opt/homebrew/include', '/usr/include/ffmpeg'];
  try {
    for (const entry of readdirSync('/usr/include')) {
      if (/-linux-/.test(entry)) dirs.push(join('/usr/include', entry));
    }
  } catch {
    // no /usr/include
  }
  return dirs;
}

const FFMPEG_HEADERS = {
  libavformat: 'libavformat/avformat.h',
  libavcodec: 'libavcodec/avcodec.h',
  libswscale: 'libswscale/swscale.h',
  libavutil: 'libavutil/avutil.h',
};

const CURL_HEADER = 'curl/curl.h';

/**
 * What the build from source needs and does not find: { missing, ffmpeg,
 * libavutil, curl? } where libavutil is the installed version when
 * pkg-config finds it, and curl is { tooOld: version } when the installed
 * libcurl is too old. Without pkg-config, FFmpeg's and libcurl's headers are
 * looked for in `includeDirs`, so one message names everything missing.
 */
export function checkPrerequisites(env = process.env, includeDirs = defaultIncludeDirs()) {
  const missing = [];
  const compiler = (env.CXX ?? '').trim().split(/\s+/)[0];
  const compilers = compiler ? [compiler] : ['c++', 'g++', 'clang++'];
  if (!compilers.some((command) => onPath(command, env))) {
    missing.push('compiler');
  }
  if (!onPath('make', env) && !onPath('ninja', env)) missing.push('make');
  if (!onPath('cmake', env)) missing.push('cmake');
  const ffmpeg = { missing: [] };
  let libavutil;
  const pkgConfig = which('pkg-config', env);
  if (pkgConfig === undefined) {
    missing.push('pkg-config');
    for (const module of FFMPEG_MODULES) {
      if (!includeDirs.some((dir) => existsSync(join(dir, FFMPEG_HEADERS[module])))) ffmpeg.missing.push(module);
    }
    if (ffmpeg.missing.length > 0) missing.push('ffmpeg');
    if (!includeDirs.some((dir) => existsSync(join(dir, CURL_HEADER)))) missing.push('curl');
  } else {
    for (const module of FFMPEG_MODULES) {
      const result = spawnSync(pkgConfig, ['--modversion', module], { env, encoding: 'utf8' });
      if (result.status !== 0) ffmpeg.missing.push(module);
      else if (module === 'libavutil') libavutil = result.stdout.trim();
    }
    if (ffmpeg.missing.length > 0) missing.push('ffmpeg');
    else if (!supportedLibavutil(libavutil)) {
      ffmpeg.tooOld = libavutil;
      missing.push('ffmpeg');
    }
    const result = spawnSync(pkgConfig, ['--modversion', 'libcurl'], { env, encoding: 'utf8' });
    if (result.status !== 0) missing.push('curl');
    else if (!supportedLibcurl(result.stdout.trim())) {
      missing.push('curl');
      return { missing, ffmpeg, libavutil, curl: { tooOld: result.stdout.trim() } };
    }
  }
  return { missing, ffmpeg, libavutil };
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Undefined when an addon in prebuilds/ or build/ loads on this machine, else why not. */
function loadError() {
  try {
    require('node-gyp-build')(packageRoot);
    return undefined;
  } catch (error) {
    return String(error instanceof Error ? error.message : error).split('\n')[0];
  }
}

function truthy(value) {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

function main() {
  const env = process.env;
  const fromSource = truthy(env.npm_config_build_from_source) || truthy(env.FRAMESNAP_BUILD_FROM_SOURCE);
  if (!fromSource && loadError() === undefined) return 0;

  const found = checkPrerequisites(env);
  if (found.missing.length > 0) {
    process.stderr.write(`${missingMessage(found.missing, found.ffmpeg, found.curl)}\n`);
    return 1;
  }
  process.stderr.write(`${buildingMessage(found.libavutil)}\n`);
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], {
    cwd: packageRoot,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trimEnd();
    const lines = output.split('\n');
    const shown = lines.length > 60 ? ['...', ...lines.slice(-60)] : lines;
    process.stderr.write(`${shown.join('\n')}\nframesnap: the native addon failed to build (cmake-js's output above).\n`);
    return 1;
  }
  const error = loadError();
  if (error !== undefined) {
    process.stderr.write(`framesnap: the native addon was built but does not load: ${error}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main();
}
