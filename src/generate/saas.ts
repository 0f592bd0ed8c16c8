import { createRng, type Rng, WeightedTable } from '../shared/seeded-random.js';
import type { GroundTruth, JsonObject } from './generated-message.js';
import {
  assertNever,
  clamp,
  emailFor,
  type GeneratedUnit,
  type PersonName,
  randomName,
  round,
  roundSignificant,
  shared,
  surveyScore,
  Timeline,
} from './person.js';
import { actionGapMs, type Calendar, DAY_MS, delayMs, HOUR_MS, MINUTE_MS, WindowDensity } from './timing.js';

/**
 * The SaaS (B2B) profile: accounts of 1-12 users following Segment's B2B SaaS spec
 * (https://segment.com/docs/connections/spec/b2b-saas/). The archetype belongs to the account; each user carries it
 * in the ground truth together with the user's role.
 */

export const SAAS_ARCHETYPES = [
  'trial_never_activates',
  'power_user',
  'nearing_limit',
  'churning_account',
  'healthy',
] as const;
export type SaasArchetype = (typeof SAAS_ARCHETYPES)[number];

export const SAAS_MIX: Record<SaasArchetype, number> = {
  trial_never_activates: 0.2,
  power_user: 0.15,
  nearing_limit: 0.15,
  churning_account: 0.15,
  healthy: 0.35,
};

/** The product's features; 'reports' is the key (activation) feature. */
export const FEATURES = ['reports', 'dashboards', 'alerts', 'integrations', 'exports', 'api'] as const;
export type Feature = (typeof FEATURES)[number];
export const KEY_FEATURE: Feature = 'reports';

export type Plan = 'free' | 'pro' | 'enterprise';
export type Role = 'admin' | 'member' | 'viewer';

export const PLANS: Record<Plan, { seats: number; usageLimit: number; seatPriceUsd: number }> = {
  free: { seats: 3, usageLimit: 10_000, seatPriceUsd: 0 },
  pro: { seats: 20, usageLimit: 250_000, seatPriceUsd: 25 },
  enterprise: { seats: 200, usageLimit: 5_000_000, seatPriceUsd: 60 },
};

export interface SaasParams {
  plans: Record<Plan, number>;
  /** App sessions per active day for admins and members (viewers: 35% of it). */
  sessionsPerDay: number;
  /** Mean `Feature Used` per session. */
  featuresPerSession: number;
  /** Share of the plan's usage limit used at the window's start and at its end (linear in between). */
  usageFrom: readonly [number, number];
  usageTo: readonly [number, number];
  /** Chance per admin session to look at pricing. */
  pricingViewChance: number;
  emailOpen: number;
  ticketsPerDay: number;
  satisfaction: number;
}

export const SAAS_PARAMS: Record<SaasArchetype, SaasParams> = {
  trial_never_activates: {
    plans: { free: 1, pro: 0, enterprise: 0 },
    sessionsPerDay: 1.0,
    featuresPerSession: 1.5,
    usageFrom: [0.01, 0.05],
    usageTo: [0.01, 0.05],
    pricingViewChance: 0.15,
    emailOpen: 0.3,
    ticketsPerDay: 0.01,
    satisfaction: 0.4,
  },
  power_user: {
    plans: { free: 0.1, pro: 0.6, enterprise: 0.3 },
    sessionsPerDay: 1.6,
    featuresPerSession: 7,
    usageFrom: [0.2, 0.6],
    usageTo: [0.2, 0.6],
    pricingViewChance: 0.01,
    emailOpen: 0.45,
    ticketsPerDay: 0.006,
    satisfaction: 0.85,
  },
  nearing_limit: {
    plans: { free: 0.3, pro: 0.55, enterprise: 0.15 },
    sessionsPerDay: 0.9,
    featuresPerSession: 4,
    usageFrom: [0.6, 0.7],
    usageTo: [0.9, 0.99],
    pricingViewChance: 0.04,
    emailOpen: 0.4,
    ticketsPerDay: 0.008,
    satisfaction: 0.65,
  },
  churning_account: {
    plans: { free: 0.3, pro: 0.6, enterprise: 0.1 },
    sessionsPerDay: 0.8,
    featuresPerSession: 2.5,
    usageFrom: [0.1, 0.4],
    usageTo: [0.1, 0.4],
    pricingViewChance: 0.03,
    emailOpen: 0.25,
    ticketsPerDay: 0.02,
    satisfaction: 0.25,
  },
  healthy: {
    plans: { free: 0.25, pro: 0.55, enterprise: 0.2 },
    sessionsPerDay: 0.7,
    featuresPerSession: 3,
    usageFrom: [0.1, 0.5],
    usageTo: [0.1, 0.5],
    pricingViewChance: 0.02,
    emailOpen: 0.4,
    ticketsPerDay: 0.005,
    satisfaction: 0.75,
  },
};

