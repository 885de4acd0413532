// CPI²-style attribution (Zhang et al., EuroSys 2013): across recent windows, a neighbour
// is suspect when its share of CPU time is high exactly in the windows where the victim's
// CPI is an outlier. The published formula, in our own code:
//   corr(V, A) = sum_i a_i * sign(cpi_i - threshold),  a_i = u_i / sum_j u_j
// where u_i is A's CPU time in window i; the result lies in [-1, 1].

/** The victim's outlier threshold: mean + 2 standard deviations of its CPI history. */
export function cpiOutlierThreshold(cpiHistory: readonly number[]): number {
  if (cpiHistory.length === 0) return Infinity;
  const mean = cpiHistory.reduce((s, x) => s + x, 0) / cpiHistory.length;
  const variance = cpiHistory.reduce((s, x) => s + (x - mean) ** 2, 0) / cpiHistory.length;
  return mean + 2 * Math.sqrt(variance);
}

/** Correlation of the victim's CPI outliers with a neighbour's CPU time, window by window. */
export function cpi2Correlation(
  victimCpi: readonly number[],
  neighbourCpuNs: readonly number[],
  threshold: number,
): number {
  if (victimCpi.length !== neighbourCpuNs.length) throw new Error('cpi2Correlation: series differ in length');
  const total = neighbourCpuNs.reduce((s, x) => s + x, 0);
  if (total <= 0) return 0;
  let corr = 0;
  for (let i = 0; i < victimCpi.length; i++)
    corr += (neighbourCpuNs[i]! / total) * Math.sign(victimCpi[i]! - threshold);
  return corr;
}
