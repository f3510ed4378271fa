import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freePort } from './harness/cli-job.js';
import { startCli, type RunningProcess } from './harness/processes.js';

/**
 * Issue 7, TLS: a coordinator started with --tls-cert/--tls-key serves wss:// and
 * https:// only. Workers that trust its certificate (--tls-ca) train the job over
 * wss://; a worker that does not is stopped at once with an error naming the TLS check,
 * instead of retrying until its connect deadline.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'tls-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'tls-token\n');
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const running: RunningProcess[] = [];
after(() => running.forEach((p) => p.kill()));

function start(args: string[]): RunningProcess {
  const p = startCli(args, { timeoutMs: 110_000 });
  running.push(p);
  return p;
}

function httpsStatus(port: number, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/healthz', ca }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

test('over TLS: workers that trust the certificate train the job over wss://; one that does not is refused at once naming the TLS check', { timeout: 120_000 }, async () => {
  // A self-signed certificate for 127.0.0.1, valid one day.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const port = await freePort();
  const coordinator = start(['coordinator', '--port', String(port), '--host', '127.0.0.1', '--workers', '2', '--token-file', tokenFile, '--tls-cert', cert, '--tls-key', key,
    '--model', 'mlp', '--dataset', 'synthetic', '--global-batch', '16', '--max-steps', '6', '--out', path.join(dir, 'run'), '--no-progress', '--log-level', 'info']);
  const worker = (extra: string[]): RunningProcess =>
    start(['worker', '--coordinator', `wss://127.0.0.1:${port}`, '--token-file', tokenFile, '--threads', '1', '--advertise-host', '127.0.0.1', '--listen-host', '127.0.0.1', '--backend', 'wasm', '--connect-timeout', '60', ...extra]);
  const ca = readFileSync(cert, 'utf8');
  const deadline = Date.now() + 30_000;
  while ((await httpsStatus(port, ca).catch(() => 0)) !== 200) {
    assert.ok(Date.now() < deadline, `no https answer on port ${port}:\n${coordinator.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const untrustingStarted = Date.now();
  const untrusting = worker([]);
  const untrustingExit = untrusting.exited.then(() => Date.now() - untrustingStarted);
  const workers = [worker(['--tls-ca', cert]), worker(['--tls-ca', cert])];
  const [code, ...codes] = await Promise.all([coordinator, ...workers].map((p) => p.exited));
  const outputs = [coordinator, ...workers, untrusting].map((p) => p.output().slice(-2500)).join('\n---\n');
  assert.equal(code, 0, outputs);
  assert.deepEqual(codes, [0, 0], outputs);
  assert.match(coordinator.output(), /TLS: wss:\/\/ and https:\/\//);
  assert.equal(await untrusting.exited, 1, outputs);
  assert.match(untrusting.output(), /failed the TLS check: .*(self[- ]signed|certificate).*--tls-ca/);
  const gaveUpMs = await untrustingExit;
  assert.ok(gaveUpMs < 30_000, `the untrusting worker took ${gaveUpMs} ms to give up (its connect deadline is 60 s)`);
});