/** Monthly billing: the admin who pays places one order per 30 days, which is the truth rate for that user. */
export const BILLING_PERIOD_DAYS = 30;
export const TRIAL_DAYS = 14;

export interface SaasContext {
  seed: number;
  calendar: Calendar;
  mix: WeightedTable<SaasArchetype>;
  campaigns: readonly NewsletterCampaign[];
}

export interface NewsletterCampaign {
  ts: number;
  email: EmailContent;
}

/** A mailing's message properties, shared by every recipient's Email Sent / Opened / Link Clicked. */
interface EmailContent {
  properties: JsonObject;
  clickProperties: JsonObject;
}

function emailContent(campaignId: string, subject: string): EmailContent {
  const properties = shared({ campaign_id: campaignId, email_subject: subject });
  return { properties, clickProperties: shared({ ...properties, link_url: 'https://app.example.com/' }) };
}

const NEWSLETTER_SUBJECTS = [
  'What shipped this month',
  'Tips: faster dashboards',
  'Customer story',
  'Product update',
];

/** A product newsletter every other week (day 4, 16:00). */
export function saasCampaigns(calendar: Calendar): NewsletterCampaign[] {
  const out: NewsletterCampaign[] = [];
  for (let day = 4; day < calendar.days; day += 14) {
    const n = out.length;
    out.push({
      ts: calendar.dayStart(day) + 16 * HOUR_MS,
      email: emailContent(`cmp_product_${n + 1}`, NEWSLETTER_SUBJECTS[n % NEWSLETTER_SUBJECTS.length]!),
    });
  }
  return out;
}

const SALT_BEHAVIOUR = 0x73616173; // 'saas'
const SALT_IDS = 0x69647322;

/** Account sizes 1-12, smaller ones more common (weight ∝ k^-0.7). */
const ACCOUNT_SIZES = new WeightedTable(
  Array.from({ length: 12 }, (_, i) => [i + 1, (i + 1) ** -0.7] as const),
);
const GENERAL_FEATURES = new WeightedTable<Feature>([
  ['reports', 0.3],
  ['dashboards', 0.25],
  ['alerts', 0.12],
  ['integrations', 0.1],
  ['exports', 0.13],
  ['api', 0.1],
]);
/** `Feature Used` properties, one shared object per feature. */
const FEATURE_PROPERTIES = Object.fromEntries(
  FEATURES.map((f): [Feature, JsonObject] => [f, shared({ feature: f })]),
) as Record<Feature, JsonObject>;
/** Trials that never activate touch everything but the key feature. */
const NON_KEY_FEATURES: readonly Feature[] = FEATURES.filter((f) => f !== KEY_FEATURE);

