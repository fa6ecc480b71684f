/**
 * A 'job' listener that throws (a bug in the application) must not leave a
 * job half-finished or break close(): its error is thrown on its own, after
 * the store has the outcome, as an uncaught exception of the listener's. Run
 * in a child process, which reports what it saw.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import { fixture } from './fixtures.js';
import { workspace } from './helpers/service-clips.js';

const run = promisify(execFile);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('event listeners that throw', () => {
  it("a throwing 'job' listener: the job is stored Success, its message is sent, close() resolves, the error is uncaught once", async () => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanups.push(() => ws.remove());
    ws.put('in-bucket', 'clip.mp4', await fixture('h264'));
    const script = `
      import { SnapshotService } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const uncaught = [];
      process.on('uncaughtException', (error) => uncaught.push(error.message));
      const service = new SnapshotService({ root: ${JSON.stringify(ws.root)}, workers: 1 });
      service.on('job', () => { throw new Error('a bug in a listener'); });
      const { Pipeline } = await service.addPipeline({ Name: 'told', NotifyConfig: { QueueName: 'q' } });
      const answer = await service.submitSnapshotJob({ PipelineId: Pipeline.Id, Input: { Bucket: 'in-bucket', Object: 'clip.mp4' },
        SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: '{Count}.jpg' }, Time: '0', Interval: '1', Num: '2', FrameType: 'intra' } });
      const done = await service.waitForJob(answer.SnapshotJob.Id);
      const message = await service.receiveMessage('q', { waitSeconds: 10 });
      await service.close();
      console.log(JSON.stringify({ state: done.State, count: done.Count, message: JSON.parse(message.MessageBody).State, uncaught }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ state: 'Success', count: '2', message: 'Success', uncaught: ['a bug in a listener'] });
  });
});
