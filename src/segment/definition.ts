import { z } from 'zod';

/**
 * Segments as code: the definition schema. One zod schema validates YAML/JSON files and exports JSON Schema for
 * editors (`segmentJsonSchema()`). A condition is an object with exactly one key naming its kind.
 *
 * Time windows are durations (`30m`, `12h`, `7d`, `2w`), always relative to the as-of time T of the evaluation:
 * `within: 7d` means T − 7 days < event time ≤ T (the start is exclusive, the end inclusive). Absolute ranges
 * (`from`/`to`, ISO-8601, UTC) include `from` and exclude `to`. Events after T never count. Storage is UTC.
 */

import { Duration, durationMs } from '../config/duration.js';
import { Instant } from '../config/instant-schema.js';

export { Duration, durationMs };

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const IsoDate = Instant;

/** The tests a value can take (exactly one per condition). */
const VALUE_TEST_SHAPE = {
  equals: Scalar.optional(),
  notEquals: Scalar.optional(),
  in: z.array(Scalar).min(1).optional(),
  contains: z.string().optional().describe('text contains (case-sensitive)'),
  exists: z.boolean().optional(),
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
};

/** A filter on one property of an event (`properties.<property>`), or one trait (`traits.<trait>`). */
export const ValueTest = z
  .strictObject(VALUE_TEST_SHAPE)
  .refine((t) => Object.values(t).filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one test: equals, notEquals, in, contains, exists, gt, gte, lt or lte',
  });
export type ValueTest = z.infer<typeof ValueTest>;

export const PropertyFilter = z
  .strictObject({ property: z.string().min(1).describe('a key of the event properties (dots for nesting)') })
  .and(ValueTest);
export type PropertyFilter = z.infer<typeof PropertyFilter>;

/** Which events: a track event by name, or a page or screen by name; with property filters (all must hold). */
export const EventMatch = z
  .strictObject({
    event: z.string().min(1).optional().describe('track event name, e.g. Order Completed'),
    page: z.string().min(1).optional().describe('page name (a page call)'),
    screen: z.string().min(1).optional().describe('screen name (a screen call)'),
    where: z.array(PropertyFilter).optional(),
  })
  .refine((m) => [m.event, m.page, m.screen].filter((v) => v !== undefined).length === 1, {
    message: 'name exactly one of event, page or screen',
  });
export type EventMatch = z.infer<typeof EventMatch>;

const Window = z.strictObject({
  within: Duration.optional().describe('only events in the last W before the as-of time'),
  from: IsoDate.optional().describe('only events at or after this time'),
  to: IsoDate.optional().describe('only events before this time'),
});

const Count = z.strictObject({
  atLeast: z.int().min(0).optional(),
  atMost: z.int().min(0).optional(),
  exactly: z.int().min(0).optional(),
});

export type Condition =
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition }
  | ({ feature: string } & ValueTestOrRange)
  | ({ trait: string } & TraitTest)
  | { performed: Performed }
  | { notPerformed: EventMatch & WindowSpec }
  | { firstPerformed: EventMatch & FirstLast }
  | { lastPerformed: LastPerformed }
  | { sequence: Sequence }
  | { startedDoing: EventMatch & { within: string } }
  | { stoppedDoing: EventMatch & { within: string } }
  | { didRegularly: EventMatch & { period: string; periods: number; atLeast: number } }
  | { restarted: EventMatch & { within: string; inactiveFor: string } }
  | { inSegment: string }
  | { notInSegment: string }
  | { bucket: { seed: string; from: number; to: number } }
  | { account: { any: Condition } | { all: Condition } };

export type ValueTestOrRange = Partial<ValueTest> & { between?: [number, number] };
export type TraitTest = Partial<ValueTest> & { before?: string; after?: string; within?: string };
export type WindowSpec = { within?: string; from?: string; to?: string };
export type Performed = EventMatch & WindowSpec & { atLeast?: number; atMost?: number; exactly?: number };
export type FirstLast = { within?: string; before?: string };
export type LastPerformed = EventMatch & FirstLast & { property?: string } & Partial<ValueTest>;
export type Sequence = {
  steps: EventMatch[];
  maxGap?: string;
  within?: string;
  lookback?: string;
  thenNot?: EventMatch & { within: string };
};

const FeatureTest = z.strictObject({
  feature: z.string().min(1).describe('a feature, or arithmetic over numeric features: "rfm.r + rfm.f"'),
  equals: Scalar.optional(),
  notEquals: Scalar.optional(),
  in: z.array(Scalar).min(1).optional(),
  between: z.tuple([z.number(), z.number()]).optional().describe('inclusive'),
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
  exists: z.boolean().optional(),
});

