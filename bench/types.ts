/** One measured figure. `limit` is the target from the issue; `ok` says whether it was met. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  limit?: number;
  /** 'max' (value must be <= limit) or 'min' (value must be >= limit). */
  limitKind?: 'max' | 'min';
  note?: string;
}

/** Every `bench/*.bench.ts` default-exports one of these; `bench/run.ts` runs them all. */
export type Bench = () => Promise<BenchRow[]>;
