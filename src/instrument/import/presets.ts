import type { ImportMapping } from './mapping.js';

/**
 * Built-in presets for well-known files. Each names the file format and how its rows become Segment messages.
 */
export const IMPORT_PRESETS = ['segment', 'cdnow', 'rees46'] as const;
export type ImportPreset = (typeof IMPORT_PRESETS)[number];

/**
 * CDNOW (Fader, Hardie & Lee 2005): whitespace-separated customer id, yyyymmdd, number of CDs, dollar value — one
 * `Order Completed` per row. The literature's 1/10 sample adds a sample id after the customer id; it is dropped.
 */
export const CDNOW_MAPPING: ImportMapping = {
  type: { value: 'track' },
  event: { value: 'Order Completed' },
  userId: 'customer_id',
  timestamp: { column: 'date', format: '%Y%m%d' },
  properties: {
    quantity: { column: 'cds', type: 'integer' },
    revenue: { column: 'dollars', type: 'number' },
  },
};

/**
 * REES46 e-commerce behaviour data (event_time, event_type, product_id, category_id, category_code, brand, price,
 * user_id, user_session): view/cart/remove_from_cart/purchase → Product Viewed/Product Added/Product Removed/Order
 * Completed. Revenue is the price of purchase rows only (`purchase_revenue` is derived by the preset's reader).
 */
export const REES46_MAPPING: ImportMapping = {
  type: { value: 'track' },
  event: {
    column: 'event_type',
    map: {
      view: 'Product Viewed',
      cart: 'Product Added',
      remove_from_cart: 'Product Removed',
      purchase: 'Order Completed',
    },
  },
  userId: 'user_id',
  timestamp: { column: 'event_time', format: '%Y-%m-%d %H:%M:%S UTC' },
  properties: {
    product_id: 'product_id',
    category_id: 'category_id',
    category: 'category_code',
    brand: 'brand',
    price: { column: 'price', type: 'number' },
    revenue: { column: 'purchase_revenue', type: 'number' },
    session_id: 'user_session',
  },
};
