import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { IContainer } from 'kubernetes-models/v1';
import { cliArgs } from './harness/deploy-checks.js';
import { readImageConfig, REPO, type ImageConfig } from './harness/dockerfile.js';
import { kinds, renderOverlay, type K8sObject } from './harness/k8s-manifests.js';
import { createTestNetwork, type VirtualHost } from './harness/netns.js';
import { containerProcess, jobContainer, jobPod, mapPath, materializeVolumes, type JobPod } from './harness/pod-process.js';
import { startInNamespace, writeClusterHosts } from './harness/pod-network.js';
import { CLI, type RunningProcess } from './harness/processes.js';

/**
 * The pods of the cpu overlay as processes: the coordinator and two workers each in its own
 * network namespace (its pod IP), with the cluster's DNS names in its /etc/hosts, its
 * volumes as folders (the Secret's key as a file, the claim as a folder), and exactly the
 * command line and environment the kubelet would give its container (image ENTRYPOINT +
 * the manifest's args, image ENV + the manifest's env, ConfigMap, downward API, $(VAR)).
 * They train a few steps: the manifests' commands and variables really start a working job.
 *
 * The overlay runs as shipped, two rank threads per worker included: the configuration
 * users get is the one tested. The only change is one a user makes through the job
 * ConfigMap, whose every key is a variable of `tfjs-ddp coordinator --help`: a few steps
 * instead of 8 epochs (which take tens of minutes on a busy 2-core machine), with a
 * replica check every step.
 */

const STEPS = 5;
const TEST_OVERLAY = {
  'kustomization.yaml': [
    'bases:\n  - ../cpu\n',
    'configMapGenerator:\n  - name: tfjs-ddp-job\n    behavior: merge\n',
    `    literals:\n      - TFJS_DDP_MAX_STEPS=${STEPS}\n      - TFJS_DDP_CHECK_REPLICAS=1\n`,
  ].join(''),
};
const TIMEOUT_MS = 150_000;
/** Half the coordinator's 3 s heartbeat deadline; the rest is left to the coordinator's own loop and a busy machine. */
const MAX_WORKER_BLOCK_MS = 1500;
/** The HEALTHCHECK's --retries in deploy/docker/Dockerfile. */
const HEALTHCHECK_RETRIES = 3;

const network = createTestNetwork(3);
const running: RunningProcess[] = [];
const cleanups: (() => void)[] = [];
after(() => {
  running.forEach((p) => p.kill());
  cleanups.forEach((cleanup) => cleanup());
  network.destroy();
});

interface PodProcess {
  pod: JobPod;
  host: VirtualHost;
  argv: string[];
  env: Record<string, string>;
  /** The container's command line, as /proc/1/cmdline shows it in the container. */
  containerArgv: string[];
}

/**
 * The local process of a pod's container: paths under its mounts go to the volume folders,
 * and the image's `tini -- tfjs-ddp` becomes node and the built CLI (tini only forwards signals).
 */
function podProcess(pod: JobPod, host: VirtualHost, container: IContainer, image: ImageConfig, objects: K8sObject[], volumes: Map<string, string>): PodProcess {
  const { argv, env } = containerProcess(pod, container.name, image, objects);
  const cli = cliArgs(argv);
  assert.deepEqual(argv.slice(0, argv.length - (cli?.args.length ?? 0) - 1), ['/usr/bin/tini', '--', 'tfjs-ddp'], `the ${container.name} does not run the image's entrypoint`);
  const command = cli?.command ?? '';
  const args = (cli?.args ?? []).map((a) => mapPath(a, container, volumes));
  const mappedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, mapPath(v, container, volumes)]));
  return { pod, host, argv: [process.execPath, CLI, command, ...args], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...mappedEnv }, containerArgv: argv };
}

