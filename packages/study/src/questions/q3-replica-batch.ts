import { categoryChart } from '../charts.js';
import { compareArms, effect, sampleSizes, sentence, type Comparison } from '../compare.js';
import { percentMeanStd } from '../format.js';
import { chart, findings, paragraph, table } from '../report-document.js';
import { baseArm, type ArmConfig } from '../run-config.js';
import { armCells, ARM_COLUMNS, seedRows } from './arm-table.js';
import type { Arm, Question } from './question.js';

function localArm(globalBatch: number, bnBatch: number): ArmConfig {
  return { ...baseArm(globalBatch), bnBatch };
}

function noBnArm(globalBatch: number): ArmConfig {
  return { ...baseArm(globalBatch), bnPlacement: 'none' };
}

const SYNC_LABEL = 'SyncBN (64)';
const NO_BN_LABEL = 'no BN';

export const replicaBatchQuestion: Question = {
  id: 'q3-replica-batch',
  title: '3. Per-replica batch 2, 4, 8, 16 at a global batch of 64: local BN against SyncBN',
  short: 'per-replica batch, local BN against SyncBN',
  arms(settings): Arm[] {
    return [
      ...settings.perReplicaBatches.map((b) => ({ label: `local BN, ${b} per replica`, config: localArm(settings.globalBatch, b) })),
      // SyncBN over all replicas normalizes over the whole global batch.
      { label: SYNC_LABEL, config: localArm(settings.globalBatch, settings.globalBatch) },
      { label: NO_BN_LABEL, config: noBnArm(settings.globalBatch) },
    ];
  },
  analyze(results, settings) {
    const g = settings.globalBatch;
    const sync = results.sample(`SyncBN over ${g}`, localArm(g, g));
    const noBn = results.sample('no BN', noBnArm(g));
    const local = settings.perReplicaBatches.map((b) => {
      const s = results.sample(`local BN over ${b}`, localArm(g, b));
      return { b, sample: s, vsSync: compareArms(s, sync), vsNoBn: compareArms(s, noBn) };
    });
    const batchesWhere = (d: Comparison['direction']): number[] => local.filter((l) => l.vsSync.direction === d).map((l) => l.b);
    const lists = (['lower', 'unresolved', 'higher'] as const).map((d) => ({ d, batches: batchesWhere(d) })).filter((x) => x.batches.length > 0);
    // Each comparison's difference and interval are in the table and the findings; the headline groups them by the interval's verdict.
    const n = local[0] === undefined ? '' : ` at ${sampleSizes(local[0].vsSync)}`;
    const wording = { lower: 'below', unresolved: `not resolved against`, higher: 'above' } as const;
    const parts = lists.map((x, i) => {
      const batches = `per-replica batch ${x.batches.join(', ')}${x.d === 'unresolved' ? n : ''}`;
      return i === 0 ? `local BN was ${wording[x.d]} SyncBN at ${batches}` : `${wording[x.d]} it at ${batches}`;
    });
    const recovers =
      batchesWhere('lower').length > 0
        ? `SyncBN normalizes over all ${g} samples whatever the per-replica batch, so it recovers the large-batch result ` +
          `(${percentMeanStd(sync.values)} %) where local BN fell short`
        : `no per-replica batch was shown to be hurt by local BN (95 % CI below 0), so this budget shows nothing for SyncBN to recover`;
    const headline = sentence(`${parts.join('; ')}; ${recovers}`);
    const smallest = local[0];
    const belowNoBn = smallest === undefined ? [] : [sentence(`At ${smallest.b} per replica, local BN against no BN: ${smallest.vsNoBn.sentence}`)];
    const rows = [
      ...local.map((l) => {
        return [`${l.b}`, `${g / l.b}`, 'local', ...armCells(results.runs(localArm(g, l.b))), effect(l.vsSync)];
      }),
      [`${g}`, 'any', 'SyncBN', ...armCells(results.runs(localArm(g, g))), '—'],
      ['—', '—', 'no BN', ...armCells(results.runs(noBnArm(g))), effect(compareArms(noBn, sync))],
    ];
    const order = [...settings.perReplicaBatches.map(String), SYNC_LABEL, NO_BN_LABEL];
    return {
      headline,
      section: {
        id: this.id,
        title: this.title,
        blocks: [
          paragraph(
            `${g / (settings.perReplicaBatches[0] ?? 1)} replica threads are not feasible on 2 cores, but the mathematics of P = ${g}/b replicas ` +
              `with local BN is computed exactly in one thread (see the method). BN before relu, Adam 0.001. SyncBN at any per-replica batch ` +
              `computes BN over the ${g} samples of the global batch, which the project's equivalence tests prove equal to plain BN on the ` +
              `whole batch, so one SyncBN arm stands for every per-replica batch.`,
          ),
          table({ caption: 'Test accuracy by per-replica batch', columns: ['per-replica batch', 'replicas', 'BN', ...ARM_COLUMNS, 'vs SyncBN'], rows }),
          chart(
            categoryChart({
              id: 'q3-replica-batch',
              title: 'Test accuracy by the batch BN normalizes over (mean ± std over trained runs; dots: every seed)',
              rows: [
                ...settings.perReplicaBatches.flatMap((b) => seedRows({ batch: String(b), kind: 'local BN' }, results.runs(localArm(g, b)))),
                ...seedRows({ batch: SYNC_LABEL, kind: 'SyncBN' }, results.runs(localArm(g, g))),
                ...seedRows({ batch: NO_BN_LABEL, kind: 'no BN' }, results.runs(noBnArm(g))),
              ],
              x: { field: 'batch', title: 'samples per BN normalization (per-replica batch)', order },
              y: { field: 'accuracy', title: 'test accuracy (%)' },
              color: { field: 'kind', title: 'BN', order: ['local BN', 'SyncBN', 'no BN'] },
              offset: false,
            }),
          ),
          findings([headline, ...local.map((l) => sentence(l.vsSync.sentence)), ...belowNoBn]),
        ],
      },
    };
  },
};
