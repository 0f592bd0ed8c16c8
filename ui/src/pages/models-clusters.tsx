import * as Plot from '@observablehq/plot';
import { Chart } from '../components/chart';
import { fmt } from '../components/data';
import { DataTable } from '../components/table';
import { peopleHref } from '../router';

/** A clusters fit as `segflow models fit clusters` stores it: k-means++ on the chosen columns, k by silhouette. */
export interface ClustersFitView {
  fittedAt: string;
  people: number;
  options: { columns?: { column: string; high: string; low: string }[]; [k: string]: unknown };
  params: {
    k?: number;
    clusters?: {
      id: number;
      label: string;
      size: number;
      share: number;
      centroid: Record<string, number>;
      standardized: Record<string, number>;
    }[];
  };
  diagnostics: { silhouetteByK?: Record<string, number>; [k: string]: unknown };
}

/** A cluster's name: its label (business words from its centroid), "average" when no column stands out. */
const nameOf = (c: { id: number; label: string }) => `${c.id}: ${c.label || 'average'}`;

export function Clusters(props: { fit: ClustersFitView }) {
  const clusters = props.fit.params.clusters ?? [];
  if (clusters.length === 0) return <p class="muted">This clusters fit holds no clusters.</p>;
  const columns = props.fit.options.columns?.map((c) => c.column) ?? Object.keys(clusters[0]!.centroid);
  const cells = clusters.flatMap((c) =>
    columns.map((column) => ({
      cluster: nameOf(c),
      column,
      centroid: c.centroid[column] ?? null,
      standardized: c.standardized[column] ?? null,
    })),
  );
  // A diverging scale centred on the mean: the furthest centroid sets both ends.
  const reach = Math.max(0.5, ...cells.map((c) => Math.abs(c.standardized ?? 0)));
  const silhouette = Object.entries(props.fit.diagnostics.silhouetteByK ?? {});
  return (
    <>
      <p>
        {fmt.n(clusters.length)} clusters of {fmt.n(props.fit.people)} people on {columns.join(', ')}, fitted{' '}
        {fmt.date(props.fit.fittedAt)}
        {silhouette.length
          ? `; k chosen by silhouette (${silhouette.map(([k, s]) => `${k}: ${fmt.num(s, 2)}`).join(', ')})`
          : ''}
        .
      </p>
      <Chart
        title="People per cluster"
        draw={(width) =>
          Plot.plot({
            width,
            height: 60 + 34 * clusters.length,
            marginLeft: 220,
            marginRight: 100, // room for the count written after the longest bar
            x: { label: 'people →', grid: true },
            y: { label: null, domain: clusters.map(nameOf) },
            marks: [
              Plot.barX(clusters, { y: nameOf, x: 'size', fill: '#3b6ea8' }),
              Plot.text(clusters, {
                y: nameOf,
                x: 'size',
                text: (c: { size: number; share: number }) => `${fmt.n(c.size)} (${fmt.pct(c.share, 0)})`,
                dx: 6,
                textAnchor: 'start',
                fill: '#1b2330',
              }),
              Plot.ruleX([0]),
            ],
          })
        }
        table={
          <DataTable
            caption="Clusters: size, share and centroid (in each column's own units)"
            rows={clusters}
            columns={[
              { label: 'Cluster', value: (c) => nameOf(c) },
              {
                label: 'People',
                value: (c) => (
                  <a href={peopleHref({ feature: 'cluster.id', equals: c.id }, `Cluster ${nameOf(c)}`)}>
                    {fmt.n(c.size)}
                  </a>
                ),
                numeric: true,
              },
              { label: 'Share', value: (c) => fmt.pct(c.share), numeric: true },
              ...columns.map((column) => ({
                label: column,
                value: (c: (typeof clusters)[number]) => fmt.num(c.centroid[column], 2),
                numeric: true,
              })),
            ]}
          />
        }
      />
      <Chart
        title="Cluster centroids: standard deviations from the mean"
        draw={(width) =>
          Plot.plot({
            width: Math.min(width, 260 + 150 * columns.length),
            height: 70 + 40 * clusters.length,
            marginLeft: 220,
            padding: 0.04,
            x: { label: null, domain: columns, axis: 'top' },
            y: { label: null, domain: clusters.map(nameOf) },
            color: {
              scheme: 'rdbu',
              reverse: true,
              domain: [-reach, reach],
              legend: true,
              label: 'standard deviations from the mean',
            },
            marks: [
              Plot.cell(cells, { x: 'column', y: 'cluster', fill: 'standardized', inset: 1 }),
              Plot.text(cells, {
                x: 'column',
                y: 'cluster',
                // The centroid in the column's units on the cell, its distance from the mean as the colour.
                text: (c: { centroid: number | null }) => fmt.num(c.centroid, 1),
                fill: 'black',
                stroke: 'white',
                strokeWidth: 3,
                paintOrder: 'stroke',
              }),
            ],
          })
        }
        table={
          <DataTable
            caption="Cluster centroids in standard deviations from each column's mean"
            rows={clusters}
            columns={[
              { label: 'Cluster', value: (c) => nameOf(c) },
              ...columns.map((column) => ({
                label: column,
                value: (c: (typeof clusters)[number]) => fmt.num(c.standardized[column], 2),
                numeric: true,
              })),
            ]}
          />
        }
      />
    </>
  );
}
