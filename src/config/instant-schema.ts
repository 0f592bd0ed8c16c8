import { z } from 'zod';
import { INSTANT_FORMAT, parseInstant } from './instant.js';

/** A time in a definition or config file, checked as {@link parseInstant} reads it. */
export const Instant = z
  .string()
  .refine((s) => parseInstant(s) !== undefined, `not a date or time: use ${INSTANT_FORMAT}`)
  .describe(`a date or time: ${INSTANT_FORMAT}`);
