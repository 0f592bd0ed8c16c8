/**
 * A y axis of counts or amounts that stays readable on a big database: labels in compact notation (12M, 1.5K) that
 * fit a chart's left margin — at 1M people "12,000,000" was cut to "2,000,000" — ticks labelled at whole numbers
 * only for counts (a count has no fractions), and an axis of nothing but zeros (an empty segment, no exits) spanning
 * 0–1 instead of collapsing onto one line labelled "0.000000".
 *
 * @example
 * Plot.plot({ y: countAxis('people', points.map((p) => p.size)), marks: [...] });
 */
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function countAxis(
  label: string,
  values: readonly number[],
  options: { whole?: boolean } = {},
): { grid: true; label: string; tickFormat: (x: number) => string; domain?: [number, number] } {
  const whole = options.whole ?? true;
  const axis = {
    grid: true as const,
    label,
    tickFormat: (x: number) => (whole && !Number.isInteger(x) ? '' : compact.format(x)),
  };
  return values.some((v) => v !== 0) ? axis : { ...axis, domain: [0, 1] };
}
