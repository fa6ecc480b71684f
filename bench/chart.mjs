// An SVG bar chart: per case, one bar per contender, its speed-up over the
// CLI path (the baseline's median / its median), labelled.

const COLOURS = { framesnap: '#1f6fd1', cli: '#8a8f98', fluent: '#e07b17', 'node-av': '#2e9e4f' };
const FAMILY_NAMES = { framesnap: 'framesnap', cli: 'ffmpeg CLI', fluent: 'fluent-ffmpeg', 'node-av': 'node-av' };

const escape = (text) => String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** A round axis maximum at or above `value`, and its tick step. */
function axis(value) {
  const steps = [1, 2, 5, 10, 20, 25, 50, 100];
  const step = steps.find((candidate) => value / candidate <= 8) ?? 200;
  return { max: Math.max(step, Math.ceil(value / step) * step), step };
}

export function chartSvg(report) {
  const charted = (row) => row.vsCli !== null && row.chart !== false;
  const groups = report.results.filter((result) => result.rows?.some(charted));
  const width = 1000;
  const labelWidth = 380;
  const barLeft = labelWidth + 10;
  const barWidth = width - barLeft - 130;
  const rowHeight = 20;
  const headerHeight = 26;
  const top = 78;
  const { max, step } = axis(Math.max(1, ...groups.flatMap((result) => result.rows.filter(charted).map((row) => row.vsCli))));
  const x = (value) => barLeft + (Math.min(value, max) / max) * barWidth;

  const body = [];
  let y = top;
  for (const result of groups) {
    body.push(`<text x="12" y="${y + 17}" class="case">${escape(`${result.id}: ${result.title}`)}</text>`);
    y += headerHeight;
    for (const row of result.rows) {
      if (row.vsCli === null || row.chart === false) continue;
      const colour = COLOURS[row.family] ?? '#555';
      const end = Math.max(x(row.vsCli), barLeft + 1);
      body.push(
        `<text x="${labelWidth}" y="${y + 14}" class="label" text-anchor="end">${escape(row.contender)}</text>`,
        `<rect x="${barLeft}" y="${y + 3}" width="${(end - barLeft).toFixed(1)}" height="${rowHeight - 6}" fill="${colour}" rx="2"/>`,
        `<text x="${(Math.max(end, x(1)) + 6).toFixed(1)}" y="${y + 14}" class="value">${row.vsCli.toFixed(row.vsCli >= 10 ? 1 : 2)}x · ${row.medianMs < 100 ? row.medianMs.toFixed(1) : Math.round(row.medianMs)} ms</text>`,
      );
      y += rowHeight;
    }
    y += 8;
  }
  const bottom = y;

  const grid = [];
  for (let tick = 0; tick <= max; tick += step) {
    grid.push(
      `<line x1="${x(tick)}" y1="${top - 4}" x2="${x(tick)}" y2="${bottom}" class="grid"/>`,
      `<text x="${x(tick)}" y="${top - 8}" class="tick" text-anchor="middle">${tick}x</text>`,
    );
  }
  grid.push(`<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${bottom}" class="one"/>`);

  const legend = Object.entries(FAMILY_NAMES)
    .filter(([family]) => groups.some((result) => result.rows.some((row) => row.family === family)))
    .map(([family, name], i) => {
      const left = 12 + i * 150;
      return `<rect x="${left}" y="38" width="12" height="12" fill="${COLOURS[family]}" rx="2"/><text x="${left + 18}" y="48" class="label">${escape(name)}</text>`;
    });

  const m = report.machine;
  const footer = [
    `${report.date.slice(0, 16).replace('T', ' ')} UTC · ${report.mode} mode · ${m.cores} cores (${m.cpuModel}) · Node ${m.node} · sharp ${m.sharp} (libvips ${m.libvips})`,
    `FFmpeg libraries ${m.ffmpegLibs} · ${m.ffmpegCli}${m.nodeAvFfmpeg ? ` · node-av ${m.nodeAv} (FFmpeg ${m.nodeAvFfmpeg})` : ''}`,
    `E: throughput ratio (images/s), 2 in flight · F: each time vs the CLI at that time${report.mode === 'quick' ? ' · G (quick mode): vs one ffmpeg with the fps filter' : ''}`,
  ];
  const height = bottom + 20 + footer.length * 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 17px; font-weight: 600; fill: #111; }
  .case { font-size: 13px; font-weight: 600; fill: #111; paint-order: stroke; stroke: #fff; stroke-width: 5px; stroke-linejoin: round; }
  .label { font-size: 12px; fill: #222; }
  .value { font-size: 11.5px; fill: #222; }
  .tick { font-size: 11px; fill: #666; }
  .foot { font-size: 11px; fill: #555; }
  .grid { stroke: #e3e5e8; stroke-width: 1; }
  .one { stroke: #444; stroke-width: 1; stroke-dasharray: 4 3; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="24" class="title">framesnap: speed-up over the ffmpeg CLI (one process per image); median times, higher is better</text>
${legend.join('\n')}
${grid.join('\n')}
${body.join('\n')}
${footer.map((line, i) => `<text x="12" y="${bottom + 26 + i * 16}" class="foot">${escape(line)}</text>`).join('\n')}
</svg>
`;
}
