/**
 * A short, bounded description of a value a peer sent, for an error message. Never
 * `JSON.stringify` or `String()` a peer's value whole: it may be huge, deep, share
 * sub-objects (a DAG whose unfolding is exponential) or have a hostile `toString`.
 * This walks at most `maxChars` characters' worth of the value, breadth-limited and
 * depth-limited, and reads only own data (no getters, no methods called).
 */
export function previewValue(value: unknown, maxChars = 64): string {
  const out: string[] = [];
  let budget = Math.max(8, maxChars);
  const put = (text: string): boolean => {
    if (budget <= 0) return false;
    out.push(text.length > budget ? text.slice(0, budget) : text);
    budget -= text.length;
    return budget > 0;
  };
  const walk = (v: unknown, depth: number): boolean => {
    if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return put(scalar(v));
    if (typeof v === 'string') return put(JSON.stringify(v.length > budget ? v.slice(0, budget) : v));
    if (v instanceof Uint8Array) return put(`<${v.byteLength} bytes>`);
    if (typeof v !== 'object') return put(`<${typeof v}>`);
    if (depth >= 3) return put(Array.isArray(v) ? '[…]' : '{…}');
    if (Array.isArray(v)) {
      if (!put('[')) return false;
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0 && !put(',')) return false;
        if (!walk(v[i] as unknown, depth + 1)) return false;
      }
      return put(']');
    }
    if (!put('{')) return false;
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0 && !put(',')) return false;
      if (!put(`${JSON.stringify(key.length > budget ? key.slice(0, budget) : key)}:`)) return false;
      const own = Object.getOwnPropertyDescriptor(v, key);
      if (!walk(own !== undefined && 'value' in own ? (own.value as unknown) : '<getter>', depth + 1)) return false;
    }
    return put('}');
  };
  const complete = walk(value, 0);
  const text = out.join('');
  return complete ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}

function scalar(v: null | undefined | boolean | number | bigint): string {
  if (typeof v === 'bigint') return `${v.toString().slice(0, 24)}n`;
  return v === undefined ? 'undefined' : v === null ? 'null' : Number.isNaN(v) ? 'NaN' : `${v as number | boolean}`;
}