const TraitCondition = z.strictObject({
  trait: z.string().min(1).describe('a trait key (as of the evaluation time, from identify calls)'),
  ...VALUE_TEST_SHAPE,
  before: IsoDate.optional().describe('a date trait earlier than this'),
  after: IsoDate.optional().describe('a date trait later than this'),
  within: Duration.optional().describe('a date trait in the last W before the as-of time'),
});

function exactlyOneTest(keys: readonly string[]) {
  return (c: Record<string, unknown>) => keys.filter((k) => c[k] !== undefined).length === 1;
}
const FEATURE_TESTS = ['equals', 'notEquals', 'in', 'between', 'gt', 'gte', 'lt', 'lte', 'exists'] as const;
const TRAIT_TESTS = [
  'equals',
  'notEquals',
  'in',
  'contains',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
  'before',
  'after',
  'within',
] as const;
const LAST_VALUE_TESTS = [
  'equals',
  'notEquals',
  'in',
  'contains',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;

const windowOk = (w: WindowSpec) => !(w.within !== undefined && (w.from !== undefined || w.to !== undefined));
const WINDOW_MESSAGE = 'use either within (relative) or from/to (absolute), not both';

const EventAndWindow = z
  .strictObject({ ...eventShape(), ...Window.shape })
  .refine(oneName, { message: 'name exactly one of event, page or screen' })
  .refine(windowOk, { message: WINDOW_MESSAGE });

function eventShape() {
  return {
    event: z.string().min(1).optional().describe('track event name, e.g. Order Completed'),
    page: z.string().min(1).optional().describe('page name (a page call)'),
    screen: z.string().min(1).optional().describe('screen name (a screen call)'),
    where: z.array(PropertyFilter).optional().describe('property filters; all must hold'),
  };
}
function oneName(m: { event?: string; page?: string; screen?: string }): boolean {
  return [m.event, m.page, m.screen].filter((v) => v !== undefined).length === 1;
}

const FirstLastShape = {
  within: Duration.optional().describe('the first/last such event is in the last W'),
  before: Duration.optional().describe('the first/last such event is earlier than W before the as-of time'),
};
const firstLastOk = (c: FirstLast) => (c.within === undefined) !== (c.before === undefined);
const FIRST_LAST_MESSAGE = 'give exactly one of within or before';

/**
 * Each leaf condition kind → the schema of a whole condition node of that kind. Validation dispatches on the node's
 * key (see validate-definition.ts), so an error names the kind and the exact field instead of "no union member
 * matched".
 */
export const LEAF_CONDITIONS = {
  feature: FeatureTest.refine(exactlyOneTest(FEATURE_TESTS), {
    message: `give exactly one test: ${FEATURE_TESTS.join(', ')}`,
  }),
  trait: TraitCondition.refine(exactlyOneTest(TRAIT_TESTS), {
    message: `give exactly one test: ${TRAIT_TESTS.join(', ')}`,
  }),
  performed: z.strictObject({
    performed: z
      .strictObject({ ...eventShape(), ...Window.shape, ...Count.shape })
      .refine(oneName, { message: 'name exactly one of event, page or screen' })
      .refine(windowOk, { message: WINDOW_MESSAGE })
      .refine((c) => [c.atLeast, c.atMost, c.exactly].filter((v) => v !== undefined).length <= 1, {
        message: 'give at most one of atLeast, atMost, exactly (default: atLeast 1)',
      }),
  }),
  notPerformed: z.strictObject({ notPerformed: EventAndWindow }),
  firstPerformed: z.strictObject({
    firstPerformed: z
      .strictObject({ ...eventShape(), ...FirstLastShape })
      .refine(oneName, { message: 'name exactly one of event, page or screen' })
      .refine(firstLastOk, { message: FIRST_LAST_MESSAGE }),
  }),
  lastPerformed: z.strictObject({
    lastPerformed: z
      .strictObject({
        ...eventShape(),
        within: FirstLastShape.within,
        before: FirstLastShape.before,
        property: z.string().min(1).optional().describe('test this property of the last such event'),
        ...VALUE_TEST_SHAPE,
      })
      .refine(oneName, { message: 'name exactly one of event, page or screen' })
      .refine(
        (c) =>
          c.property === undefined
            ? firstLastOk(c)
            : c.within === undefined && c.before === undefined
              ? true
              : firstLastOk(c),
        { message: FIRST_LAST_MESSAGE },
      )
      .refine(
        (c) =>
          c.property === undefined
            ? LAST_VALUE_TESTS.every((k) => c[k] === undefined)
            : exactlyOneTest(LAST_VALUE_TESTS)(c),
        { message: 'with property, give exactly one test (equals, in, gt, …); without it, none' },
      ),
  }),
  sequence: z.strictObject({
    sequence: z.strictObject({
      steps: z
        .array(EventMatch)
        .min(1)
        .describe('in order; each step is the first matching event after the previous one'),
      maxGap: Duration.optional().describe('at most this long between consecutive steps'),
      within: Duration.optional().describe('at most this long from the first step to the last'),
      lookback: Duration.optional().describe('the first step is in the last W (default: any time)'),
      thenNot: z
        .strictObject({ ...eventShape(), within: Duration })
        .refine(oneName, { message: 'name exactly one of event, page or screen' })
        .optional()
        .describe('and then did not do this within W after the last step (W must have passed)'),
    }),
  }),
  startedDoing: z.strictObject({
    startedDoing: z
      .strictObject({
        ...eventShape(),
        within: Duration.describe('the first such event ever is in the last W'),
      })
      .refine(oneName, { message: 'name exactly one of event, page or screen' }),
  }),
  stoppedDoing: z.strictObject({
    stoppedDoing: z
      .strictObject({
        ...eventShape(),
        within: Duration.describe('did it in the W before the last W, and not in the last W'),
      })
      .refine(oneName, { message: 'name exactly one of event, page or screen' }),
  }),
  didRegularly: z.strictObject({
    didRegularly: z
      .strictObject({
        ...eventShape(),
        period: Duration.describe('period length, e.g. 7d'),
        periods: z.int().min(1).max(366).describe('how many periods back (n)'),
        atLeast: z.int().min(1).describe('in at least k of them'),
      })
      .refine(oneName, { message: 'name exactly one of event, page or screen' })
      .refine((c) => c.atLeast <= c.periods, { message: 'atLeast cannot exceed periods' }),
  }),
  restarted: z.strictObject({
    restarted: z
      .strictObject({
        ...eventShape(),
        within: Duration.describe('did it again in the last W'),
        inactiveFor: Duration.describe(
          'after not doing it for this long before that (and having done it before)',
        ),
      })
      .refine(oneName, { message: 'name exactly one of event, page or screen' }),
  }),
  inSegment: z.strictObject({ inSegment: z.string().min(1) }),
  notInSegment: z.strictObject({ notInSegment: z.string().min(1) }),
  bucket: z.strictObject({
    bucket: z
      .strictObject({
        seed: z.string().min(1).describe('any text; the same seed gives the same buckets'),
        from: z.number().min(0).max(1),
        to: z.number().min(0).max(1),
      })
      .refine((b) => b.from < b.to, { message: 'from must be below to' })
      .describe('people whose hash of (seed, person id) falls in [from, to)'),
  }),
  account: z.strictObject({
    account: z
      .union([
        z.strictObject({ any: z.lazy(() => ConditionSchema) }),
        z.strictObject({ all: z.lazy(() => ConditionSchema) }),
      ])
      .describe(
        'people whose account (group) has any member, or all members, meeting the condition (members with events up to T)',
      ),
  }),
} as const;
export type LeafConditionKind = keyof typeof LEAF_CONDITIONS;

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ and: z.array(ConditionSchema).min(1) }),
    z.strictObject({ or: z.array(ConditionSchema).min(1) }),
    z.strictObject({ not: ConditionSchema }),
    ...Object.values(LEAF_CONDITIONS),
  ]),
) as z.ZodType<Condition>;

export const SEGMENT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export const SegmentDefinition = z
  .strictObject({
    name: z
      .string()
      .regex(
        SEGMENT_NAME,
        'lowercase letters, digits, - and _; starting with a letter; at most 63 characters',
      ),
    label: z.string().min(1).optional().describe('how people read it: "Champions"'),
    description: z.string().optional(),
    owner: z.string().optional(),
    tags: z.array(z.string()).optional(),
    active: z.boolean().default(true).describe('retired segments keep their history but are not evaluated'),
    where: ConditionSchema,
  })
  .meta({ id: 'SegmentDefinition', title: 'segflow segment definition' });
export type SegmentDefinition = z.infer<typeof SegmentDefinition>;

/** JSON Schema of a segment file, for editors (yaml-language-server, VS Code). */
export function segmentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SegmentDefinition, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
