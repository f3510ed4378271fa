import { createHash } from 'node:crypto';

/** Where the page finds uPlot: the import map lets the page's modules import it as 'uplot', as they are typed. */
const IMPORT_MAP = JSON.stringify({ imports: { uplot: './dashboard/uPlot.esm.js' } });

/**
 * The inline import map is the page's only inline script; the Content-Security-Policy
 * allows it by hash and nothing else that is not served from this origin (the page
 * works with no network at all: every asset comes from the coordinator).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const KPIS: [name: string, label: string][] = [
  ['loss', 'Loss'],
  ['accuracy', 'Train accuracy'],
  ['test-accuracy', 'Test accuracy'],
  ['throughput', 'Throughput'],
  ['step-time', 'Step time'],
  ['workers', 'Workers up'],
  ['busbw', 'All-reduce'],
];

const CHARTS: [name: string, title: string, note: string][] = [
  ['loss', 'Training loss', 'per step'],
  ['accuracy', 'Training accuracy', 'per step'],
  ['test-accuracy', 'Test accuracy', 'per epoch'],
  ['throughput', 'Throughput', 'samples/s'],
  ['rank-step', 'Step time per rank', 'ms · a straggler is the line on top'],
  ['breakdown', 'Where a step goes', 'ms · mean over ranks'],
];

/** One KPI tile; dashboard/client fills its value and sub line. */
function kpiTile([name, label]: [string, string]): string {
  return `  <div class="kpi" data-kpi="${name}"><div class="label">${label}</div><div class="value">–</div><div class="sub"></div></div>`;
}

/** One chart's frame, empty until its first point (a step, or an epoch for test accuracy). */
function chartFrame([name, title, note]: [string, string, string]): string {
  const empty = `waiting for the first ${name === 'test-accuracy' ? 'epoch' : 'step'}`;
  const caption = `<figcaption>${title} <span>${note}</span></figcaption>`;
  return `  <figure class="chart empty" data-chart="${name}">${caption}<div class="plot" data-empty="${empty}"></div></figure>`;
}

const WORKER_COLUMNS = ['Worker', 'Host', 'Process', 'Ranks', 'Backend', 'State', 'Last step'].map((c) => `<th>${c}</th>`).join('');
/** The worker's peer links: bytes it sent per step over its last steps, the rate they achieved, the share of its step they took. */
const NETWORK_COLUMNS = ['Sent / step', 'Link rate', 'Network share'].map((c) => `<th>${c}</th>`).join('');

/** The dashboard page: a static skeleton that dashboard/client/main.js fills from the event stream. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tfjs-ddp</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="./dashboard/uPlot.min.css">
<link rel="stylesheet" href="./dashboard/dashboard.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="./dashboard/client/main.js"></script>
</head>
<body>
<header class="top">
  <div class="title"><span class="logo">tfjs-ddp</span><h1 id="job-id">job</h1><span id="job-state" class="state" data-state="waiting">connecting</span></div>
  <div id="connection" class="connection" data-connection="connecting"><span class="dot"></span><span class="text">connecting…</span></div>
</header>
<p id="job-config" class="config"></p>
<section class="progress" aria-label="progress">
  <div class="track"><div id="progress-fill" class="fill"></div></div>
  <div class="progress-text"><span id="progress-step"></span><span id="progress-epoch"></span><span id="progress-eta"></span></div>
</section>
<section class="kpis">
${KPIS.map(kpiTile).join('\n')}
</section>
<main class="charts">
${CHARTS.map(chartFrame).join('\n')}
</main>
<section class="workers">
  <h2>Workers <span id="workers-summary"></span></h2>
  <table>
    <thead><tr>${WORKER_COLUMNS}<th class="bar-head">slowest rank of the worker</th>${NETWORK_COLUMNS}</tr></thead>
    <tbody id="workers-body"></tbody>
  </table>
</section>
<footer id="history-note"></footer>
</body>
</html>
`;
