/**
 * The `framesnap` command (dist/cli/main.js), run as a process:
 *   framesnap snapshot FILE --time TIME -o OUT [options]
 *   framesnap submit --root DIR --input JSON --config JSON [options]
 *   framesnap help [COMMAND], COMMAND --help, --version
 * Exit status 0 success, 1 the work failed, 2 a bad request (refused before
 * any work), 3 InternalError, 130/143 interrupted (SIGINT/SIGTERM), 141
 * stdout closed; errors on stderr as `framesnap: <Code>: <message>`.
 */
import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';

import { exactFrameIndex, fixture, referenceFrames } from './fixtures.js';
import {
  counted,
  files,
  JOB_ID,
  jsonError,
  longClip,
  tree,
  UPPER_UUID,
  whichFrame,
  workspace,
  type Workspace,
} from './helpers/service-clips.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const IN = 'in-bucket';
const OUT = 'out-bucket';
const PAST_END = 'No frame at or after 5000 ms in clip.mp4: the time is past the last frame';
const { version: VERSION } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command, sends it `signal` as soon as its stderr shows `marker`,
 * and resolves with its exit status and output once it has ended. With
 * `holdStdin`, its standard input stays open (only the signal can end a wait
 * on it).
 */
async function interrupted(
  args: string[],
  marker: string,
  signal: NodeJS.Signals,
  options: { env?: NodeJS.ProcessEnv; holdStdin?: boolean } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: [options.holdStdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!sent && stderr.includes(marker)) {
      sent = true;
      child.kill(signal);
    }
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin?.destroy();
  return { status, stdout, stderr };
}

interface RunOptions {
  /** Written to the command's standard input (otherwise it is empty). */
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
}

function cli(args: string[], options: RunOptions = {}): Promise<Ran> {
  return cliBytes(args, options).then(({ status, stdout, stderr }) => ({ status, stdout: stdout.toString('utf8'), stderr }));
}

/** The command with its stdout as bytes. */
function cliBytes(args: string[], options: RunOptions = {}): Promise<{ status: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 60_000, encoding: 'buffer', env: { ...process.env, NODE_DEBUG: '', ...options.env }, cwd: options.cwd },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ status: error === null ? 0 : (error.code as number), stdout, stderr: stderr.toString('utf8') });
      },
    );
    child.stdin!.end(options.stdin ?? '');
  });
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<Workspace> {
  const ws = workspace([IN, OUT]);
  cleanups.push(() => ws.remove());
  ws.put(IN, 'clip.mp4', await fixture('h264'));
  ws.put(IN, 'notes.txt', await fixture('text'));
  return ws;
}

const INPUT = JSON.stringify({ Bucket: IN, Location: 'oss-cn-hangzhou', Object: 'clip.mp4' });
const config = (object: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ OutputFile: { Bucket: OUT, Location: 'oss-cn-hangzhou', Object: object }, Time: '1000', ...extra });

const EXIT_STATUS = `Exit status:
  0    success
  1    the work failed: the video could not give the image, or the job failed
  2    a bad request, refused before any work: usage, options, JSON, missing files
  3    an internal error (InternalError): a bug, or the system failed (the addon or
       sharp could not load, the disk is full)
  130  interrupted by SIGINT (Ctrl-C); 143: by SIGTERM. The work is cancelled and
       what it wrote is removed; a second signal exits at once
  141  standard output was closed early (framesnap ... -o - | head -c 10); nothing is printed
Errors go to stderr as one line: framesnap: <Code>: <message>
`;

