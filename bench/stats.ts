// Small statistics and formatting helpers for the benchmark: median, percentile, seconds, ratios.

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Linear interpolation between closest ranks; NaN for no values. */
export function percentile(values: number[], percent: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((left, right) => left - right);
  const position = ((sorted.length - 1) * percent) / 100;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function formatSeconds(seconds: number): string {
  if (Number.isNaN(seconds)) return "—";
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}

export function formatMilliseconds(milliseconds: number): string {
  if (Number.isNaN(milliseconds)) return "—";
  return `${milliseconds.toFixed(milliseconds < 10 ? 2 : 1)} ms`;
}

export function ratio(numerator: number, denominator: number): number {
  return denominator > 0 ? numerator / denominator : Number.NaN;
}

export function formatRatio(value: number): string {
  return Number.isNaN(value) ? "—" : `${value.toFixed(2)}×`;
}

/** top[i] / bottom[i]: builds of the two modes made close in time. */
export function pairedRatios(top: number[], bottom: number[]): number[] {
  return top.map((value, index) => ratio(value, bottom[index] ?? Number.NaN));
}
