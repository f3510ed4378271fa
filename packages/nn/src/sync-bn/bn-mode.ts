import { NnError } from '../errors.js';

/**
 * How batch-norm statistics are shared: `local` (each replica its own shard's), `sync`
 * (all ranks), or `sync:K` (groups of K consecutive ranks, e.g. the ranks of one machine).
 */
export type BnMode = { kind: 'local' } | { kind: 'sync' } | { kind: 'groups'; size: number };

export const BN_MODE_HELP = 'local | sync | sync:K';

export function parseBnMode(text: string): BnMode {
  if (text === 'local') return { kind: 'local' };
  if (text === 'sync') return { kind: 'sync' };
  const match = /^sync:(\d+)$/.exec(text);
  if (match !== null) {
    const size = Number(match[1]);
    if (size >= 1) return { kind: 'groups', size };
  }
  throw new NnError('NN_ERR_BAD_OPTION', `batch-norm mode must be ${BN_MODE_HELP} (K >= 1), got "${text}"`);
}

export function formatBnMode(mode: BnMode): string {
  return mode.kind === 'groups' ? `sync:${mode.size}` : mode.kind;
}

/**
 * The global ranks whose statistics `rank` merges, out of `worldSize` ranks. With
 * sync:K the last group may be smaller when K does not divide the world size.
 */
export function bnGroupRanks(mode: BnMode, rank: number, worldSize: number): number[] {
  switch (mode.kind) {
    case 'local':
      return [rank];
    case 'sync':
      return Array.from({ length: worldSize }, (_, i) => i);
    case 'groups': {
      const start = Math.floor(rank / mode.size) * mode.size;
      return Array.from({ length: Math.min(mode.size, worldSize - start) }, (_, i) => start + i);
    }
  }
}
