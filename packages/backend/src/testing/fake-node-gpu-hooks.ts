/**
 * Module hooks (node:module `register`) that resolve `@tensorflow/tfjs-node-gpu` to
 * fake-node-gpu.js, so a test sees initBackend load "the GPU package" through its real
 * import path. Tests only.
 */
interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

const FAKE = new URL('./fake-node-gpu.js', import.meta.url).href;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<ResolveResult> {
  if (specifier === '@tensorflow/tfjs-node-gpu') return { url: FAKE, shortCircuit: true };
  return next(specifier, context);
}
