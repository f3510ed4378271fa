/**
 * The zoo's model names, apart from the builders (which load tfjs), so that flag parsers
 * can list them without loading tfjs; zoo/index.ts checks that its table has exactly these.
 */
export const ZOO_MODEL_NAMES = ['mlp', 'cnn-bn', 'cnn-bn-dropout', 'resnet'] as const;
export type ZooModelName = (typeof ZOO_MODEL_NAMES)[number];