const COMPANY_PREFIXES = [
  'North',
  'Blue',
  'Bright',
  'Iron',
  'Silver',
  'Quant',
  'Nova',
  'Cedar',
  'Orbit',
  'Delta',
  'Pine',
  'Vertex',
];
const COMPANY_SUFFIXES = [
  'wind',
  'stone',
  'field',
  'works',
  'labs',
  'loop',
  'scale',
  'stack',
  'path',
  'forge',
];
const INDUSTRIES = [
  'Software',
  'Retail',
  'Finance',
  'Healthcare',
  'Media',
  'Education',
  'Logistics',
  'Manufacturing',
];

interface User {
  index: number;
  role: Role;
  name: PersonName;
  userId: string;
  web: number;
  /** The same browser on the marketing site before signing up: no account in the context yet. */
  marketing: number;
  server: number;
  /** When the user's account was created (before the window for existing users). */
  joinMs: number;
  joinsInWindow: boolean;
  favourite: Feature;
  traits: JsonObject;
}

type SaasSessionKind = 'marketing' | 'join' | 'app' | 'invite' | 'subscribe';

interface SaasPlan {
  ts: number;
  kind: SaasSessionKind;
  user: User;
  /** invite: the invited user. */
  invitee: User | null;
  login: boolean;
}

interface Account {
  rng: Rng;
  ids: Rng;
  timeline: Timeline;
  calendar: Calendar;
  archetype: SaasArchetype;
  params: SaasParams;
  accountId: string;
  plan: Plan;
  groupTraits: JsonObject;
  activeStart: number;
  activeEnd: number;
  decay: (t: number) => number;
  /** Subscription price per month (0 when free). */
  monthlyUsd: number;
}

/** When the account is active, whether it started in the window, and how it fades if it churns. */
interface AccountLifeCycle {
  activeStart: number;
  activeEnd: number;
  signupInWindow: number | null;
  churnMs: number | null;
  decayMs: number | null;
  /** A new paid account: its trial converts to a subscription TRIAL_DAYS after the signup. */
  converts: boolean;
}

function accountLifeCycle(archetype: SaasArchetype, plan: Plan, cal: Calendar, rng: Rng): AccountLifeCycle {
  const windowMs = cal.endMs - cal.startMs;
  const always: AccountLifeCycle = {
    activeStart: cal.startMs,
    activeEnd: cal.endMs,
    signupInWindow: null,
    churnMs: null,
    decayMs: null,
    converts: false,
  };
  switch (archetype) {
    case 'trial_never_activates': {
      const signup = cal.startMs + Math.floor(windowMs * rng.uniform(0, 0.8));
      // Interest lasts a few days, fading, then the account goes silent (a churn date only if inside the window).
      const lifeMs = Math.floor(rng.uniform(3, 14) * DAY_MS);
      const churnMs = signup + lifeMs < cal.endMs ? signup + lifeMs : null;
      return {
        ...always,
        activeStart: signup,
        activeEnd: churnMs ?? cal.endMs,
        signupInWindow: signup,
        churnMs,
        decayMs: lifeMs * 0.5,
      };
    }
    case 'churning_account': {
      const churnMs = cal.startMs + Math.floor(windowMs * rng.uniform(0.3, 0.85));
      return { ...always, activeEnd: churnMs, churnMs, decayMs: (churnMs - cal.startMs) * 0.4 };
    }
    case 'power_user':
    case 'healthy':
      // Some of them are new: a trial started in the window's first half that converts after TRIAL_DAYS.
      if (plan !== 'free' && rng.chance(0.12)) {
        const signup = cal.startMs + Math.floor(windowMs * rng.uniform(0, 0.5));
        return { ...always, activeStart: signup, signupInWindow: signup, converts: true };
      }
      return always;
    case 'nearing_limit':
      return always;
    default:
      return assertNever(archetype);
  }
}

