import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { EventStream, formatEvent } from './event-stream.js';

function get(port: number, method = 'GET'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => request({ host: '127.0.0.1', port, method }, resolve).on('error', reject).end());
}

/** Reads a stream's body until it holds `marker`. */
function readUntil(response: IncomingMessage, marker: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    response.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(marker)) resolve(text);
    });
  });
}

test('events reach open streams; past the cap a page is told 503; a HEAD gets headers only', async () => {
  const stream = new EventStream({ maxClients: 1 });
  const server = createServer((req, res) => stream.open(req, res, formatEvent('hello', '{"n":0}')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const first = await get(port);
    assert.equal(first.headers['content-type'], 'text/event-stream; charset=utf-8');
    const received = readUntil(first, '"n":1');
    assert.equal((await get(port)).statusCode, 503);
    stream.send('snapshot', '{"n":1}');
    assert.match(await received, /event: hello\ndata: \{"n":0\}\n\n[^]*event: snapshot\ndata: \{"n":1\}\n\n/);
    stream.close();
    const head = await get(port, 'HEAD');
    assert.equal(head.statusCode, 200);
    head.resume();
    await new Promise((resolve) => head.on('end', resolve));
  } finally {
    stream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
