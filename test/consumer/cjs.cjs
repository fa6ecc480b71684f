// The consumer test's CommonJS user: require('framesnap') loads the same ES
// module (Node 20.19+/22.12+), so there is one SnapshotError class.
const assert = require('node:assert/strict');

const framesnap = require('framesnap');
const { probe, snapshot, snapshotsSync, SnapshotError } = framesnap;

async function main() {
  const clip = process.argv[2];
  const info = await probe(clip);
  assert.equal(info.width, 320);
  const jpeg = await snapshot(clip, { time: 1000, frameType: 'normal' });
  assert.ok(jpeg[0] === 0xff && jpeg[1] === 0xd8, 'a JPEG');
  const series = snapshotsSync(clip, { times: [0, 500], frameType: 'normal', width: 64 });
  assert.deepEqual(
    series.map((image) => image.requestedMs),
    [0, 500],
  );
  const imported = await import('framesnap');
  assert.equal(imported.SnapshotError, SnapshotError, 'import() and require() give the same module');
  try {
    await snapshot(`${clip}.missing`, { time: 0 });
    assert.fail('a missing file must fail');
  } catch (error) {
    assert.ok(error instanceof SnapshotError);
    assert.equal(error.code, 'InvalidParameter.ResourceNotFound');
  }
  console.log(`cjs: ok (${jpeg.length} byte JPEG)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
