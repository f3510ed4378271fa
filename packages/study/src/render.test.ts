import assert from 'node:assert/strict';
import { test } from 'node:test';
import { categoryChart } from './charts.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { chart, findings, list, paragraph, table, type ReportDocument } from './report-document.js';

const figure = categoryChart({ id: 'fig', title: 'A <chart>', rows: [{ arm: 'a', accuracy: 1 }], x: { field: 'arm', title: 'arm' }, y: { field: 'accuracy', title: 'acc' } });
const document: ReportDocument = {
  title: 'Report & co',
  sections: [
    {
      id: 's1',
      title: 'One',
      blocks: [
        paragraph('Uses `code` and <tags>.'),
        list(['first', 'second']),
        table({ caption: 'T', columns: ['a|b', 'c'], rows: [['1', '2 < 3']] }),
        chart(figure),
        findings(['First.', 'Second.']),
      ],
    },
  ],
};

test('Markdown: headings, escaped table cells, figure links, findings', () => {
  const md = renderMarkdown(document, 'figures');
  assert.match(md, /^# Report & co\n\n## One\n\n/);
  assert.ok(md.includes('| a\\|b | c |'));
  assert.ok(md.includes('![A <chart>](figures/fig.svg)'));
  assert.ok(md.includes('**What the numbers support.** First. Second.'));
  assert.ok(md.includes('- first\n- second'));
});

test('HTML: standalone, escaped, charts inlined; a missing chart is an error', () => {
  const html = renderHtml(document, new Map([['fig', '<svg id="x"></svg>']]));
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes('<title>Report &amp; co</title>'));
  assert.ok(html.includes('Uses <code>code</code> and &lt;tags&gt;.'));
  assert.ok(html.includes('<td>2 &lt; 3</td>'));
  assert.ok(html.includes('<svg id="x"></svg>'));
  assert.ok(!/<script|<link|src="http/.test(html), 'no scripts or external files');
  assert.throws(() => renderHtml(document, new Map()), { code: 'STUDY_ERR_REPORT', message: /fig was not rendered/ });
});
