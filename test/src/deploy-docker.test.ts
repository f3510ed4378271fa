import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { cliHelp } from './harness/cli-help.js';
import { freePort } from './harness/cli-job.js';
import { lintDockerfile, parseImageConfig, readImageConfig, REPO, type ImageConfig } from './harness/dockerfile.js';
import { startCli, type RunningProcess } from './harness/processes.js';

/**
 * deploy/docker without a Docker engine: each Dockerfile through a real linter
 * (dockerfile-utils, the validator of the Docker language server; hadolint, the usual one,
 * is neither in Debian nor installable from npm without downloading a binary from GitHub),
 * then what matters for running it: pinned bases, a non-root user, the CLI as entrypoint,
 * the ports the CLI listens on, and a HEALTHCHECK that really answers.
 */

const DOCKERFILES = { cpu: 'deploy/docker/Dockerfile', gpu: 'deploy/docker/Dockerfile.gpu' } as const;

/** `image:tag` with a full version in the tag (x.y.z), or a digest: never `latest` nor a bare major. */
function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && /^v?\d+\.\d+\.\d+/.test(tag);
}

/** What the image must be, beyond what the linter checks; problems as sentences. */
function imageProblems(config: ImageConfig, content: string): string[] {
  const problems: string[] = [];
  const stageNames = new Set(config.stages.map((s) => s.name));
  for (const stage of config.stages) if (!stageNames.has(stage.image) && !pinned(stage.image)) problems.push(`base image ${stage.image} is not pinned to a version`);
  const [uid, gid] = (config.user ?? '').split(':');
  if (!/^\d+$/.test(uid ?? '') || Number(uid) === 0) problems.push(`USER ${config.user ?? '(none)'}: the final stage must run as a numeric non-root user (Kubernetes checks runAsNonRoot only for numbers)`);
  if (gid !== undefined && !/^\d+$/.test(gid)) problems.push(`USER ${config.user}: the group must be numeric too`);
  // The entrypoint: an init (tini), then the CLI; the CLI is the link the image makes to apps/cli's bin.
  const entrypoint = config.entrypoint ?? [];
  if (entrypoint.at(-1) !== 'tfjs-ddp' || (entrypoint.length > 1 && !(entrypoint.length === 3 && entrypoint[0]?.endsWith('/tini') === true && entrypoint[1] === '--'))) {
    problems.push(`ENTRYPOINT ${JSON.stringify(entrypoint)} is not the CLI (optionally behind tini --)`);
  }
  const bin = (JSON.parse(readFileSync(path.join(REPO, 'apps/cli/package.json'), 'utf8')) as { bin: Record<string, string> }).bin['tfjs-ddp'];
  if (!content.includes(`ln -s /app/apps/cli/${bin} /usr/local/bin/tfjs-ddp`)) problems.push(`the image does not link /usr/local/bin/tfjs-ddp to the CLI's bin (apps/cli/${bin})`);
  // Ports: what the coordinator and a worker listen on when the image's ENV and the CLI's defaults are all there is.
  const listening = [
    { command: 'coordinator', flag: '--port' },
    { command: 'worker', flag: '--peer-port' },
  ].map(({ command, flag }) => {
    const option = cliHelp(command).option(flag);
    return Number((option?.env !== undefined ? config.env[option.env] : undefined) ?? option?.defaultValue);
  });
  const expected = listening.filter((p) => p > 0).sort((a, b) => a - b);
  const exposed = [...config.expose].sort((a, b) => a - b);
  if (JSON.stringify(exposed) !== JSON.stringify(expected)) problems.push(`EXPOSE ${exposed.join(' ')}, but the coordinator and workers listen on ${expected.join(' ')}`);
  if (JSON.stringify(config.healthcheck) !== JSON.stringify(['node', '/app/deploy/docker/healthcheck.mjs']) || !content.includes('COPY deploy/docker/healthcheck.mjs /app/deploy/docker/healthcheck.mjs')) {
    problems.push(`HEALTHCHECK ${JSON.stringify(config.healthcheck)} does not run the image's copy of deploy/docker/healthcheck.mjs`);
  }
  return problems;
}

for (const [flavor, file] of Object.entries(DOCKERFILES)) {
  describe(file, () => {
    const { content, config } = readImageConfig(file);

    test('passes the linter with every check an error', () => {
      assert.deepEqual(lintDockerfile(content), []);
    });

    test('pinned bases, a non-root user, the CLI as entrypoint, the CLI\'s ports, the HEALTHCHECK script', () => {
      assert.deepEqual(imageProblems(config, content), []);
    });

    test(flavor === 'gpu' ? 'GPU: CUDA 11.2 with cuDNN 8 (tfjs-node-gpu 4.22), Node 20, node-gpu with one rank thread' : 'CPU: Node 20, the wasm backend', () => {
      const engines = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
      const node = config.stages.find((s) => s.image.startsWith('node:'))?.image ?? '';
      const [major, minor] = (/^node:(\d+)\.(\d+)\./.exec(node) ?? []).slice(1).map(Number);
      const [needMajor, needMinor] = (/>=(\d+)\.(\d+)/.exec(engines) ?? []).slice(1).map(Number);
      assert.ok(major === 20 && (minor ?? 0) >= (needMinor ?? 0) && major === needMajor, `${node} is not the Node 20 of engines ${engines}`);
      if (flavor === 'gpu') {
        const cuda = config.stages.at(-1)?.image ?? '';
        assert.match(cuda, /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-/);
        assert.equal(config.env['TFJS_DDP_BACKEND'], 'node-gpu');
        assert.equal(config.env['TFJS_DDP_THREADS'], '1');
        // --backend webgpu in the same image: the toolkit mounts the Vulkan ICD only with "graphics".
        assert.ok(config.env['NVIDIA_DRIVER_CAPABILITIES']?.split(',').includes('graphics'), 'the NVIDIA Vulkan driver is not mounted');
      } else {
        assert.equal(config.env['TFJS_DDP_BACKEND'], 'wasm');
      }
    });
  });
}

