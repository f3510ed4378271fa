import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  deployFacts,
  environmentProblems,
  hardwareProblems,
  restartProblems,
  schemaProblems,
  serviceProblems,
  tokenProblems,
  workerProblems,
  type DeployFacts,
} from './harness/deploy-checks.js';
import { readImageConfig, REPO } from './harness/dockerfile.js';
import { renderOverlay, validateObject, type ExtraOverlay, type K8sObject } from './harness/k8s-manifests.js';
import { networkPolicyProblems } from './harness/network-policy-checks.js';

/**
 * deploy/k8s rendered by `kubectl kustomize` as `kubectl apply -k` sends it, then checked
 * twice: every object against the Kubernetes schemas (kubernetes-models), and together
 * against the CLI they run (its own --help), which no schema can see. Each check is also
 * run on deliberately broken variants, to show it can fail.
 */

/** The image each `docker build -f <Dockerfile> -t <image>` of the README makes. */
function imagesOfReadme(): Map<string, string> {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  return new Map([...readme.matchAll(/docker build -f (deploy\/docker\/\S+) -t (\S+) \./g)].map((m) => [m[2] as string, m[1] as string]));
}

const README_IMAGES = imagesOfReadme();

function facts(objects: K8sObject[]): DeployFacts {
  const images = new Set(objects.flatMap((o) => ((o as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }).spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '')));
  assert.equal(images.size, 1, `one image for every pod, got ${[...images].join(', ')}`);
  const image = [...images][0] as string;
  const dockerfile = README_IMAGES.get(image);
  assert.ok(dockerfile !== undefined, `the pods run ${image}, which no \`docker build\` of the README makes (${[...README_IMAGES.keys()].join(', ')})`);
  return deployFacts(objects, readImageConfig(dockerfile).config);
}

function allProblems(f: DeployFacts, kind: 'cpu' | 'gpu'): string[] {
  return [...schemaProblems(f.objects), ...serviceProblems(f), ...environmentProblems(f), ...tokenProblems(f), ...workerProblems(f), ...restartProblems(f), ...hardwareProblems(f, kind), ...networkPolicyProblems(f)];
}

const OVERLAYS = ['cpu', 'gpu'] as const;
/**
 * kubectl is the one prerequisite of these tests that npm cannot bring (no npm package ships
 * a kubectl or kustomize binary, only AWS Lambda layer zips): without it they are skipped,
 * never passed, with the command that installs it, and CI (which must run them) fails on the skip.
 */
const NO_KUBECTL = spawnSync('kubectl', ['version', '--client'], { timeout: 60_000 }).error === undefined
  ? undefined
  : 'kubectl not found; install with: apt-get install kubernetes-client';
const rendered = NO_KUBECTL === undefined ? Object.fromEntries(OVERLAYS.map((o) => [o, renderOverlay(o)])) : {};

