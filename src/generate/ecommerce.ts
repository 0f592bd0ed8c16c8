import { createRng, type Rng, type WeightedTable } from '../shared/seeded-random.js';
import type { GroundTruth, JsonObject } from './generated-message.js';
import {
  assertNever,
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
import {
  actionGapMs,
  type Calendar,
  DAY_MS,
  delayMs,
  HOUR_MS,
  MINUTE_MS,
  promotionOn,
  WindowDensity,
} from './timing.js';

/**
 * The ecommerce profile: shoppers of an online store, each with a latent archetype, emitting Segment's e-commerce
 * spec events (https://segment.com/docs/connections/spec/ecommerce/v2/) plus email, support and survey events.
 */

export const ECOMMERCE_ARCHETYPES = [
  'loyal_champion',
  'bargain_hunter',
  'window_shopper',
  'cart_abandoner',
  'churning',
  'new_customer',
] as const;
export type EcommerceArchetype = (typeof ECOMMERCE_ARCHETYPES)[number];

export const ECOMMERCE_MIX: Record<EcommerceArchetype, number> = {
  loyal_champion: 0.1,
  bargain_hunter: 0.15,
  window_shopper: 0.25,
  cart_abandoner: 0.15,
  churning: 0.15,
  new_customer: 0.2,
};

export interface EcommerceParams {
  /** Purchases per active day, heterogeneous within the archetype: Gamma with this mean and shape. */
  purchaseRate: { mean: number; shape: number };
  /** Browsing sessions (no cart) per active day. */
  browseSessionsPerDay: number;
  /** Sessions that put products in the cart and leave without ordering, per active day. */
  cartSessionsPerDay: number;
  /** Order revenue ~ LogNormal(mu_person, sigma) with mu_person ~ Normal(mu, 0.25): spend differs between people. */
  order: { mu: number; sigma: number };
  /** Intensity multiplier inside promotion windows (purchases; browsing gets 30% of the boost). */
  promoBoost: number;
  /** Chance to look at the running promotion in a session during a sale. */
  promoViewChance: number;
  /** Mean product views per session. */
  productViews: number;
  /** Chance to open a marketing email. */
  emailOpen: number;
  ticketsPerDay: number;
  /** Latent satisfaction in [0, 1]: drives CSAT and NPS answers. */
  satisfaction: number;
  /** Chance that a person who never orders never registers either (stays anonymous). */
  staysAnonymous: number;
}

export const ECOMMERCE_PARAMS: Record<EcommerceArchetype, EcommerceParams> = {
  loyal_champion: {
    purchaseRate: { mean: 0.08, shape: 4 },
    browseSessionsPerDay: 0.45,
    cartSessionsPerDay: 0.03,
    order: { mu: 4.4, sigma: 0.45 },
    promoBoost: 1.2,
    promoViewChance: 0.3,
    productViews: 3,
    emailOpen: 0.55,
    ticketsPerDay: 0.006,
    satisfaction: 0.85,
    staysAnonymous: 0,
  },
  bargain_hunter: {
    purchaseRate: { mean: 0.035, shape: 3 },
    browseSessionsPerDay: 0.25,
    cartSessionsPerDay: 0.03,
    order: { mu: 3.6, sigma: 0.5 },
    promoBoost: 10,
    promoViewChance: 0.85,
    productViews: 4,
    emailOpen: 0.4,
    ticketsPerDay: 0.005,
    satisfaction: 0.6,
    staysAnonymous: 0,
  },
  window_shopper: {
    purchaseRate: { mean: 0.004, shape: 2 },
    browseSessionsPerDay: 0.3,
    cartSessionsPerDay: 0.02,
    order: { mu: 3.9, sigma: 0.6 },
    promoBoost: 1.5,
    promoViewChance: 0.4,
    productViews: 4,
    emailOpen: 0.15,
    ticketsPerDay: 0.002,
    satisfaction: 0.55,
    staysAnonymous: 0.6,
  },
  cart_abandoner: {
    purchaseRate: { mean: 0.012, shape: 2 },
    browseSessionsPerDay: 0.2,
    cartSessionsPerDay: 0.15,
    order: { mu: 4.0, sigma: 0.5 },
    promoBoost: 1.5,
    promoViewChance: 0.4,
    productViews: 3,
    emailOpen: 0.25,
    ticketsPerDay: 0.008,
    satisfaction: 0.45,
    staysAnonymous: 0,
  },
  churning: {
    purchaseRate: { mean: 0.05, shape: 3 },
    browseSessionsPerDay: 0.45,
    cartSessionsPerDay: 0.04,
    order: { mu: 4.1, sigma: 0.5 },
    promoBoost: 1,
    promoViewChance: 0.3,
    productViews: 3,
    emailOpen: 0.3,
    ticketsPerDay: 0.02,
    satisfaction: 0.25,
    staysAnonymous: 0,
  },
  new_customer: {
    purchaseRate: { mean: 0.06, shape: 3 },
    browseSessionsPerDay: 0.5,
    cartSessionsPerDay: 0.05,
    order: { mu: 4.0, sigma: 0.5 },
    promoBoost: 1.3,
    promoViewChance: 0.4,
    productViews: 3,
    emailOpen: 0.5,
    ticketsPerDay: 0.006,
    satisfaction: 0.7,
    staysAnonymous: 0,
  },
};

/** Share of the window (from its start) inside which a churning person stops; new customers sign up in the window's late part. */
export const CHURN_WINDOW = [0.25, 0.85] as const;
export const SIGNUP_WINDOW = [0.5, 0.95] as const;

export interface EcommerceContext {
  seed: number;
  calendar: Calendar;
  mix: WeightedTable<EcommerceArchetype>;
  campaigns: readonly Campaign[];
}

// Salts keep a person's behaviour stream and its id stream independent.
const SALT_BEHAVIOUR = 0x65636f6d; // 'ecom'
const SALT_IDS = 0x69647321;

// ---- the catalog: fixed, shared by every run, so product ids mean the same thing across seeds ---------------------

const CATEGORIES = [
  { name: 'Apparel', mu: 3.4, nouns: ['T-Shirt', 'Hoodie', 'Jacket', 'Jeans', 'Scarf'] },
  { name: 'Shoes', mu: 4.2, nouns: ['Sneakers', 'Boots', 'Sandals', 'Loafers'] },
  { name: 'Electronics', mu: 4.8, nouns: ['Headphones', 'Speaker', 'Charger', 'Smartwatch', 'Camera'] },
  { name: 'Home', mu: 3.6, nouns: ['Lamp', 'Cushion', 'Vase', 'Blanket', 'Mug Set'] },
  { name: 'Beauty', mu: 3.0, nouns: ['Serum', 'Lipstick', 'Perfume', 'Face Mask'] },
  { name: 'Sports', mu: 3.7, nouns: ['Yoga Mat', 'Water Bottle', 'Running Belt', 'Dumbbells'] },
  { name: 'Books', mu: 2.7, nouns: ['Novel', 'Cookbook', 'Notebook', 'Atlas'] },
  { name: 'Toys', mu: 3.2, nouns: ['Puzzle', 'Building Set', 'Plush Bear', 'Board Game'] },
] as const;
const ADJECTIVES = ['Classic', 'Urban', 'Cozy', 'Pro', 'Eco', 'Vintage', 'Nordic', 'Deluxe', 'Mini', 'Bold'];

interface Product {
  id: string;
  name: string;
  category: string;
  price: number;
  /** The `Product Viewed` properties: built once and shared by every view of the product. */
  view: JsonObject;
}

const CATALOG: readonly (readonly Product[])[] = (() => {
  const rng = createRng(0x5e6f, 0, 0x63617467);
  let n = 0;
  return CATEGORIES.map((category) =>
    Array.from({ length: 30 }, () => {
      n++;
      const id = `prod_${String(n).padStart(4, '0')}`;
      const name = `${rng.pick(ADJECTIVES)} ${rng.pick(category.nouns)}`;
      const price = round(Math.max(2, rng.lognormal(category.mu, 0.4)) - 0.01);
      const view: JsonObject = shared({
        product_id: id,
        sku: `SKU-${1000 + n}`,
        category: category.name,
        name,
        price,
        currency: 'USD',
      });
      return { id, name, category: category.name, price, view };
    }),
  );
})();

const SEARCHES: Record<string, readonly string[]> = {
  Apparel: ['hoodie', 'black jeans', 'winter jacket'],
  Shoes: ['running shoes', 'boots', 'sneakers white'],
  Electronics: ['wireless headphones', 'usb-c charger', 'smartwatch'],
  Home: ['desk lamp', 'throw blanket'],
  Beauty: ['vitamin c serum', 'perfume'],
  Sports: ['yoga mat', 'dumbbells'],
  Books: ['cookbook', 'notebook'],
  Toys: ['puzzle 1000', 'board game'],
};

// ---- email campaigns: one schedule per run, the same for everyone ------------------------------------------------

export interface Campaign {
  ts: number;
  id: string;
  subject: string;
  promo: boolean;
  /** Shared message properties: Email Sent / Opened, and Email Link Clicked. */
  properties: JsonObject;
  clickProperties: JsonObject;
}

function campaign(ts: number, id: string, subject: string, promo: boolean): Campaign {
  const properties = shared({ campaign_id: id, email_subject: subject });
  const link_url = promo ? 'https://shop.example.com/sale' : 'https://shop.example.com/new';
  return { ts, id, subject, promo, properties, clickProperties: shared({ ...properties, link_url }) };
}

const NEWSLETTER_SUBJECTS = [
  'New arrivals this week',
  'Picked for you',
  'Trending now',
  'Back in stock',
  'Style notes',
];

/** A weekly newsletter (day 2 of each week, 15:00) and a promo email at 09:00 on each sale's first day. */
export function ecommerceCampaigns(calendar: Calendar): Campaign[] {
  const campaigns: Campaign[] = [];
  for (let day = 0; day < calendar.days; day++) {
    const promo = promotionOn(day);
    if (promo !== null && promotionOn(day - 1)?.id !== promo.id) {
      campaigns.push(
        campaign(
          calendar.dayStart(day) + 9 * HOUR_MS,
          `cmp_${promo.id}`,
          `${promo.name}: up to 40% off`,
          true,
        ),
      );
    }
    if (day % 7 === 2) {
      const week = Math.floor(day / 7);
      const subject = NEWSLETTER_SUBJECTS[week % NEWSLETTER_SUBJECTS.length]!;
      campaigns.push(
        campaign(calendar.dayStart(day) + 15 * HOUR_MS, `cmp_newsletter_w${week + 1}`, subject, false),
      );
    }
  }
  return campaigns;
}

// ---- one person -------------------------------------------------------------------------------------------------

type SessionKind = 'browse' | 'cart' | 'purchase' | 'signup';

interface SessionPlan {
  ts: number;
  kind: SessionKind;
  /** Index into the person's device slots. */
  device: number;
  /** Sessions before an in-window signup end before it and cannot log in. */
  beforeSignup: boolean;
  /** Log in (identify) during this session: at checkout for purchases, else on arrival. */
  login: boolean;
}

/** Everything the session writers need about the person. */
interface Shopper {
  rng: Rng;
  ids: Rng;
  params: EcommerceParams;
  timeline: Timeline;
  calendar: Calendar;
  orderMu: number;
  favourites: readonly (readonly Product[])[];
  userId: string | null;
  traits: JsonObject | null;
  consent: JsonObject;
  /** An old device's anonymousId to alias into the userId at the first login, if any. */
  aliasFrom: string | null;
}

export function generateEcommercePerson(ctx: EcommerceContext, index: number): GeneratedUnit {
  const rng = createRng(ctx.seed, index, SALT_BEHAVIOUR);
  const ids = createRng(ctx.seed, index, SALT_IDS);
  const cal = ctx.calendar;
  // The archetype is the stream's first draw, so the mix depends on nothing else.
  const archetype = ctx.mix.sample(rng);
  const params = ECOMMERCE_PARAMS[archetype];
  const rate = roundSignificant(
    rng.gamma(params.purchaseRate.shape, params.purchaseRate.mean / params.purchaseRate.shape),
  );
  const orderMu = params.order.mu + rng.normal(0, 0.25);

  const { activeStart, activeEnd, signupInWindow, decayMs } = lifeCycle(archetype, cal, rng);
  const activeDays = (activeEnd - activeStart) / DAY_MS;

  const dayFactor = (boost: number): ((day: number) => number) | undefined => {
    if (boost === 1 && decayMs === null) return undefined;
    return (day) => {
      const promo = promotionOn(day) !== null ? boost : 1;
      if (decayMs === null) return promo;
      const mid = cal.dayStart(day) + DAY_MS / 2;
      return promo * Math.exp(-Math.max(0, mid - activeStart) / decayMs);
    };
  };
  const purchaseDensity = new WindowDensity(cal, activeStart, activeEnd, dayFactor(params.promoBoost));
  const browseDensity = new WindowDensity(
    cal,
    activeStart,
    activeEnd,
    dayFactor(1 + (params.promoBoost - 1) * 0.3),
  );

  // The processes. Purchases are exactly Poisson with mean rate × active days: that is the ground truth.
  const plans: SessionPlan[] = [];
  const plan = (ts: number, kind: SessionKind, beforeSignup = false): void => {
    plans.push({ ts, kind, device: 0, beforeSignup, login: false });
  };
  const purchases = rng.poisson(rate * activeDays);
  for (let i = 0; i < purchases; i++) plan(purchaseDensity.sample(rng), 'purchase');
  const browses = rng.poisson(params.browseSessionsPerDay * activeDays);
  for (let i = 0; i < browses; i++) plan(browseDensity.sample(rng), 'browse');
  const carts = rng.poisson(params.cartSessionsPerDay * activeDays);
  for (let i = 0; i < carts; i++) plan(browseDensity.sample(rng), 'cart');

  // Before an in-window signup: a few anonymous visits in the preceding week.
  const preSignup =
    signupInWindow === null
      ? null
      : new WindowDensity(cal, Math.max(cal.startMs, signupInWindow - 7 * DAY_MS), signupInWindow);
  if (signupInWindow !== null && preSignup !== null) {
    plan(signupInWindow, 'signup');
    if (!preSignup.empty) {
      const visits = 1 + rng.poisson(1.5);
      for (let i = 0; i < visits; i++) plan(preSignup.sample(rng), 'browse', true);
    }
  }
  // Every simulated person is seen at least once.
  if (plans.length === 0) plan(browseDensity.sample(rng), 'browse');

  const registered = signupInWindow !== null || purchases > 0 || !rng.chance(params.staysAnonymous);

  // Devices: a primary one, sometimes a second (the other channel) and sometimes an old browser later aliased.
  const timeline = new Timeline('https://shop.example.com');
  const userId = registered ? `usr_${ids.hex(16)}` : null;
  const mobileFirst = rng.chance(0.3);
  const devices = [
    timeline.addSlot({ person: 0, channel: mobileFirst ? 'mobile' : 'web', anonymousId: ids.uuid(), userId }),
  ];
  if (registered && rng.chance(0.2)) {
    devices.push(
      timeline.addSlot({
        person: 0,
        channel: mobileFirst ? 'web' : 'mobile',
        anonymousId: ids.uuid(),
        userId,
      }),
    );
    const from = activeStart + (activeEnd - activeStart) * rng.uniform(0.1, 0.7);
    for (const p of plans)
      if (p.kind !== 'signup' && !p.beforeSignup && p.ts >= from && rng.chance(0.5)) p.device = 1;
  }
  let aliasFrom: string | null = null;
  if (registered && rng.chance(0.05)) {
    const anonymousId = ids.uuid();
    aliasFrom = anonymousId;
    const oldDevice = devices.length;
    devices.push(timeline.addSlot({ person: 0, channel: 'web', anonymousId, userId }));
    // The old browser was used early on (before the signup for new customers), never logged in.
    const beforeSignup = preSignup !== null && !preSignup.empty;
    const early = beforeSignup
      ? preSignup
      : new WindowDensity(
          cal,
          activeStart,
          activeStart + Math.max(1, Math.floor((activeEnd - activeStart) * 0.3)),
        );
    const visits = 1 + rng.poisson(1);
    for (let i = 0; i < visits; i++) {
      plans.push({ ts: early.sample(rng), kind: 'browse', device: oldDevice, beforeSignup, login: false });
    }
  }
  plans.sort((a, b) => a.ts - b.ts);

  if (registered) planLogins(plans, devices.length, aliasFrom === null ? -1 : devices.length - 1, rng);

  const name = randomName(rng);
  const createdMs = signupInWindow ?? cal.startMs - Math.floor(rng.uniform(20, 1200) * DAY_MS);
  const consentMarketing = rng.chance(0.75);
  const shopper: Shopper = {
    rng,
    ids,
    params,
    timeline,
    calendar: cal,
    orderMu,
    favourites: favouriteCategories(rng),
    userId,
    traits: userId === null ? null : identifyTraits(rng, name, userId, createdMs),
    consent: {
      categoryPreferences: {
        Advertising: rng.chance(0.6),
        Analytics: true,
        Functional: true,
        Marketing: consentMarketing,
      },
    },
    aliasFrom,
  };

  for (const p of plans) {
    const bound = p.beforeSignup && signupInWindow !== null ? signupInWindow : activeEnd;
    const slot = devices[p.device]!;
    switch (p.kind) {
      case 'browse':
      case 'cart':
      case 'purchase':
        shopSession(shopper, slot, p, bound);
        break;
      case 'signup':
        signupSession(shopper, slot, p.ts, bound);
        break;
      default:
        return assertNever(p.kind);
    }
  }

  // Server-side messages (emails, support, surveys) exist only while the store knows the userId.
  if (userId !== null) {
    const server = timeline.addSlot({ person: 0, channel: 'server', anonymousId: null, userId });
    const knownFrom = signupInWindow ?? cal.startMs;
    const decay = (t: number): number => (decayMs === null ? 1 : Math.exp(-(t - activeStart) / decayMs));
    if (consentMarketing) emails(shopper, server, ctx.campaigns, knownFrom, activeEnd, decay);
    support(shopper, server, new WindowDensity(cal, knownFrom, activeEnd));
  }

  const finished = timeline.finish(ids, 1);
  const anonymousIds = finished.anonymousIds[0]!;
  const seenUserId = finished.userIds[0]!;
  const truth: GroundTruth = {
    personKey: seenUserId ?? [...anonymousIds].sort()[0]!,
    archetype,
    purchaseRatePerDay: rate,
    churnDate: archetype === 'churning' ? new Date(activeEnd).toISOString() : null,
    anonymousIds,
    userId: seenUserId,
    signupDate: seenUserId === null ? null : new Date(createdMs).toISOString(),
  };
  return { events: finished.events, truth: [truth] };
}

/** When a person can act at all: [activeStart, activeEnd), and how its activity fades when it churns. */
interface LifeCycle {
  activeStart: number;
  activeEnd: number;
  /** new_customer: the signup, which starts the active window. */
  signupInWindow: number | null;
  /** churning: e-folding time of the activity decay. */
  decayMs: number | null;
}

function lifeCycle(archetype: EcommerceArchetype, cal: Calendar, rng: Rng): LifeCycle {
  const windowMs = cal.endMs - cal.startMs;
  const always: LifeCycle = {
    activeStart: cal.startMs,
    activeEnd: cal.endMs,
    signupInWindow: null,
    decayMs: null,
  };
  switch (archetype) {
    case 'churning': {
      const activeEnd = cal.startMs + Math.floor(windowMs * rng.uniform(CHURN_WINDOW[0], CHURN_WINDOW[1]));
      // Activity fades over the remaining life (e-folding time 40% of it) and then stops at the churn date.
      return { ...always, activeEnd, decayMs: (activeEnd - cal.startMs) * 0.4 };
    }
    case 'new_customer': {
      const signup = cal.startMs + Math.floor(windowMs * rng.uniform(SIGNUP_WINDOW[0], SIGNUP_WINDOW[1]));
      return { ...always, activeStart: signup, signupInWindow: signup };
    }
    case 'loyal_champion':
    case 'bargain_hunter':
    case 'window_shopper':
    case 'cart_abandoner':
      return always;
    default:
      return assertNever(archetype);
  }
}

/**
 * Decide where each device logs in: at its first purchase (checkout needs an account) or, on any visit, with some
 * chance; a device that never did logs in on its last visit, so every device of a registered person is eventually
 * tied to the userId. Visits before an in-window signup cannot log in; `skipDevice` (the aliased old browser) never
 * does.
 */
function planLogins(plans: readonly SessionPlan[], devices: number, skipDevice: number, rng: Rng): void {
  for (let device = 0; device < devices; device++) {
    if (device === skipDevice) continue;
    let last: SessionPlan | null = null;
    let loggedIn = false;
    for (const p of plans) {
      if (p.device !== device) continue;
      last = p;
      if (loggedIn || p.beforeSignup) continue;
      if (p.kind === 'signup' || p.kind === 'purchase' || rng.chance(0.35)) {
        p.login = true;
        loggedIn = true;
      }
    }
    if (!loggedIn && last !== null && !last.beforeSignup) last.login = true;
  }
}

function favouriteCategories(rng: Rng): (readonly Product[])[] {
  const first = rng.int(0, CATALOG.length);
  const second = (first + rng.int(1, CATALOG.length)) % CATALOG.length;
  return [CATALOG[first]!, CATALOG[second]!];
}

/** Mostly from the person's two favourite categories, sometimes anything. */
function pickProduct(s: Shopper): Product {
  const { rng } = s;
  const category = rng.chance(0.75) ? rng.pick(s.favourites) : rng.pick(CATALOG);
  return rng.pick(category);
}

function identifyTraits(rng: Rng, name: PersonName, userId: string, createdMs: number): JsonObject {
  return {
    email: emailFor(name, userId, 'example.com'),
    name: `${name.first} ${name.last}`,
    first_name: name.first,
    last_name: name.last,
    plan: rng.chance(0.2) ? 'plus' : 'standard',
    created_at: new Date(createdMs).toISOString(),
  };
}

/** Log in: an identify (sometimes carrying consent preferences, as a consent manager would add them). */
function login(s: Shopper): void {
  const t = s.timeline;
  if (s.traits === null) return;
  t.identify(s.traits, s.rng.chance(0.3) ? { consent: s.consent } : undefined);
  if (s.aliasFrom !== null) {
    t.wait(1000);
    t.alias(s.aliasFrom);
    s.aliasFrom = null;
  }
}

function signupSession(s: Shopper, slot: number, ts: number, bound: number): void {
  const { timeline: t, rng } = s;
  t.begin(slot, ts);
  t.page('Sign Up', '/signup');
  t.wait(actionGapMs(rng, 60));
  login(s);
  t.wait(actionGapMs(rng, 2));
  t.track('Signed Up', { method: rng.chance(0.7) ? 'email' : 'google' });
  t.end(bound);
}

const LANDINGS = [
  ['Home', '/'],
  ['Home', '/'],
  ['Category', '/c'],
  ['Search', '/search'],
] as const;

function shopSession(s: Shopper, slot: number, p: SessionPlan, bound: number): void {
  const { timeline: t, rng, params } = s;
  const promo = promotionOn(s.calendar.dayOf(p.ts));
  t.begin(slot, p.ts);

  const [landing, path] = rng.pick(LANDINGS);
  const landingCategory = rng.pick(s.favourites)[0]!.category;
  t.page(landing, landing === 'Category' ? `/c/${landingCategory.toLowerCase()}` : path);
  if (p.login && p.kind !== 'purchase') {
    t.wait(actionGapMs(rng, 20));
    login(s);
  }
  if (promo !== null && rng.chance(params.promoViewChance)) {
    t.wait(actionGapMs(rng, 15));
    t.track('Promotion Viewed', {
      promotion_id: promo.id,
      name: promo.name,
      creative: 'home_banner',
      position: 'top',
    });
  }
  if (rng.chance(0.3)) {
    t.wait(actionGapMs(rng, 20));
    t.track('Products Searched', { query: rng.pick(SEARCHES[landingCategory] ?? ['gift ideas']) });
  }

  // The basket is chosen first so the viewed products include what ends up in the cart. A purchase's revenue (after
  // any coupon) is its log-normal draw: the basket is filled with products whose list prices roughly fit it.
  const usesCoupon = p.kind === 'purchase' && promo !== null && rng.chance(0.8);
  const discountRate = usesCoupon && promo !== null ? promo.discount : 0;
  const revenueTarget = p.kind === 'purchase' ? Math.max(3, rng.lognormal(s.orderMu, params.order.sigma)) : 0;
  const { basket, quantities } =
    p.kind === 'purchase'
      ? fillBasket(s, revenueTarget / (1 - discountRate))
      : p.kind === 'cart'
        ? randomBasket(s)
        : { basket: [], quantities: [] };
  const views = Math.max(basket.length, 1 + rng.poisson(params.productViews - 1));
  for (let i = 0; i < views; i++) {
    const product = i < basket.length ? basket[i]! : pickProduct(s);
    t.wait(actionGapMs(rng, 40));
    t.page('Product', `/p/${product.id}`);
    t.track('Product Viewed', product.view);
  }
  if (p.kind === 'browse') {
    t.end(bound);
    return;
  }

  const cartId = s.ids.hex(12);
  basket.forEach((product, i) => {
    t.wait(actionGapMs(rng, 30));
    t.track('Product Added', { ...product.view, quantity: quantities[i]!, cart_id: cartId });
  });
  if (p.kind === 'cart') {
    if (basket.length > 1 && rng.chance(0.3)) {
      t.wait(actionGapMs(rng, 30));
      t.track('Product Removed', { ...basket[0]!.view, quantity: quantities[0]!, cart_id: cartId });
    }
    if (rng.chance(0.4)) {
      t.wait(actionGapMs(rng, 40));
      t.track('Checkout Started', { cart_id: cartId, value: listValue(basket, quantities), currency: 'USD' });
    }
    t.end(bound);
    return;
  }

  // Unit prices are scaled (by a factor near 1) so the revenue is exactly the draw.
  const scale = revenueTarget / (1 - discountRate) / listValue(basket, quantities);
  const lines = basket.map((product, i) => ({
    product_id: product.id,
    name: product.name,
    category: product.category,
    price: round(Math.max(0.5, product.price * scale)),
    quantity: quantities[i]!,
  }));
  const subtotal = round(lines.reduce((sum, l) => sum + l.price * l.quantity, 0));
  const discount = round(subtotal * discountRate);
  const revenue = round(subtotal - discount);
  const shipping = revenue >= 50 ? 0 : 4.99;
  const tax = round(revenue * 0.08);
  const orderId = `ord_${s.ids.hex(12)}`;

  t.wait(actionGapMs(rng, 30));
  t.page('Cart', '/cart');
  t.wait(actionGapMs(rng, 25));
  t.track('Checkout Started', {
    order_id: orderId,
    value: subtotal,
    revenue,
    currency: 'USD',
    products: lines,
  });
  if (p.login) {
    t.wait(actionGapMs(rng, 30));
    login(s);
  }
  if (usesCoupon && promo !== null) {
    t.wait(actionGapMs(rng, 20));
    t.track('Coupon Applied', {
      order_id: orderId,
      coupon_id: promo.coupon,
      coupon_name: promo.name,
      discount,
    });
  }
  t.wait(actionGapMs(rng, 90));
  const order: JsonObject = {
    order_id: orderId,
    total: round(revenue + shipping + tax),
    revenue,
    shipping,
    tax,
    discount,
    currency: 'USD',
    products: lines,
  };
  if (usesCoupon && promo !== null) order.coupon = promo.coupon;
  t.track('Order Completed', order);
  t.end(bound);
}

/** An abandoned cart: one to four products, mostly one of each. */
function randomBasket(s: Shopper): { basket: Product[]; quantities: number[] } {
  const { rng } = s;
  const items = Math.min(4, 1 + rng.poisson(0.4));
  const basket = Array.from({ length: items }, () => pickProduct(s));
  return { basket, quantities: basket.map(() => (rng.chance(0.85) ? 1 : 2)) };
}

/**
 * Products whose list prices add up to about `target`: from a handful of candidates, most expensive first, take
 * what still fits (a second unit sometimes); if nothing fits, the cheapest candidate.
 */
function fillBasket(s: Shopper, target: number): { basket: Product[]; quantities: number[] } {
  const { rng } = s;
  const wanted = Math.min(4, 1 + rng.poisson(0.6));
  const candidates = Array.from({ length: 3 * wanted + 3 }, () => pickProduct(s)).sort(
    (a, b) => b.price - a.price,
  );
  const basket: Product[] = [];
  const quantities: number[] = [];
  let remaining = target;
  for (const product of candidates) {
    if (basket.length === wanted) break;
    if (product.price > remaining * 1.2 || basket.includes(product)) continue;
    const quantity = product.price * 2 <= remaining && rng.chance(0.3) ? 2 : 1;
    basket.push(product);
    quantities.push(quantity);
    remaining -= product.price * quantity;
  }
  if (basket.length === 0) {
    basket.push(candidates.at(-1)!);
    quantities.push(1);
  }
  return { basket, quantities };
}

function listValue(basket: readonly Product[], quantities: readonly number[]): number {
  return round(basket.reduce((sum, product, i) => sum + product.price * quantities[i]!, 0));
}

/** Marketing emails from the shared schedule: sent, sometimes opened (later), sometimes clicked. */
function emails(
  s: Shopper,
  server: number,
  campaigns: readonly Campaign[],
  fromMs: number,
  toMs: number,
  decay: (t: number) => number,
): void {
  const { rng, timeline: t, params } = s;
  for (const c of campaigns) {
    if (c.ts < fromMs || c.ts >= toMs) continue;
    // A batch send takes a few minutes to reach everyone.
    const sent = c.ts + rng.int(0, 20 * MINUTE_MS);
    if (sent >= toMs) continue;
    t.trackAt(server, sent, 'Email Sent', c.properties);
    const openChance =
      Math.min(0.95, params.emailOpen * (c.promo && params.promoBoost > 2 ? 1.6 : 1)) * decay(sent);
    if (!rng.chance(openChance)) continue;
    const opened = sent + delayMs(rng, 3, 1.2);
    if (opened >= toMs) continue;
    t.trackAt(server, opened, 'Email Opened', c.properties);
    if (!rng.chance(0.3)) continue;
    const clicked = opened + actionGapMs(rng, 40);
    if (clicked >= toMs) continue;
    t.trackAt(server, clicked, 'Email Link Clicked', c.clickProperties);
  }
}

const TICKET_SUBJECTS = [
  'Where is my order?',
  'Return request',
  'Damaged item',
  'Payment failed',
  'Change address',
];
const PRIORITIES: readonly string[] = ['low', 'normal', 'normal', 'normal', 'high', 'urgent'];

/** Support tickets (a Poisson process), their resolution, CSAT after some, and an occasional NPS answer. */
function support(s: Shopper, server: number, window: WindowDensity): void {
  const { rng, timeline: t, params } = s;
  if (window.empty) return;
  const activeDays = (window.toMs - window.fromMs) / DAY_MS;
  const tickets = rng.poisson(params.ticketsPerDay * activeDays);
  for (let i = 0; i < tickets; i++) {
    const created = window.sample(rng);
    const ticketId = `tkt_${s.ids.hex(10)}`;
    const priority = rng.pick(PRIORITIES);
    t.trackAt(server, created, 'Ticket Created', {
      ticket_id: ticketId,
      priority,
      subject: rng.pick(TICKET_SUBJECTS),
      channel: rng.chance(0.6) ? 'email' : 'chat',
    });
    const resolved = created + delayMs(rng, 18, 1);
    if (resolved >= window.toMs) continue;
    t.trackAt(server, resolved, 'Ticket Resolved', {
      ticket_id: ticketId,
      priority,
      resolution_hours: round((resolved - created) / HOUR_MS, 1),
    });
    if (!rng.chance(0.45)) continue;
    const answered = resolved + delayMs(rng, 2, 1);
    if (answered >= window.toMs) continue;
    t.trackAt(server, answered, 'Survey Answered', {
      survey: 'CSAT',
      survey_id: 'csat_support',
      score: surveyScore(rng, params.satisfaction, 'CSAT'),
      ticket_id: ticketId,
    });
  }
  if (rng.chance(0.25)) {
    t.trackAt(server, window.sample(rng), 'Survey Answered', {
      survey: 'NPS',
      survey_id: 'nps_quarterly',
      score: surveyScore(rng, params.satisfaction, 'NPS'),
    });
  }
}
