import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

/** A PEM file's text, read when the flag is parsed: a missing or non-PEM file is a usage error naming the flag. */
export function pemFile(flag: string): (value: string) => string {
  return (value) => {
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (error) {
      throw new InvalidArgumentError(`cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (!text.includes('-----BEGIN ')) throw new InvalidArgumentError(`${value} is not a PEM file (no -----BEGIN line) for ${flag}`);
    return text;
  };
}
