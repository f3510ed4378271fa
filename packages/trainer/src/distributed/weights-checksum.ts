import { createHash } from 'node:crypto';

/**
 * A checksum of a weight buffer as two float32-exact halves of a 32-bit hash, so it can
 * travel through a float all-gather and be compared bit for bit.
 */
export function weightsChecksum(weights: Float32Array): Float32Array {
  const digest = createHash('sha256').update(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength)).digest();
  return Float32Array.of(digest.readUInt16LE(0), digest.readUInt16LE(2));
}

/** Ranks whose checksum differs from rank 0's, given all checksums gathered in rank order. */
export function divergentRanks(gathered: Float32Array): number[] {
  const ranks: number[] = [];
  for (let r = 1; r * 2 < gathered.length; r++) {
    if (gathered[2 * r] !== gathered[0] || gathered[2 * r + 1] !== gathered[1]) ranks.push(r);
  }
  return ranks;
}
