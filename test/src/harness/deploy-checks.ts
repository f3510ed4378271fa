import path from 'node:path';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IContainer, IContainerPort, IService } from 'kubernetes-models/v1';
import { cliHelp } from './cli-help.js';
import type { ImageConfig } from './dockerfile.js';
import { kinds, validateObject, type K8sObject } from './k8s-manifests.js';
import { containerProcess, jobPod, type ContainerProcess, type JobPod } from './pod-process.js';

/**
 * The checks a schema cannot make: that the rendered objects of an overlay fit together and
 * fit the CLI they run. Each returns problems as sentences (none: all is well), so a test can
 * assert both that the real overlays pass and that a deliberately broken one does not.
 */

/** A workload of the job: a Job whose container runs `tfjs-ddp <command>`. */
export interface Role {
  command: 'coordinator' | 'worker';
  job: IJob;
  container: IContainer;
  /** One pod per completion index (one pod for a non-indexed Job), with its process. */
  pods: { pod: JobPod; process: ContainerProcess }[];
}

export interface DeployFacts {
  objects: K8sObject[];
  image: ImageConfig;
  roles: Role[];
}

/** The `tfjs-ddp` subcommand and its arguments in a container's command line. */
export function cliArgs(argv: string[]): { command: string; args: string[] } | undefined {
  const at = argv.findIndex((a) => path.basename(a) === 'tfjs-ddp');
  const command = argv[at + 1];
  return at < 0 || command === undefined ? undefined : { command, args: argv.slice(at + 2) };
}

/** The value the CLI ends up with for a flag: its argument, else its variable, else its default (commander's order). */
export function effective(process: ContainerProcess, flag: string): string | undefined {
  const cli = cliArgs(process.argv);
  if (cli === undefined) throw new Error(`not a tfjs-ddp command line: ${process.argv.join(' ')}`);
  const option = cliHelp(cli.command).option(flag);
  if (option === undefined) throw new Error(`tfjs-ddp ${cli.command} has no ${flag}`);
  let value: string | undefined;
  cli.args.forEach((arg, i) => {
    if (arg === flag) value = cli.args[i + 1];
    else if (arg.startsWith(`${flag}=`)) value = arg.slice(flag.length + 1);
  });
  return value ?? (option.env !== undefined ? process.env[option.env] : undefined) ?? option.defaultValue;
}

/** The roles of a rendered overlay, each pod's process built as the kubelet would build it. */
export function deployFacts(objects: K8sObject[], image: ImageConfig): DeployFacts {
  const roles: Role[] = [];
  for (const job of kinds(objects).jobs) {
    const spec = job.spec?.template.spec;
    for (const container of spec?.containers ?? []) {
      const count = job.spec?.completionMode === 'Indexed' ? (job.spec.completions ?? 1) : 1;
      const pods = Array.from({ length: count }, (_, index) => {
        const pod = jobPod(job, { index: job.spec?.completionMode === 'Indexed' ? index : undefined, podIP: `10.0.0.${10 + index}` });
        return { pod, process: containerProcess(pod, container.name, image, objects) };
      });
      const command = cliArgs(pods[0]?.process.argv ?? [])?.command;
      if (command === 'coordinator' || command === 'worker') roles.push({ command, job, container, pods });
    }
  }
  return { objects, image, roles };
}

export function role(facts: DeployFacts, command: Role['command']): Role {
  const found = facts.roles.filter((r) => r.command === command);
  if (found.length !== 1) throw new Error(`expected one Job running tfjs-ddp ${command}, found ${found.length}`);
  return found[0] as Role;
}

function podLabels(r: Role): Record<string, string> {
  return r.pods[0]?.pod.labels ?? {};
}

function selects(service: IService, labels: Record<string, string>): boolean {
  const selector = Object.entries(service.spec?.selector ?? {});
  return selector.length > 0 && selector.every(([k, v]) => labels[k] === v);
}

/** The container port a Service targetPort or probe port (a name or a number) means. */
function containerPortOf(container: IContainer, port: number | string | undefined): IContainerPort | undefined {
  return (container.ports ?? []).find((p) => (typeof port === 'string' ? p.name === port : p.containerPort === port));
}

