/**
 * The install script (scripts/install.mjs): what it finds missing and the one
 * message it prints, with fake tools on a PATH of our own. The end-to-end
 * install of the packed tarball is scripts/consumer-test.sh.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error: a plain JavaScript module without declarations
import * as install from '../scripts/install.mjs';

const { buildingMessage, checkPrerequisites, ffmpegRelease, missingMessage, supportedLibavutil, supportedLibcurl } = install as {
  buildingMessage(libavutil: string): string;
  checkPrerequisites(
    env: NodeJS.ProcessEnv,
    includeDirs?: string[],
  ): {
    missing: string[];
    ffmpeg: { missing: string[]; tooOld?: string };
    libavutil?: string;
  };
  ffmpegRelease(libavutil: string): string;
  missingMessage(missing: string[], ffmpeg?: { missing: string[]; tooOld?: string }, curl?: { tooOld?: string }): string;
  supportedLibavutil(libavutil: string): boolean;
  supportedLibcurl(libcurl: string): boolean;
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/**
 * A folder of fake tools for PATH: each named tool exits 0; pkg-config
 * answers --modversion with `versions` (a module absent from it is not found).
 */
function fakeTools(tools: string[], versions: Record<string, string> = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'framesnap-install-test-'));
  folders.push(folder);
  for (const tool of tools) {
    const file = join(folder, tool);
    if (tool === 'pkg-config') {
      const cases = Object.entries(versions)
        .map(([module, version]) => `  ${module}) echo ${version} ;;`)
        .join('\n');
      writeFileSync(file, `#!/bin/sh\ncase "$2" in\n${cases}\n  *) exit 1 ;;\nesac\n`);
    } else {
      writeFileSync(file, '#!/bin/sh\nexit 0\n');
    }
    chmodSync(file, 0o755);
  }
  return folder;
}

const FFMPEG_51 = { libavformat: '59.27.100', libavcodec: '59.37.100', libswscale: '6.7.100', libavutil: '57.28.100' };
/** Everything the build links: FFmpeg 5.1 and Debian bookworm's libcurl. */
const LIBRARIES = { ...FFMPEG_51, libcurl: '7.88.1' };

describe('the FFmpeg release of a libavutil version', () => {
  it('names each release from its first libavutil', () => {
    expect(ffmpegRelease('57.28.100')).toBe('5.1');
    expect(ffmpegRelease('58.29.100')).toBe('6.1');
    expect(ffmpegRelease('59.8.100')).toBe('7.0');
    expect(ffmpegRelease('59.39.100')).toBe('7.1');
    expect(ffmpegRelease('60.8.100')).toBe('8.0');
    expect(ffmpegRelease('61.1.102')).toBe('9.0');
    expect(ffmpegRelease('56.70.100')).toBe('4.4');
  });

  it('names a libavutil newer than the table by itself', () => {
    expect(ffmpegRelease('62.3.100')).toBe('with libavutil 62.3.100');
    expect(buildingMessage('62.3.100')).toBe('framesnap: building the native addon from source (FFmpeg with libavutil 62.3.100 found)');
  });

  it('supports FFmpeg 5.1 (libavutil 57.28) and later only', () => {
    expect(supportedLibavutil('57.28.100')).toBe(true);
    expect(supportedLibavutil('60.8.100')).toBe(true);
    expect(supportedLibavutil('57.24.100')).toBe(false);
    expect(supportedLibavutil('56.70.100')).toBe(false);
    expect(supportedLibavutil('garbage')).toBe(false);
  });

  it('says which FFmpeg it builds against', () => {
    expect(buildingMessage('59.39.100')).toBe('framesnap: building the native addon from source (FFmpeg 7.1 found)');
  });
});