describe('help and version', () => {
  test('--version, -v: the package version alone', async () => {
    expect(await cli(['--version'])).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(await cli(['-v'])).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  test('framesnap --help: the commands, examples and the exit status table; `help` and -h print the same', async () => {
    const help = await cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout.startsWith(`framesnap ${VERSION}: fast, frame-exact snapshots from video files\n\nUsage:\n`)).toBe(true);
    for (const line of [
      '  framesnap snapshot FILE --time TIME -o OUT [options]\n',
      '  framesnap submit --root DIR --input JSON --config JSON [options]\n',
      "  framesnap help [COMMAND]        this help, or a command's (also COMMAND --help)\n",
      "  framesnap --version             framesnap's version\n",
      'Examples:\n  framesnap snapshot movie.mp4 --time 1:30 -o poster.jpg\n',
      `\n${EXIT_STATUS}`,
      'Debug output: NODE_DEBUG=framesnap framesnap ...\n',
    ]) {
      expect(help.stdout).toContain(line);
    }
    expect(await cli(['help'])).toEqual(help);
    expect(await cli(['-h'])).toEqual(help);
  });

  test.each([
    [
      'snapshot',
      [
        '--time',
        '--output',
        '--format',
        '--frame-type',
        '--width',
        '--height',
        '--quality',
        '--timeout',
        '--limit-input-pixels',
        '--limit-output-pixels',
        '--json',
        '--quiet',
        '--help',
      ],
    ],
    [
      'submit',
      [
        '--root',
        '--input',
        '--config',
        '--user-data',
        '--pipeline-id',
        '--no-wait',
        '--progress',
        '--no-progress',
        '--workers',
        '--sync-timeout',
        '--isolation',
        '--limit-input-pixels',
        '--limit-output-pixels',
        '--limit-sprite-pixels',
        '--help',
      ],
    ],
  ])(
    'framesnap %s --help: description, every option, examples, exit statuses; the same from help, -h, and with other arguments',
    async (command, options) => {
      const help = await cli([command, '--help']);
      expect(help.status).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout.startsWith(`framesnap ${command}: `)).toBe(true);
      expect(help.stdout).toContain(`\nUsage:\n  framesnap ${command} `);
      for (const option of options) expect(help.stdout).toMatch(new RegExp(`^ +(-\\w, )?${option}\\b`, 'm'));
      expect(help.stdout).toContain(`\nExamples:\n  framesnap ${command} `);
      expect(help.stdout.endsWith(`\n${EXIT_STATUS}`)).toBe(true);
      expect(await cli(['help', command])).toEqual(help);
      expect(await cli([command, '-h'])).toEqual(help);
      // Help wins over anything else on the line, even a bad option.
      expect(await cli([command, '--nonsense', 'x', '--help'])).toEqual(help);
    },
  );

  test('snapshot --help documents the time forms, the low-level default frame type and the --json fields', async () => {
    const { stdout } = await cli(['snapshot', '--help']);
    const { DEFAULT_FRAME_TYPE } = (await import('../dist/core/options.js')) as typeof import('../src/core/options.js');
    expect(stdout).toContain(`      --frame-type TYPE      ${DEFAULT_FRAME_TYPE} (default)`);
    expect(stdout).toContain(
      '  -t, --time TIME            milliseconds (5000), seconds (5s, 1.5s) or a clock\n                             (01:05, 00:01:05.250); nothing else\n',
    );
    expect(stdout).toContain('  {"file", "output", "format", "requestedMs", "timeMs", "keyframe", "width", "height", "bytes"}\n');
  });

  test('no command: the help on stderr, exit 2; an unknown command or help topic: one error line, exit 2', async () => {
    const none = await cli([]);
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe((await cli(['--help'])).stdout);
    expect(await cli(['thumbnail'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: "thumbnail" is an unknown command; the commands are snapshot, submit, worker and serve (see framesnap --help)\n',
    });
    expect(await cli(['help', 'thumbnail'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: "thumbnail" is an unknown command; the commands are snapshot, submit, worker and serve (see framesnap --help)\n',
    });
    expect(await cli(['--time', '5', 'snapshot'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: "--time" is an option before the command; the commands are snapshot, submit, worker and serve (see framesnap --help)\n',
    });
  });
});

describe('times', async () => {
  const { parseTime, formatClock, formatDuration } = (await import('../dist/cli/times.js')) as typeof import('../src/cli/times.js');

  test.each([
    ['0', 0],
    ['5000', 5000],
    ['1500.5', 1500.5],
    ['007', 7],
    ['5s', 5000],
    ['1.5s', 1500],
    ['0.001s', 1],
    ['1.005s', 1005],
    ['1.0055s', 1005.5],
    ['0:05', 5000],
    ['01:05', 65000],
    ['59:59', 3_599_000],
    ['00:01:05.250', 65_250],
    ['00:00:05.1', 5100],
    ['1:00:00', 3_600_000],
    ['100:00:00.001', 360_000_001],
  ])('accepted: %s is %d ms', (text, ms) => {
    expect(parseTime('--time', text)).toBe(ms);
  });

  const FORMS = 'Expected a time in milliseconds (5000), seconds (5s, 1.5s) or a clock (01:05, 00:01:05.250) for --time but received';
  test.each([
    ['0x10', `InvalidParameter: ${FORMS} "0x10"`],
    ['1e3', `InvalidParameter: ${FORMS} "1e3"`],
    ['5 s', `InvalidParameter: ${FORMS} "5 s"`],
    [' 5', `InvalidParameter: ${FORMS} " 5"`],
    ['5ms', `InvalidParameter: ${FORMS} "5ms"`],
    ['5S', `InvalidParameter: ${FORMS} "5S"`],
    ['+5', `InvalidParameter: ${FORMS} "+5"`],
    ['', `InvalidParameter: ${FORMS} ""`],
    ['5.', `InvalidParameter: ${FORMS} "5."`],
    ['.5', `InvalidParameter: ${FORMS} ".5"`],
    ['1,5', `InvalidParameter: ${FORMS} "1,5"`],
    ['Infinity', `InvalidParameter: ${FORMS} "Infinity"`],
    ['1:60', `InvalidParameter: ${FORMS} "1:60"`],
    ['1:5', `InvalidParameter: ${FORMS} "1:5"`],
    ['60:00', `InvalidParameter: ${FORMS} "60:00"`],
    ['00:60:00', `InvalidParameter: ${FORMS} "00:60:00"`],
    ['1:02:03:04', `InvalidParameter: ${FORMS} "1:02:03:04"`],
    ['٥', `InvalidParameter: ${FORMS} "٥"`],
    ['-5', 'InvalidParameter.OutOfRange: Expected a time at or after 0 for --time but received "-5"'],
    ['-1.5s', 'InvalidParameter.OutOfRange: Expected a time at or after 0 for --time but received "-1.5s"'],
    ['-00:00:01', 'InvalidParameter.OutOfRange: Expected a time at or after 0 for --time but received "-00:00:01"'],
  ])('refused: %j', (text, line) => {
    let thrown: { code: string; message: string } | undefined;
    try {
      parseTime('--time', text);
    } catch (error) {
      thrown = error as { code: string; message: string };
    }
    expect(`${thrown?.code}: ${thrown?.message}`).toBe(line);
  });

  test('clock and duration renderings', () => {
    expect([0, 4960, 65_250, 3_600_000, 360_000_001, 1.6].map(formatClock)).toEqual([
      '00:00:00.000',
      '00:00:04.960',
      '00:01:05.250',
      '01:00:00.000',
      '100:00:00.001',
      '00:00:00.002',
    ]);
    expect([0, 1, 7000, 59_001, 725_000, 3_723_000].map(formatDuration)).toEqual(['0:00', '0:01', '0:07', '1:00', '12:05', '1:02:03']);
  });

  test('on the command line: --time 1s, 00:00:01 and 1000 take the same frame; a refused time is exit 2 before any work', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const forms = ['1000', '1s', '00:00:01', '0:01.000'];
    const runs = await Promise.all(
      forms.map((time, i) => cli(['snapshot', clip, '--time', time, '--json', '-o', join(ws.dir, `t${i}.jpg`)])),
    );
    expect(runs.map((ran) => [ran.status, JSON.parse(ran.stdout).requestedMs, JSON.parse(ran.stdout).timeMs])).toEqual(
      forms.map(() => [0, 1000, 1000]),
    );
    expect(await cli(['snapshot', clip, '--time', '1e3', '-o', join(ws.dir, 'x.jpg')])).toEqual({
      status: 2,
      stdout: '',
      stderr: `framesnap: InvalidParameter: ${FORMS} "1e3"\n`,
    });
    // A value that starts with a dash is still the option's value: the message is about the time.
    for (const negative of [['--time', '-5'], ['--time=-5'], ['-t', '-5']]) {
      expect(await cli(['snapshot', clip, ...negative, '-o', join(ws.dir, 'x.jpg')])).toEqual({
        status: 2,
        stdout: '',
        stderr: 'framesnap: InvalidParameter.OutOfRange: Expected a time at or after 0 for --time but received "-5"\n',
      });
    }
    expect(existsSync(join(ws.dir, 'x.jpg'))).toBe(false);
  });
});

describe('framesnap snapshot', () => {
  test('writes the image of the exact frame asked for; says which frame on stderr; exit 0', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'shot.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '1010', '--frame-type', 'normal', '-o', target]);
    // The exact frame at 1010 ms of a 25 fps clip starts at 1040 ms.
    expect(ran).toEqual({
      status: 0,
      stdout: '',
      stderr: `${target}: the frame at 00:00:01.040 (1040 ms), 320x240 jpeg, ${statSync(target).size} bytes\n`,
    });
    const jpeg = readFileSync(target);
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    const reference = await referenceFrames(await fixture('h264'), 320, 240);
    const index = exactFrameIndex(reference, 1010);
    expect(await whichFrame(jpeg, [reference.frames[index - 1]!, reference.frames[index]!, reference.frames[index + 1]!])).toBe(1);
  });

  test('--frame-type intra: the keyframe at or before the time; without --frame-type, the low-level default', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const intra = await cli(['snapshot', clip, '--time', '1500', '--frame-type', 'intra', '--json', '-o', join(ws.dir, 'k.jpg')]);
    expect(JSON.parse(intra.stdout)).toMatchObject({ requestedMs: 1500, timeMs: 1000, keyframe: true });
    const { snapshot } = await import('../dist/index.js');
    const { info } = await snapshot(clip, { time: 1500, resolveWithObject: true });
    const byDefault = await cli(['snapshot', clip, '--time', '1500', '--json', '-o', join(ws.dir, 'd.jpg')]);
    expect(JSON.parse(byDefault.stdout)).toMatchObject({ requestedMs: 1500, timeMs: info.timeMs, keyframe: info.keyframe });
    expect(await cli(['snapshot', clip, '--time', '1500', '--frame-type', 'key', '-o', join(ws.dir, 'x.jpg')])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter: Expected "intra" or "normal" for --frame-type but received "key"\n',
    });
  });

  test('--json: the frame taken, on stdout; nothing on stderr', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const target = join(ws.dir, 'frame.png');
    const ran = await cli(['snapshot', clip, '--time', '00:00:02.010', '--frame-type', 'normal', '--width', '160', '--json', '-o', target]);
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(ran.stdout)).toEqual({
      file: clip,
      output: target,
      format: 'png',
      requestedMs: 2010,
      timeMs: 2040,
      keyframe: false,
      width: 160,
      height: 120,
      bytes: statSync(target).size,
    });
    expect(ran.stdout).toBe(`${JSON.stringify(JSON.parse(ran.stdout), null, 2)}\n`);
    expect(await sharp(readFileSync(target)).metadata()).toMatchObject({ format: 'png', width: 160, height: 120 });
  });

  test('--quiet: nothing printed', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'q.jpg');
    expect(await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '--quiet', '-o', target])).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
    expect(existsSync(target)).toBe(true);
  });

  test.each([
    ['a.jpg', [], 'jpeg'],
    ['a.JPEG', [], 'jpeg'],
    ['a.webp', [], 'webp'],
    ['a.avif', [], 'heif'],
    ['a.png', [], 'png'],
    ['a.png', ['--format', 'png'], 'png'],
    ['noextension', [], 'jpeg'],
    ['frame.bin', ['-f', 'webp'], 'webp'],
  ])('-o %s %j: the format the extension or --format names', async (name, options, format) => {
    const ws = await setup();
    const target = join(ws.dir, name);
    const ran = await cli([
      'snapshot',
      join(ws.bucket(IN), 'clip.mp4'),
      '--time',
      '0',
      '--width',
      '64',
      '--quiet',
      ...options,
      '-o',
      target,
    ]);
    expect(ran).toEqual({ status: 0, stdout: '', stderr: '' });
    expect((await sharp(readFileSync(target)).metadata()).format).toBe(format);
  });

  test.each([
    ['a.png', ['--format', 'jpeg'], 'framesnap: InvalidParameter: --format jpeg does not match the extension of DIR/a.png (.png is png)'],
    ['a.jpg', ['--format', 'gif'], 'framesnap: InvalidParameter: Expected "jpeg", "webp", "avif" or "png" for --format but received "gif"'],
    [
      'a.bmp',
      [],
      'framesnap: InvalidParameter: the extension .bmp of DIR/a.bmp names no format framesnap writes (.jpg, .jpeg, .png, .webp or .avif); give --format to write one under this name',
    ],
    [
      'a.jpg',
      ['--quality', '50', '--format', 'png', '-o', 'DIR/b.png'],
      'framesnap: InvalidParameter: --output is given twice (see framesnap snapshot --help)',
    ],
  ])('-o %s %j refused before any work: exit 2', async (name, options, line) => {
    const ws = await setup();
    const before = tree(ws.dir);
    const args = [
      'snapshot',
      join(ws.bucket(IN), 'clip.mp4'),
      '--time',
      '0',
      '-o',
      join(ws.dir, name),
      ...options.map((option) => option.replace('DIR', ws.dir)),
    ];
    expect(await cli(args)).toEqual({ status: 2, stdout: '', stderr: `${line.replace(/DIR/g, ws.dir)}\n` });
    expect(tree(ws.dir)).toEqual(before);
  });

  test('-o -: the image on stdout, JPEG by default, --format png for PNG; the summary on stderr', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const jpeg = await cliBytes(['snapshot', clip, '--time', '0', '-o', '-']);
    expect(jpeg.status).toBe(0);
    expect(jpeg.stdout.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(await sharp(jpeg.stdout).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    expect(jpeg.stderr).toBe(`stdout: the frame at 00:00:00.000 (0 ms, a keyframe), 320x240 jpeg, ${jpeg.stdout.length} bytes\n`);
    const png = await cliBytes(['snapshot', clip, '--time', '0', '--format', 'png', '--quiet', '-o', '-']);
    expect({ status: png.status, stderr: png.stderr }).toEqual({ status: 0, stderr: '' });
    expect(png.stdout.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(existsSync(join(ws.dir, '-'))).toBe(false);
    expect(await cli(['snapshot', clip, '--time', '0', '--json', '-o', '-'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: --json prints on standard output, where -o - writes the image; give -o a file name (see framesnap snapshot --help)\n',
    });
  });

  test('-o - with stdout closed by its reader (EPIPE): nothing printed, exit 141, as cat ends', async () => {
    const ws = await setup();
    const child = spawn(
      process.execPath,
      [CLI, 'snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '--width', '1280', '--format', 'png', '-o', '-'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The reader goes before anything is written: the first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect({ status, stderr }).toEqual({ status: 141, stderr: '' });
  });

  test('-o - | head -c 10 in a shell: ten bytes of JPEG, nothing on stderr', async () => {
    const ws = await setup();
    const script = `"${process.execPath}" "${CLI}" snapshot "${join(ws.bucket(IN), 'clip.mp4')}" --time 0 --quiet -o - | head -c 10 | od -An -tx1; echo "status \${PIPESTATUS[0]}"`;
    const ran = await new Promise<Ran>((resolve) => {
      execFile('bash', ['-c', script], (error, stdout, stderr) =>
        resolve({ status: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toMatch(/^ ff d8 ff( [0-9a-f]{2}){7}\nstatus (0|141)\n$/);
  });

  test('-o naming a folder: exit 2 with InvalidParameter, one clean line', async () => {
    const ws = await setup();
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '-o', ws.dir]);
    expect(ran).toEqual({
      status: 2,
      stdout: '',
      stderr: `framesnap: InvalidParameter: the output file ${ws.dir} is a folder, not a file\n`,
    });
  });

  test.skipIf(!existsSync('/dev/full'))(
    '-o /dev/full (ENOSPC): one clean InternalError line, exit 3; the device is left alone',
    async () => {
      const ws = await setup();
      expect(await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '-o', '/dev/full'])).toEqual({
        status: 3,
        stdout: '',
        stderr: 'framesnap: InternalError: the output file /dev/full: no space left on device (ENOSPC)\n',
      });
      expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
    },
  );

  test('-o in a missing folder: exit 2 with InvalidParameter.ResourceNotFound', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'no-such-folder', 'shot.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '-o', target]);
    expect(ran).toEqual({
      status: 2,
      stdout: '',
      stderr: `framesnap: InvalidParameter.ResourceNotFound: the folder of the output file ${target} does not exist\n`,
    });
  });

  test('--width scales, keeping the aspect ratio', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'small.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '--width', '160', '--output', target]);
    expect(ran.status).toBe(0);
    expect(await sharp(readFileSync(target)).metadata()).toMatchObject({ format: 'jpeg', width: 160, height: 120 });
  });

  test.each([
    [
      '--width 5000',
      ['--width', '5000'],
      'InvalidParameter.OutOfRange: Expected an integer between 8 and 4096 for width but received 5000',
    ],
    ['--width abc', ['--width', 'abc'], 'InvalidParameter: Expected a whole number for --width but received "abc"'],
    ['--width -5', ['--width=-5'], 'InvalidParameter: Expected a whole number for --width but received "-5"'],
    ['--quality 1.5', ['--quality', '1.5'], 'InvalidParameter: Expected a whole number for --quality but received "1.5"'],
    [
      '--tme 5',
      ['--tme', '5'],
      'InvalidParameter: Unknown option "--tme" for framesnap snapshot: did you mean "--time"? (see framesnap snapshot --help)',
    ],
    [
      '--colour red',
      ['--colour', 'red'],
      'InvalidParameter: Unknown option "--colour" for framesnap snapshot (see framesnap snapshot --help)',
    ],
    ['--json=yes', ['--json=yes'], 'InvalidParameter: --json takes no value (see framesnap snapshot --help)'],
    ['--time twice', ['--time', '1'], 'InvalidParameter: --time is given twice (see framesnap snapshot --help)'],
    ['a second file', ['other.mp4'], 'InvalidParameter: unexpected argument "other.mp4" (see framesnap snapshot --help)'],
    ['--width without a value', ['--width'], 'InvalidParameter.NullValue: --width needs a value (see framesnap snapshot --help)'],
    ['--json --quiet', ['--json', '--quiet'], 'InvalidParameter: --json and --quiet contradict each other (see framesnap snapshot --help)'],
  ])('a bad option (%s): exit 2, one line, no file', async (_label, options, line) => {
    const ws = await setup();
    const target = join(ws.dir, 'bad.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '-o', target, ...options]);
    expect(ran).toEqual({ status: 2, stdout: '', stderr: `framesnap: ${line}\n` });
    expect(existsSync(target)).toBe(false);
  });

  test('FILE, --time or -o missing: exit 2 naming what is missing', async () => {
    expect(await cli(['snapshot', 'a.mp4', '-o', 'x.jpg'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: framesnap snapshot needs FILE, --time and -o; --time is missing (see framesnap snapshot --help)\n',
    });
    expect(await cli(['snapshot'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: framesnap snapshot needs FILE, --time and -o; FILE and --time and -o are missing (see framesnap snapshot --help)\n',
    });
  });

  test('a missing file: exit 2 with InvalidParameter.ResourceNotFound', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'none.jpg');
    const missing = join(ws.dir, 'missing.mp4');
    const ran = await cli(['snapshot', missing, '--time', '0', '-o', target]);
    expect(ran.status).toBe(2);
    expect(ran.stderr).toMatch(
      new RegExp(`^framesnap: InvalidParameter\\.ResourceNotFound: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\\n]+\\n$`),
    );
    expect(existsSync(target)).toBe(false);
  });

  test('a text file: exit 1 with InvalidParameter.ResourceContentBad', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'none.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'notes.txt'), '--time', '0', '-o', target]);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toMatch(/^framesnap: InvalidParameter\.ResourceContentBad: [^\n]*notes\.txt: [^\n]+\n$/);
    expect(existsSync(target)).toBe(false);
  });

  test('a time past the last frame: exit 1, nothing written', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const target = join(ws.dir, 'late.jpg');
    const ran = await cli(['snapshot', clip, '--time', '5s', '--frame-type', 'normal', '-o', target]);
    expect(ran).toEqual({
      status: 1,
      stdout: '',
      stderr: `framesnap: InvalidParameter.ResourceContentBad: ${clip}: no frame at or after 5000 ms: the time is past the last frame\n`,
    });
    expect(existsSync(target)).toBe(false);
  });

  test('--timeout: SnapshotTimeOut, exit 1, nothing written; 0 refused', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'slow.jpg');
    const long = await longClip();
    expect(await cli(['snapshot', long, '--time', '199s', '--timeout', '1', '-o', target])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'framesnap: SnapshotTimeOut: the snapshot ran past its deadline\n',
    });
    expect(await cli(['snapshot', long, '--time', '199s', '--timeout', '0', '-o', target])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter.OutOfRange: Expected a number between 1 and 86400000 for timeoutMs but received 0\n',
    });
    expect(existsSync(target)).toBe(false);
  });

  test('--limit-input-pixels and --limit-output-pixels', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const target = join(ws.dir, 'shot.jpg');
    const over = await cli(['snapshot', clip, '--time', '0', '--limit-input-pixels', '76799', '-o', target]);
    expect(over).toEqual({
      status: 1,
      stdout: '',
      stderr: `framesnap: InvalidParameter.ResourceContentBad: ${clip}: the video's frames are 320x240 (76800 pixels), over limitInputPixels (76799)\n`,
    });
    const requested = await cli([
      'snapshot',
      clip,
      '--time',
      '0',
      '--width',
      '400',
      '--height',
      '400',
      '--limit-output-pixels',
      '100000',
      '-o',
      target,
    ]);
    expect(requested).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter.OutOfRange: the requested images are 400x400 (160000 pixels), over limitOutputPixels (100000)\n',
    });
    expect(existsSync(target)).toBe(false);
    expect((await cli(['snapshot', clip, '--time', '0', '--limit-input-pixels', '76800', '--quiet', '-o', target])).status).toBe(0);
    expect(existsSync(target)).toBe(true);
  });

  test('NODE_DEBUG=framesnap: debug lines on stderr', async () => {
    const ws = await setup();
    const clip = join(ws.bucket(IN), 'clip.mp4');
    const target = join(ws.dir, 'd.jpg');
    const ran = await cli(['snapshot', clip, '--time', '1s', '--quiet', '-o', target], { env: { NODE_DEBUG: 'framesnap' } });
    expect(ran.status).toBe(0);
    expect(ran.stderr).toMatch(
      new RegExp(
        `^FRAMESNAP \\d+: snapshot ${clip.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at 1000 ms as jpeg to ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        'm',
      ),
    );
  });
});

describe('framesnap submit', () => {
  test('a synchronous job: prints the response JSON, exit 0, the JPEG in the bucket', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('{FileName}.jpg'),
      '--user-data',
      'testid-001',
    ]);
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    const response = JSON.parse(ran.stdout);
    expect(response).toEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      SnapshotJob: {
        Id: expect.stringMatching(JOB_ID),
        State: 'Success',
        Code: '',
        Message: '',
        Count: '1',
        CreationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        PipelineId: expect.stringMatching(JOB_ID),
        UserData: 'testid-001',
        Input: { Bucket: IN, Location: 'oss-cn-hangzhou', Object: 'clip.mp4' },
        SnapshotConfig: { OutputFile: { Bucket: OUT, Location: 'oss-cn-hangzhou', Object: '{FileName}.jpg' }, Time: '1000' },
      },
    });
    expect(files(ws.bucket(OUT))).toEqual(['clip.jpg']);
    expect((await sharp(readFileSync(join(ws.bucket(OUT), 'clip.jpg'))).metadata()).format).toBe('jpeg');
  });

  test('an asynchronous job: waits for it and prints the final state; no progress when stderr is not a terminal', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('s/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }),
    ]);
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Success', Code: '', Message: '', Count: '3' });
    expect(files(ws.bucket(OUT))).toEqual(counted(3, (count) => `s/${count}.jpg`));
  });

  test('--no-wait: prints the Submitted answer', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('s/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }),
      '--no-wait',
    ]);
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Submitted', Code: '', Message: '', Count: '0' });
  });

  test('--progress when stderr is not a terminal: plain lines (images, percent, rate, ETA), the JSON on stdout unchanged', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('p/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }),
      '--progress',
    ]);
    expect(ran.status).toBe(0);
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Success', Count: '3', Percent: 100 });
    const lines = ran.stderr.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('progress: 1/3 images (33%)');
    expect(
      lines.map((line) => /^progress: (\d+)\/3 images \((\d+)%\)(?:, \d+(?:\.\d)? images\/s, ETA \d+:\d\d)?$/.exec(line)?.slice(1, 3)),
    ).toEqual([
      ['1', '33'],
      ['2', '66'],
      ['3', '100'],
    ]);
    expect(lines[2]).toMatch(/, ETA 0:00$/);
    const quiet = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('q/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }),
      '--no-progress',
    ]);
    expect({ status: quiet.status, stderr: quiet.stderr }).toEqual({ status: 0, stderr: '' });
  });

  test.each([
    [
      'Width 5000',
      config('a.jpg', { Width: 5000 }),
      'InvalidParameter.OutOfRange: Expected an integer between 8 and 4096 for SnapshotConfig.Width but received 5000',
    ],
    [
      'a key leading out',
      config('../a.jpg'),
      'PermissionDenied.ResourceAccess: SnapshotConfig.OutputFile.Object "../a.jpg" leads out of its bucket',
    ],
    [
      'a missing output bucket',
      JSON.stringify({ OutputFile: { Bucket: 'nowhere', Object: 'a.jpg' }, Time: '0' }),
      'InvalidParameter.ResourceNotFound: the bucket nowhere does not exist',
    ],
  ])('a bad request (%s): exit 2, the code and message on stderr, nothing written', async (_label, snapshotConfig, line) => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', snapshotConfig]);
    expect(ran).toEqual({ status: 2, stdout: '', stderr: `framesnap: ${line}\n` });
    expect(files(ws.bucket(OUT))).toEqual([]);
  });

  test('an unknown config field: exit 2 with InvalidParameter naming it', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('a.jpg', { Tme: '5' })]);
    expect(ran.status).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(/^framesnap: InvalidParameter: Unknown field "?Tme"? [^\n]*\n$/);
  });

  test('malformed --input JSON: exit 2 with InvalidParameter.JsonFormatInvalid', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', '{"Bucket":', '--config', config('a.jpg')]);
    expect(ran.status).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(/^framesnap: InvalidParameter\.JsonFormatInvalid: Input is not valid JSON: [^\n]+\n$/);
  });

  test('a missing input object: exit 2 with InvalidParameter.ResourceNotFound', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      JSON.stringify({ Bucket: IN, Object: 'gone.mp4' }),
      '--config',
      config('a.jpg'),
    ]);
    expect(ran).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter.ResourceNotFound: the object gone.mp4 does not exist\n',
    });
  });

  test('--isolation process runs the job in a child process; --limit-input-pixels refuses a bigger video', async () => {
    const ws = await setup();
    const isolated = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('iso.jpg'), '--isolation', 'process']);
    expect({ status: isolated.status, stderr: isolated.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(isolated.stdout).SnapshotJob.State).toBe('Success');
    expect(files(ws.bucket(OUT))).toEqual(['iso.jpg']);
    const limited = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('big.jpg'),
      '--limit-input-pixels',
      '100',
    ]);
    expect(limited.status).toBe(1);
    expect(limited.stderr).toMatch(
      /^framesnap: InvalidParameter\.ResourceContentBad: clip\.mp4: the video's frames are \d+x\d+ \(\d+ pixels\), over limitInputPixels \(100\)\n$/,
    );
    const wrong = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('a.jpg'), '--isolation', 'fork']);
    expect(wrong).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter: Expected "thread" or "process" for isolation but received "fork"\n',
    });
  });

  test('--progress with --no-progress: exit 2', async () => {
    const ws = await setup();
    expect(await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('a.jpg'), '--progress', '--no-progress'])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter: --progress and --no-progress contradict each other (see framesnap submit --help)\n',
    });
  });

  test('missing --root: exit 2 naming it', async () => {
    const ran = await cli(['submit', '--input', INPUT, '--config', config('a.jpg')]);
    expect(ran).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: framesnap submit needs --root, --input and --config; --root is missing (see framesnap submit --help)\n',
    });
  });

  test('a synchronous job that fails (normal Time past the end): exit 1', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('a.jpg', { Time: '5000', FrameType: 'normal' }),
    ]);
    expect(ran).toEqual({ status: 1, stdout: '', stderr: `framesnap: InvalidParameter.ResourceContentBad: ${PAST_END}\n` });
    expect(files(ws.bucket(OUT))).toEqual([]);
  });

  test('an asynchronous job that fails: exit 1, the Fail state printed', async () => {
    const ws = await setup();
    const ran = await cli([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('s/{Count}.jpg', { Time: '5000', FrameType: 'normal', Num: '2' }),
    ]);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toBe(`framesnap: InvalidParameter.ResourceContentBad: ${PAST_END}\n`);
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter.ResourceContentBad',
      Message: PAST_END,
      Count: '0',
    });
    expect(files(ws.bucket(OUT))).toEqual([]);
  });
});

describe('JSON arguments: inline, @FILE, - (stdin)', () => {
  test('--config @FILE and --input - (stdin) give the same job as inline JSON', async () => {
    const ws = await setup();
    const configFile = join(ws.dir, 'config.json');
    writeFileSync(configFile, `${config('from-file.jpg')}\n`);
    const ran = await cli(['submit', '--root', ws.root, '--input', '-', '--config', `@${configFile}`], { stdin: INPUT });
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({
      State: 'Success',
      Input: JSON.parse(INPUT),
      SnapshotConfig: JSON.parse(config('from-file.jpg')),
    });
    expect(files(ws.bucket(OUT))).toEqual(['from-file.jpg']);
  });

  test('--config - reads stdin; a relative @FILE is relative to the working folder', async () => {
    const ws = await setup();
    writeFileSync(join(ws.dir, 'input.json'), INPUT);
    const ran = await cli(['submit', '--root', ws.root, '--input', '@input.json', '--config', '-'], {
      stdin: config('stdin.jpg'),
      cwd: ws.dir,
    });
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(files(ws.bucket(OUT))).toEqual(['stdin.jpg']);
  });

  test.each([
    [
      ['--input', '-', '--config', '-'],
      'framesnap: InvalidParameter: --input and --config both read standard input (-); give one of them as JSON or @FILE (see framesnap submit --help)',
    ],
    [
      ['--input', '@DIR/nope.json', '--config', '{}'],
      'framesnap: InvalidParameter.ResourceNotFound: the --input file DIR/nope.json does not exist',
    ],
    [['--input', '@DIR', '--config', '{}'], 'framesnap: InvalidParameter: the --input file DIR is a folder, not a file'],
    [
      ['--input', '@', '--config', '{}'],
      'framesnap: InvalidParameter: --input @ needs a file name after the @ (see framesnap submit --help)',
    ],
  ])('refused: %j', async (args, line) => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, ...args.map((arg) => arg.replace('DIR', ws.dir))]);
    expect(ran).toEqual({ status: 2, stdout: '', stderr: `${line.replace('DIR', ws.dir)}\n` });
  });

  test('malformed JSON from stdin: refused as the API refuses it, exit 2', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', '-'], { stdin: '{"Time":' });
    expect(ran).toEqual({
      status: 2,
      stdout: '',
      stderr: `framesnap: InvalidParameter.JsonFormatInvalid: SnapshotConfig is not valid JSON: ${jsonError('{"Time":')}\n`,
    });
  });
});

describe('SIGINT and SIGTERM', () => {
  /**
   * Starts a 200-image series with plain progress lines, sends `signal` once
   * the first line is out (the job is writing), and resolves when the command
   * has ended.
   */
  async function interruptedSeries(
    signal: NodeJS.Signals,
  ): Promise<{ status: number | null; stdout: string; stderr: string; out: string }> {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'long.mp4', await longClip());
    const out = ws.bucket(OUT);
    const seriesConfig = JSON.stringify({
      OutputFile: { Bucket: OUT, Object: 'series/{Count}.jpg' },
      Time: '0',
      Interval: '1',
      Num: '200',
      FrameType: 'normal',
    });
    const { status, stdout, stderr } = await interrupted(
      ['submit', '--root', ws.root, '--input', JSON.stringify({ Bucket: IN, Object: 'long.mp4' }), '--config', seriesConfig, '--progress'],
      'progress: ',
      signal,
    );
    return { status, stdout, stderr, out };
  }

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s mid-series: the job is cancelled, every image and temporary file it wrote removed, exit %d', async (signal, code) => {
    const { status, stdout, stderr, out } = await interruptedSeries(signal);
    expect(status).toBe(code);
    expect(stderr.split('\n').slice(-2)).toEqual([
      `framesnap: Aborted: interrupted by ${signal}; the work was cancelled and what it wrote removed`,
      '',
    ]);
    expect(JSON.parse(stdout).SnapshotJob).toMatchObject({ State: 'Fail', Code: 'Aborted', Count: '0' });
    // Nothing left: no image, no .tmp, no journal (the folder the job made goes too, or stays empty).
    expect(tree(out).filter((entry) => entry !== 'series/')).toEqual([]);
  });

  test('SIGINT while --config - waits for standard input: exit 130 at once, no job', async () => {
    const ws = await setup();
    // Standard input stays open: only the signal can end the wait.
    const { status, stderr } = await interrupted(
      ['submit', '--root', ws.root, '--input', INPUT, '--config', '-'],
      'reading --config from standard input',
      'SIGINT',
      {
        env: { ...process.env, NODE_DEBUG: 'framesnap' },
        holdStdin: true,
      },
    );
    expect(status).toBe(130);
    expect(stderr).toContain('\nframesnap: Aborted: interrupted by SIGINT; the work was cancelled and what it wrote removed\n');
    expect(files(ws.bucket(OUT))).toEqual([]);
  });

  test('SIGINT during a snapshot: nothing written, exit 130', async () => {
    const ws = await setup();
    mkdirSync(join(ws.dir, 'o'));
    const target = join(ws.dir, 'o', 'late.png');
    // A large PNG of the long clip's last second: long enough to be interrupted.
    const { status, stderr } = await interrupted(
      [
        'snapshot',
        await longClip(),
        '--time',
        '199s',
        '--frame-type',
        'normal',
        '--width',
        '4096',
        '--height',
        '4096',
        '--limit-output-pixels',
        '16777216',
        '-o',
        target,
      ],
      ' at 199000 ms as png ',
      'SIGINT',
      { env: { ...process.env, NODE_DEBUG: 'framesnap' } },
    );
    expect(status).toBe(130);
    expect(stderr).toContain('\nframesnap: Aborted: interrupted by SIGINT; the work was cancelled and what it wrote removed\n');
    expect(readdirSync(join(ws.dir, 'o'))).toEqual([]);
  });
});

describe('progress views', async () => {
  const { progressView } = (await import('../dist/cli/progress.js')) as typeof import('../src/cli/progress.js');

  function fakeStream(
    isTTY: boolean,
    columns = 80,
  ): { writes: string[]; isTTY: boolean; columns: number; write: (text: string) => boolean } {
    const writes: string[] = [];
    return { writes, isTTY, columns, write: (text) => writes.push(text) > 0 };
  }

  test('on a terminal: one bar redrawn in place with percent, images, rate and ETA (from the second image); at most every 100 ms but the last', () => {
    const stream = fakeStream(true, 80);
    let now = 0;
    const view = progressView(stream, () => now);
    now = 1000;
    view.update({ Done: 1, Expected: 5, Percent: 20 });
    now = 1050;
    view.update({ Done: 2, Expected: 5, Percent: 40 }); // within 100 ms: not drawn
    now = 2000;
    view.update({ Done: 3, Expected: 5, Percent: 60 });
    now = 3000;
    view.update({ Done: 4, Expected: 5, Percent: 80 });
    now = 3010;
    view.update({ Done: 5, Expected: 5, Percent: 100 }); // the last: drawn
    view.end();
    expect(stream.writes).toEqual([
      `\r[########................................]  20%  1/5 images\x1b[K`,
      `\r[########################................]  60%  3/5 images  2.0/s  ETA 0:01\x1b[K`,
      `\r[################################........]  80%  4/5 images  1.5/s  ETA 0:01\x1b[K`,
      `\r[########################################] 100%  5/5 images  2.0/s  ETA 0:00\x1b[K`,
      '\n',
    ]);
  });

  test('a narrow terminal gets a shorter bar, at least 10 wide', () => {
    const narrow = fakeStream(true, 50);
    let now = 0;
    const view = progressView(narrow, () => now);
    view.update({ Done: 1, Expected: 10, Percent: 10 });
    now = 400;
    view.update({ Done: 5, Expected: 10, Percent: 50 });
    expect(narrow.writes[1]).toBe(`\r[#######......]  50%  5/10 images  10/s  ETA 0:01\x1b[K`);
    const tiny = fakeStream(true, 20);
    now = 0;
    const tinyView = progressView(tiny, () => now);
    tinyView.update({ Done: 1, Expected: 10, Percent: 10 });
    now = 400;
    tinyView.update({ Done: 5, Expected: 10, Percent: 50 });
    expect(tiny.writes[1]).toBe(`\r[#####.....]  50%  5/10 images  10/s  ETA 0:01\x1b[K`);
  });

  test('not a terminal: a plain line each time the whole percent changes', () => {
    const stream = fakeStream(false);
    let now = 0;
    const view = progressView(stream, () => now);
    for (let done = 1; done <= 300; done++) {
      now = done * 20;
      view.update({ Done: done, Expected: 300, Percent: Math.floor((done * 100) / 300) });
    }
    view.end();
    // 0%, 1%, ..., 100%.
    expect(stream.writes).toHaveLength(101);
    expect(stream.writes.slice(0, 2)).toEqual(['progress: 1/300 images (0%)\n', 'progress: 3/300 images (1%), 50 images/s, ETA 0:06\n']);
    expect(stream.writes[100]).toBe('progress: 300/300 images (100%), 50 images/s, ETA 0:00\n');
  });
});

