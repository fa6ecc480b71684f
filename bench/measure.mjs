// Runs one case: every contender side by side in the same process run
// (tinybench, in rounds), then the correctness checks, and turns the results
// into rows.
import { Bench } from 'tinybench';
import { median } from './util.mjs';

const round = (value, digits = 2) => Number(value.toFixed(digits));

/**
 * Untimed: one warm-up call per in-process contender (loads sharp and the
 * addon, starts pool threads, JIT), for cases that ask for it (cheap ones;
 * the heavy ones run after them). CLI contenders start a fresh process each
 * call, so they need none.
 */
async function warmUp(contenders) {
  for (const contender of contenders) {
    if (contender.family !== 'cli' && !contender.once) await contender.run();
  }
}

/**
 * Each contender's `check` of what its last timed call returned, outside
 * timing; a failure is recorded and reported, never thrown.
 */
async function runChecks(contenders, lastResults) {
  const checks = new Map();
  for (const contender of contenders) {
    if (contender.check === undefined) continue;
    try {
      checks.set(contender.name, { ok: true, detail: await contender.check(lastResults.get(contender.name)) });
    } catch (error) {
      checks.set(contender.name, { ok: false, detail: error.message });
    }
  }
  return checks;
}

/**
 * Times the case's contenders and returns { rows, skipped, baseline }. Each
 * row: contender, family, medianMs, opsPerSecond (1000 / median), samples,
 * vsCli (the baseline's median over this one's), imagesPerSecond (throughput
 * cases), check.
 */
export async function measureCase(benchCase, ctx) {
  const listed = await benchCase.contenders(ctx);
  const skipped = listed.filter((entry) => entry.skipped).map((entry) => entry.skipped);
  const contenders = listed.filter((entry) => !entry.skipped);
  const { warmUp: warm, rounds = 1, ...settings } = benchCase.settings[ctx.quick ? 'quick' : 'full'];
  if (warm) await warmUp(contenders);

  // Several rounds, the order reversed every other round, samples pooled:
  // on a noisy machine a slow spell then hurts every contender, not one.
  // Contenders marked `once` (a minute a call) run a single time, after them.
  const samples = new Map(contenders.map((contender) => [contender.name, []]));
  const lastResults = new Map();
  const runBench = async (members, options) => {
    const bench = new Bench({ name: benchCase.id, ...options, warmup: false, throws: true, retainSamples: true });
    for (const contender of members) {
      // An async function: tinybench calls any other function once, untimed and
      // unawaited, to find out whether it returns a promise, which would overlap
      // the timed calls.
      const timed = async () => {
        lastResults.set(contender.name, await contender.run());
      };
      bench.add(contender.name, timed, { async: true });
    }
    await bench.run();
    for (const task of bench.tasks) {
      if (task.result.state !== 'completed')
        throw new Error(`${benchCase.id} ${task.name}: ${task.result.state} ${task.result.error ?? ''}`);
      samples.get(task.name).push(...task.result.latency.samples);
    }
  };
  const regular = contenders.filter((contender) => !contender.once);
  for (let round = 0; round < rounds; round++) {
    await runBench(round % 2 === 0 ? regular : [...regular].reverse(), settings);
  }
  const once = contenders.filter((contender) => contender.once);
  if (once.length > 0) await runBench(once, { iterations: 1, time: 0 });

  const checks = await runChecks(contenders, lastResults);
  const medians = new Map([...samples].map(([name, values]) => [name, median(values)]));
  const firstBaseline = contenders.find((contender) => contender.baseline);
  const rows = contenders.map((contender) => {
    const baselineName = contender.baseline ? contender.name : (contender.compareTo ?? firstBaseline?.name);
    const medianMs = medians.get(contender.name);
    const baselineMs = medians.get(baselineName);
    return {
      contender: contender.name,
      family: contender.family,
      ...(contender.at ? { at: contender.at } : {}),
      ...(contender.chart === false ? { chart: false } : {}),
      medianMs: round(medianMs),
      opsPerSecond: round(1000 / medianMs),
      samples: samples.get(contender.name).length,
      vsCli: baselineMs === undefined ? null : round(baselineMs / medianMs),
      ...(benchCase.imagesPerRun ? { imagesPerSecond: round((benchCase.imagesPerRun * 1000) / medianMs) } : {}),
      check: checks.get(contender.name) ?? null,
    };
  });
  return { rows, skipped, baseline: firstBaseline?.name ?? null };
}
