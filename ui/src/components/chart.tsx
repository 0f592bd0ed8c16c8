import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * A chart drawn by Observable Plot (an SVG), with its data as a table beside it for screen readers and for anyone who
 * wants the numbers: the chart is a picture with a label; the table is the content.
 */
export function Chart(props: {
  title: string;
  /** Draws the chart; `onCreated` may wire clicks on its marks. */
  draw: (width: number) => SVGSVGElement | HTMLElement;
  onCreated?: (el: SVGSVGElement | HTMLElement) => void;
  table: ComponentChildren;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = props.draw(Math.max(320, Math.min(el.clientWidth || 640, 1100)));
    chart.setAttribute('role', 'img');
    chart.setAttribute('aria-label', props.title);
    el.replaceChildren(chart);
    props.onCreated?.(chart);
    // The chart is one labelled picture: the labels Plot puts on its inner groups (not allowed on a plain group)
    // would only repeat what the table view says.
    for (const inner of chart.querySelectorAll('[aria-label]')) {
      if (inner !== chart) inner.removeAttribute('aria-label');
    }
    return () => el.replaceChildren();
  });
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div class="chart-box" ref={box} data-chart={props.title} />
      <details>
        <summary>Table view</summary>
        {props.table}
      </details>
    </figure>
  );
}
