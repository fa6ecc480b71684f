// Tables for the console, the targets, and the markdown page.

const fixed = (value, digits = 2) => (value === null || value === undefined ? '-' : Number(value).toFixed(digits));
const times = (value) => (value === null || value === undefined ? '-' : `${fixed(value)}x`);

function checkCell(check) {
  if (check === null) return '';
  return check.ok ? 'ok' : `FAILED: ${check.detail}`;
}

/** The per-case table, as rows of strings. */
export function caseTable(result) {
  return result.rows.map((row) => ({
    contender: row.contender,
    'median ms': fixed(row.medianMs),
    'ops/s': fixed(row.opsPerSecond),
    ...(row.imagesPerSecond !== undefined ? { 'images/s': fixed(row.imagesPerSecond) } : {}),
    'vs CLI': times(row.vsCli),
    samples: row.samples,
    check: checkCell(row.check),
  }));
}

/** F's extra: the 59 min / 1 min ratio of each contender kind. */
export function longFileRatios(result) {
  const byKind = new Map();
  for (const row of result.rows) {
    const kind = row.contender.replace(/ @ .*$/, '');
    byKind.set(kind, { ...byKind.get(kind), [row.at]: row.medianMs });
  }
  return [...byKind].map(([contender, at]) => ({
    contender,
    '1 min ms': fixed(at['1 min']),
    '59 min ms': fixed(at['59 min']),
    ratio: fixed(at['59 min'] / at['1 min']),
  }));
}

function row(results, caseId, contender) {
  return results.find((result) => result.id === caseId)?.rows?.find((candidate) => candidate.contender === contender);
}

/**
 * The targets: [{ target, contender, measured, goal, met }]; `met` is null
 * when the case did not run. Missing a target never fails the run.
 */
export function targets(results) {
  const speedup = (caseId, contender, goal) => {
    const found = row(results, caseId, contender);
    return {
      target: `${caseId} speed-up vs CLI`,
      contender,
      measured: found?.vsCli ?? null,
      goal: `>= ${goal}x`,
      met: found ? found.vsCli >= goal : null,
      unit: 'x',
    };
  };
  const list = [
    speedup('A', 'framesnap snapshot()', 5),
    speedup('A', 'SnapshotService job (sync)', 5),
    speedup('B', 'framesnap snapshot()', 2),
    speedup('B', 'SnapshotService job (sync)', 2),
    speedup('C', 'framesnap snapshots()', 2),
    speedup('C', 'SnapshotService job (Num/Interval)', 2),
    speedup('D', 'framesnap snapshots()', 7),
    speedup('D', 'SnapshotService job (Num/Interval)', 7),
  ];
  const e = results.find((result) => result.id === 'E');
  const eService = e?.rows.find((candidate) => candidate.contender.startsWith('SnapshotService'));
  list.push({
    target: 'E throughput vs CLI',
    contender: eService?.contender ?? 'SnapshotService',
    measured: eService?.vsCli ?? null,
    goal: '>= 1.8x',
    met: eService ? eService.vsCli >= 1.8 : null,
    unit: 'x',
  });
  const f = results.find((result) => result.id === 'F');
  const fRatio = f?.extra?.ratios.find((ratio) => ratio.contender === 'framesnap snapshot()');
  const fMeasured = fRatio ? Number(fRatio.ratio) : null;
  list.push({
    target: 'F 59 min / 1 min',
    contender: 'framesnap snapshot()',
    measured: fMeasured,
    goal: '<= 1.2',
    met: fRatio ? fMeasured <= 1.2 : null,
    unit: '',
  });
  const rss = results.find((result) => result.id === 'RSS');
  list.push({
    target: 'peak RSS (A-E via SnapshotService)',
    contender: 'SnapshotService (workers 2)',
    measured: rss?.extra?.maxRssMiB ?? null,
    goal: '<= 250 MiB',
    met: rss ? rss.extra.maxRssMiB <= 250 : null,
    unit: ' MiB',
  });
  const command = results.find((result) => result.id === 'CMD')?.rows.find((candidate) => candidate.family === 'framesnap');
  list.push({
    target: 'framesnap command vs ffmpeg command (A)',
    contender: command?.contender ?? 'framesnap snapshot',
    measured: command?.vsCli ?? null,
    goal: '>= 1.2x',
    met: command ? command.vsCli >= 1.2 : null,
    unit: 'x',
  });
  // STORE's figures; null where the case did not run or ran without Redis (no redis-server).
  const stores = results.find((result) => result.id === 'STORE')?.extra;
  const storeTarget = (target, contender, measured, goal, meets, unit) => ({
    target,
    contender,
    measured: measured ?? null,
    goal,
    met: measured === undefined || measured === null ? null : meets(measured),
    unit,
  });
  const workersVsPool = stores?.workersVsPool ?? null;
  list.push(
    storeTarget(
      'STORE SQLite per-job overhead',
      'synchronous keyframe job: SQLite median - memory median',
      stores?.sqliteOverheadMs,
      '<= 2 ms',
      (ms) => ms <= 2,
      ' ms',
    ),
    storeTarget(
      'STORE Redis per-job overhead',
      'synchronous keyframe job: Redis median - memory median',
      stores?.redisOverheadMs,
      '<= 5 ms',
      (ms) => ms <= 5,
      ' ms',
    ),
    storeTarget(
      'STORE Redis workers vs in-process pool',
      '2 framesnap worker processes / in-process pool (workers 2), jobs/s',
      workersVsPool === null ? null : workersVsPool * 100,
      '>= 90%',
      (percent) => percent >= 90,
      '%',
    ),
  );
  return list;
}

