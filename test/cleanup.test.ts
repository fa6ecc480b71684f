/**
 * A job removes only what it owns, and nothing of framesnap's lingers (issue
 * 8, item 5): temporary names are `.framesnap-<pid>-<random>.tmp`; each job
 * keeps a journal per folder it writes in; when the service first writes in a
 * folder it sweeps it: stale temporary files (older than staleTemporaryMs)
 * and what the journals of dead jobs list -- objects only while they are
 * still the very files that job wrote -- go. A process killed mid-series
 * leaves its images only until a service next writes there. Folders a failed
 * job made are removed when empty.
 */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect, test } from 'vitest';

import { SnapshotService } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { files, longClip, serviceTests, tree, workspace } from './helpers/service-clips.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';
const KILL_CHILD = fileURLToPath(new URL('./helpers/series-kill-child.mjs', import.meta.url));
const HOUR = 3_600_000;

const { setup, cleanup } = serviceTests(async () => ({ 'clip.mp4': await fixture('h264') }), { workers: 1 });

async function runJob(service: SnapshotService, key: string, extra: Record<string, string> = {}): Promise<string> {
  const { SnapshotJob } = await service.submitSnapshotJob({
    Input: { Bucket: IN, Object: 'clip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: OUT, Object: key }, Time: '0', Num: '1', ...extra },
  });
  return (await service.waitForJob(SnapshotJob.Id)).State;
}

function plant(path: string, content: string, ageMs = 0): void {
  writeFileSync(path, content);
  if (ageMs > 0) utimesSync(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
}

/** A process id that is not running any more. */
function deadPid(): number {
  return Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
}

function journal(host: string, pid: number, lines: string[]): string {
  return [`framesnap-journal 1 ${encodeURIComponent(host)} ${pid}`, ...lines, ''].join('\n');
}

test("the first write in a folder sweeps stale temporary files of framesnap's, and only those", async () => {
  const { service, out } = await setup({ staleTemporaryMs: 60_000 });
  mkdirSync(join(out, 'below'));
  plant(join(out, '.framesnap-12345-0123456789ab.tmp'), 'stale', 2 * 60_000);
  plant(join(out, '.framesnap-12345-abcdefabcdef.tmp'), 'fresh: a job may be writing it');
  plant(join(out, '.framesnap-notes.txt'), "not a name of framesnap's", 2 * HOUR);
  plant(join(out, 'below', '.framesnap-12345-0123456789ab.tmp'), 'a folder no job wrote in', 2 * HOUR);
  expect(await runJob(service, 'new.jpg')).toBe('Success');
  await service.close();
  expect(files(out)).toEqual([
    '.framesnap-12345-abcdefabcdef.tmp',
    '.framesnap-notes.txt',
    'below/.framesnap-12345-0123456789ab.tmp',
    'new.jpg',
  ]);
});

test("a dead job's journal: its objects go while they are still its files, then the journal", async () => {
  const { service, out } = await setup();
  plant(join(out, 'its.jpg'), 'written by the dead job');
  plant(join(out, 'replaced.jpg'), "a later job's object at a key the dead job wrote");
  plant(join(out, '.framesnap-999-00aa00aa00aa.tmp'), '');
  const its = lstatSync(join(out, 'its.jpg'));
  const dead = deadPid();
  plant(
    join(out, `.framesnap-${dead}-0123abcd.journal`),
    journal(hostname(), dead, [
      'tmp .framesnap-999-00aa00aa00aa.tmp',
      `obj ${its.dev} ${its.ino} its.jpg`,
      `obj ${its.dev} ${its.ino + 1_000_000} replaced.jpg`,
      // A journal never leads out of its folder.
      `obj ${its.dev} ${its.ino} ..%2Fescape.jpg`,
    ]),
  );
  // A live job's journal (this process), and another host's recent one: left alone.
  plant(join(out, `.framesnap-${process.pid}-live.journal`), journal(hostname(), process.pid, [`obj ${its.dev} ${its.ino} its.jpg`]));
  plant(join(out, '.framesnap-1-otherhost.journal'), journal('some-other-host', dead, ['obj 1 1 replaced.jpg']));
  expect(await runJob(service, 'new.jpg')).toBe('Success');
  await service.close();
  expect(files(out)).toEqual(
    [`.framesnap-${process.pid}-live.journal`, '.framesnap-1-otherhost.journal', 'new.jpg', 'replaced.jpg'].sort(),
  );
});

test('a process killed mid-series leaves its images only until a service next writes in their folder', async () => {
  const ws = workspace([IN, OUT]);
  cleanup(() => ws.remove());
  ws.put(IN, 'long.mp4', await longClip());
  ws.put(IN, 'clip.mp4', await fixture('h264'));
  const out = ws.bucket(OUT);
  const child = spawn(process.execPath, [KILL_CHILD, ws.root, 'series/{Count}.jpg'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('writing') && resolve());
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before writing`)));
  });
  const exited = new Promise((resolve) => child.once('exit', (_, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  const left = readdirSync(join(out, 'series'));
  expect(left.filter((name) => name.endsWith('.jpg')).length).toBeGreaterThanOrEqual(2);
  expect(left.filter((name) => name.endsWith('.journal'))).toHaveLength(1);
  // A later service (default stale bound, one hour) writes in that folder.
  const service = new SnapshotService({ root: ws.root, workers: 1 });
  cleanup(() => service.close());
  expect(await runJob(service, 'series/later.jpg')).toBe('Success');
  await service.close();
  expect(tree(join(out, 'series')).map((entry) => entry.split(' ')[0])).toEqual(['later.jpg']);
});

test('a failed job removes the folders it made once they are empty, and no others', async () => {
  const { service, out } = await setup();
  // Image 2's name is taken by a folder: the job fails after writing image 1 in a folder it made.
  mkdirSync(join(out, 'made', '00002', 'img.jpg'), { recursive: true });
  mkdirSync(join(out, 'kept'));
  const { SnapshotJob } = await service.submitSnapshotJob({
    Input: { Bucket: IN, Object: 'clip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'made/{Count}/img.jpg' }, Time: '0', Interval: '1', Num: '3' },
  });
  const job = await service.waitForJob(SnapshotJob.Id);
  expect({ State: job.State, Code: job.Code, Message: job.Message }).toEqual({
    State: 'Fail',
    Code: 'InvalidParameter',
    Message: 'the object made/00002/img.jpg is a folder, not a file',
  });
  await service.close();
  expect(tree(out)).toEqual(['kept/', 'made/', 'made/00002/', 'made/00002/img.jpg/']);
});

test('staleTemporaryMs is an integer of at least 1000 ms', () => {
  expect(() => new SnapshotService({ root: '/tmp', staleTemporaryMs: 10 })).toThrow(/staleTemporaryMs/);
});
