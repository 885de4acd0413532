// The report's charts: SVG written here, rendered to PNG by resvg (no browser, no cairo).
import { Resvg } from '@resvg/resvg-js';

import { programCost, type AgentFigures, type ProbeFigures } from './figures.js';

const font = 'DejaVu Sans';
const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function text(x: number, y: number, s: string, attrs = ''): string {
  const size = attrs.includes('font-size') ? '' : 'font-size="12" ';
  return `<text x="${x}" y="${y}" font-family="${font}" ${size}${attrs}>${escape(s)}</text>`;
}

export function renderPng(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: font }, background: 'white' })
    .render()
    .asPng();
}

/** Horizontal bars: ns per event of sched_switch and sched_wakeup, crosstalk beside bpftrace. */
export function probeChart(p: ProbeFigures): string {
  const rows: { label: string; ns: number | undefined; colour: string }[] = [];
  for (const [event, ours, peer] of [
    ['sched_switch', /^cpu_switch/, /sched_switch#/],
    ['sched_wakeup', /^cpu_wakeup_(btf|raw)/, /sched_wakeup#/],
  ] as const) {
    rows.push(
      {
        label: `${event}: crosstalk, a victim`,
        ns: programCost(p, 'crosstalk, load is a victim', ours),
        colour: colours[0]!,
      },
      {
        label: `${event}: crosstalk, no victim`,
        ns: programCost(p, 'crosstalk, no victim', ours),
        colour: colours[2]!,
      },
      { label: `${event}: bpftrace runqlat.bt`, ns: programCost(p, 'bpftrace', peer), colour: colours[1]! },
    );
  }
  const left = 230;
  const width = 720;
  const barWidth = width - left - 70;
  const max = Math.max(1, ...rows.map((r) => r.ns ?? 0));
  const rowHeight = 28;
  const top = 40;
  const height = top + rows.length * rowHeight + 30;
  const bars = rows.map((r, i) => {
    const y = top + i * rowHeight;
    const w = ((r.ns ?? 0) / max) * barWidth;
    return [
      text(left - 8, y + 17, r.label, 'text-anchor="end"'),
      `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${r.colour}"/>`,
      text(left + w + 6, y + 17, r.ns === undefined ? 'n/a' : `${r.ns.toFixed(0)} ns`),
    ].join('');
  });
  return svg(width, height, [
    text(10, 22, 'ns per event (bpf_stats, stress-ng --switch 2), one run', 'font-size="14" font-weight="bold"'),
    ...bars,
  ]);
}

/** Two panels over time, one line per agent run: RSS (MiB) and CPU (% of a core). */
export function agentChart(runs: readonly AgentFigures[]): string {
  const width = 720;
  const panelHeight = 200;
  const panel = (top: number, title: string, value: (s: AgentFigures['samples'][number]) => number, unit: string) => {
    const left = 60;
    const right = width - 20;
    const all = runs.flatMap((r) => [...r.idle, ...r.samples]);
    const t0 = Math.min(...all.map((s) => s.t));
    const t1 = Math.max(...all.map((s) => s.t));
    const vmax = Math.max(1, ...all.map(value)) * 1.15;
    const x = (t: number) => left + ((t - t0) / Math.max(1, t1 - t0)) * (right - left);
    const y = (v: number) => top + panelHeight - (v / vmax) * panelHeight;
    const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const v = f * vmax;
      return `<line x1="${left}" x2="${right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>${text(left - 6, y(v) + 4, v.toFixed(unit === 'MiB' ? 0 : 1), 'text-anchor="end"')}`;
    });
    const lines = runs.map((r, i) => {
      const points = [...r.idle, ...r.samples].map((s) => `${x(s.t).toFixed(1)},${y(value(s)).toFixed(1)}`).join(' ');
      return `<polyline points="${points}" fill="none" stroke="${colours[i % colours.length]}" stroke-width="2"/>`;
    });
    const session = `<line x1="${x(0)}" x2="${x(0)}" y1="${top}" y2="${top + panelHeight}" stroke="#888" stroke-dasharray="4 3"/>`;
    return [
      text(left, top - 8, title, 'font-weight="bold"'),
      ...grid,
      session,
      text(x(0) + 4, top + 12, 'session starts', 'fill="#666"'),
      ...lines,
      ...[...new Set([t0, 0, t1])].map((t) => text(x(t), top + panelHeight + 16, String(t), 'text-anchor="middle"')),
      text(right, top + panelHeight + 32, 't (s)', 'text-anchor="end"'),
    ];
  };
  const legend = runs.map((r, i) =>
    text(
      60 + i * 330,
      24,
      `— ${r.staticCount} pods, ${r.churnPerSecond}/s churn${r.nodeOptions ? `, ${r.nodeOptions}` : ''}`,
      `fill="${colours[i % colours.length]}"`,
    ),
  );
  return svg(width, 2 * panelHeight + 140, [
    ...legend,
    ...panel(60, 'agent RSS (MiB)', (s) => s.rssMiB, 'MiB'),
    ...panel(60 + panelHeight + 60, 'agent CPU (% of one core, from /proc)', (s) => s.cpuPercent, '%'),
  ]);
}

function svg(width: number, height: number, body: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="white"/>${body.join('')}</svg>`;
}
