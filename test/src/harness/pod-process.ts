import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IContainer, IEnvVar, IPodSpec, IVolume } from 'kubernetes-models/v1';
import type { ImageConfig } from './dockerfile.js';
import { kinds, one, type K8sObject } from './k8s-manifests.js';

/**
 * What Kubernetes makes of a pod template: the metadata the Job controller gives the pod
 * (which the downward API reads), and for a container the command line and environment
 * the kubelet starts it with. Written from the Kubernetes documentation of each rule, so a
 * test can run a pod's container as a local process and see it work or fail.
 */

/** The pod of a Job as its controller creates it. */
export interface JobPod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** An Indexed Job's pod is named <job>-<index> as a host; other pods have no set hostname. */
  hostname?: string;
  podIP: string;
  spec: IPodSpec;
}

export function jobPod(job: IJob, options: { index?: number; podIP: string; namespace?: string }): JobPod {
  const jobName = job.metadata?.name ?? '';
  const spec = job.spec?.template.spec;
  if (spec === undefined) throw new Error(`Job ${jobName} has no pod template spec`);
  const indexed = job.spec?.completionMode === 'Indexed';
  if (indexed && options.index === undefined) throw new Error(`Job ${jobName} is Indexed: give the completion index`);
  const index = String(options.index ?? '');
  // The Job controller's labels (both spellings are set on Kubernetes >= 1.27) and, for
  // Indexed Jobs, the completion index as an annotation (and a label since 1.28).
  const labels: Record<string, string> = { ...job.spec?.template.metadata?.labels, 'batch.kubernetes.io/job-name': jobName, 'job-name': jobName };
  const annotations: Record<string, string> = { ...job.spec?.template.metadata?.annotations };
  if (indexed) {
    labels['batch.kubernetes.io/job-completion-index'] = index;
    annotations['batch.kubernetes.io/job-completion-index'] = index;
  }
  const hostname = indexed ? `${jobName}-${index}` : undefined;
  return { name: `${hostname ?? jobName}-test`, namespace: options.namespace ?? 'default', labels, annotations, hostname, podIP: options.podIP, spec };
}

/** A downward-API fieldRef, for the fields Kubernetes supports in environment variables. */
export function fieldRef(pod: JobPod, fieldPath: string): string {
  const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (keyed !== null) {
    const map = keyed[1] === 'labels' ? pod.labels : pod.annotations;
    // The kubelet gives an empty string for a key the pod does not have.
    return map[keyed[2] as string] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'status.podIP':
    case 'status.podIPs':
      return pod.podIP;
    default:
      throw new Error(`fieldRef ${fieldPath} is not emulated here`);
  }
}

/** Expands $(VAR) from `vars` as the kubelet does: `$$` is a literal `$`, an unknown reference stays as written. */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    return vars[name] ?? whole;
  });
}

function configMapData(objects: K8sObject[], name: string): Record<string, string> {
  const map = kinds(objects).configMaps.find((c) => c.metadata?.name === name);
  if (map === undefined) throw new Error(`ConfigMap ${name} is not among the rendered objects`);
  return map.data ?? {};
}

function secretData(objects: K8sObject[], name: string): Record<string, string> {
  const secret = kinds(objects).secrets.find((s) => s.metadata?.name === name);
  if (secret === undefined) throw new Error(`Secret ${name} is not among the rendered objects`);
  return Object.fromEntries([
    ...Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    ...Object.entries(secret.stringData ?? {}),
  ]);
}

/**
 * A container's environment as the kubelet builds it (image ENV is the runtime's and comes
 * under it): envFrom sources in order, then env in order, each value expanded against
 * the variables defined before it; a missing ConfigMap key or Secret fails as the kubelet does.
 */