/** An HTTP GET from inside a namespace (as the kubelet or a peer pod sends it); the status, or 0. */
function httpGet(host: VirtualHost, url: string): number {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.status === 200 ? 0 : 3), () => process.exit(4))`;
  const result = spawnSync('ip', ['netns', 'exec', host.ns, process.execPath, '-e', script], { timeout: 10_000 });
  return result.status === 0 ? 200 : 0;
}

test('the cpu overlay\'s pods, run as processes in network namespaces, train a job', { timeout: TIMEOUT_MS + 30_000 }, async () => {
  const { objects } = renderOverlay('cpu', { extra: TEST_OVERLAY, token: 'pods-test-token' });
  const image = readImageConfig('deploy/docker/Dockerfile').config;
  const { services } = kinds(objects);
  const coordinatorJob = jobContainer(objects, 'tfjs-ddp-coordinator', 'coordinator');
  const workerJob = jobContainer(objects, 'tfjs-ddp-worker', 'worker');
  const [coordinatorHost, ...workerHosts] = network.hosts as [VirtualHost, VirtualHost, VirtualHost];
  assert.equal(workerJob.job.spec?.completions, workerHosts.length, 'the test plays two worker pods');
  // The test overlay leaves the workers' containers as shipped (thread count, resources).
  const shipped = jobContainer(renderOverlay('cpu', { token: 'pods-test-token' }).objects, 'tfjs-ddp-worker', 'worker').container;
  const threads = workerJob.container.env?.find((e) => e.name === 'TFJS_DDP_THREADS')?.value;
  const shippedThreads = shipped.env?.find((e) => e.name === 'TFJS_DDP_THREADS')?.value;
  assert.ok(threads !== undefined && threads === shippedThreads, `the test runs ${threads} rank threads, not the shipped ${shippedThreads}`);
  assert.deepEqual(workerJob.container.resources, shipped.resources);

  const coordinatorPod = jobPod(coordinatorJob.job, { podIP: coordinatorHost.address });
  const workerPods = workerHosts.map((host, index) => ({ host, pod: jobPod(workerJob.job, { index, podIP: host.address }) }));

  // Cluster DNS: a Service name leads straight to the pod it selects (as kube-proxy would, which
  // here needs the Service port to be the container port), a worker's <hostname>.<subdomain> to its pod.
  const names = new Map<string, VirtualHost>();
  for (const service of services) {
    const name = service.metadata?.name ?? '';
    if (service.spec?.clusterIP === 'None') {
      for (const { pod, host } of workerPods) if (pod.spec.subdomain === name) names.set(`${pod.hostname}.${name}`, host);
      continue;
    }
    const selected = Object.entries(service.spec?.selector ?? {}).every(([k, v]) => coordinatorPod.labels[k] === v);
    assert.ok(selected, `Service ${name} does not select the coordinator pod`);
    for (const port of service.spec?.ports ?? []) {
      const target = coordinatorJob.container.ports?.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
      assert.equal(target?.containerPort, port.port, `Service ${name} maps port ${port.port} to another port: this emulation has no kube-proxy`);
    }
    names.set(name, coordinatorHost);
    names.set(`${name}.default.svc.cluster.local`, coordinatorHost);
  }
  cleanups.push(writeClusterHosts(network, names));

  // Volumes: the claim is one folder; the Secret's keys are files.
  const root = mkdtempSync(path.join(tmpdir(), 'deploy-pods-'));
  const claimFolder = path.join(root, 'claim');
  const claimVolumes = (pod: JobPod): Record<string, string> => Object.fromEntries((pod.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim !== undefined).map((v) => [v.name, claimFolder]));
  const podProcesses = [
    podProcess(coordinatorPod, coordinatorHost, coordinatorJob.container, image, objects, materializeVolumes(coordinatorPod, objects, path.join(root, 'coordinator'), claimVolumes(coordinatorPod))),
    ...workerPods.map(({ pod, host }) => podProcess(pod, host, workerJob.container, image, objects, materializeVolumes(pod, objects, path.join(root, pod.hostname ?? 'worker'), claimVolumes(pod)))),
  ];

  // All pods start at once, as the Jobs start them; the workers retry until the coordinator listens.
  const started = podProcesses.map((p) => {
    const cwd = path.join(root, `${p.pod.hostname ?? 'coordinator'}-workdir`);
    mkdirSync(cwd, { recursive: true });
    const proc = startInNamespace(network, p.host, p.argv, { env: p.env, cwd, timeoutMs: TIMEOUT_MS });
    running.push(proc);
    return proc;
  });
  const [coordinator, ...workers] = started as [RunningProcess, ...RunningProcess[]];
  const outputs = (): string => started.map((p, i) => `--- ${podProcesses[i]?.pod.hostname ?? 'coordinator'}\n${p.output()}`).join('\n');

  // The readiness probe, sent from another pod's namespace to the coordinator's pod IP.
  const probe = coordinatorJob.container.readinessProbe?.httpGet;
  const probePort = coordinatorJob.container.ports?.find((p) => p.name === probe?.port || p.containerPort === probe?.port)?.containerPort;
  let exited = false;
  void coordinator.exited.then(() => (exited = true));
  let ready = false;
  while (!ready && !exited) {
    ready = httpGet(workerHosts[0], `http://${coordinatorHost.address}:${probePort}${probe?.path}`) === 200;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.ok(ready, `the coordinator's readiness probe never passed:\n${outputs()}`);
  // The image's HEALTHCHECK, in the coordinator's network with its command line and environment.
  const coordinatorProcess = podProcesses[0] as PodProcess;
  const cmdline = path.join(root, 'coordinator-cmdline');
  writeFileSync(cmdline, `${coordinatorProcess.containerArgv.join('\0')}\0`);
  // Docker calls a container unhealthy only after --retries (3 in the Dockerfile) failures in a row: on a
  // busy 2-core machine one check can miss its deadline (seen in 1 of 5 runs, a node start taking seconds).
  const failures: string[] = [];
  for (let attempt = 0; attempt < HEALTHCHECK_RETRIES && failures.length === attempt; attempt++) {
    const healthcheck = [process.execPath, path.join(REPO, 'deploy/docker/healthcheck.mjs'), cmdline];
    const health = spawnSync('ip', ['netns', 'exec', coordinatorHost.ns, ...healthcheck], { env: coordinatorProcess.env, timeout: 10_000 });
    const why = health.error === undefined ? '' : ` (${health.error.message})`;
    if (health.status !== 0) failures.push(`exit ${health.status ?? health.signal}${why}: ${health.stderr?.toString().trim()}`);
  }
  const failed = `the HEALTHCHECK failed ${failures.length} times in a row in the coordinator pod:\n${failures.join('\n')}`;
  assert.ok(failures.length < HEALTHCHECK_RETRIES, `${failed}\n${outputs()}`);

  assert.equal(await coordinator.exited, 0, `the coordinator failed:\n${outputs()}`);
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0], outputs());
  // The coordinator link kept answering while two rank threads per worker loaded and trained:
  // the longest block of each worker's main thread stays well inside the coordinator's 3 s heartbeat.
  for (const worker of workers) {
    const blocked = /"eventLoopDelayMaxMs":(\d+)/.exec(worker.output());
    assert.ok(blocked !== null, `a worker did not report its event-loop delay:\n${worker.output()}`);
    assert.ok(Number(blocked[1]) < MAX_WORKER_BLOCK_MS, `a worker's main thread was blocked for ${blocked[1]} ms:\n${outputs()}`);
  }

  // The workers joined under their stable DNS names, with the peer port of their manifest.
  for (const { pod } of workerPods) assert.match(coordinator.output(), new RegExp(`"host":"${pod.hostname}\\.${pod.spec.subdomain}"`), outputs());
  for (const worker of workers) assert.match(worker.output(), new RegExp(`"peerPort":7071,"threads":${threads}`));
  assert.match(coordinator.output(), new RegExp(`"steps":${STEPS}`));
  // The trained model is on the claim, where the README fetches it from.
  const out = coordinatorProcess.env['TFJS_DDP_OUT'] ?? '';
  assert.ok(out.startsWith(`${claimFolder}/`), `TFJS_DDP_OUT ${out} is not on the claim`);
  for (const file of ['model.json', 'weights.bin', 'metrics.jsonl']) assert.ok(existsSync(path.join(out, file)), `no ${file} in the claim's ${path.relative(claimFolder, out)}`);
  assert.ok((JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')) as { modelTopology?: unknown }).modelTopology !== undefined);
});