describe('the message for what is missing', () => {
  it('names cmake alone with its package on each system', () => {
    expect(missingMessage(['cmake'])).toBe(
      [
        'framesnap: cannot build the native addon: cmake is missing. Install it, then run npm install again:',
        '  Debian/Ubuntu: sudo apt-get install cmake',
        '  Fedora:        sudo dnf install cmake',
        '  Alpine:        apk add cmake',
        '  macOS:         brew install cmake',
      ].join('\n'),
    );
  });

  it("names FFmpeg's development packages", () => {
    expect(missingMessage(['ffmpeg'])).toBe(
      [
        "framesnap: cannot build the native addon: FFmpeg's development files (libavformat, libavcodec, libswscale, libavutil) are missing. Install them, then run npm install again:",
        '  Debian/Ubuntu: sudo apt-get install libavformat-dev libavcodec-dev libswscale-dev libavutil-dev',
        '  Fedora:        sudo dnf install libavformat-free-devel libavcodec-free-devel libswscale-free-devel libavutil-free-devel',
        '  Alpine:        apk add ffmpeg-dev',
        '  macOS:         brew install ffmpeg',
      ].join('\n'),
    );
  });

  it('lists everything missing in one message, the compiler from Xcode on macOS', () => {
    expect(missingMessage(['ffmpeg', 'pkg-config', 'cmake', 'make', 'compiler'])).toBe(
      [
        "framesnap: cannot build the native addon: a C++ compiler (c++, g++ or clang++), make, cmake, pkg-config and FFmpeg's development files (libavformat, libavcodec, libswscale, libavutil) are missing. Install them, then run npm install again:",
        '  Debian/Ubuntu: sudo apt-get install g++ make cmake pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev',
        '  Fedora:        sudo dnf install gcc-c++ make cmake pkgconf-pkg-config libavformat-free-devel libavcodec-free-devel libswscale-free-devel libavutil-free-devel',
        '  Alpine:        apk add g++ make cmake pkgconf ffmpeg-dev',
        '  macOS:         xcode-select --install && brew install cmake pkgconf ffmpeg',
      ].join('\n'),
    );
  });

  it("names libcurl's development package, and a libcurl that is too old", () => {
    expect(missingMessage(['curl'])).toBe(
      [
        "framesnap: cannot build the native addon: libcurl's development files are missing. Install them, then run npm install again:",
        '  Debian/Ubuntu: sudo apt-get install libcurl4-openssl-dev',
        '  Fedora:        sudo dnf install libcurl-devel',
        '  Alpine:        apk add curl-dev',
        '  macOS:         brew install curl',
      ].join('\n'),
    );
    expect(missingMessage(['curl'], { missing: [] }, { tooOld: '7.74.0' }).split('\n')[0]).toBe(
      'framesnap: cannot build the native addon: libcurl 7.85 or later (this system has libcurl 7.74.0) is missing. Install it, then run npm install again:',
    );
    expect(supportedLibcurl('7.85.0')).toBe(true);
    expect(supportedLibcurl('8.14.1')).toBe(true);
    expect(supportedLibcurl('7.84.0')).toBe(false);
    expect(supportedLibcurl('garbage')).toBe(false);
  });

  it('names only the FFmpeg modules that are missing, and an FFmpeg that is too old', () => {
    expect(missingMessage(['ffmpeg'], { missing: ['libswscale'] }).split('\n')[0]).toBe(
      "framesnap: cannot build the native addon: FFmpeg's development files (libswscale) are missing. Install them, then run npm install again:",
    );
    expect(missingMessage(['ffmpeg'], { missing: [], tooOld: '56.70.100' }).split('\n')[0]).toBe(
      'framesnap: cannot build the native addon: FFmpeg 5.1 or later (this system has FFmpeg 4.4) is missing. Install it, then run npm install again:',
    );
  });
});

