import * as tf from '@tensorflow/tfjs';
import { WasmFlatUpdate, type FlatUpdateRule, type HeapFloats } from '@tfjs-ddp/backend';
import { OPTIMIZER_NAMES, type OptimizerConfig, type OptimizerName } from '@tfjs-ddp/protocol';
import { TrainerError } from './errors.js';

export { OPTIMIZER_NAMES };
export type { OptimizerName };

/** An optimizer by name, with tfjs's own argument names and defaults (sgd and momentum 0.01, adam 0.001). */
export type OptimizerSpec = OptimizerConfig;

export const DEFAULT_LEARNING_RATE: Record<OptimizerName, number> = { sgd: 0.01, momentum: 0.01, adam: 0.001 };

export function isOptimizerName(name: string): name is OptimizerName {
  return (OPTIMIZER_NAMES as readonly string[]).includes(name);
}

/**
 * An optimizer whose whole state is a fixed list of variables, created up front: a
 * replica can snapshot it before a step and roll back an aborted one, send it to a rank
 * that joins, and checkpoint it. tfjs's optimizers create their slots lazily and
 * rebuild Adam's bias-correction powers from the iteration count on setWeights (other
 * bits than the running product), so these re-implement tfjs's update rules op for op;
 * a test checks they match tfjs's own optimizers bit for bit.
 */
export interface TrainingOptimizer {
  readonly name: OptimizerName;
  /**
   * Applies one gradient per variable, in the variables' order, at `learningRate` (this
   * step's rate from the schedule; default: the spec's rate). With weight decay wd > 0,
   * every variable also decays decoupled from the gradient (AdamW, Loshchilov & Hutter):
   * w <- w - lr * wd * w, from the weight before the update.
   */
  apply(gradients: readonly tf.Tensor[], learningRate?: number): void;
  /**
   * The same update from the gradient summed over `count` samples, flat in the variables'
   * order: mean = summed / count, times `scale` when scale < 1, then `apply`'s rule. On
   * wasm it runs as one C pass per variable in place (no tensor, no op), to the same bits
   * as `apply` of that mean; returns false where it cannot (another backend, or a variable
   * sharing its data with another tensor), having changed nothing.
   */
  applySummed(summed: Float32Array | HeapFloats, count: number, scale: number, learningRate?: number): boolean;
  /** The state variables, in a fixed order. */
  readonly state: readonly tf.Variable[];
  dispose(): void;
}

/** The spec's learning rate, its optimizer's default filled in. */
export function learningRateOf(spec: OptimizerSpec): number {
  const learningRate = spec.learningRate ?? DEFAULT_LEARNING_RATE[spec.name];
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new TrainerError('TRAINER_ERR_BAD_OPTION', `learning rate must be a positive number, got ${learningRate}`);
  }
  return learningRate;
}

function checkName(spec: OptimizerSpec): void {
  if (!isOptimizerName(spec.name)) {
    throw new TrainerError('TRAINER_ERR_BAD_OPTION', `unknown optimizer "${spec.name}"; allowed: ${OPTIMIZER_NAMES.join(', ')}`);
  }
}

function zerosVariables(variables: readonly tf.Variable[]): tf.Variable[] {
  return variables.map((v) => tf.tidy(() => tf.zerosLike(v).variable(false)));
}

/** tfjs's own optimizer for a spec (the reference the tests compare with, and for compile()). */
export function createTfjsOptimizer(spec: OptimizerSpec): tf.Optimizer {
  checkName(spec);
  const learningRate = learningRateOf(spec);
  switch (spec.name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, spec.momentum ?? 0.9, spec.useNesterov ?? false);
    case 'adam':
      return tf.train.adam(learningRate, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon);
  }
}

/**
 * An optimizer of `spec` for `variables` (the trainable variables, in gradient order),
 * with decoupled weight decay `weightDecay` (0: none, the very ops of tfjs's optimizer).
 */
export function createOptimizer(spec: OptimizerSpec, variables: readonly tf.Variable[], weightDecay = 0): TrainingOptimizer {
  checkName(spec);
  const learningRate = learningRateOf(spec);
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
    throw new TrainerError('TRAINER_ERR_BAD_OPTION', `weight decay must be a number >= 0, got ${weightDecay}`);
  }
  const rules = { learningRate, weightDecay };
  switch (spec.name) {
    case 'sgd':
      return sgd(rules, variables);
    case 'momentum':
      return momentum(rules, spec.momentum ?? 0.9, spec.useNesterov ?? false, variables);
    case 'adam':
      return adam(rules, spec.beta1 ?? 0.9, spec.beta2 ?? 0.999, spec.epsilon ?? tf.backend().epsilon(), variables);
  }
}

interface UpdateRules {
  /** The spec's rate, used when a step names none. */
  learningRate: number;
  weightDecay: number;
}

/**
 * The weight that the update adds to: w - lr * wd * w with decay, else w itself (no op at
 * all, so that without decay the update stays bit for bit tfjs's).
 */
