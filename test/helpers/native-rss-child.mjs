// One native call in a fresh process, for test/hostile-media.test.ts: its
// peak RSS, and whether it crashed. argv[2]: probe | extract; argv[3]: the
// path; argv[4]: JSON of the extract request's other fields (times,
// frameType, width, height) and `options` (the native call options).
// Prints {ok, code, message, result, peakMiB} as one JSON line.
import { nativeAddon } from '../../dist/core/native.js';

const [operation, path, json] = process.argv.slice(2);
const { options = {}, ...request } = JSON.parse(json ?? '{}');
const addon = nativeAddon();
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);
const before = peakMiB();
let outcome;
try {
  if (operation === 'probe') {
    outcome = { ok: true, result: addon.probeSync(path, options) };
  } else {
    const frames = addon.extractFramesSync({ path, times: [0], frameType: 'intra', width: 0, height: 0, threads: 0, ...request }, options);
    outcome = { ok: true, result: frames.map(({ timeMs, width, height }) => ({ timeMs, width, height })) };
  }
} catch (error) {
  outcome = { ok: false, code: error.code, message: error.message };
}
process.stdout.write(`${JSON.stringify({ ...outcome, startMiB: before, peakMiB: peakMiB() })}\n`);
