import type { Destination, DestinationConfig } from './destination.js';
import { emailDestination } from './email.js';
import { httpSyncDestination } from './http-sync.js';
import { webhookDestination } from './webhook.js';

export function createDestination(name: string, config: DestinationConfig): Destination {
  switch (config.type) {
    case 'webhook':
      return webhookDestination(name, config);
    case 'email':
      return emailDestination(name, config);
    case 'http_sync':
      return httpSyncDestination(name, config);
    default: {
      const never: never = config;
      throw new Error(`unknown destination type ${String(never)}`);
    }
  }
}