export function generateSaasAccount(ctx: SaasContext, accountIndex: number, maxUsers: number): GeneratedUnit {
  const rng = createRng(ctx.seed, accountIndex, SALT_BEHAVIOUR);
  const ids = createRng(ctx.seed, accountIndex, SALT_IDS);
  const cal = ctx.calendar;
  const archetype = ctx.mix.sample(rng);
  const params = SAAS_PARAMS[archetype];
  const plan = new WeightedTable(Object.entries(params.plans) as [Plan, number][]).sample(rng);
  const { activeStart, activeEnd, signupInWindow, churnMs, decayMs, converts } = accountLifeCycle(
    archetype,
    plan,
    cal,
    rng,
  );
  const decay = (t: number): number =>
    decayMs === null ? 1 : Math.exp(-Math.max(0, t - activeStart) / decayMs);
  const createdMs = signupInWindow ?? cal.startMs - Math.floor(rng.uniform(60, 1500) * DAY_MS);

  const size = Math.min(
    maxUsers,
    PLANS[plan].seats,
    archetype === 'trial_never_activates'
      ? 1 + (rng.chance(0.35) ? rng.int(1, 3) : 0)
      : ACCOUNT_SIZES.sample(rng),
  );
  const accountId = `acc_${ids.hex(12)}`;
  const companyName = `${rng.pick(COMPANY_PREFIXES)}${rng.pick(COMPANY_SUFFIXES)}`;
  const domain = `${companyName.toLowerCase()}-${accountId.slice(4, 10)}.example`;
  const employees = Math.max(
    size,
    Math.round(rng.lognormal(plan === 'enterprise' ? 6.5 : plan === 'pro' ? 4 : 2.3, 0.7)),
  );
  const groupTraits: JsonObject = shared({
    name: companyName,
    plan,
    employees,
    industry: rng.pick(INDUSTRIES),
    plan_limit_seats: PLANS[plan].seats,
    usage_limit: PLANS[plan].usageLimit,
    created_at: new Date(createdMs).toISOString(),
  });
  const timeline = new Timeline('https://app.example.com');
  const account: Account = {
    rng,
    ids,
    timeline,
    calendar: cal,
    archetype,
    params,
    accountId,
    plan,
    groupTraits,
    activeStart,
    activeEnd,
    decay,
    monthlyUsd: PLANS[plan].seatPriceUsd * Math.max(size, plan === 'enterprise' ? 10 : 1),
  };

  // Users: the first is the admin who created the account; others joined before the window or join in it.
  const users: User[] = [];
  for (let i = 0; i < size; i++) {
    const role: Role = i === 0 || rng.chance(0.1) ? 'admin' : rng.chance(0.7) ? 'member' : 'viewer';
    const name = randomName(rng);
    const userId = `usr_${ids.hex(16)}`;
    let joinMs: number;
    let joinsInWindow = false;
    if (i === 0) {
      joinMs = createdMs;
      joinsInWindow = signupInWindow !== null;
    } else if (signupInWindow !== null) {
      // The team follows the creator within days.
      joinMs =
        signupInWindow +
        Math.floor(Math.min(5 * DAY_MS, (activeEnd - signupInWindow) * rng.uniform(0.02, 0.5)));
      joinsInWindow = true;
    } else if (rng.chance(0.12)) {
      joinMs = activeStart + Math.floor((activeEnd - activeStart) * rng.uniform(0.05, 0.8));
      joinsInWindow = true;
    } else {
      joinMs = createdMs + Math.floor((cal.startMs - createdMs) * rng.float());
    }
    const context = { groupId: accountId };
    const anonymousId = ids.uuid();
    users.push({
      index: i,
      role,
      name,
      userId,
      web: timeline.addSlot({ person: i, channel: 'web', anonymousId, userId, extraContext: context }),
      marketing: timeline.addSlot({ person: i, channel: 'web', anonymousId, userId: null }),
      server: timeline.addSlot({
        person: i,
        channel: 'server',
        anonymousId: null,
        userId,
        extraContext: context,
      }),
      joinMs,
      joinsInWindow,
      favourite: rng.pick(FEATURES),
      traits: {
        email: emailFor(name, userId, domain),
        name: `${name.first} ${name.last}`,
        first_name: name.first,
        last_name: name.last,
        role,
        plan,
        created_at: new Date(joinMs).toISOString(),
      },
    });
  }
  const admin = users[0]!;

  // Session plans for all users of the account.
  const plans: SaasPlan[] = [];
  const addPlan = (ts: number, kind: SaasSessionKind, user: User, invitee: User | null = null): void => {
    plans.push({ ts, kind, user, invitee, login: false });
  };
  for (const user of users) {
    const from = user.joinsInWindow ? user.joinMs : activeStart;
    if (user.joinsInWindow) {
      addPlan(user.joinMs, 'join', user);
      if (user.index === 0) {
        // Before creating the account, the admin looked around the marketing site anonymously.
        const before = new WindowDensity(cal, Math.max(cal.startMs, user.joinMs - 10 * DAY_MS), user.joinMs);
        if (!before.empty) {
          const visits = 1 + rng.poisson(1.5);
          for (let v = 0; v < visits; v++) addPlan(before.sample(rng), 'marketing', user);
        }
      } else {
        // Invited by the admin shortly before joining, once the admin is there (inside the window either way).
        const adminReady = admin.joinsInWindow ? admin.joinMs + 10 * MINUTE_MS : activeStart;
        const invitedAt = from - Math.floor(rng.uniform(0.5, 48) * HOUR_MS);
        addPlan(Math.min(from, Math.max(invitedAt, adminReady)), 'invite', admin, user);
      }
    }
    const roleFactor = user.role === 'viewer' ? 0.35 : 1;
    const sessions = new WindowDensity(
      cal,
      from,
      activeEnd,
      decayMs === null ? undefined : (day) => decay(cal.dayStart(day) + DAY_MS / 2),
    );
    if (!sessions.empty) {
      const n = rng.poisson(params.sessionsPerDay * roleFactor * ((activeEnd - from) / DAY_MS));
      for (let s = 0; s < n; s++) addPlan(sessions.sample(rng), 'app', user);
      if (n === 0 && !user.joinsInWindow) addPlan(sessions.sample(rng), 'app', user);
    }
  }
  const subscribeTs = converts && signupInWindow !== null ? signupInWindow + TRIAL_DAYS * DAY_MS : null;
  if (subscribeTs !== null && subscribeTs < activeEnd) addPlan(subscribeTs, 'subscribe', admin);
  plans.sort((a, b) => a.ts - b.ts);

  // Existing users log in (identify + group) in their first session of the window; joiners do it when joining.
  const loggedIn = new Set<User>();
  for (const p of plans) {
    if (p.kind === 'marketing' || loggedIn.has(p.user)) continue;
    loggedIn.add(p.user);
    if (p.kind !== 'join') p.login = true;
  }

  for (const p of plans) {
    const bound = p.kind === 'marketing' ? p.user.joinMs : activeEnd;
    switch (p.kind) {
      case 'marketing':
        marketingSession(account, p.user, p.ts, bound);
        break;
      case 'join':
        joinSession(account, p.user, p.ts, bound, signupInWindow !== null && p.user.index === 0);
        break;
      case 'app':
        appSession(account, p, bound);
        break;
      case 'invite':
        inviteSession(account, p, bound);
        break;
      case 'subscribe':
        subscribeSession(account, p, bound);
        break;
      default:
        return assertNever(p.kind);
    }
  }

  // Server side: usage reports and billing for the account (on the admin), emails, tickets and surveys per user.
  usageReports(account, admin, accountIndex);
  const billingFrom =
    plan === 'free'
      ? null
      : (subscribeTs ?? cal.startMs + Math.floor(rng.uniform(0, BILLING_PERIOD_DAYS) * DAY_MS));
  if (billingFrom !== null) invoices(account, admin, billingFrom, subscribeTs !== null);
  for (const user of users) {
    const knownFrom = user.joinsInWindow ? user.joinMs : activeStart;
    if (knownFrom >= activeEnd) continue;
    userEmails(account, user, ctx.campaigns, knownFrom);
    support(account, user, new WindowDensity(cal, knownFrom, activeEnd));
  }

  const finished = timeline.finish(ids, users.length);
  const churnDate = churnMs === null ? null : new Date(churnMs).toISOString();
  const truth: GroundTruth[] = users.map((user) => ({
    personKey: user.userId,
    archetype,
    purchaseRatePerDay:
      user === admin && billingFrom !== null ? roundSignificant(1 / BILLING_PERIOD_DAYS) : 0,
    churnDate,
    accountId,
    anonymousIds: finished.anonymousIds[user.index]!,
    userId: finished.userIds[user.index]!,
    signupDate: new Date(user.joinMs).toISOString(),
    role: user.role,
  }));
  return { events: finished.events, truth };
}

