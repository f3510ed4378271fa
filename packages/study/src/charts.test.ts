import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoryChart, curveChart, sweepChart, type ChartRow } from './charts.js';
import { renderSvg } from './render-svg.js';

const rows: ChartRow[] = [];
for (const arm of ['no BN', 'BN before']) {
  for (const [seed, accuracy] of [[1, 90], [2, 92], [3, 91]] as const) {
    for (const lr of [0.01, 0.1, 1]) rows.push({ arm, seed, accuracy: accuracy - lr, lr, step: lr * 100, panel: seed === 1 ? 'A' : 'B' });
  }
}

test('every chart kind renders to SVG in Node with its title, categories and axis titles', async () => {
  const charts = [
    categoryChart({ id: 'c', title: 'Category chart', rows, x: { field: 'arm', title: 'Arm', order: ['no BN', 'BN before'] }, y: { field: 'accuracy', title: 'Test accuracy (%)' } }),
    categoryChart({
      id: 'f',
      title: 'Faceted chart',
      rows,
      x: { field: 'arm', title: 'Arm' },
      y: { field: 'accuracy', title: 'Test accuracy (%)' },
      color: { field: 'arm', title: 'Colour' },
      column: { field: 'panel', title: 'Panel' },
    }),
    sweepChart({ id: 's', title: 'Sweep chart', rows, x: { field: 'lr', title: 'Learning rate', log: true }, y: { field: 'accuracy', title: 'Test accuracy (%)' }, color: { field: 'arm', title: 'BN' } }),
    curveChart({ id: 'l', title: 'Curve chart', rows, x: { field: 'step', title: 'Step' }, y: { field: 'accuracy', title: 'Test accuracy (%)' }, color: { field: 'arm', title: 'BN' } }),
  ];
  for (const chart of charts) {
    const svg = await renderSvg(chart.spec);
    assert.match(svg, /^<svg /, chart.id);
    assert.ok(svg.includes(chart.title), `${chart.id}: title`);
    assert.ok(svg.includes('Test accuracy (%)'), `${chart.id}: y axis title`);
    assert.ok(svg.includes('BN before'), `${chart.id}: a category label or legend entry`);
    assert.ok(!svg.includes('NaN'), `${chart.id}: no NaN coordinates`);
  }
});

test('means and error bars leave out rows of failed runs; the dots show every seed', async () => {
  const withFailed: ChartRow[] = [...rows.filter((r) => r.lr === 0.01).map((r) => ({ ...r, failed: 0 })), { arm: 'no BN', seed: 4, accuracy: 10, failed: 1 }];
  const chart = categoryChart({ id: 'c', title: 'Failed', rows: withFailed, x: { field: 'arm', title: 'Arm' }, y: { field: 'accuracy', title: 'Test accuracy (%)' } });
  const layers = (chart.spec as { layer: { transform?: unknown[] }[] }).layer;
  assert.deepEqual(layers.map((l) => JSON.stringify(l.transform ?? [])), ['[{"filter":"datum.failed !== 1"}]', '[{"filter":"datum.failed !== 1"}]', '[]']);
  assert.match(await renderSvg(chart.spec), /^<svg /);
});
