import * as Plot from '@observablehq/plot';
import { useEffect, useRef } from 'preact/hooks';

/**
 * A small line of values over time drawn by Observable Plot, inside a table cell: a picture labelled with what it
 * shows in words (first and last value), since the numbers are in the row and on the segment's page.
 */
export function Sparkline(props: { points: { date: Date; value: number }[]; label: string }) {
  const box = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || props.points.length === 0) return;
    const svg = Plot.plot({
      width: 120,
      height: 28,
      margin: 3,
      axis: null,
      y: { zero: false },
      marks: [
        Plot.lineY(props.points, { x: 'date', y: 'value', stroke: '#22508a', strokeWidth: 1.5 }),
        Plot.dot(props.points.slice(-1), { x: 'date', y: 'value', fill: '#22508a', r: 2 }),
      ],
    });
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', props.label);
    for (const inner of svg.querySelectorAll('[aria-label]'))
      if (inner !== svg) inner.removeAttribute('aria-label');
    el.replaceChildren(svg);
    return () => el.replaceChildren();
  });
  if (props.points.length === 0) return <span class="muted">—</span>;
  return <span class="sparkline" ref={box} data-sparkline={props.label} />;
}