describe('the checks fail on a broken Dockerfile', () => {
  const { content } = readImageConfig(DOCKERFILES.cpu);
  const lint: [string, string, RegExp][] = [
    ['--interval=30s', '--interval=30', /missing unit in duration/],
    ['COPY --from=build', 'COPY --form=build', /Unknown flag: form/],
    ['CMD ["--help"]', 'CMD ["--help"]\nENTRYPOINT ["tfjs-ddp"]', /only be one ENTRYPOINT/],
    ['WORKDIR /work', 'WORKDIR work', /should be absolute/],
  ];
  for (const [from, to, expect] of lint) {
    test(`linter: ${to.split('\n').at(-1)}`, () => {
      assert.ok(content.includes(from));
      assert.ok(lintDockerfile(content.replace(from, to)).some((p) => expect.test(p.message)));
    });
  }
  const policy: [string, string, RegExp][] = [
    ['ARG NODE_IMAGE=node:20.20.2-bookworm-slim', 'ARG NODE_IMAGE=node:20-bookworm-slim', /not pinned/],
    ['USER 1000:1000', 'USER node', /numeric non-root user/],
    ['ENTRYPOINT ["/usr/bin/tini", "--", "tfjs-ddp"]', 'ENTRYPOINT ["node"]', /is not the CLI/],
    ['EXPOSE 7070 7071', 'EXPOSE 8080 7071', /EXPOSE 7071 8080, but the coordinator and workers listen on 7070 7071/],
    ['TFJS_DDP_PEER_PORT=7071', 'TFJS_DDP_PEER_PORT=7072', /listen on 7070 7072/],
  ];
  for (const [from, to, expect] of policy) {
    test(`policy: ${to}`, () => {
      assert.ok(content.includes(from), from);
      const broken = content.replace(from, to);
      assert.ok(imageProblems(parseImageConfig(broken, 'broken'), broken).some((p) => expect.test(p)));
    });
  }
});

test('.dockerignore keeps build outputs, dependencies and the job token out of the build context', () => {
  const lines = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const required of ['.git', '**/node_modules', '**/dist', '**/token']) assert.ok(lines.includes(required), `.dockerignore lacks ${required}`);
});

describe('the HEALTHCHECK script', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'deploy-health-'));
  const running: RunningProcess[] = [];
  after(() => running.forEach((p) => p.kill()));

  /** Runs the script as Docker would, with PID 1's command line in a file (as in /proc/1/cmdline). */
  function healthcheck(cmdline: string[], env: Record<string, string> = {}): number | null {
    const file = path.join(dir, `cmdline-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, `${cmdline.join('\0')}\0`);
    return spawnSync(process.execPath, [path.join(REPO, 'deploy/docker/healthcheck.mjs'), file], { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 20_000 }).status;
  }

  test('a worker container is healthy: it serves no HTTP', () => {
    assert.equal(healthcheck(['/usr/bin/tini', '--', 'tfjs-ddp', 'worker']), 0);
  });

  test('a coordinator is healthy while its /healthz answers, and not when nothing listens', async () => {
    const port = await freePort();
    const cmdline = ['/usr/bin/tini', '--', 'tfjs-ddp', 'coordinator'];
    assert.equal(healthcheck(cmdline, { TFJS_DDP_PORT: String(port) }), 1, 'nothing listens yet');
    const coordinator = startCli(['coordinator', '--host', '127.0.0.1', '--workers', '1', '--wait-timeout', '60', '--log-level', 'warn'], { env: { TFJS_DDP_PORT: String(port), TFJS_DDP_TOKEN: 'health-token' }, timeoutMs: 60_000 });
    running.push(coordinator);
    const deadline = Date.now() + 30_000;
    let status: number | null = 1;
    while (status !== 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      status = healthcheck(cmdline, { TFJS_DDP_PORT: String(port) });
    }
    assert.equal(status, 0, `the coordinator's /healthz never answered:\n${coordinator.output()}`);
    // The port given as a flag wins over the variable, as in the CLI.
    assert.equal(healthcheck([...cmdline, '--port', String(port)], { TFJS_DDP_PORT: '1' }), 0);
    coordinator.kill();
    await coordinator.exited;
    assert.equal(healthcheck(cmdline, { TFJS_DDP_PORT: String(port) }), 1, 'the coordinator is gone');
  });
});
