// A node:test reporter that writes one JSON line per skipped test ({ file, name, reason }).
// scripts/run-tests.mjs runs it beside the spec reporter and reads its file after the run:
// the events carry the skip and its reason as data, so nothing has to parse the spec text.
import path from 'node:path';

export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    const reason = typeof skip === 'string' ? skip : '';
    yield `${JSON.stringify({ file: file === undefined ? '' : path.relative(process.cwd(), file), name, reason })}\n`;
  }
}