function decayed(value: tf.Tensor, learningRate: number, weightDecay: number): tf.Tensor {
  return weightDecay > 0 ? tf.sub(value, tf.mul(value, learningRate * weightDecay)) : value;
}

/** `applySummed` over the fused update of `rule`, built on first use. */
function fusedApply(rule: FlatUpdateRule, rules: UpdateRules, tensors: ConstructorParameters<typeof WasmFlatUpdate>[1]) {
  let update: WasmFlatUpdate | undefined;
  return {
    applySummed(summed: Float32Array | HeapFloats, count: number, scale: number, learningRate = rules.learningRate): boolean {
      update ??= new WasmFlatUpdate(rule, tensors);
      return update.apply(summed, { learningRate, weightDecay: rules.weightDecay, count, scale });
    },
    dispose(): void {
      update?.dispose();
    },
  };
}

function sgd(rules: UpdateRules, variables: readonly tf.Variable[]): TrainingOptimizer {
  const fused = fusedApply({ kind: 'sgd' }, rules, { variables, slots: [], powers: [] });
  return {
    name: 'sgd',
    state: [],
    applySummed: fused.applySummed,
    apply(gradients, learningRate = rules.learningRate) {
      tf.tidy(() => {
        const c = tf.scalar(-learningRate);
        variables.forEach((value, i) => {
          const gradient = gradients[i] as tf.Tensor;
          tf.tidy(() => value.assign(tf.add(tf.mul(c, gradient), decayed(value, learningRate, rules.weightDecay))));
        });
      });
    },
    dispose: fused.dispose,
  };
}

function momentum(rules: UpdateRules, momentumValue: number, useNesterov: boolean, variables: readonly tf.Variable[]): TrainingOptimizer {
  const m = tf.keep(tf.scalar(momentumValue));
  const accumulations = zerosVariables(variables);
  const fused = fusedApply({ kind: 'momentum', momentum: momentumValue, nesterov: useNesterov }, rules, { variables, slots: accumulations, powers: [] });
  return {
    name: 'momentum',
    state: accumulations,
    applySummed: fused.applySummed,
    apply(gradients, learningRate = rules.learningRate) {
      tf.tidy(() => {
        const c = tf.scalar(-learningRate);
        variables.forEach((value, i) => {
          const accumulation = accumulations[i] as tf.Variable;
          const gradient = gradients[i] as tf.Tensor;
          tf.tidy(() => {
            const newAccumulation = tf.add(tf.mul(m, accumulation), gradient);
            const base = decayed(value, learningRate, rules.weightDecay);
            const newValue = useNesterov ? tf.add(tf.mul(c, tf.add(gradient, tf.mul(newAccumulation, m))), base) : tf.add(tf.mul(c, newAccumulation), base);
            accumulation.assign(newAccumulation);
            value.assign(newValue);
          });
        });
      });
    },
    dispose: () => {
      fused.dispose();
      tf.dispose([m, ...accumulations]);
    },
  };
}

function adam(rules: UpdateRules, beta1: number, beta2: number, epsilon: number, variables: readonly tf.Variable[]): TrainingOptimizer {
  const accBeta1 = tf.tidy(() => tf.scalar(beta1).variable(false));
  const accBeta2 = tf.tidy(() => tf.scalar(beta2).variable(false));
  const firstMoments = zerosVariables(variables);
  const secondMoments = zerosVariables(variables);
  const slots = [...firstMoments, ...secondMoments];
  const fused = fusedApply({ kind: 'adam', beta1, beta2, epsilon }, rules, { variables, slots, powers: [accBeta1, accBeta2] });
  return {
    name: 'adam',
    state: [accBeta1, accBeta2, ...firstMoments, ...secondMoments],
    applySummed: fused.applySummed,
    apply(gradients, learningRate = rules.learningRate) {
      tf.tidy(() => {
        const oneMinusAccBeta1 = tf.sub(1, accBeta1);
        const oneMinusAccBeta2 = tf.sub(1, accBeta2);
        variables.forEach((value, i) => {
          const gradient = gradients[i] as tf.Tensor;
          const firstMoment = firstMoments[i] as tf.Variable;
          const secondMoment = secondMoments[i] as tf.Variable;
          const newFirstMoment = tf.add(tf.mul(firstMoment, beta1), tf.mul(gradient, 1 - beta1));
          const newSecondMoment = tf.add(tf.mul(secondMoment, beta2), tf.mul(tf.square(gradient), 1 - beta2));
          const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
          const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
          firstMoment.assign(newFirstMoment);
          secondMoment.assign(newSecondMoment);
          const base = decayed(value, learningRate, rules.weightDecay);
          const newValue = tf.add(tf.mul(tf.div(biasCorrectedFirstMoment, tf.add(tf.sqrt(biasCorrectedSecondMoment), epsilon)), -learningRate), base);
          value.assign(newValue);
        });
        accBeta1.assign(tf.mul(accBeta1, beta1));
        accBeta2.assign(tf.mul(accBeta2, beta2));
      });
    },
    dispose: () => {
      fused.dispose();
      tf.dispose([accBeta1, accBeta2, ...firstMoments, ...secondMoments]);
    },
  };
}
