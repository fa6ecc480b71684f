// Peak RSS of snapshots() over every frame of a clip, upscaled to 1920x1080
// (test/low-level-edges.test.ts): one warm-up image first (libraries loaded,
// decoder and encoder state made), then the 100 frames in one call.
// argv[2]: the clip. Prints {warmMiB, peakMiB, images} as one JSON line.
import { snapshots } from '../../dist/index.js';

const path = process.argv[2];
const size = { width: 1920, height: 1080, frameType: 'normal' };
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

await snapshots(path, { times: [0, 40], ...size });
const warmMiB = peakMiB();
const shots = await snapshots(path, { times: Array.from({ length: 100 }, (_, index) => index * 40), ...size });
process.stdout.write(`${JSON.stringify({ warmMiB, peakMiB: peakMiB(), images: shots.length })}\n`);