function login(a: Account, user: User): void {
  const t = a.timeline;
  t.identify(user.traits, a.rng.chance(0.2) ? { consent: CONSENT_ALL } : undefined);
  t.wait(actionGapMs(a.rng, 1));
  t.group(a.accountId, a.groupTraits);
}
const CONSENT_ALL: JsonObject = shared({
  categoryPreferences: { Advertising: false, Analytics: true, Functional: true },
});

function marketingSession(a: Account, user: User, ts: number, bound: number): void {
  const { timeline: t, rng } = a;
  t.begin(user.marketing, ts);
  t.page('Home', '/');
  if (rng.chance(0.7)) {
    t.wait(actionGapMs(rng, 40));
    t.page('Pricing', '/pricing');
    t.track('Pricing Viewed', { plan_viewed: rng.pick(['pro', 'enterprise']) });
  }
  if (rng.chance(0.15)) {
    t.wait(actionGapMs(rng, 90));
    t.track('Demo Requested', { company_size: a.groupTraits.employees ?? 1 });
  }
  t.end(bound);
}

function joinSession(a: Account, user: User, ts: number, bound: number, createsAccount: boolean): void {
  const { timeline: t, rng } = a;
  t.begin(user.web, ts);
  t.page('Sign Up', '/signup');
  t.wait(actionGapMs(rng, 60));
  login(a, user);
  t.wait(actionGapMs(rng, 2));
  t.track('Signed Up', { method: rng.chance(0.6) ? 'email' : 'google', invited: !createsAccount });
  if (createsAccount) {
    t.wait(actionGapMs(rng, 5));
    t.track('Trial Started', { trial_plan: a.plan === 'free' ? 'pro' : a.plan, trial_days: TRIAL_DAYS });
  }
  t.wait(actionGapMs(rng, 30));
  t.page('Dashboard', '/dashboard');
  t.end(bound);
}

