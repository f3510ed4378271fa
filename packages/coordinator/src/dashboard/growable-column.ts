/** A column of numbers that grows by doubling: one typed array, no per-element objects. */
export class GrowableColumn {
  private data: Float64Array | Float32Array;
  private size = 0;

  /** `precision` 32 halves the memory of columns that do not need doubles (per-rank timings). */
  constructor(
    private readonly precision: 32 | 64 = 64,
    capacity = 1024,
  ) {
    this.data = this.allocate(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** The stored values (a view; valid until the next push). */
  get values(): ArrayLike<number> {
    return this.data.subarray(0, this.size);
  }

  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = this.allocate(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  /** Appends NaN (no value) until the column holds `length` values. */
  padTo(length: number): void {
    while (this.size < length) this.push(NaN);
  }

  private allocate(capacity: number): Float64Array | Float32Array {
    return this.precision === 32 ? new Float32Array(capacity) : new Float64Array(capacity);
  }
}
