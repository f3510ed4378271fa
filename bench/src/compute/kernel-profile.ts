import * as tf from '@tensorflow/tfjs';
import type { StepRunner } from './tfjs-step.js';

export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
}

/**
 * Time by kernel of one training step (tf.profile; on wasm a kernel's time is its wall
 * time). Op scopes such as `fusedConv2d__op` wrap kernels listed on their own, so they
 * are left out to keep the total a sum of disjoint times.
 */
export async function profileStep(runner: StepRunner): Promise<{ totalKernelMs: number; kernels: KernelTime[] }> {
  const info = await tf.profile(() => {
    runner.step();
  });
  const byName = new Map<string, KernelTime>();
  for (const kernel of info.kernels) {
    if (kernel.name.endsWith('__op')) continue;
    const entry = byName.get(kernel.name) ?? { name: kernel.name, ms: 0, calls: 0 };
    entry.ms += typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
    entry.calls++;
    byName.set(kernel.name, entry);
  }
  const kernels = [...byName.values()]
    .map((k) => ({ ...k, ms: Math.round(k.ms * 100) / 100 }))
    .sort((a, b) => b.ms - a.ms);
  const totalKernelMs = Math.round(kernels.reduce((sum, k) => sum + k.ms, 0) * 100) / 100;
  return { totalKernelMs, kernels };
}
