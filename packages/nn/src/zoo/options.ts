/** Where batch normalization sits relative to the nonlinearity. */
export type BnPlacement = 'before' | 'after' | 'none';
export const BN_PLACEMENTS: readonly BnPlacement[] = ['before', 'after', 'none'];

/** tfjs's default momentum of BN moving statistics (as Keras's). */
export const DEFAULT_BN_MOMENTUM = 0.99;

export interface ZooOptions {
  /** Shape of one input sample. Default [28, 28, 1]. */
  inputShape?: readonly number[];
  /** Number of classes of the softmax output. Default 10. */
  numClasses?: number;
  /** Seed of the weight initializers; the same seed gives the same initial weights. Default 1. */
  seed?: number;
  /**
   * BN before the activation (conv -> BN -> relu, as in the BN paper), after it
   * (conv -> relu -> BN, where Keras examples often put it), or none. Default 'before'.
   */
  bnPlacement?: BnPlacement;
  /** Dropout rate after each pooling layer (CNNs) or hidden layer (mlp). Default per model. */
  dropout?: number;
  /**
   * Multiplies every initial conv and dense kernel (Glorot uniform) by this factor, to
   * study how a model copes with a worse initialization. Default 1 (plain Glorot uniform).
   */
  initScale?: number;
  /** Momentum of the BN moving statistics. Default 0.99, tfjs's (and Keras's) default. */
  bnMomentum?: number;
}

export interface ResolvedZooOptions {
  inputShape: number[];
  numClasses: number;
  seed: number;
  bnPlacement: BnPlacement;
  dropout: number;
  initScale: number;
  bnMomentum: number;
}
