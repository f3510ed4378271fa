import type { BudgetSettings } from '../budget.js';
import { categoryChart } from '../charts.js';
import { budgetDataSizes } from '../estimate.js';
import { compareArms, effect, sampleSizes, sentence, type Comparison } from '../compare.js';
import { count } from '../format.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import { armCells, ARM_COLUMNS, seedRows } from './arm-table.js';
import type { Arm, Question } from './question.js';


type Mode = 'local' | 'group' | 'sync' | 'none';
const MODES: readonly Mode[] = ['local', 'group', 'sync', 'none'];

function modeLabel(mode: Mode, settings: BudgetSettings): string {
  const k = settings.syncGroupSize;
  return { local: 'local BN', group: `SyncBN in groups of ${k} (sync:${k})`, sync: 'SyncBN', none: 'no BN' }[mode];
}

/** Samples each BN normalization of a training step sees. */
function normalizedOver(mode: Mode, b: number, settings: BudgetSettings): string {
  return { local: `${b}`, group: `${b * settings.syncGroupSize}`, sync: `${b * settings.replicaThreads}`, none: '—' }[mode];
}

/**
 * One run on `replicaThreads` real rank threads, `b` samples each, for `replicaSteps` steps;
 * the model has BN on its hidden dense layer too (a sample gives it one value per channel).
 */
export function replicaArm(settings: BudgetSettings, b: number, mode: Mode): ArmConfig {
  const threads = settings.replicaThreads;
  const samplesSeen = settings.replicaSteps * threads * b;
  const epochs = Math.max(1, Math.ceil(samplesSeen / budgetDataSizes(settings).train));
  const bnMode = { local: 'local', group: `sync:${settings.syncGroupSize}`, sync: 'sync', none: 'local' }[mode];
  return {
    ...baseArm(threads * b),
    network: 'cnn-dense-bn',
    bnPlacement: mode === 'none' ? 'none' : 'before',
    epochs,
    maxSteps: settings.replicaSteps,
    ranks: { threads, perReplicaBatch: b, bnMode },
  };
}

export const replicaBatchQuestion: Question = {
  id: 'q3-replica-batch',
  title: '3. Small per-replica batches on real rank threads: local BN, grouped SyncBN and SyncBN',
  short: 'per-replica batch, local BN against SyncBN',
  arms(settings): Arm[] {
    return settings.perReplicaBatches.flatMap((b) =>
      MODES.map((mode) => ({ label: `${modeLabel(mode, settings)}, ${b} per replica`, config: replicaArm(settings, b, mode) })),
    );
  },
  analyze(results, settings) {
    const threads = settings.replicaThreads;
    const sample = (b: number, mode: Mode): ReturnType<typeof results.sample> =>
      results.sample(`${modeLabel(mode, settings)} at ${b} per replica`, replicaArm(settings, b, mode));
    // The arms of one per-replica batch share seeds, hence initial weights and sample order: paired comparisons.
    const rows = settings.perReplicaBatches.map((b) => ({
      b,
      localVsSync: compareArms(sample(b, 'local'), sample(b, 'sync'), { paired: true }),
      groupVsSync: compareArms(sample(b, 'group'), sample(b, 'sync'), { paired: true }),
      localVsNone: compareArms(sample(b, 'local'), sample(b, 'none'), { paired: true }),
    }));
    type Row = (typeof rows)[number];
    const where = (pick: (r: Row) => Comparison, d: Comparison['direction']): number[] => rows.filter((r) => pick(r).direction === d).map((r) => r.b);
    const n = rows[0] === undefined ? '' : sampleSizes(rows[0].localVsSync);
    const list = (bs: number[]): string => `per-replica batch ${bs.join(', ')}`;
    const lower = where((r) => r.localVsSync, 'lower');
    const higher = where((r) => r.localVsSync, 'higher');
    const unresolved = where((r) => r.localVsSync, 'unresolved');
    const parts = [
      ...(lower.length > 0 ? [`local BN was below SyncBN (95 % CI below 0) at ${list(lower)}`] : []),
      ...(higher.length > 0 ? [`above it at ${list(higher)}`] : []),
      ...(unresolved.length > 0 ? [`not resolved against it at ${n} at ${list(unresolved)}`] : []),
    ];
    const groupLower = where((r) => r.groupVsSync, 'lower');
    const groups =
      groupLower.length > 0
        ? `SyncBN in groups of ${settings.syncGroupSize} stayed below full SyncBN at ${list(groupLower)}`
        : `SyncBN in groups of ${settings.syncGroupSize} was not shown below full SyncBN at any per-replica batch`;
    const headline = sentence(`${parts.length === 0 ? 'No comparison of local BN with SyncBN' : parts.join('; ')}; ${groups}`);
    const tableRows = settings.perReplicaBatches.flatMap((b) =>
      MODES.map((mode) => {
        const vsSync = mode === 'local' || mode === 'group' ? effect(compareArms(sample(b, mode), sample(b, 'sync'), { paired: true })) : '—';
        const cells = armCells(results.runs(replicaArm(settings, b, mode)));
        return [`${b}`, `${threads * b}`, modeLabel(mode, settings), normalizedOver(mode, b, settings), ...cells, vsSync];
      }),
    );
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            `Every run trains on ${threads} real rank threads (runLocalJob of @tfjs-ddp/worker, the real SyncBN layer), each with b samples ` +
              `a step (global batch ${threads}b), for ${count(settings.replicaSteps, 'step')}, Adam 0.001. The model is the study's CNN with BN before ` +
              `the activation after both convolutions and after the hidden dense layer: a sample gives a conv channel 28×28 or 14×14 values ` +
              `but the dense layer's channels one each, so that is where a small b bites (at b = 1, local BN sets the dense layer's output ` +
              `to its β in training). At each b the arms share the seed's initial weights, sample order and global batch and differ only ` +
              `in the samples each BN normalizes over: b (local), ${settings.syncGroupSize}b (sync:${settings.syncGroupSize}) or ${threads}b ` +
              `(SyncBN); no BN is the same network without BN. Test time uses rank 0's moving statistics (no recalibration). What this ` +
              `cannot show: across b the global batch and the samples seen change with b (fixed steps keep the cost equal), so compare ` +
              `arms within a b, not across; and ${threads} threads on 2 cores measure accuracy, not speed.`,
          ),
          table({
            caption: 'Test accuracy by per-replica batch and BN mode',
            columns: ['per-replica batch b', 'global batch', 'BN', 'samples per normalization', ...ARM_COLUMNS, 'vs SyncBN (paired)'],
            rows: tableRows,
          }),
          chart(
            categoryChart({
              id: 'q3-replica-batch',
              title: 'Test accuracy by per-replica batch and BN mode (mean ± std over trained runs; dots: every seed)',
              rows: settings.perReplicaBatches.flatMap((b) =>
                MODES.flatMap((mode) => seedRows({ batch: String(b), kind: modeLabel(mode, settings) }, results.runs(replicaArm(settings, b, mode)))),
              ),
              x: { field: 'batch', title: 'per-replica batch b', order: settings.perReplicaBatches.map(String) },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'kind', title: 'BN', order: MODES.map((m) => modeLabel(m, settings)) },
            }),
          ),
          findings([
            headline,
            ...rows.map((r) => sentence(r.localVsSync.sentence)),
            ...rows.map((r) => sentence(r.groupVsSync.sentence)),
            ...rows.map((r) => sentence(r.localVsNone.sentence)),
          ]),
        ],
      },
    };
  },
};