function chooseFeature(a: Account, user: User): Feature {
  const { rng } = a;
  switch (a.archetype) {
    case 'trial_never_activates':
      return rng.pick(NON_KEY_FEATURES);
    case 'power_user':
      return rng.chance(0.75) ? user.favourite : GENERAL_FEATURES.sample(rng);
    case 'nearing_limit':
    case 'churning_account':
    case 'healthy':
      return GENERAL_FEATURES.sample(rng);
    default:
      return assertNever(a.archetype);
  }
}

function appSession(a: Account, p: SaasPlan, bound: number): void {
  const { timeline: t, rng, params } = a;
  const user = p.user;
  t.begin(user.web, p.ts);
  t.page('Dashboard', '/dashboard');
  if (p.login) {
    t.wait(actionGapMs(rng, 3));
    login(a, user);
  }
  const uses = 1 + rng.poisson((params.featuresPerSession - 1) * (user.role === 'viewer' ? 0.5 : 1));
  for (let i = 0; i < uses; i++) {
    const feature = chooseFeature(a, user);
    t.wait(actionGapMs(rng, 60));
    if (feature === KEY_FEATURE && rng.chance(0.5)) t.page('Reports', '/reports');
    t.track('Feature Used', FEATURE_PROPERTIES[feature]);
  }
  if (user.role === 'admin') {
    // Accounts close to their limit look at pricing more as the limit approaches.
    const progress = (p.ts - a.calendar.startMs) / (a.calendar.endMs - a.calendar.startMs);
    const pricing = params.pricingViewChance * (a.archetype === 'nearing_limit' ? 1 + 5 * progress : 1);
    if (rng.chance(pricing)) {
      t.wait(actionGapMs(rng, 30));
      t.page('Pricing', '/pricing');
      t.track('Pricing Viewed', { current_plan: a.plan });
    }
  }
  if (rng.chance(0.04)) {
    t.wait(actionGapMs(rng, 30));
    t.page('Settings', '/settings');
  }
  t.end(bound);
}

