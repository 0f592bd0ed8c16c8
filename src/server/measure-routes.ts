import { z } from 'zod';
import { loadConfig } from '../config/config.js';
import { kpiByName, measureConfig } from '../measure/kpi.js';
import { MeasureReportSchema, measureReport } from '../measure/measure-report.js';
import { defineRoute, jsonDates } from './admin-routes.js';

/** The lift report over the admin API: the same function as `segflow measure report`. */
export const MEASURE_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/measure/:play',
    permission: 'read',
    tag: 'measure',
    summary: 'The lift of a play against its holdout, per KPI (and segment), with CUPED, SRM and corrections',
    params: z.object({ play: z.string().min(1).max(200) }),
    query: z.object({
      kpi: z
        .string()
        .max(1000)
        .default('conversion_rate,revenue_per_person')
        .describe('KPI names, comma-separated'),
      holdoutShare: z.coerce.number().gt(0).lt(1).optional(),
      segment: z.string().max(1000).optional().describe('segment names, comma-separated'),
      asOf: z.iso.datetime().optional(),
    }),
    response: MeasureReportSchema,
    handler: async ({ params, query }, { wh }) => {
      const cfg = measureConfig(loadConfig().measure);
      const list = (text: string | undefined) =>
        (text ?? '')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      const report = await measureReport(wh, {
        play: params.play,
        kpis: list(query.kpi).map((name) => ({ name, definition: kpiByName(cfg, name) })),
        ...(query.holdoutShare !== undefined ? { holdoutShare: query.holdoutShare } : {}),
        segments: list(query.segment),
        ...(query.asOf ? { asOf: new Date(query.asOf) } : {}),
        purchaseEvents: cfg.purchaseEvents,
      });
      return jsonDates(report) as z.input<typeof MeasureReportSchema>;
    },
  }),
];