for (const overlay of OVERLAYS) {
  describe(`overlay ${overlay}`, { skip: NO_KUBECTL }, () => {
    const { objects } = rendered[overlay] as { objects: K8sObject[] };

    test('renders the objects of a job: two Jobs, two Services, two NetworkPolicies, the Secret, the ConfigMap, the claim', (t) => {
      // Which kustomize rendered them: Debian's kubectl 1.20 has kustomize v2.0, current ones v5.
      t.diagnostic(rendered[overlay]?.kubectl.replace(/\s+/g, ' ') ?? '');
      const names = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '-<hash>')}`).sort();
      assert.deepEqual(names, [
        'ConfigMap/tfjs-ddp-job-<hash>',
        'Job/tfjs-ddp-coordinator',
        'Job/tfjs-ddp-worker',
        'NetworkPolicy/tfjs-ddp-coordinator',
        'NetworkPolicy/tfjs-ddp-worker',
        'PersistentVolumeClaim/tfjs-ddp-data',
        'Secret/tfjs-ddp-token-<hash>',
        'Service/tfjs-ddp-coordinator',
        'Service/tfjs-ddp-workers',
      ]);
    });

    test('every object is valid against the Kubernetes schemas', () => {
      assert.deepEqual(schemaProblems(objects), []);
    });

    test('Services select their pods, and their ports and the probes lead to the ports the CLI listens on', () => {
      assert.deepEqual(serviceProblems(facts(objects)), []);
    });

    test('every variable and flag is one the CLI reads', () => {
      assert.deepEqual(environmentProblems(facts(objects)), []);
    });

    test('the token file the CLI reads is the key of the generated Secret', () => {
      assert.deepEqual(tokenProblems(facts(objects)), []);
    });

    test('workers: an Indexed Job of TFJS_DDP_WORKERS pods, each advertising its stable DNS name; /dev/shm in memory', () => {
      assert.deepEqual(workerProblems(facts(objects)), []);
    });

    test('NetworkPolicies let only the job\'s worker pods reach the coordinator port and the worker peer ports', () => {
      assert.deepEqual(networkPolicyProblems(facts(objects)), []);
    });

    test('restarts: usage errors end the Job, disruptions do not count, the coordinator resumes from its claim', () => {
      assert.deepEqual(restartProblems(facts(objects)), []);
    });

    test(overlay === 'gpu' ? 'GPU: one GPU, one rank and the node-gpu backend per worker pod' : 'CPU: wasm rank threads within the requested cores, no GPU', () => {
      assert.deepEqual(hardwareProblems(facts(objects), overlay), []);
    });
  });
}

test('the fetch-model pod is valid and mounts the job\'s claim', { skip: NO_KUBECTL }, () => {
  const pod = parse(readFileSync(path.join(REPO, 'deploy/k8s/tools/fetch-model.yaml'), 'utf8')) as K8sObject & { spec: { volumes: { persistentVolumeClaim?: { claimName: string } }[] } };
  validateObject(pod);
  const claims = (rendered['cpu']?.objects ?? []).filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name);
  assert.deepEqual(pod.spec.volumes.map((v) => v.persistentVolumeClaim?.claimName), claims);
});

/** A cpu-overlay variant with one mistake, as a user might make it: its patch and the problem the checks must report. */
const BROKEN: { name: string; extra: ExtraOverlay; expect: RegExp; overlay?: 'cpu' | 'gpu' }[] = [
  {
    name: 'a Service that selects the workers instead of the coordinator',
    extra: { 'patch.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: tfjs-ddp-coordinator\nspec:\n  selector:\n    app.kubernetes.io/component: worker\n' },
    expect: /does not select the coordinator pods/,
  },
  {
    name: 'a misspelt variable',
    extra: { 'patch.yaml': workerEnvPatch('TFJS_DDP_PEERPORT', '7071') },
    expect: /TFJS_DDP_PEERPORT, which `tfjs-ddp worker` does not read/,
  },
  {
    name: 'a variable nothing reads',
    extra: { 'patch.yaml': workerEnvPatch('POD_NAMESPACE', 'x') },
    expect: /POD_NAMESPACE, which neither the CLI reads nor another variable uses/,
  },
  {
    name: 'a flag without its value',
    extra: { 'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-worker\nspec:\n  template:\n    spec:\n      containers:\n        - name: worker\n          args: [worker, --threads]\n' },
    expect: /runs with --threads without its value/,
  },
  {
    name: 'more workers in the config than in the Job',
    extra: { 'kustomization.yaml': 'bases:\n  - ../cpu\nconfigMapGenerator:\n  - name: tfjs-ddp-job\n    behavior: merge\n    literals:\n      - TFJS_DDP_WORKERS=3\n' },
    expect: /the coordinator waits for 3 workers/,
  },
  {
    name: 'a token file that is not the Secret key',
    extra: { 'patch.yaml': workerEnvPatch('TFJS_DDP_TOKEN_FILE', '/var/run/tfjs-ddp/job-token') },
    expect: /has no key job-token/,
  },
  {
    name: 'a readiness probe on /healthz, which says nothing about progress',
    extra: { 'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-coordinator\nspec:\n  template:\n    spec:\n      containers:\n        - name: coordinator\n          readinessProbe:\n            httpGet:\n              path: /healthz\n' },
    expect: /readiness probe asks \/healthz, not \/readyz/,
  },
  {
    name: 'a coordinator port that is not the one its Service and probes lead to',
    extra: { 'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-coordinator\nspec:\n  template:\n    spec:\n      containers:\n        - name: coordinator\n          env:\n            - name: TFJS_DDP_PORT\n              value: "8080"\n' },
    expect: /the coordinator listens on 8080/,
  },
  {
    name: 'workers restarted in place, which a pod failure policy does not allow',
    extra: { 'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-worker\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n' },
    expect: /restartPolicy must be Never/,
  },
  {
    name: 'a coordinator grace period shorter than its --term-grace',
    extra: { 'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-coordinator\nspec:\n  template:\n    spec:\n      terminationGracePeriodSeconds: 20\n' },
    expect: /terminationGracePeriodSeconds \(20\) is not above its --term-grace \(25\)/,
  },
  {
    name: 'workers whose SIGTERM exit counts against the backoff limit',
    extra: {
      'patch.yaml':
        'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-worker\nspec:\n  podFailurePolicy:\n    rules:\n      - action: FailJob\n        onExitCodes:\n' +
        '          containerName: worker\n          operator: In\n          values: [2]\n      - action: Ignore\n        onPodConditions:\n          - type: DisruptionTarget\n            status: "True"\n',
    },
    expect: /the worker Job: exit 143 \(SIGTERM, after a checkpoint or a clean leave\) counts against the backoff limit/,
  },
  {
    name: 'a field of the wrong type',
    extra: { 'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-worker\nspec:\n  backoffLimitPerIndex: four\n' },
    expect: /backoffLimitPerIndex must be integer/,
  },
  {
    name: 'service links on, and a Service whose links would set a variable the CLI reads',
    extra: {
      'kustomization.yaml': 'bases:\n  - ../cpu\nresources:\n  - dashboard.yaml\npatchesStrategicMerge:\n  - patch.yaml\n',
      'dashboard.yaml': 'apiVersion: v1\nkind: Service\nmetadata:\n  name: tfjs-ddp\nspec:\n  selector:\n    app.kubernetes.io/component: coordinator\n  ports:\n    - port: 80\n      targetPort: 7070\n',
      'patch.yaml': 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-coordinator\nspec:\n  template:\n    spec:\n      enableServiceLinks: true\n',
    },
    expect: /Service tfjs-ddp would set TFJS_DDP_PORT in the coordinator's environment/,
  },
  {
    name: 'a NetworkPolicy that lets anyone reach the coordinator',
    extra: { 'patch.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: tfjs-ddp-coordinator\nspec:\n  ingress:\n    - {}\n' },
    expect: /NetworkPolicy tfjs-ddp-coordinator lets anyone reach the coordinator pods/,
  },
  {
    name: 'a NetworkPolicy that opens the workers\' metrics port instead of their peer port',
    extra: { 'patch.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: tfjs-ddp-worker\nspec:\n  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/component: worker\n      ports:\n        - port: 9100\n' },
    expect: /no NetworkPolicy lets the worker pods reach the worker peer port/,
  },
  {
    name: 'GPU workers with two rank threads',
    overlay: 'gpu',
    extra: { 'patch.yaml': workerEnvPatch('TFJS_DDP_THREADS', '2') },
    expect: /2 rank threads on 1 GPU/,
  },
];

function workerEnvPatch(name: string, value: string): string {
  return `apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: tfjs-ddp-worker\nspec:\n  template:\n    spec:\n      containers:\n        - name: worker\n          env:\n            - name: ${name}\n              value: "${value}"\n`;
}

describe('the checks fail on a broken overlay', { skip: NO_KUBECTL }, () => {
  for (const broken of BROKEN) {
    test(broken.name, () => {
      const base = broken.overlay ?? 'cpu';
      const extra = { 'kustomization.yaml': `bases:\n  - ../${base}\npatchesStrategicMerge:\n  - patch.yaml\n`, ...broken.extra };
      const { objects } = renderOverlay(base, { extra });
      const problems = allProblems(facts(objects), base);
      assert.ok(problems.some((p) => broken.expect.test(p)), `expected a problem matching ${broken.expect}, got:\n${problems.join('\n') || '(none)'}`);
    });
  }
});