function inviteSession(a: Account, p: SaasPlan, bound: number): void {
  const { timeline: t, rng } = a;
  const invitee = p.invitee!;
  t.begin(p.user.web, p.ts);
  t.page('Team', '/settings/team');
  if (p.login) {
    t.wait(actionGapMs(rng, 3));
    login(a, p.user);
  }
  t.wait(actionGapMs(rng, 45));
  t.track('Invite Sent', { invitee_email: invitee.traits.email ?? null, invitee_role: invitee.role });
  t.end(bound);
}

function subscribeSession(a: Account, p: SaasPlan, bound: number): void {
  const { timeline: t, rng } = a;
  t.begin(p.user.web, p.ts);
  t.page('Billing', '/settings/billing');
  if (p.login) {
    t.wait(actionGapMs(rng, 3));
    login(a, p.user);
  }
  t.wait(actionGapMs(rng, 60));
  t.track('Subscription Started', {
    plan: a.plan,
    billing_period: 'monthly',
    revenue: a.monthlyUsd,
    currency: 'USD',
  });
  t.end(bound);
}

/** Weekly `Usage Reported` for the account: usage moves linearly from its start share to its end share of the limit. */
function usageReports(a: Account, admin: User, accountIndex: number): void {
  const { rng, params, calendar: cal } = a;
  const limit = PLANS[a.plan].usageLimit;
  const from = rng.uniform(params.usageFrom[0], params.usageFrom[1]);
  const to = a.archetype === 'nearing_limit' ? rng.uniform(params.usageTo[0], params.usageTo[1]) : from;
  const weekday = accountIndex % 7;
  for (let day = weekday; day < cal.days; day += 7) {
    const ts = cal.dayStart(day) + 3 * HOUR_MS + rng.int(0, 30 * MINUTE_MS);
    if (ts < a.activeStart || ts >= a.activeEnd) continue;
    const progress = (ts - cal.startMs) / (cal.endMs - cal.startMs);
    const share = clamp((from + (to - from) * progress) * a.decay(ts) * rng.uniform(0.97, 1.03), 0, 0.999);
    const usage = Math.round(limit * share);
    a.timeline.trackAt(admin.server, ts, 'Usage Reported', {
      metric: 'events_processed',
      usage,
      limit,
      percent_used: round((100 * usage) / limit, 1),
    });
  }
}

/** Monthly invoices as `Order Completed` on the paying admin. */
function invoices(a: Account, admin: User, fromMs: number, firstIsSubscription: boolean): void {
  let ts = firstIsSubscription ? fromMs + BILLING_PERIOD_DAYS * DAY_MS : fromMs;
  for (; ts < a.activeEnd; ts += BILLING_PERIOD_DAYS * DAY_MS) {
    if (ts < a.activeStart) continue;
    a.timeline.trackAt(admin.server, ts, 'Order Completed', {
      order_id: `inv_${a.ids.hex(12)}`,
      revenue: a.monthlyUsd,
      total: a.monthlyUsd,
      currency: 'USD',
      products: [
        {
          product_id: `plan_${a.plan}`,
          category: 'subscription',
          price: PLANS[a.plan].seatPriceUsd,
          quantity: round(a.monthlyUsd / PLANS[a.plan].seatPriceUsd, 0),
        },
      ],
    });
  }
}

