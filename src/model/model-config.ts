import { z } from 'zod';
import { Duration } from '../config/duration.js';
import { SegflowError } from '../errors.js';

/**
 * The `model:` section of segflow.config.yaml: which events mean a purchase, an engagement, a key feature, an intent
 * signal, a support ticket, a survey answer — with defaults that follow Segment's e-commerce and B2B SaaS specs (and
 * what `segflow generate` emits). Event names match track events; `$page` and `$screen` stand for page and screen
 * calls. Every duration is relative to the as-of time.
 */
const Weights = z.record(z.string(), z.number().nonnegative());

/** The R×F map: rows are R = 5 (first row) down to R = 1, columns F = 1 … 5. */
const RfmGrid = z.array(z.array(z.string().min(1)).length(5)).length(5);

export const DEFAULT_RFM_GRID: string[][] = [
  // F=1            F=2                    F=3                    F=4                F=5
  ['New Customers', 'Potential Loyalists', 'Potential Loyalists', 'Champions', 'Champions'], // R=5
  ['Promising', 'Potential Loyalists', 'Potential Loyalists', 'Loyal Customers', 'Loyal Customers'], // R=4
  ['About to Sleep', 'About to Sleep', 'Need Attention', 'Loyal Customers', 'Loyal Customers'], // R=3
  ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"], // R=2
  ['Lost', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"], // R=1
];

export const ModelConfig = z
  .strictObject({
    purchase: z
      .strictObject({ events: z.array(z.string().min(1)).min(1).default(['Order Completed']) })
      .default({ events: ['Order Completed'] }),
    rfm: z.strictObject({ grid: RfmGrid.default(DEFAULT_RFM_GRID) }).default({ grid: DEFAULT_RFM_GRID }),
    engagement: z
      .strictObject({
        weights: Weights.default({
          'Email Opened': 1,
          'Email Link Clicked': 2,
          $page: 0.5,
          $screen: 0.5,
          'Product Viewed': 0.25,
          'Feature Used': 0.5,
          'Application Opened': 1,
        }),
        halfLife: Duration.default('14d'),
        tiers: z
          .strictObject({ high: z.number().default(20), moderate: z.number().default(4) })
          .default({ high: 20, moderate: 4 }),
      })
      .prefault({}),
    lifecycle: z
      .strictObject({
        activation: z.array(z.string().min(1)).default(['Order Completed', 'Subscription Started']),
        engagedEvents: z
          .int()
          .min(1)
          .default(5)
          .describe('engagement events within engagedWithin to count as engaged'),
        engagedWithin: Duration.default('30d'),
        loyalPurchases: z.int().min(1).default(3).describe('purchases (ever) to count as a loyal advocate'),
        atRiskAfter: Duration.default('30d').describe('no activity for this long: at risk'),
        churnedAfter: Duration.default('90d').describe('no activity for this long: churned'),
      })
      .prefault({}),
    adoption: z
      .strictObject({
        event: z.string().default('Feature Used'),
        property: z.string().default('feature'),
        keyFeatures: z.array(z.string()).default(['reports']),
        window: Duration.default('28d'),
        powerUses: z
          .int()
          .min(1)
          .default(20)
          .describe('uses of one feature in the window that make a power user of it'),
        tiers: z
          .strictObject({
            power: z.int().default(40),
            regular: z.int().default(10),
            light: z.int().default(1),
          })
          .default({ power: 40, regular: 10, light: 1 }),
        usage: z
          .strictObject({
            event: z.string().default('Usage Reported'),
            usageProperty: z.string().default('usage'),
            limitProperty: z.string().default('limit'),
            nearing: z.number().default(0.8),
          })
          .prefault({}),
      })
      .prefault({}),
    intent: z
      .strictObject({
        weights: Weights.default({
          'Pricing Viewed': 3,
          'Product Added': 2,
          'Checkout Started': 3,
          'Products Compared': 2,
          'Buying Guide Downloaded': 2,
          'Demo Requested': 5,
        }),
        halfLife: Duration.default('7d'),
        tiers: z
          .strictObject({ high: z.number().default(8), medium: z.number().default(3) })
          .default({ high: 8, medium: 3 }),
      })
      .prefault({}),
    support: z
      .strictObject({
        created: z.string().default('Ticket Created'),
        resolved: z.string().default('Ticket Resolved'),
        ticketProperty: z.string().default('ticket_id'),
        window: Duration.default('90d'),
        survey: z
          .strictObject({
            event: z.string().default('Survey Answered'),
            typeProperty: z.string().default('survey'),
            scoreProperty: z.string().default('score'),
            csat: z.string().default('CSAT'),
            nps: z.string().default('NPS'),
          })
          .prefault({}),
      })
      .prefault({}),
    funnels: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]*$/, 'funnel names: lowercase letters, digits and _'),
        z.strictObject({ steps: z.array(z.string().min(1)).min(2), within: Duration.default('7d') }),
      )
      .default({})
      // Funnels of one's own come in addition to the built-in purchase funnel (which a `purchase:` entry redefines).
      .transform((funnels): typeof funnels => ({
        purchase: {
          steps: ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'],
          within: '7d',
        },
        ...funnels,
      })),
  })
  .prefault({});
export type ModelConfig = z.output<typeof ModelConfig>;

/** The model settings with defaults filled in; a mistake is a CONFIG_INVALID error naming each key. */
export function modelConfig(raw: unknown = undefined): ModelConfig {
  const r = ModelConfig.safeParse(raw ?? {});
  if (r.success) return r.data;
  throw new SegflowError(
    'CONFIG_INVALID',
    r.error.issues.map((i) => `model.${i.path.map(String).join('.')}: ${i.message}`).join('\n'),
    'fix the model: section of segflow.config.yaml (docs/features.md lists every key and its default)',
  );
}
