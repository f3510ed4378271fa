import type { INetworkPolicy, INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1';
import type { IContainer } from 'kubernetes-models/v1';
import { effective, role, type DeployFacts, type Role } from './deploy-checks.js';
import type { ContainerProcess } from './pod-process.js';

/**
 * NetworkPolicy checks (issue 13): the coordinator's port and the workers' peer ports are
 * reachable only from the job's worker pods. For each role, some policy must select its
 * pods for Ingress, and every ingress rule of every policy that selects them must name
 * only worker pods as sources (no empty `from`, no ipBlock, no namespaceSelector) and
 * only the port the CLI listens on; and some rule must let the workers reach that port.
 */
function labelsOf(r: Role): Record<string, string> {
  return r.pods[0]?.pod.labels ?? {};
}

function matches(selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false;
  // Expressions are not evaluated here: a policy that needs them is reported, not guessed at.
  if ((selector.matchExpressions ?? []).length > 0) return false;
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function portNumber(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return (container.ports ?? []).find((p) => p.name === port)?.containerPort;
}

/** A source that is the job's worker pods and nothing else. */
function onlyWorkers(peer: INetworkPolicyPeer, worker: Role, coordinator: Role): boolean {
  if (peer.ipBlock !== undefined || peer.namespaceSelector !== undefined || peer.podSelector === undefined) return false;
  const selector = peer.podSelector.matchLabels ?? {};
  // Selects the workers and not the coordinator, and asks more than an empty selector (all pods).
  return Object.keys(selector).length > 0 && matches(peer.podSelector, labelsOf(worker)) && !matches(peer.podSelector, labelsOf(coordinator));
}

export function networkPolicyProblems(facts: DeployFacts): string[] {
  const problems: string[] = [];
  const policies = facts.objects.filter((o) => o.kind === 'NetworkPolicy') as unknown as INetworkPolicy[];
  const coordinator = role(facts, 'coordinator');
  const worker = role(facts, 'worker');
  const targets: [Role, string, number][] = [
    [coordinator, 'the coordinator port', Number(effective(coordinator.pods[0]?.process as ContainerProcess, '--port'))],
    [worker, 'the worker peer port', Number(effective(worker.pods[0]?.process as ContainerProcess, '--peer-port'))],
  ];
  for (const [r, what, listen] of targets) {
    const selecting = policies.filter((p) => matches(p.spec?.podSelector, labelsOf(r)) && (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress'));
    if (selecting.length === 0) {
      problems.push(`no NetworkPolicy selects the ${r.command} pods for Ingress: anything in the cluster can reach ${what}`);
      continue;
    }
    let workersAllowed = false;
    for (const policy of selecting) {
      const name = policy.metadata?.name ?? '?';
      for (const rule of policy.spec?.ingress ?? []) {
        const from = rule.from ?? [];
        if (from.length === 0) problems.push(`NetworkPolicy ${name} lets anyone reach the ${r.command} pods (an ingress rule without from)`);
        for (const peer of from) if (!onlyWorkers(peer, worker, coordinator)) problems.push(`NetworkPolicy ${name} lets more than the job's worker pods reach the ${r.command} pods`);
        const ports = (rule.ports ?? []).map((p) => portNumber(r.container, p.port));
        if (ports.length === 0) problems.push(`NetworkPolicy ${name} opens every port of the ${r.command} pods`);
        for (const port of ports) if (port !== listen) problems.push(`NetworkPolicy ${name} opens port ${String(port)} of the ${r.command} pods, not ${what} (${listen})`);
        if (from.some((peer) => onlyWorkers(peer, worker, coordinator)) && ports.includes(listen)) workersAllowed = true;
      }
    }
    if (!workersAllowed) problems.push(`no NetworkPolicy lets the worker pods reach ${what} (${listen})`);
  }
  return problems;
}