export function schemaProblems(objects: K8sObject[]): string[] {
  return objects.flatMap((o) => {
    try {
      validateObject(o);
      return [];
    } catch (error) {
      return [(error as Error).message];
    }
  });
}

/** Services select the pods they are for, and their ports lead to the ports the CLI listens on. */
export function serviceProblems(facts: DeployFacts): string[] {
  const problems: string[] = [];
  const coordinator = role(facts, 'coordinator');
  const worker = role(facts, 'worker');
  const { services } = kinds(facts.objects);
  for (const service of services) {
    const name = service.metadata?.name ?? '';
    const selected = facts.roles.filter((r) => selects(service, podLabels(r)));
    if (selected.length !== 1) problems.push(`Service ${name} selects ${selected.length} workloads (${selected.map((r) => r.command).join(', ') || 'none'}); it must select one`);
  }
  // The coordinator's Service, as the workers name it in their coordinator URL.
  const url = new URL(effective(worker.pods[0]?.process as ContainerProcess, '--coordinator') ?? 'ws://missing');
  const serviceName = url.hostname.split('.')[0] ?? '';
  const service = services.find((s) => s.metadata?.name === serviceName);
  if (service === undefined) {
    problems.push(`the workers' coordinator URL ${url.href} names no Service`);
  } else {
    if (!selects(service, podLabels(coordinator))) problems.push(`Service ${serviceName} (the workers' coordinator URL) does not select the coordinator pods`);
    const port = (service.spec?.ports ?? []).find((p) => p.port === Number(url.port || 80));
    const listen = Number(effective(coordinator.pods[0]?.process as ContainerProcess, '--port'));
    if (port === undefined) problems.push(`Service ${serviceName} has no port ${url.port} (the workers' coordinator URL)`);
    else if (containerPortOf(coordinator.container, port.targetPort ?? port.port)?.containerPort !== listen) {
      problems.push(`Service ${serviceName} port ${port.port} leads to container port ${String(port.targetPort)}, but the coordinator listens on ${listen}`);
    }
  }
  const listen = Number(effective(coordinator.pods[0]?.process as ContainerProcess, '--port'));
  if (!(coordinator.container.ports ?? []).some((p) => p.containerPort === listen)) problems.push(`the coordinator listens on ${listen}, which its container does not declare`);
  // Liveness: the event loop answers (/healthz); readiness: the job makes progress (/readyz).
  for (const [kind, probe, wanted] of [['readiness', coordinator.container.readinessProbe, '/readyz'], ['liveness', coordinator.container.livenessProbe, '/healthz']] as const) {
    if (probe?.httpGet === undefined) problems.push(`the coordinator has no ${kind} probe over HTTP`);
    else {
      if (probe.httpGet.path !== wanted) problems.push(`the coordinator's ${kind} probe asks ${probe.httpGet.path}, not ${wanted}`);
      if (containerPortOf(coordinator.container, probe.httpGet.port)?.containerPort !== listen) problems.push(`the coordinator's ${kind} probe port ${String(probe.httpGet.port)} is not the port it listens on (${listen})`);
    }
  }
  // Workers: their ring peer port is declared and is the headless Service's.
  const peerPort = Number(effective(worker.pods[0]?.process as ContainerProcess, '--peer-port'));
  if (peerPort === 0) problems.push('workers listen for ring peers on a random port (--peer-port 0): no port can be declared for it');
  if (!(worker.container.ports ?? []).some((p) => p.containerPort === peerPort)) problems.push(`workers listen for ring peers on ${peerPort}, which their container does not declare`);
  for (const r of [coordinator, worker]) {
    for (const p of r.container.ports ?? []) if (!facts.image.expose.includes(p.containerPort)) problems.push(`the ${r.command}'s port ${p.containerPort} is not EXPOSEd by the image`);
  }
  return problems;
}

