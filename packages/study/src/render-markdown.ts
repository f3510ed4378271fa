import type { Block, ReportDocument, Table } from './report-document.js';

/** Table cells may not hold a pipe or a line break in Markdown. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function markdownTable(t: Table): string {
  const lines = [`**${t.caption}**`, '', `| ${t.columns.map(cell).join(' | ')} |`, `| ${t.columns.map(() => '---').join(' | ')} |`];
  for (const row of t.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

function block(b: Block, figureDir: string): string {
  switch (b.kind) {
    case 'paragraph':
      return b.text;
    case 'list':
      return b.items.map((item) => `- ${item}`).join('\n');
    case 'table':
      return markdownTable(b.table);
    case 'chart':
      return `![${b.chart.title}](${figureDir}/${b.chart.id}.svg)`;
    case 'findings':
      return `**What the numbers support.** ${b.sentences.join(' ')}`;
  }
}

/** The report as Markdown; charts are linked as `figureDir/<id>.svg` files beside it. */
export function renderMarkdown(document: ReportDocument, figureDir: string): string {
  const parts = [`# ${document.title}`];
  for (const section of document.sections) {
    parts.push(`## ${section.title}`);
    for (const b of section.blocks) parts.push(block(b, figureDir));
  }
  return `${parts.join('\n\n')}\n`;
}
