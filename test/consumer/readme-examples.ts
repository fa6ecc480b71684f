// The README's examples, for the consumer test's type-checks (never run).
// scripts/consumer-test.sh copies this file to .mts (ES module), .cts
// (CommonJS) and .ts (bundler) and checks each with tsc --noEmit.
import { probe, snapshot, snapshots, snapshotSync, SnapshotError, SnapshotService, type ErrorCode } from 'framesnap';

export async function lowLevel(): Promise<void> {
  const info = await probe('movie.mp4');
  const size: number = info.displayWidth * info.height + info.rotation;
  const jpeg: Buffer = await snapshot('movie.mp4', { time: 5000 });
  const exact = await snapshot('movie.mp4', { time: 5500, frameType: 'normal' });
  const thumbs = await snapshots('movie.mp4', { times: [0, 10000, 20000], frameType: 'normal', width: 320 });
  const first: { requestedMs: number; timeMs: number; keyframe: boolean; jpeg: Buffer } | undefined = thumbs[0];
  const blocking: Buffer = snapshotSync('movie.mp4', { time: 5000 });
  const controller = new AbortController();
  await snapshot('movie.mp4', { time: 0, timeoutMs: 2000, signal: controller.signal, quality: 80, threads: 0 });
  try {
    await snapshot('missing.mp4', { time: 0 });
  } catch (error) {
    if (error instanceof SnapshotError) {
      const code: ErrorCode = error.code;
      console.log(code, error.message);
    }
  }
  console.log(size, jpeg, exact, first, blocking);
}

export async function jobs(): Promise<void> {
  const service = new SnapshotService({ root: '/srv/media' });
  const Input = '{"Bucket":"example-bucket","Location":"oss-cn-hangzhou","Object":"example.flv"}';
  const single = await service.submitSnapshotJob({
    Input,
    SnapshotConfig: '{"OutputFile":{"Bucket":"example-001","Location":"oss-cn-hangzhou","Object":"example.jpg"},"Time":"5"}',
    UserData: 'testid-001',
  });
  console.log(single.SnapshotJob.State, single.SnapshotJob.Count);
  const series = await service.submitSnapshotJob({
    Input,
    SnapshotConfig:
      '{"OutputFile":{"Bucket":"example-001","Location":"oss-cn-hangzhou","Object":"{Count}.jpg"},"Time":"5","Num":"10","Interval":"20"}',
  });
  const done = await service.waitForJob(series.SnapshotJob.Id);
  const listed = await service.querySnapshotJobList({ SnapshotJobIds: [done.Id] });
  console.log(listed.SnapshotJobList.SnapshotJob.length, listed.NonExistSnapshotJobIds.String);
  const blocking = service.submitSnapshotJobSync({
    Input,
    SnapshotConfig: { OutputFile: { Bucket: 'example-001', Object: 'blocking.jpg' }, Time: 5 },
  });
  console.log(blocking.SnapshotJob.Id);

  await service.submitSnapshotJob({
    Input,
    SnapshotConfig: {
      OutputFile: { Bucket: 'example-001', Object: 'thumbs/{Count}.jpg' },
      TileOutputFile: { Bucket: 'example-001', Object: 'thumbs/sprite-{TileCount}.jpg' },
      TileOut: { Lines: 10, Columns: 10, Padding: 2, Margin: 4, Color: 'black', IsKeepCellPic: 'false' },
      Format: 'vtt',
      SubOut: { IsSptFrag: 'true' },
      Time: 0,
      Interval: 0,
      Num: 100,
      Width: 160,
      BlackLevel: 90,
    },
  });

  const { Pipeline } = await service.addPipeline({ Name: 'thumbnails', NotifyConfig: '{"Topic":"snapshot-done"}' });
  const unsubscribe = service.subscribe('snapshot-done', (message) => console.log(message));
  service.subscribe('snapshot-done', 'https://hooks.example.com/snapshots');
  const queued = await service.addPipeline({ Name: 'later', NotifyConfig: { QueueName: 'snapshots' } });
  const message = await service.receiveMessage('snapshots', { waitSeconds: 10 });
  console.log(queued.Pipeline.Id, message?.MessageBody);
  await service.updatePipeline({ PipelineId: Pipeline.Id, State: 'Paused' });
  await service.updatePipeline({ PipelineId: Pipeline.Id, State: 'Active' });
  await service.queryPipelineList({ PipelineIds: [Pipeline.Id] });
  const page = await service.querySnapshotJobList({ State: 'Success', PipelineId: Pipeline.Id, MaximumPageSize: 20 });
  const next = await service.querySnapshotJobList({
    State: 'Success',
    PipelineId: Pipeline.Id,
    MaximumPageSize: 20,
    NextPageToken: page.NextPageToken,
  });
  console.log(next.SnapshotJobList.SnapshotJob.length, service.defaultPipelineId);
  service.on('progress', ({ JobId, Done, Expected, Percent }) => console.log(JobId, Done, Expected, Percent));
  unsubscribe();
  await service.close();
}
