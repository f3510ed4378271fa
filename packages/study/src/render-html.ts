import { StudyError } from './errors.js';
import type { Block, ReportDocument, Table } from './report-document.js';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `code` spans are the only inline markup the report's text uses. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function htmlTable(t: Table): string {
  const head = `<tr>${t.columns.map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((row) => `<tr>${row.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<caption>${inline(t.caption)}</caption>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function block(b: Block, svgs: ReadonlyMap<string, string>): string {
  switch (b.kind) {
    case 'paragraph':
      return `<p>${inline(b.text)}</p>`;
    case 'list':
      return `<ul>\n${b.items.map((item) => `<li>${inline(item)}</li>`).join('\n')}\n</ul>`;
    case 'table':
      return htmlTable(b.table);
    case 'chart': {
      const svg = svgs.get(b.chart.id);
      if (svg === undefined) throw new StudyError('STUDY_ERR_REPORT', `chart ${b.chart.id} was not rendered`);
      return `<figure id="figure-${escapeHtml(b.chart.id)}">\n${svg}\n<figcaption>${inline(b.chart.title)}</figcaption>\n</figure>`;
    }
    case 'findings':
      return `<p class="findings"><strong>What the numbers support.</strong> ${b.sentences.map(inline).join(' ')}</p>`;
  }
}

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
.findings { background: #f3f7fb; border-left: 4px solid #4c78a8; padding: 0.6em 0.9em; }
code { background: #f4f4f4; padding: 0 0.2em; }`;

/** The report as one standalone HTML page: charts inlined as SVG, no scripts, no external files. */
export function renderHtml(document: ReportDocument, svgs: ReadonlyMap<string, string>): string {
  const sections = document.sections.map((s) => {
    const blocks = s.blocks.map((b) => block(b, svgs)).join('\n');
    return `<section id="${escapeHtml(s.id)}">\n<h2>${inline(s.title)}</h2>\n${blocks}\n</section>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(document.title)}</title>
<style>${STYLE}
</style>
</head>
<body>
<h1>${inline(document.title)}</h1>
${sections.join('\n')}
</body>
</html>
`;
}