/** Every variable is one the CLI reads (or feeds one that it reads), every flag is one it has. */
export function environmentProblems(facts: DeployFacts): string[] {
  const problems: string[] = [];
  for (const r of facts.roles) {
    const help = cliHelp(r.command);
    const { process } = r.pods[0] as { process: ContainerProcess };
    const defined = [...(r.container.env ?? []).map((e) => e.name)];
    for (const source of r.container.envFrom ?? []) {
      const map = kinds(facts.objects).configMaps.find((c) => c.metadata?.name === source.configMapRef?.name);
      defined.push(...Object.keys(map?.data ?? {}).map((k) => `${source.prefix ?? ''}${k}`));
    }
    const references = [...(r.container.env ?? []).map((e) => e.value ?? ''), ...(r.container.args ?? []), ...(r.container.command ?? [])].join(' ');
    for (const name of defined) {
      if (name.startsWith('TFJS_DDP_')) {
        if (!help.envVars.has(name)) problems.push(`the ${r.command} is given ${name}, which \`tfjs-ddp ${r.command}\` does not read`);
      } else if (!references.includes(`$(${name})`)) {
        problems.push(`the ${r.command} is given ${name}, which neither the CLI reads nor another variable uses`);
      }
    }
    const args = cliArgs(process.argv)?.args ?? [];
    args.forEach((arg, i) => {
      if (!arg.startsWith('--')) {
        // A value must follow a flag that takes one; anything else is a stray argument.
        const flag = args[i - 1];
        if (flag === undefined || !flag.startsWith('--') || flag.includes('=') || help.option(flag)?.takesValue === false) problems.push(`the ${r.command} runs with the stray argument ${arg}`);
        return;
      }
      const flag = arg.split('=')[0] as string;
      const option = help.option(flag);
      if (option === undefined) {
        problems.push(`the ${r.command} runs with ${flag}, which \`tfjs-ddp ${r.command}\` does not have`);
      } else if (option.takesValue && !arg.includes('=') && (args[i + 1] === undefined || args[i + 1]?.startsWith('--') === true)) {
        problems.push(`the ${r.command} runs with ${flag} without its value`);
      }
    });
    for (const [name, value] of Object.entries(process.env)) if (/\$\([A-Za-z_]/.test(value)) problems.push(`the ${r.command}'s ${name} keeps an unresolved reference: ${value}`);
    for (const arg of process.argv) if (/\$\([A-Za-z_]/.test(arg)) problems.push(`the ${r.command}'s argument ${arg} keeps an unresolved reference`);
    // Service links (on unless disabled) would define <SERVICE>_PORT, <SERVICE>_SERVICE_HOST, ...
    if (r.job.spec?.template.spec?.enableServiceLinks !== false) {
      for (const service of kinds(facts.objects).services) {
        if (service.spec?.clusterIP === 'None') continue;
        const prefix = (service.metadata?.name ?? '').toUpperCase().replace(/-/g, '_');
        const linked = [
          `${prefix}_SERVICE_HOST`,
          `${prefix}_SERVICE_PORT`,
          `${prefix}_PORT`,
          ...(service.spec?.ports ?? []).flatMap((p) => {
            const proto = `${prefix}_PORT_${p.port}_${p.protocol ?? 'TCP'}`;
            return [proto, `${proto}_PROTO`, `${proto}_PORT`, `${proto}_ADDR`, ...(p.name !== undefined ? [`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] : [])];
          }),
        ];
        for (const name of linked) if (help.envVars.has(name)) problems.push(`Service ${service.metadata?.name} would set ${name} in the ${r.command}'s environment, which the CLI reads`);
      }
    }
  }
  return problems;
}

/** The token file the CLI is told to read is a key of the job's Secret, mounted there. */
export function tokenProblems(facts: DeployFacts): string[] {
  const problems: string[] = [];
  for (const r of facts.roles) {
    const { process } = r.pods[0] as { process: ContainerProcess };
    const file = effective(process, '--token-file');
    if (file === undefined) {
      if (process.env['TFJS_DDP_TOKEN'] === undefined) problems.push(`the ${r.command} is given no token (--token-file or TFJS_DDP_TOKEN)`);
      continue;
    }
    const mount = (r.container.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
    const volume = r.job.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    const secret = kinds(facts.objects).secrets.find((s) => s.metadata?.name === volume?.secret?.secretName);
    if (mount === undefined || volume?.secret === undefined || secret === undefined) {
      problems.push(`the ${r.command}'s token file ${file} is not in a mounted Secret`);
      continue;
    }
    const inside = file.slice(mount.mountPath.length + 1);
    const key = volume.secret.items === undefined ? inside : volume.secret.items.find((i) => i.path === inside)?.key;
    if (key === undefined || secret.data?.[key] === undefined) problems.push(`the ${r.command} reads ${file}, but Secret ${secret.metadata?.name} has no key ${key ?? inside}`);
  }
  return problems;
}

/** Workers: an Indexed Job of TFJS_DDP_WORKERS pods, each advertising its stable DNS name. */
export function workerProblems(facts: DeployFacts): string[] {
  const problems: string[] = [];
  const coordinator = role(facts, 'coordinator');
  const worker = role(facts, 'worker');
  const spec = worker.job.spec;
  const expected = Number(effective(coordinator.pods[0]?.process as ContainerProcess, '--workers'));
  if (spec?.completionMode !== 'Indexed') problems.push('the worker Job is not Indexed');
  if (spec?.completions !== expected || spec.parallelism !== expected) problems.push(`the worker Job runs completions=${spec?.completions} parallelism=${spec?.parallelism}, but the coordinator waits for ${expected} workers`);
  const podSpec = spec?.template.spec;
  const headless = kinds(facts.objects).services.find((s) => s.metadata?.name === podSpec?.subdomain);
  if (headless === undefined || headless.spec?.clusterIP !== 'None') problems.push(`the worker pods' subdomain ${podSpec?.subdomain ?? '(none)'} is not a headless Service`);
  else if (!selects(headless, podLabels(worker))) problems.push(`the headless Service ${headless.metadata?.name} does not select the worker pods`);
  for (const { pod, process } of worker.pods) {
    const advertised = effective(process, '--advertise-host');
    const name = `${pod.hostname}.${podSpec?.subdomain}`;
    if (advertised !== name && !advertised?.startsWith(`${name}.`)) problems.push(`worker ${pod.hostname} advertises ${advertised}, not its DNS name ${name}`);
    if ((pod.hostname ?? '').length > 63) problems.push(`worker host name ${pod.hostname} is longer than a DNS label may be`);
  }
  const shm = (worker.container.volumeMounts ?? []).find((m) => m.mountPath === '/dev/shm');
  const volume = podSpec?.volumes?.find((v) => v.name === shm?.name);
  if (volume?.emptyDir?.medium !== 'Memory') problems.push('workers have no /dev/shm in memory (an emptyDir with medium Memory)');
  return problems;
}

/** Restarts fit the job: failures the CLI calls usage errors end the Job, disruptions are not counted. */
export function restartProblems(facts: DeployFacts): string[] {
  const problems: string[] = [];
  for (const r of facts.roles) {
    const spec = r.job.spec;
    const where = `the ${r.command} Job`;
    if (spec?.template.spec?.restartPolicy !== 'Never') problems.push(`${where}: restartPolicy must be Never for a podFailurePolicy`);
    const rules = spec?.podFailurePolicy?.rules ?? [];
    if (!rules.some((rule) => rule.action === 'FailJob' && rule.onExitCodes?.operator === 'In' && rule.onExitCodes.values.includes(2) && rule.onExitCodes.containerName === r.container.name)) {
      problems.push(`${where}: exit code 2 (the CLI's bad usage) does not fail the Job`);
    }
    if (!rules.some((rule) => rule.action === 'Ignore' && (rule.onPodConditions ?? []).some((c) => c.type === 'DisruptionTarget'))) problems.push(`${where}: disruptions (eviction, preemption) count as failures`);
    const ignores143 = (rule: (typeof rules)[number]): boolean =>
      rule.action === 'Ignore' && rule.onExitCodes?.operator === 'In' && rule.onExitCodes.values.includes(143) && rule.onExitCodes.containerName === r.container.name;
    if (!rules.some(ignores143)) problems.push(`${where}: exit 143 (SIGTERM, after a checkpoint or a clean leave) counts against the backoff limit`);
    if (spec?.podReplacementPolicy !== 'Failed') problems.push(`${where}: a replacement pod may start before the old one is gone`);
    const security = spec?.template.spec?.securityContext;
    const uid = Number(facts.image.user?.split(':')[0]);
    if (security?.runAsNonRoot !== true || security.runAsUser !== uid) problems.push(`${where}: pods must run as the image's non-root user ${uid}`);
  }
  const worker = role(facts, 'worker');
  if (worker.job.spec?.backoffLimitPerIndex === undefined) problems.push('the worker Job counts failures for all indexes together: one coordinator restart costs every worker a retry');
  const coordinator = role(facts, 'coordinator');
  const { process } = coordinator.pods[0] as { process: ContainerProcess };
  const args = cliArgs(process.argv)?.args ?? [];
  const resume = args[args.indexOf('--resume') + 1];
  const claimMounts = (coordinator.container.volumeMounts ?? []).filter((m) => coordinator.job.spec?.template.spec?.volumes?.some((v) => v.name === m.name && v.persistentVolumeClaim !== undefined));
  const onClaim = (dir: string | undefined): boolean => dir !== undefined && claimMounts.some((m) => dir === m.mountPath || dir.startsWith(`${m.mountPath}/`));
  const out = effective(process, '--out');
  const termGrace = Number(effective(process, '--term-grace'));
  const gracePeriod = coordinator.job.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
  if (!(gracePeriod > termGrace)) {
    problems.push(`the coordinator's terminationGracePeriodSeconds (${gracePeriod}) is not above its --term-grace (${termGrace}): SIGKILL may cut its checkpoint`);
  }
  if (!args.includes('--resume') || !onClaim(resume)) problems.push(`the coordinator does not --resume from a folder on a PersistentVolumeClaim (got ${resume ?? 'no --resume'})`);
  // Checkpoints are written under --out: a restarted coordinator must read them from there.
  if (args.includes('--resume') && resume !== out) problems.push(`the coordinator resumes from ${resume ?? '?'} but writes its checkpoints under --out ${out ?? '?'}`);
  if (!onClaim(out)) problems.push('the coordinator writes the trained model outside its PersistentVolumeClaim');
  for (const volume of coordinator.job.spec?.template.spec?.volumes ?? []) {
    const claim = volume.persistentVolumeClaim?.claimName;
    if (claim !== undefined && !kinds(facts.objects).claims.some((c) => c.metadata?.name === claim)) problems.push(`the coordinator mounts claim ${claim}, which is not among the objects`);
  }
  if (coordinator.job.spec?.template.spec?.securityContext?.fsGroup === undefined) problems.push('the coordinator pod has no fsGroup: its non-root user cannot write a fresh volume');
  return problems;
}

function cpus(quantity: string | number | undefined): number {
  if (quantity === undefined) return 0;
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** What the overlay is for: GPU workers with one GPU and one rank each, or CPU workers on wasm threads. */
export function hardwareProblems(facts: DeployFacts, kind: 'cpu' | 'gpu'): string[] {
  const problems: string[] = [];
  const worker = role(facts, 'worker');
  const coordinator = role(facts, 'coordinator');
  const { process } = worker.pods[0] as { process: ContainerProcess };
  const gpus = Number(worker.container.resources?.limits?.['nvidia.com/gpu'] ?? 0);
  const threads = Number(effective(process, '--threads'));
  const backend = effective(process, '--backend');
  if (kind === 'gpu') {
    if (gpus < 1) problems.push('GPU workers request no nvidia.com/gpu');
    if (threads !== gpus) problems.push(`GPU workers run ${threads} rank threads on ${gpus} GPU(s): a native backend hosts one rank per process`);
    if (backend !== 'node-gpu') problems.push(`GPU workers use backend ${backend}, not node-gpu`);
  } else {
    if (gpus > 0) problems.push('CPU workers request GPUs');
    if (backend !== 'wasm') problems.push(`CPU workers use backend ${backend}, not wasm`);
    const requested = cpus(worker.container.resources?.requests?.['cpu']);
    if (threads > Math.max(1, requested)) problems.push(`CPU workers run ${threads} rank threads on ${requested} requested core(s)`);
  }
  if (Number(coordinator.container.resources?.limits?.['nvidia.com/gpu'] ?? 0) > 0) problems.push('the coordinator asks for a GPU (it never loads tfjs)');
  return problems;
}