export function targetTable(list) {
  return list.map((target) => ({
    target: target.target,
    contender: target.contender,
    measured:
      target.measured === null ? 'not run' : `${target.unit === ' MiB' ? target.measured : target.measured.toFixed(2)}${target.unit}`,
    goal: target.goal,
    result: target.met === null ? '-' : target.met ? 'met' : 'NOT MET',
  }));
}

/** A compact ratio table: one line per case and contender. */
export function ratioTable(results) {
  const lines = [];
  for (const result of results) {
    for (const entry of result.rows ?? []) {
      lines.push({
        case: result.id,
        contender: entry.contender,
        'median ms': fixed(entry.medianMs),
        'vs CLI': times(entry.vsCli),
        samples: entry.samples,
      });
    }
  }
  return lines;
}

export function machineLine(machine) {
  return (
    `${machine.cores} cores (${machine.cpuModel}); Node ${machine.node}; FFmpeg libs ${machine.ffmpegLibs}; ` +
    `CLI ${machine.ffmpegCli}; sharp ${machine.sharp} (libvips ${machine.libvips})` +
    (machine.nodeAvFfmpeg ? `; node-av ${machine.nodeAv} (FFmpeg ${machine.nodeAvFfmpeg})` : '')
  );
}

export function poolLine(pools) {
  return Object.entries(pools)
    .map(([name, size]) => `${name} ${size}`)
    .join('; ');
}

const NUMERIC_CELL = /^(-|[\d.]+(x| MiB)?|not run)$/;

/** Which columns hold only numbers (or `x` ratios, sizes, dashes): those align right. */
function numericColumns(headers, cells) {
  return headers.map((_, i) => cells.every((line) => NUMERIC_CELL.test(line[i])));
}

/** A plain text table (console.table quotes every string). */
export function textTable(rows) {
  if (rows.length === 0) return '';
  const headers = Object.keys(rows[0]);
  const cells = rows.map((cells) => headers.map((header) => String(cells[header] ?? '')));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i].length)));
  const numeric = numericColumns(headers, cells);
  const format = (line) =>
    line
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [format(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.map(format)].join('\n');
}

function markdownTable(rows) {
  if (rows.length === 0) return '';
  const headers = Object.keys(rows[0]);
  const cells = rows.map((cells) => headers.map((header) => String(cells[header] ?? '').replaceAll('|', '\\|')));
  const numeric = numericColumns(headers, cells);
  return [
    `| ${headers.join(' | ')} |`,
    `| ${numeric.map((right) => (right ? '---:' : '---')).join(' | ')} |`,
    ...cells.map((line) => `| ${line.join(' | ')} |`),
  ].join('\n');
}

/** docs/benchmark.md: the chart, every case's table, the targets. */
export function markdown(report) {
  const parts = [
    '# framesnap benchmark',
    '',
    `Run ${report.date} (${report.mode} mode, ${report.totalSeconds} s) with \`npm run bench -- --publish\`.`,
    '',
    `Machine: ${machineLine(report.machine)}.`,
    '',
    `Pools: ${poolLine(report.pools)}.`,
    '',
    '"vs CLI" is the median time of the CLI path (one `ffmpeg` process per image) over the contender\'s median: above 1 is faster.',
    '',
    '![framesnap speed-up over the ffmpeg CLI](benchmark.svg)',
    '',
    '## Targets',
    '',
    markdownTable(targetTable(report.targets)),
  ];
  for (const result of report.results) {
    parts.push('', `## ${result.id}: ${result.title}`, '');
    if (result.rows) parts.push(markdownTable(caseTable(result)));
    if (result.extra?.ratios) parts.push('', markdownTable(result.extra.ratios));
    if (result.extra?.maxRssMiB !== undefined) {
      const { maxRssMiB, vmHwmMiB, startRssMiB, rounds, wallSeconds } = result.extra;
      parts.push(
        `Peak RSS ${maxRssMiB} MiB (VmHWM ${vmHwmMiB} MiB; ${startRssMiB} MiB after start-up; ${rounds} round(s) of A-E in ${wallSeconds} s).`,
      );
    }
    const notes = [...(result.skipped ?? []), ...(result.notes ?? [])];
    if (notes.length > 0) parts.push('', ...notes.map((note) => `- ${note}`));
  }
  return `${parts.join('\n')}\n`;
}