describe('what the install finds on this machine', () => {
  it('finds nothing missing when every tool and module is there', () => {
    const path = fakeTools(['g++', 'make', 'cmake', 'pkg-config'], LIBRARIES);
    expect(checkPrerequisites({ PATH: path })).toEqual({ missing: [], ffmpeg: { missing: [] }, libavutil: '57.28.100' });
  });

  it('finds each missing tool: no compiler, cmake or make (ninja stands in for make)', () => {
    const path = fakeTools(['ninja', 'pkg-config'], LIBRARIES);
    expect(checkPrerequisites({ PATH: path }).missing).toEqual(['compiler', 'cmake']);
    const none = fakeTools([]);
    expect(checkPrerequisites({ PATH: none }, []).missing).toEqual(['compiler', 'make', 'cmake', 'pkg-config', 'ffmpeg', 'curl']);
  });

  it("without pkg-config, looks for FFmpeg's and libcurl's headers itself", () => {
    const path = fakeTools(['c++', 'make', 'cmake']);
    const include = fakeTools([]);
    for (const header of ['libavformat/avformat.h', 'libavcodec/avcodec.h', 'libavutil/avutil.h', 'curl/curl.h']) {
      mkdirSync(join(include, dirname(header)), { recursive: true });
      writeFileSync(join(include, header), '');
    }
    expect(checkPrerequisites({ PATH: path }, [include])).toEqual({
      missing: ['pkg-config', 'ffmpeg'],
      ffmpeg: { missing: ['libswscale'] },
      libavutil: undefined,
    });
    mkdirSync(join(include, 'libswscale'));
    writeFileSync(join(include, 'libswscale/swscale.h'), '');
    expect(checkPrerequisites({ PATH: path }, ['/nonexistent', include]).missing).toEqual(['pkg-config']);
  });

  it('takes the compiler from CXX when it is set', () => {
    const path = fakeTools(['clang++-19', 'make', 'cmake', 'pkg-config'], LIBRARIES);
    expect(checkPrerequisites({ PATH: path, CXX: 'clang++-19 -stdlib=libc++' }).missing).toEqual([]);
    expect(checkPrerequisites({ PATH: path, CXX: 'g++-14' }).missing).toEqual(['compiler']);
  });

  it('finds missing FFmpeg modules and an FFmpeg older than 5.1', () => {
    const partial = fakeTools(['c++', 'make', 'cmake', 'pkg-config'], {
      libavutil: '57.28.100',
      libavcodec: '59.37.100',
      libcurl: '7.88.1',
    });
    expect(checkPrerequisites({ PATH: partial })).toEqual({
      missing: ['ffmpeg'],
      ffmpeg: { missing: ['libavformat', 'libswscale'] },
      libavutil: '57.28.100',
    });
    const old = fakeTools(['c++', 'make', 'cmake', 'pkg-config'], { ...LIBRARIES, libavutil: '56.70.100' });
    expect(checkPrerequisites({ PATH: old })).toEqual({
      missing: ['ffmpeg'],
      ffmpeg: { missing: [], tooOld: '56.70.100' },
      libavutil: '56.70.100',
    });
  });

  it('finds a missing libcurl and one older than 7.85', () => {
    const missing = fakeTools(['c++', 'make', 'cmake', 'pkg-config'], FFMPEG_51);
    expect(checkPrerequisites({ PATH: missing })).toEqual({
      missing: ['curl'],
      ffmpeg: { missing: [] },
      libavutil: '57.28.100',
    });
    const old = fakeTools(['c++', 'make', 'cmake', 'pkg-config'], { ...FFMPEG_51, libcurl: '7.74.0' });
    expect(checkPrerequisites({ PATH: old })).toEqual({
      missing: ['curl'],
      ffmpeg: { missing: [] },
      libavutil: '57.28.100',
      curl: { tooOld: '7.74.0' },
    });
  });

  it('the script prints the one message, no stack trace, and fails', () => {
    const path = fakeTools(['c++', 'make', 'pkg-config'], {});
    const result = spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs')], {
      env: { PATH: path, FRAMESNAP_BUILD_FROM_SOURCE: '1' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `${[
        "framesnap: cannot build the native addon: cmake, FFmpeg's development files (libavformat, libavcodec, libswscale, libavutil) and libcurl's development files are missing. Install them, then run npm install again:",
        '  Debian/Ubuntu: sudo apt-get install cmake libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libcurl4-openssl-dev',
        '  Fedora:        sudo dnf install cmake libavformat-free-devel libavcodec-free-devel libswscale-free-devel libavutil-free-devel libcurl-devel',
        '  Alpine:        apk add cmake ffmpeg-dev curl-dev',
        '  macOS:         brew install cmake ffmpeg curl',
      ].join('\n')}\n`,
    );
  });
});
