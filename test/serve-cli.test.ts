/**
 * `framesnap serve` as a user runs it: usage errors, help, and a restart
 * that loses nothing. The SDK submits an asynchronous job into a paused
 * pipeline (it stays queued in SQLite), SIGTERM stops the server cleanly
 * (exit 0), a new server on the same root finds the job, and it runs to
 * Success once the pipeline is resumed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { fixture } from './fixtures.js';
import { CLI, cli } from './helpers/cli.js';
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, Mts, sdkClient, sdkFailure } from './helpers/serve.js';
import { exited } from './helpers/server-process.js';
import { counted, files, longClip, workspace } from './helpers/service-clips.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

/** `framesnap serve ARGS --port 0`; resolves once it says where it listens. */
function startServe(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(stderr);
      if (match !== null) resolve({ child, port: Number(match[1]), stdout: () => stdout, stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`framesnap serve exited with ${code}: ${stderr}`)));
  });
}

describe('framesnap serve', () => {
  it('refuses to start without a root, without keys, or with both keys and --insecure-no-auth', async () => {
    expect(await cli(['serve', '--access-keys', 'k.json'])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter: framesnap serve needs --root (see framesnap serve --help)\n',
    });
    expect((await cli(['serve', '--root', '.'])).stderr).toBe(
      'framesnap: InvalidParameter: framesnap serve needs --access-keys FILE (a JSON object of AccessKeyId to AccessKeySecret), or --insecure-no-auth for local experiments (see framesnap serve --help)\n',
    );
    expect((await cli(['serve', '--root', '.', '--access-keys', 'k.json', '--insecure-no-auth'])).stderr).toBe(
      'framesnap: InvalidParameter: --access-keys and --insecure-no-auth contradict each other (see framesnap serve --help)\n',
    );
    expect(await cli(['serve', '--root', '.', '--access-keys', '/nonexistent/keys.json'])).toEqual({
      status: 2,
      stdout: '',
      stderr: 'framesnap: InvalidParameter: the access-key file cannot be read (ENOENT)\n',
    });
    expect((await cli(['serve', '--root', '.', '--insecure-no-auth', '--port', '70000'])).stderr).toBe(
      'framesnap: InvalidParameter: --port must be 0..65535, not 70000 (see framesnap serve --help)\n',
    );
  });

  it('has its help, and the general help names it', async () => {
    const help = await cli(['help', 'serve']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^framesnap serve: the cloud API over HTTP, for its official SDKs\n/);
    expect(help.stdout).toContain('--sync-timeout TIME');
    expect((await cli(['--help'])).stdout).toContain('framesnap serve --root DIR --access-keys FILE [options]');
  });

  it('SIGHUP reads the access-key file again: a new key works, a removed one is refused, a bad file changes nothing', async () => {
    const ws = workspace(['in-bucket']);
    cleanups.push(() => ws.remove());
    const keys = join(ws.dir, 'keys.json');
    writeFileSync(keys, JSON.stringify({ [ACCESS_KEY_ID]: ACCESS_KEY_SECRET }));
    const running = await startServe(['--root', ws.root, '--access-keys', keys, '--workers', '1']);
    const search = (accessKeyId: string, accessKeySecret: string) =>
      sdkClient(running.port, { accessKeyId, accessKeySecret }).searchPipeline(new Mts.SearchPipelineRequest({}));
    const stderrSays = async (text: string): Promise<void> => {
      while (!running.stderr().includes(text)) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    expect((await search(ACCESS_KEY_ID, ACCESS_KEY_SECRET)).statusCode).toBe(200);

    writeFileSync(keys, JSON.stringify({ rotatedKeyId: 'rotated-secret' }));
    running.child.kill('SIGHUP');
    await stderrSays(`framesnap serve: SIGHUP: 1 access key(s) read from ${keys}\n`);
    expect((await search('rotatedKeyId', 'rotated-secret')).statusCode).toBe(200);
    const removed = await sdkFailure(() => search(ACCESS_KEY_ID, ACCESS_KEY_SECRET));
    expect([removed.code, removed.statusCode]).toEqual(['InvalidAccessKeyId.NotFound', 404]);

    writeFileSync(keys, '{"broken":');
    running.child.kill('SIGHUP');
    await stderrSays(
      'framesnap serve: SIGHUP: the access keys are unchanged: the access-key file is not JSON: expected {"AccessKeyId": "AccessKeySecret", ...}\n',
    );
    expect((await search('rotatedKeyId', 'rotated-secret')).statusCode).toBe(200);
    running.child.kill('SIGTERM');
    await exited(running.child);
    expect(running.child.exitCode).toBe(0);
  });

  it('SIGTERM with --grace 0 hands a running job back: after the restart it runs again from the start to Success', async () => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanups.push(() => ws.remove());
    ws.put('in-bucket', 'long.mp4', await longClip());
    const keys = join(ws.dir, 'keys.json');
    writeFileSync(keys, JSON.stringify({ [ACCESS_KEY_ID]: ACCESS_KEY_SECRET }));
    const args = ['--root', ws.root, '--access-keys', keys, '--workers', '1', '--grace', '0'];
    const first = await startServe(args);
    let sdk = sdkClient(first.port);
    // 100 exact frames: seconds of decoding, so it is still running when the signal comes.
    const submitted = await sdk.submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({
        input: '{"Bucket":"in-bucket","Object":"long.mp4"}',
        snapshotConfig:
          '{"OutputFile":{"Bucket":"out-bucket","Object":"{Count}.jpg"},"Time":"0","Num":"100","Interval":"1.9","FrameType":"normal"}',
      }),
    );
    const jobId = submitted.body!.snapshotJob!.id!;
    const state = async (): Promise<string | undefined> =>
      (await sdk.querySnapshotJobList(new Mts.QuerySnapshotJobListRequest({ snapshotJobIds: jobId }))).body!.snapshotJobList!
        .snapshotJob![0]!.state;
    while ((await state()) !== 'Snapshoting') await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGTERM');
    await exited(first.child);
    expect(first.child.exitCode).toBe(0);

    const second = await startServe(args);
    sdk = sdkClient(second.port);
    let final: string | undefined;
    while ((final = await state()) !== 'Success' && final !== 'Fail') await new Promise((resolve) => setTimeout(resolve, 100));
    expect(final).toBe('Success');
    expect(files(ws.bucket('out-bucket'))).toEqual(counted(100));
    second.child.kill('SIGTERM');
    await exited(second.child);
    // Attempts is framesnap's own field (the SDK's model drops it): the job ran twice.
    const { SnapshotService } = await import('../dist/index.js');
    const service = new SnapshotService({ root: ws.root, database: join(ws.root, '.framesnap', 'jobs.db'), workers: 0 });
    cleanups.push(() => service.close());
    expect((await service.querySnapshotJobList({ SnapshotJobIds: jobId })).SnapshotJobList.SnapshotJob[0]).toMatchObject({
      State: 'Success',
      Count: '100',
      Attempts: 2,
    });
  });

  it('restarts without losing a job: queued in SQLite, SIGTERM (exit 0), restarted, still there, run to Success', async () => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanups.push(() => ws.remove());
    ws.put('in-bucket', 'clip.mp4', await fixture('h264'));
    const keys = join(ws.dir, 'keys.json');
    writeFileSync(keys, JSON.stringify({ [ACCESS_KEY_ID]: ACCESS_KEY_SECRET }));
    const args = ['--root', ws.root, '--access-keys', keys, '--workers', '1'];

    const first = await startServe(args);
    expect(first.stderr()).toMatch(
      new RegExp(
        `^framesnap serve: listening on http://127\\.0\\.0\\.1:${first.port} \\(SQLite ${join(ws.root, '.framesnap', 'jobs.db').replace(/[.]/g, '\\.')}, 1 access key\\(s\\), pid \\d+\\); SIGTERM or Ctrl-C stops\n$`,
      ),
    );
    let sdk = sdkClient(first.port);
    const pipeline = (await sdk.addPipeline(new Mts.AddPipelineRequest({ name: 'later' }))).body!.pipeline!.id!;
    await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: pipeline, state: 'Paused' }));
    const submitted = await sdk.submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({
        input: '{"Bucket":"in-bucket","Object":"clip.mp4"}',
        snapshotConfig: '{"OutputFile":{"Bucket":"out-bucket","Object":"{Count}.jpg"},"Time":"0","Num":"3","Interval":"1"}',
        pipelineId: pipeline,
      }),
    );
    const jobId = submitted.body!.snapshotJob!.id!;
    expect(submitted.body!.snapshotJob!.state).toBe('Submitted');

    first.child.kill('SIGTERM');
    await exited(first.child);
    expect(first.child.exitCode).toBe(0);
    expect(first.stderr()).toMatch(/framesnap serve: SIGTERM: answering the requests in flight, .*\nframesnap serve: stopped\n$/);
    // Structured request lines on stdout, without secrets or signatures.
    const lines = first
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      lines.filter((line) => line['msg'] === 'request').map((line) => [line['action'], line['code'], line['status'], line['accessKeyId']]),
    ).toEqual([
      ['AddPipeline', 'Success', 200, ACCESS_KEY_ID],
      ['UpdatePipeline', 'Success', 200, ACCESS_KEY_ID],
      ['SubmitSnapshotJob', 'Success', 200, ACCESS_KEY_ID],
    ]);
    // Each line carries the RequestId its caller got.
    const submittedLine = lines.find((line) => line['action'] === 'SubmitSnapshotJob');
    expect(submittedLine?.['requestId']).toBe(submitted.body!.requestId);
    expect(first.stdout()).not.toContain(ACCESS_KEY_SECRET);
    expect(first.stdout()).not.toContain('Signature');
    expect(first.stdout()).not.toContain('ACS3-HMAC-SHA256');

    // Down: the SDK fails to connect.
    const down = await sdkFailure(() => sdk.searchPipeline(new Mts.SearchPipelineRequest({})));
    expect(down.message).toMatch(/ECONNREFUSED/);

    const second = await startServe(args);
    sdk = sdkClient(second.port);
    const listed = await sdk.querySnapshotJobList(new Mts.QuerySnapshotJobListRequest({ snapshotJobIds: jobId }));
    expect(listed.body!.snapshotJobList!.snapshotJob!.map((job) => [job.id, job.state, job.pipelineId])).toEqual([
      [jobId, 'Submitted', pipeline],
    ]);
    await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: pipeline, state: 'Active' }));
    for (;;) {
      const answer = await sdk.querySnapshotJobList(new Mts.QuerySnapshotJobListRequest({ snapshotJobIds: jobId }));
      const job = answer.body!.snapshotJobList!.snapshotJob![0]!;
      if (job.state === 'Success' || job.state === 'Fail') {
        expect([job.state, job.count]).toEqual(['Success', '3']);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(files(ws.bucket('out-bucket'))).toEqual(counted(3));
    const health = await fetch(`http://127.0.0.1:${second.port}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    second.child.kill('SIGTERM');
    await exited(second.child);
    expect(second.child.exitCode).toBe(0);
  });
});