const ONBOARDING = [
  { afterHours: 0.1, email: emailContent('onboarding_welcome', 'Welcome aboard') },
  { afterHours: 48, email: emailContent('onboarding_first_report', 'Build your first report') },
  { afterHours: 120, email: emailContent('onboarding_invite', 'Bring your team') },
] as const;

function userEmails(
  a: Account,
  user: User,
  campaigns: readonly NewsletterCampaign[],
  knownFrom: number,
): void {
  const { rng, timeline: t, params } = a;
  const send = (ts: number, email: EmailContent): void => {
    if (ts < knownFrom || ts >= a.activeEnd) return;
    t.trackAt(user.server, ts, 'Email Sent', email.properties);
    if (!rng.chance(params.emailOpen * a.decay(ts))) return;
    const opened = ts + delayMs(rng, 4, 1.2);
    if (opened >= a.activeEnd) return;
    t.trackAt(user.server, opened, 'Email Opened', email.properties);
    if (!rng.chance(0.25)) return;
    const clicked = opened + actionGapMs(rng, 40);
    if (clicked < a.activeEnd) t.trackAt(user.server, clicked, 'Email Link Clicked', email.clickProperties);
  };
  if (user.joinsInWindow) {
    for (const step of ONBOARDING) send(user.joinMs + Math.floor(step.afterHours * HOUR_MS), step.email);
  }
  if (!rng.chance(0.8)) return; // opted out of the newsletter
  for (const c of campaigns) send(c.ts + rng.int(0, 15 * MINUTE_MS), c.email);
}

const TICKET_SUBJECTS = [
  'Cannot connect integration',
  'Report is slow',
  'Billing question',
  'SSO setup',
  'API error 429',
];
const PRIORITIES: readonly string[] = ['low', 'normal', 'normal', 'high', 'urgent'];

function support(a: Account, user: User, window: WindowDensity): void {
  const { rng, timeline: t, params } = a;
  if (window.empty) return;
  const tickets = rng.poisson(params.ticketsPerDay * ((window.toMs - window.fromMs) / DAY_MS));
  for (let i = 0; i < tickets; i++) {
    const created = window.sample(rng);
    const ticketId = `tkt_${a.ids.hex(10)}`;
    const priority = rng.pick(PRIORITIES);
    t.trackAt(user.server, created, 'Ticket Created', {
      ticket_id: ticketId,
      priority,
      subject: rng.pick(TICKET_SUBJECTS),
    });
    const resolved = created + delayMs(rng, 10, 1);
    if (resolved >= window.toMs) continue;
    t.trackAt(user.server, resolved, 'Ticket Resolved', {
      ticket_id: ticketId,
      priority,
      resolution_hours: round((resolved - created) / HOUR_MS, 1),
    });
    if (!rng.chance(0.4)) continue;
    const answered = resolved + delayMs(rng, 2, 1);
    if (answered < window.toMs) {
      t.trackAt(user.server, answered, 'Survey Answered', {
        survey: 'CSAT',
        survey_id: 'csat_support',
        score: surveyScore(rng, params.satisfaction, 'CSAT'),
        ticket_id: ticketId,
      });
    }
  }
  if (rng.chance(0.25)) {
    t.trackAt(user.server, window.sample(rng), 'Survey Answered', {
      survey: 'NPS',
      survey_id: 'nps_quarterly',
      score: surveyScore(rng, params.satisfaction, 'NPS'),
    });
  }
}
