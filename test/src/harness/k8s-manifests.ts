import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IConfigMap, IPersistentVolumeClaim, ISecret, IService } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { REPO } from './dockerfile.js';

/** What every rendered object has; the rest is checked by its schema. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}

export interface Rendered {
  objects: K8sObject[];
  /** `kubectl version --client` of the kubectl that rendered them (its kustomize is part of it). */
  kubectl: string;
  /** kustomize's warnings (deprecated fields), for the report. */
  warnings: string;
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: object): { validate(): void };
}

/**
 * The schema of every kind of the core, apps, batch and networking groups, from kubernetes-models
 * (JSON schemas of the Kubernetes OpenAPI spec compiled to validators; works offline).
 */
const MODELS = new Map<string, ModelClass>();
for (const group of [core, apps, batch, networking] as Record<string, unknown>[]) {
  for (const value of Object.values(group)) {
    const model = value as Partial<ModelClass>;
    if (typeof value === 'function' && typeof model.apiVersion === 'string' && typeof model.kind === 'string') {
      MODELS.set(`${model.apiVersion}/${model.kind}`, value as ModelClass);
    }
  }
}

/** Validates one object against its kind's schema; throws a message naming the object and the field. */
export function validateObject(object: K8sObject): void {
  const model = MODELS.get(`${object.apiVersion}/${object.kind}`);
  if (model === undefined) throw new Error(`${object.kind} ${object.metadata.name}: no schema for ${object.apiVersion}/${object.kind}`);
  try {
    new model(object).validate();
  } catch (error) {
    throw new Error(`${object.kind} ${object.metadata.name}: ${(error as Error).message}`, { cause: error });
  }
}

/** An extra overlay on top of one of deploy/k8s/overlays, written for a test: file name -> content. */
export type ExtraOverlay = Record<string, string>;

/**
 * Renders deploy/k8s/overlays/<overlay> with `kubectl kustomize`, as `kubectl apply -k`
 * would send it, from a copy of deploy/k8s with a token file in place (the file the README
 * tells the user to create). With `extra`, renders an overlay of that overlay instead.
 */
export function renderOverlay(overlay: string, options: { token?: string; extra?: ExtraOverlay } = {}): Rendered {
  const root = mkdtempSync(path.join(tmpdir(), 'deploy-k8s-'));
  cpSync(path.join(REPO, 'deploy/k8s'), root, { recursive: true });
  writeFileSync(path.join(root, 'base/token'), `${options.token ?? 'render-token'}\n`);
  let dir = path.join(root, 'overlays', overlay);
  if (options.extra !== undefined) {
    dir = path.join(root, 'overlays', `${overlay}-test`);
    mkdirSync(dir);
    for (const [name, content] of Object.entries(options.extra)) writeFileSync(path.join(dir, name), content);
  }
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'kubectl is not installed (Debian package kubernetes-client; .ci/run installs it)' : `kubectl kustomize: ${result.error.message}`, { cause: result.error });
  }
  if (result.status !== 0) throw new Error(`kubectl kustomize ${path.relative(root, dir)} failed: ${result.stderr}`);
  const stdout = result.stdout;
  const warnings = result.stderr;
  const kubectl = execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 60_000 }).trim();
  const objects = parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize printed invalid YAML: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
  return { objects: objects.filter((o) => o !== null), kubectl, warnings };
}

function byKind<T>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

/** The rendered objects by kind, typed by kubernetes-models (valid once validateObject passed). */
export function kinds(objects: K8sObject[]): { jobs: IJob[]; services: IService[]; configMaps: IConfigMap[]; secrets: ISecret[]; claims: IPersistentVolumeClaim[] } {
  return {
    jobs: byKind<IJob>(objects, 'Job'),
    services: byKind<IService>(objects, 'Service'),
    configMaps: byKind<IConfigMap>(objects, 'ConfigMap'),
    secrets: byKind<ISecret>(objects, 'Secret'),
    claims: byKind<IPersistentVolumeClaim>(objects, 'PersistentVolumeClaim'),
  };
}

/** The one object of a kind whose name starts with `prefix` (generated names end in a hash). */
export function one<T extends { metadata?: { name?: string } }>(list: T[], prefix: string): T {
  const found = list.filter((o) => o.metadata?.name?.startsWith(prefix) === true);
  if (found.length !== 1) throw new Error(`expected one object named ${prefix}*, found ${found.map((o) => o.metadata?.name).join(', ') || 'none'}`);
  return found[0] as T;
}