export function containerEnv(pod: JobPod, container: IContainer, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef !== undefined ? configMapData(objects, source.configMapRef.name ?? '') : source.secretRef !== undefined ? secretData(objects, source.secretRef.name ?? '') : {};
    for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ''}${key}`] = value;
  }
  const list: IEnvVar[] = [...(container.env ?? [])];
  // The Job controller adds JOB_COMPLETION_INDEX to the containers of an Indexed Job's pods.
  if (pod.annotations['batch.kubernetes.io/job-completion-index'] !== undefined && !list.some((e) => e.name === 'JOB_COMPLETION_INDEX')) {
    list.push({ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
  }
  for (const variable of list) {
    const from = variable.valueFrom;
    if (from === undefined) env[variable.name] = expand(variable.value ?? '', env);
    else if (from.fieldRef !== undefined) env[variable.name] = fieldRef(pod, from.fieldRef.fieldPath);
    else if (from.configMapKeyRef !== undefined) {
      const value = configMapData(objects, from.configMapKeyRef.name ?? '')[from.configMapKeyRef.key];
      if (value === undefined) throw new Error(`env ${variable.name}: ConfigMap ${from.configMapKeyRef.name} has no key ${from.configMapKeyRef.key}`);
      env[variable.name] = value;
    } else if (from.secretKeyRef !== undefined) {
      const value = secretData(objects, from.secretKeyRef.name ?? '')[from.secretKeyRef.key];
      if (value === undefined) throw new Error(`env ${variable.name}: Secret ${from.secretKeyRef.name} has no key ${from.secretKeyRef.key}`);
      env[variable.name] = value;
    } else throw new Error(`env ${variable.name}: this kind of valueFrom is not emulated here`);
  }
  return env;
}

/** Where a pod's volumes are on this machine: each volume a folder, filled as the kubelet fills it. */
export function materializeVolumes(pod: JobPod, objects: K8sObject[], root: string, shared: Record<string, string> = {}): Map<string, string> {
  const folders = new Map<string, string>();
  for (const volume of pod.spec.volumes ?? []) {
    const folder = shared[volume.name] ?? path.join(root, volume.name);
    mkdirSync(folder, { recursive: true });
    writeVolume(volume, folder, objects);
    folders.set(volume.name, folder);
  }
  return folders;
}

function writeVolume(volume: IVolume, folder: string, objects: K8sObject[]): void {
  const source = volume.secret !== undefined ? { data: secretData(objects, volume.secret.secretName ?? ''), items: volume.secret.items } : volume.configMap !== undefined ? { data: configMapData(objects, volume.configMap.name ?? ''), items: volume.configMap.items } : undefined;
  if (source === undefined) return; // emptyDir, persistentVolumeClaim: an empty (or shared) folder
  const items = source.items ?? Object.keys(source.data).map((key) => ({ key, path: key }));
  for (const item of items) {
    const value = source.data[item.key];
    if (value === undefined) throw new Error(`volume ${volume.name}: no key ${item.key}`);
    mkdirSync(path.dirname(path.join(folder, item.path)), { recursive: true });
    writeFileSync(path.join(folder, item.path), value);
  }
}

/** Rewrites a path inside the container to the folder of the volume mounted there (longest mount first). */
export function mapPath(value: string, container: IContainer, folders: Map<string, string>): string {
  const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => b.mountPath.length - a.mountPath.length);
  for (const mount of mounts) {
    if (value === mount.mountPath || value.startsWith(`${mount.mountPath}/`)) {
      const folder = folders.get(mount.name);
      if (folder === undefined) throw new Error(`volumeMount ${mount.name} names no volume of the pod`);
      return path.join(folder, mount.subPath ?? '', value.slice(mount.mountPath.length));
    }
  }
  return value;
}

export interface ContainerProcess {
  /** The container's command line: ENTRYPOINT/command, then CMD/args, as Kubernetes combines them. */
  argv: string[];
  /** Image ENV under the pod's environment. */
  env: Record<string, string>;
}

/**
 * The process the container runs: `command` replaces the image's ENTRYPOINT and `args`
 * its CMD (giving only `args` keeps the ENTRYPOINT); both are expanded with $(VAR).
 */
export function containerProcess(pod: JobPod, containerName: string, image: ImageConfig, objects: K8sObject[]): ContainerProcess {
  const container = pod.spec.containers.find((c) => c.name === containerName);
  if (container === undefined) throw new Error(`the pod has no container ${containerName}`);
  const podEnv = containerEnv(pod, container, objects);
  const entrypoint = container.command ?? image.entrypoint ?? [];
  const args = container.args ?? (container.command !== undefined ? [] : image.cmd ?? []);
  const argv = [...entrypoint.map((a) => (container.command !== undefined ? expand(a, podEnv) : a)), ...args.map((a) => (container.args !== undefined ? expand(a, podEnv) : a))];
  return { argv, env: { ...image.env, ...podEnv } };
}

/** The Job whose name starts with `prefix`, with its container of that name. */
export function jobContainer(objects: K8sObject[], prefix: string, containerName: string): { job: IJob; container: IContainer } {
  const job = one(kinds(objects).jobs, prefix);
  const container = job.spec?.template.spec?.containers.find((c) => c.name === containerName);
  if (container === undefined) throw new Error(`Job ${job.metadata?.name} has no container ${containerName}`);
  return { job, container };
}