describe('each command loads only what it needs', () => {
  /**
   * A copy of the package whose dist/ lacks `without` (folders under dist/),
   * and whose node_modules lacks sharp unless `sharp`; the addon's build/
   * only when `addon`.
   */
  function partialPackage(options: { withoutDist: string[]; sharp: boolean; addon: boolean }): string {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const copy = mkdtempSync(join(tmpdir(), 'framesnap-partial-'));
    cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(join(root, 'dist'), join(copy, 'dist'), {
      recursive: true,
      filter: (source) => !options.withoutDist.some((folder) => source === join(root, 'dist', folder)),
    });
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    mkdirSync(join(copy, 'node_modules'));
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (!options.sharp && (entry === 'sharp' || entry === '@img')) continue;
      symlinkSync(join(root, 'node_modules', entry), join(copy, 'node_modules', entry));
    }
    if (options.addon) symlinkSync(join(root, 'build'), join(copy, 'build'));
    return join(copy, 'dist', 'cli', 'main.js');
  }

  const run = (main: string, args: string[]): Promise<Ran> =>
    new Promise((resolve) => {
      execFile(process.execPath, [main, ...args], { env: { ...process.env, NODE_DEBUG: '' } }, (error, stdout, stderr) =>
        resolve({ status: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });

  test('--help, --version and a refused time need neither the service, nor sharp, nor the addon', async () => {
    const main = partialPackage({ withoutDist: ['service'], sharp: false, addon: false });
    expect(await run(main, ['--version'])).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect((await run(main, ['--help'])).status).toBe(0);
    expect((await run(main, ['snapshot', '--help'])).status).toBe(0);
    expect((await run(main, ['submit', '--help'])).status).toBe(0);
    expect(await run(main, ['snapshot', 'a.mp4', '--time', '1e3', '-o', 'a.jpg'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: Expected a time in milliseconds (5000), seconds (5s, 1.5s) or a clock (01:05, 00:01:05.250) for --time but received "1e3"\n',
    });
  });

  test('snapshot needs no service code (and so no worker pool); submit does', async () => {
    const ws = await setup();
    const main = partialPackage({ withoutDist: ['service'], sharp: true, addon: true });
    const target = join(ws.dir, 'lean.jpg');
    expect(await run(main, ['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '--quiet', '-o', target])).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
    expect((await sharp(readFileSync(target)).metadata()).format).toBe('jpeg');
    const submit = await run(main, ['submit', '--root', ws.root, '--input', INPUT, '--config', config('a.jpg')]);
    expect(submit.status).toBe(3);
    expect(submit.stderr).toMatch(/^framesnap: InternalError: Cannot find module '[^']*service[/\\]service\.js'/);
  });
});

/** util-linux's script(1): runs a command on a pseudo-terminal, as a person at a terminal would. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path));
const shellQuote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

function inTerminal(args: string[]): Promise<{ status: number; output: string }> {
  const command = `stty cols 100; ${[process.execPath, CLI, ...args].map(shellQuote).join(' ')}`;
  return new Promise((resolve) => {
    execFile(
      SCRIPT!,
      ['-q', '-e', '-c', command, '/dev/null'],
      { timeout: 60_000, env: { ...process.env, NODE_DEBUG: '' } },
      (error, stdout) => resolve({ status: error === null ? 0 : Number(error.code), output: stdout }),
    );
  });
}

describe.skipIf(SCRIPT === undefined)('on a terminal (script -q -c)', () => {
  test('submit of a series draws the bar by default, ending at 100%', async () => {
    const ws = await setup();
    const ran = await inTerminal([
      'submit',
      '--root',
      ws.root,
      '--input',
      INPUT,
      '--config',
      config('t/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }),
    ]);
    expect(ran.status).toBe(0);
    // The bar's last drawing, then the line it ends (ESC [ K clears what a longer drawing left).
    expect(ran.output).toMatch(new RegExp(`\\r\\[#{40}\\] 100% {2}3/3 images {2}\\d+(\\.\\d)?/s {2}ETA 0:00${'\x1b'}\\[K\\r?\\n`));
    expect(ran.output).toContain('"State": "Success"');
    expect(files(ws.bucket(OUT))).toEqual(counted(3, (count) => `t/${count}.jpg`));
  });

  test('-o - refuses to write an image to the terminal', async () => {
    const ws = await setup();
    const ran = await inTerminal(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '-o', '-']);
    expect(ran).toEqual({
      status: 2,
      output:
        'framesnap: InvalidParameter: -o - would write the image to the terminal; redirect standard output or give a file name (see framesnap snapshot --help)\r\n',
    });
  });
});

describe('debug output (NODE_DEBUG=framesnap)', () => {
  const DEBUG_MODULE = fileURLToPath(new URL('../dist/core/debug.js', import.meta.url));
  const script = `const { debug } = await import(${JSON.stringify(DEBUG_MODULE)}); debug('seek %s to %d ms', 'a.mp4', 5000); process.stdout.write(String(debug.enabled));`;
  const run = (env: Record<string, string>) =>
    new Promise<Ran & { pid: number }>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { env: { ...process.env, NODE_DEBUG: '', ...env } },
        (error, stdout, stderr) => {
          if (error !== null) reject(error);
          else resolve({ status: 0, stdout, stderr, pid: child.pid! });
        },
      );
    });

  test('on: FRAMESNAP <pid>: lines on stderr', async () => {
    const ran = await run({ NODE_DEBUG: 'framesnap' });
    expect(ran).toEqual({ status: 0, stdout: 'true', stderr: `FRAMESNAP ${ran.pid}: seek a.mp4 to 5000 ms\n`, pid: ran.pid });
  });

  test('off: nothing', async () => {
    const ran = await run({});
    expect(ran).toEqual({ status: 0, stdout: 'false', stderr: '', pid: ran.pid });
  });
});
