import { InvalidArgumentError, Option } from 'commander';

/** An option that can also come from the environment variable TFJS_DDP_<NAME> (how Kubernetes pods are configured). */
export function envOption(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(`TFJS_DDP_${env}`);
}

/** Parsers for flag values: each throws commander's InvalidArgumentError, which names the flag. */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected an integer >= 0, got "${value}"`);
  }
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  }
  return n;
}

export function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n < 1)) {
    throw new InvalidArgumentError(`expected a rate in [0, 1), got "${value}"`);
  }
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected a number >= 0, got "${value}"`);
  }
  return n;
}

/** A factor in (0, 1], e.g. a step schedule's cut. */
export function unitFactor(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 1)) {
    throw new InvalidArgumentError(`expected a factor in (0, 1], got "${value}"`);
  }
  return n;
}

/** A weight decay in [0, 1] (the job config's bound). */
export function decay(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) {
    throw new InvalidArgumentError(`expected a weight decay in [0, 1], got "${value}"`);
  }
  return n;
}

/** A parser accepting exactly one of `allowed`. */
export function oneOf<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`allowed: ${allowed.join(', ')}; got "${value}"`);
    }
    return value as T;
  };
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65535) throw new InvalidArgumentError(`expected a port in 1..65535, got "${value}"`);
  return n;
}

export function portNumberOrZero(value: string): number {
  return value.trim() === '0' ? 0 : portNumber(value);
}

export function wsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL like ws://host:7070, got "${value}"`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InvalidArgumentError(`expected a ws:// or wss:// URL, got "${value}"`);
  return value;
}
