// The consumer test's ES module user (scripts/consumer-test.sh runs it in a
// temporary app where framesnap is installed from the packed tarball).
import assert from 'node:assert/strict';

import { ffmpegVersions, probe, snapshot, snapshotSync, SnapshotError } from 'framesnap';

const clip = process.argv[2];
const info = await probe(clip);
assert.equal(info.width, 320);
assert.equal(info.height, 240);
const jpeg = await snapshot(clip, { time: 1000, frameType: 'normal', width: 160 });
assert.ok(Buffer.isBuffer(jpeg) && jpeg[0] === 0xff && jpeg[1] === 0xd8, 'a JPEG');
const blocking = snapshotSync(clip, { time: 1000 });
assert.ok(blocking[0] === 0xff && blocking[1] === 0xd8, 'a JPEG from the blocking call');
await assert.rejects(snapshot(`${clip}.missing`, { time: 0 }), (error) => {
  assert.ok(error instanceof SnapshotError);
  assert.equal(error.code, 'InvalidParameter.ResourceNotFound');
  return true;
});
console.log(`esm: ok (${jpeg.length} byte JPEG, FFmpeg ${ffmpegVersions().ffmpeg})`);
