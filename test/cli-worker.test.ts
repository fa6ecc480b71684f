/**
 * `framesnap worker` and `framesnap submit` with a shared store (issue 11):
 * usage errors, help, and the two as a user runs them: submit --no-wait
 * leaves the job in the SQLite store, a worker process runs it, SIGTERM stops
 * the worker cleanly (exit 0).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { SnapshotService } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { CLI, cli } from './helpers/cli.js';
import { files, workspace } from './helpers/service-clips.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('framesnap worker', () => {
  it('refuses to start without a root or without exactly one store', async () => {
    expect(await cli(['worker', '--database', 'x.db'])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter: framesnap worker needs --root (see framesnap worker --help)\n',
    });
    expect(await cli(['worker', '--root', '.'])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'framesnap: InvalidParameter: framesnap worker needs one store: --database FILE or --redis URL (see framesnap worker --help)\n',
    });
    expect((await cli(['worker', '--root', '.', '--database', 'x.db', '--redis', 'redis://127.0.0.1:1'])).stderr).toBe(
      'framesnap: InvalidParameter: framesnap worker needs one store: --database FILE or --redis URL (see framesnap worker --help)\n',
    );
    expect((await cli(['worker', '--root', '.', '--database', 'x.db', '--concurrency', '0'])).stderr).toBe(
      'framesnap: InvalidParameter: --concurrency must be at least 1 (see framesnap worker --help)\n',
    );
    expect(
      (await cli(['submit', '--root', '.', '--input', '{}', '--config', '{}', '--database', 'a.db', '--redis', 'redis://h:1'])).stderr,
    ).toBe('framesnap: InvalidParameter: --database and --redis contradict each other: give one store (see framesnap submit --help)\n');
  });

  it('refuses a --subscribe that is not TOPIC=URL pairs', async () => {
    expect((await cli(['worker', '--root', '.', '--database', 'x.db', '--subscribe', 'done'])).stderr).toBe(
      'framesnap: InvalidParameter: --subscribe takes TOPIC=URL pairs, not "done" (see framesnap worker --help)\n',
    );
  });

  it('has its help, and the general help names it', async () => {
    const help = await cli(['help', 'worker']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^framesnap worker: runs the queued jobs of a shared store\n/);
    expect(help.stdout).toContain('--grace TIME');
    expect((await cli(['--help'])).stdout).toContain('framesnap worker --root DIR (--database FILE | --redis URL) [options]');
  });

  it('POSTs the completion message of a topic given with --subscribe for the jobs it finishes', async () => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanups.push(() => ws.remove());
    ws.put('in-bucket', 'clip.mp4', await fixture('h264'));
    const bodies: unknown[] = [];
    let received!: () => void;
    const posted = new Promise<void>((resolve) => (received = resolve));
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        bodies.push([request.method, JSON.parse(body)]);
        response.end('ok');
        received();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`;
    const database = join(ws.dir, 'jobs.db');
    const front = new SnapshotService({ root: ws.root, database, workers: 0, queue: { pollMs: 20 } });
    cleanups.push(() => front.close());
    const { Pipeline: pipeline } = await front.addPipeline({ Name: 'hooked', NotifyConfig: { Topic: 'thumbs-done' } });
    const worker = spawn(
      process.execPath,
      [CLI, 'worker', '--root', ws.root, '--database', database, '--subscribe', `thumbs-done=${hook}`],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => worker.on('close', (code) => resolve(code)));
    cleanups.push(() => worker.kill('SIGKILL'));
    const answer = await front.submitSnapshotJob({
      PipelineId: pipeline.Id,
      UserData: 'hooked-job',
      Input: { Bucket: 'in-bucket', Object: 'clip.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: '{Count}.jpg' }, Time: '0', Num: '2', FrameType: 'intra' },
    });
    await posted;
    expect(bodies).toEqual([
      ['POST', { JobId: answer.SnapshotJob.Id, RequestId: answer.RequestId, Type: 'Snapshot', State: 'Success', UserData: 'hooked-job' }],
    ]);
    const done = await front.waitForJob(answer.SnapshotJob.Id);
    expect(done.State).toBe('Success');
    while (
      (await front.querySnapshotJobList({ SnapshotJobIds: answer.SnapshotJob.Id })).SnapshotJobList.SnapshotJob[0]!.MNSMessageResult ===
      undefined
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const [recorded] = (await front.querySnapshotJobList({ SnapshotJobIds: answer.SnapshotJob.Id })).SnapshotJobList.SnapshotJob;
    expect(recorded!.MNSMessageResult).toEqual({ MessageId: expect.stringMatching(/^[0-9A-F]{32}$/) as unknown });
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('runs what submit --no-wait left in a SQLite store, and stops with exit 0 on SIGTERM', async () => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanups.push(() => ws.remove());
    ws.put('in-bucket', 'clip.mp4', await fixture('h264'));
    const database = join(ws.dir, 'jobs.db');
    const submitted = await cli([
      'submit',
      '--root',
      ws.root,
      '--database',
      database,
      '--no-wait',
      '--input',
      '{"Bucket":"in-bucket","Object":"clip.mp4"}',
      '--config',
      '{"OutputFile":{"Bucket":"out-bucket","Object":"{Count}.jpg"},"Time":"0","Interval":"1","Num":"3","FrameType":"intra"}',
    ]);
    expect(submitted.status).toBe(0);
    const answer = JSON.parse(submitted.stdout) as { SnapshotJob: { Id: string; State: string } };
    expect(answer.SnapshotJob.State).toBe('Submitted');
    // Nobody ran it: it waits in the store.
    const front = new SnapshotService({ root: ws.root, database, workers: 0, queue: { pollMs: 20 } });
    cleanups.push(() => front.close());
    const [waiting] = (await front.querySnapshotJobList({ SnapshotJobIds: answer.SnapshotJob.Id })).SnapshotJobList.SnapshotJob;
    expect(waiting).toMatchObject({ State: 'Submitted', Count: '0' });

    const worker = spawn(process.execPath, [CLI, 'worker', '--root', ws.root, '--database', database, '--concurrency', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => worker.on('close', (code) => resolve(code)));
    cleanups.push(() => worker.kill('SIGKILL'));
    const done = await front.waitForJob(answer.SnapshotJob.Id);
    expect(done).toMatchObject({ State: 'Success', Count: '3', Percent: 100 });
    expect(files(ws.bucket('out-bucket'))).toEqual(['00001.jpg', '00002.jpg', '00003.jpg']);
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe(
      `framesnap worker: running the queued jobs of SQLite ${database} (pid ${worker.pid}); SIGTERM or Ctrl-C stops\n` +
        'framesnap worker: SIGTERM: finishing running jobs (up to 30000 ms), then handing back the rest\n' +
        'framesnap worker: stopped\n',
    );
  });
});
