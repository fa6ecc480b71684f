/**
 * The `framesnap` command (dist/cli.js):
 *   framesnap submit --root DIR --input JSON --config JSON [--user-data S] [--no-wait] ...
 *   framesnap snapshot FILE --time MS [--frame-type ...] [--width N] [--height N] -o OUT.jpg
 * Exit status 0 on success, 2 for a bad request (refused before any work;
 * for `snapshot`, a missing file counts as one), 1 when the work itself
 * failed; the error code and message go to stderr as `framesnap: CODE: MESSAGE`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';

import { exactFrameIndex, fixture, referenceFrames } from './fixtures.js';
import { counted, files, JOB_ID, UPPER_UUID, whichFrame, workspace, type Workspace } from './helpers/service-clips.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const IN = 'in-bucket';
const OUT = 'out-bucket';
const PAST_END = 'No frame at or after 5000 ms in clip.mp4: the time is past the last frame';

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ status: error === null ? 0 : (error.code as number), stdout, stderr });
    });
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

describe('framesnap submit', () => {
  test('a synchronous job: prints the response JSON, exit 0, the JPEG in the bucket', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('{FileName}.jpg'), '--user-data', 'testid-001']);
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

  test('an asynchronous job: waits for it and prints the final state', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('s/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' })]);
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Success', Code: '', Message: '', Count: '3' });
    expect(files(ws.bucket(OUT))).toEqual(counted(3, (count) => `s/${count}.jpg`));
  });

  test('--no-wait: prints the Submitted answer', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('s/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }), '--no-wait']);
    expect({ status: ran.status, stderr: ran.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Submitted', Code: '', Message: '', Count: '0' });
  });

  test('--progress: a bar on stderr counts the images of a series, the JSON on stdout is unchanged', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('p/{Count}.jpg', { Time: '0', Num: '3', Interval: '1' }), '--progress']);
    expect(ran.status).toBe(0);
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Success', Count: '3', Percent: 100 });
    const bar = '.'.repeat(30);
    expect(ran.stderr).toBe(
      [1, 2, 3].map((done) => `\r[${'#'.repeat(Math.round((Math.floor((done * 100) / 3) / 100) * 30))}${bar.slice(Math.round((Math.floor((done * 100) / 3) / 100) * 30))}] ${done}/3 images`).join('') + '\n',
    );
  });

  test.each([
    ['Width 5000', config('a.jpg', { Width: 5000 }), 'InvalidParameter.OutOfRange: Expected an integer between 8 and 4096 for SnapshotConfig.Width but received 5000'],
    ['an unknown field', config('a.jpg', { Tme: '5' }), 'InvalidParameter: Unknown field SnapshotConfig.Tme; expected only OutputFile, Time, Interval, Num, Width, Height, FrameType, BlackLevel, PixelBlackThreshold, TileOut, TileOutputFile, Format, SubOut'],
    ['a missing Time', JSON.stringify({ OutputFile: { Bucket: OUT, Object: 'a.jpg' } }), 'InvalidParameter.NullValue: SnapshotConfig.Time is required'],
    ['a key leading out', config('../a.jpg'), 'PermissionDenied.ResourceAccess: SnapshotConfig.OutputFile.Object "../a.jpg" leads out of its bucket'],
    ['a missing output bucket', JSON.stringify({ OutputFile: { Bucket: 'nowhere', Object: 'a.jpg' }, Time: '0' }), 'InvalidParameter.ResourceNotFound: the bucket nowhere does not exist'],
  ])('a bad request (%s): exit 2, the code and message on stderr, nothing written', async (_label, snapshotConfig, line) => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', snapshotConfig]);
    expect(ran).toEqual({ status: 2, stdout: '', stderr: `framesnap: ${line}\n` });
    expect(files(ws.bucket(OUT))).toEqual([]);
  });

  test('malformed --input JSON: exit 2 with InvalidParameter.JsonFormatInvalid', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', '{"Bucket":', '--config', config('a.jpg')]);
    expect(ran.status).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr.startsWith('framesnap: InvalidParameter.JsonFormatInvalid: Input is not valid JSON: ')).toBe(true);
  });

  test('a missing input object: exit 2 with InvalidParameter.ResourceNotFound', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', JSON.stringify({ Bucket: IN, Object: 'gone.mp4' }), '--config', config('a.jpg')]);
    expect(ran).toEqual({ status: 2, stdout: '', stderr: 'framesnap: InvalidParameter.ResourceNotFound: the object gone.mp4 does not exist\n' });
  });

  test('--isolation process runs the job in a child process; --limit-input-pixels refuses a bigger video', async () => {
    const ws = await setup();
    const isolated = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('iso.jpg'), '--isolation', 'process']);
    expect({ status: isolated.status, stderr: isolated.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(isolated.stdout).SnapshotJob.State).toBe('Success');
    expect(files(ws.bucket(OUT))).toEqual(['iso.jpg']);
    const limited = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('big.jpg'), '--limit-input-pixels', '100']);
    expect(limited.status).toBe(1);
    expect(limited.stderr).toMatch(/^framesnap: InvalidParameter\.ResourceContentBad: clip\.mp4: the video's frames are \d+x\d+ \(\d+ pixels\), over limitInputPixels \(100\)\n$/);
    const wrong = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('a.jpg'), '--isolation', 'fork']);
    expect(wrong).toEqual({ status: 2, stdout: '', stderr: 'framesnap: InvalidParameter: Expected "thread" or "process" for isolation but received "fork"\n' });
  });

  test('missing --root: exit 2 with the usage', async () => {
    const ran = await cli(['submit', '--input', INPUT, '--config', config('a.jpg')]);
    expect(ran.status).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr.startsWith('framesnap: submit needs --root, --input and --config\nusage:\n')).toBe(true);
  });

  test('a synchronous job that fails (normal Time past the end): exit 1', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('a.jpg', { Time: '5000', FrameType: 'normal' })]);
    expect(ran).toEqual({ status: 1, stdout: '', stderr: `framesnap: InvalidParameter.ResourceContentBad: ${PAST_END}\n` });
    expect(files(ws.bucket(OUT))).toEqual([]);
  });

  test('an asynchronous job that fails: exit 1, the Fail state printed', async () => {
    const ws = await setup();
    const ran = await cli(['submit', '--root', ws.root, '--input', INPUT, '--config', config('s/{Count}.jpg', { Time: '5000', FrameType: 'normal', Num: '2' })]);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toBe(`framesnap: InvalidParameter.ResourceContentBad: ${PAST_END}\n`);
    expect(JSON.parse(ran.stdout).SnapshotJob).toMatchObject({ State: 'Fail', Code: 'InvalidParameter.ResourceContentBad', Message: PAST_END, Count: '0' });
    expect(files(ws.bucket(OUT))).toEqual([]);
  });
});

describe('framesnap snapshot', () => {
  test('writes the JPEG of the frame asked for, exit 0', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'shot.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '1010', '--frame-type', 'normal', '-o', target]);
    expect(ran).toEqual({ status: 0, stdout: '', stderr: '' });
    const jpeg = readFileSync(target);
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    const reference = await referenceFrames(await fixture('h264'), 320, 240);
    const index = exactFrameIndex(reference, 1010);
    expect(await whichFrame(jpeg, [reference.frames[index - 1]!, reference.frames[index]!, reference.frames[index + 1]!])).toBe(1);
  });

  test('--width scales, keeping the aspect ratio', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'small.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '--width', '160', '--output', target]);
    expect(ran.status).toBe(0);
    expect(await sharp(readFileSync(target)).metadata()).toMatchObject({ format: 'jpeg', width: 160, height: 120 });
  });

  test.each([
    ['--width 5000', ['--width', '5000'], 'framesnap: InvalidParameter.OutOfRange: Expected an integer between 8 and 4096 for width but received 5000\n'],
    ['--width abc', ['--width', 'abc'], undefined],
    ['--time soon', ['--time', 'soon'], undefined],
  ])('a bad option (%s): exit 2, no file', async (_label, options, stderr) => {
    const ws = await setup();
    const target = join(ws.dir, 'bad.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', ...options, '-o', target]);
    expect(ran.status).toBe(2);
    if (stderr !== undefined) expect(ran.stderr).toBe(stderr);
    else expect(ran.stderr).toMatch(/^framesnap: --(width|time) expects a (whole )?number, got "(abc|soon)"\nusage:\n/);
    expect(existsSync(target)).toBe(false);
  });

  test('a missing file: exit 2 with InvalidParameter.ResourceNotFound', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'none.jpg');
    const ran = await cli(['snapshot', join(ws.dir, 'missing.mp4'), '--time', '0', '-o', target]);
    expect(ran.status).toBe(2);
    expect(ran.stderr.startsWith('framesnap: InvalidParameter.ResourceNotFound: ')).toBe(true);
    expect(existsSync(target)).toBe(false);
  });

  test('a text file: exit 1 with InvalidParameter.ResourceContentBad', async () => {
    const ws = await setup();
    const target = join(ws.dir, 'none.jpg');
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'notes.txt'), '--time', '0', '-o', target]);
    expect(ran.status).toBe(1);
    expect(ran.stderr.startsWith('framesnap: InvalidParameter.ResourceContentBad: ')).toBe(true);
    expect(ran.stderr).toContain('notes.txt');
    expect(existsSync(target)).toBe(false);
  });

  test('-o naming a folder: exit 2 with InvalidParameter, every failure has a code', async () => {
    const ws = await setup();
    const ran = await cli(['snapshot', join(ws.bucket(IN), 'clip.mp4'), '--time', '0', '-o', ws.dir]);
    expect(ran).toEqual({ status: 2, stdout: '', stderr: `framesnap: InvalidParameter: the output file ${ws.dir} is a folder, not a file\n` });
  });

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
    const requested = await cli(['snapshot', clip, '--time', '0', '--width', '400', '--height', '400', '--limit-output-pixels', '100000', '-o', target]);
    expect(requested).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter.OutOfRange: the requested images are 400x400 (160000 pixels), over limitOutputPixels (100000)\n',
    });
    expect(existsSync(target)).toBe(false);
    expect(await cli(['snapshot', clip, '--time', '0', '--limit-input-pixels', '76800', '-o', target])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(existsSync(target)).toBe(true);
  });

  test('--version prints the package version; --help the usage', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
    const help = await cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.startsWith('usage:\n  framesnap --version | --help\n  framesnap submit')).toBe(true);
  });

  test('no command, or an unknown one: exit 2', async () => {
    expect((await cli([])).status).toBe(2);
    const ran = await cli(['thumbnail']);
    expect(ran.status).toBe(2);
    expect(ran.stderr.startsWith('framesnap: unknown command thumbnail\nusage:\n')).toBe(true);
  });
});

describe('debug output (NODE_DEBUG=framesnap)', () => {
  const DEBUG_MODULE = fileURLToPath(new URL('../dist/core/debug.js', import.meta.url));
  const script = `const { debug } = await import(${JSON.stringify(DEBUG_MODULE)}); debug('seek %s to %d ms', 'a.mp4', 5000); process.stdout.write(String(debug.enabled));`;
  const run = (env: Record<string, string>) =>
    new Promise<Ran & { pid: number }>((resolve, reject) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_DEBUG: '', ...env } }, (error, stdout, stderr) => {
        if (error !== null) reject(error);
        else resolve({ status: 0, stdout, stderr, pid: child.pid! });
      });
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
