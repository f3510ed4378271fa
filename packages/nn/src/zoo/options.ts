/** Where batch normalization sits relative to the nonlinearity. */
export type BnPlacement = 'before' | 'after' | 'none';
export const BN_PLACEMENTS: readonly BnPlacement[] = ['before', 'after', 'none'];

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
}

export interface ResolvedZooOptions {
  inputShape: number[];
  numClasses: number;
  seed: number;
  bnPlacement: BnPlacement;
  dropout: number;
}
