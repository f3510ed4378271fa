import { createHash } from 'node:crypto';

/**
 * The checksum file lists one `sha256  name` line per file, the format of coreutils'
 * `sha256sum`, so an operator can check a copied checkpoint by hand with `sha256sum -c`.
 */

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Lines in the order given; a trailing newline, as sha256sum writes them. */
export function formatChecksums(sums: ReadonlyMap<string, string>): string {
  return [...sums].map(([name, hex]) => `${hex}  ${name}\n`).join('');
}

/**
 * Parses a checksum file into name -> hex. Returns a reason string instead of throwing,
 * so the caller can wrap it with the folder and file it came from.
 */
export function parseChecksums(text: string): Map<string, string> | string {
  const sums = new Map<string, string>();
  const lines = text.split('\n');
  // sha256sum ends the file with a newline; anything else after the last line is damage.
  if (lines.pop() !== '') return 'does not end with a newline (truncated?)';
  for (const [index, line] of lines.entries()) {
    const match = /^([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)$/.exec(line);
    if (match === null) return `line ${index + 1} is not "<sha256>  <file name>"`;
    const [, hex, name] = match as unknown as [string, string, string];
    if (sums.has(name)) return `names ${name} twice`;
    sums.set(name, hex);
  }
  return sums;
}
