import type { Command } from 'commander';
import { SegflowError } from '../../errors.js';
import {
  API_KEY_ROLES,
  createApiKey,
  isApiKeyRole,
  listApiKeys,
  revokeApiKey,
} from '../../govern/api-keys.js';
import { cliActor, recordAudit } from '../../govern/audit.js';
import { withWarehouse } from '../context.js';
import { emit, log, table } from '../output.js';

/** `segflow keys create|list|revoke`: API keys for the collector (write) and the admin API (read, admin). */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys: write keys for SDKs, read and admin keys for the admin API');

  keys
    .command('create')
    .description('create a key and print it once (only a hash is stored)')
    .requiredOption('--role <role>', `one of ${API_KEY_ROLES.join(', ')}`)
    .option('--name <name>', 'a note to tell keys apart')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { role: string; name?: string; json?: boolean }, cmd: Command) => {
      if (!isApiKeyRole(flags.role)) {
        throw new SegflowError(
          'USAGE',
          `--role must be one of ${API_KEY_ROLES.join(', ')} (got '${flags.role}')`,
          'write sends events, read reads the admin API, admin does both and manages keys',
        );
      }
      const role = flags.role;
      const created = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        createApiKey(wh, role, { name: flags.name }).then(async (k) => {
          await recordAudit(wh, {
            actor: cliActor(),
            action: 'key.create',
            target: k.id,
            source: 'cli',
            detail: { role },
          });
          return k;
        }),
      );
      if (!flags.json) log('this is the only time the key is shown: store it now');
      emit(Boolean(flags.json), created, () => `${created.key}\n(id ${created.id}, role ${created.role})`);
    });

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--all', 'include revoked keys')
    .option('--json', 'print as one JSON document')
    .action(async (flags: { all?: boolean; json?: boolean }, cmd: Command) => {
      const rows = await withWarehouse(cmd.optsWithGlobals(), (wh) =>
        listApiKeys(wh, { includeRevoked: Boolean(flags.all) }),
      );
      emit(Boolean(flags.json), rows, () =>
        rows.length === 0 ? 'no keys' : table(rows.map((r) => ({ ...r }))),
      );
    });

  keys
    .command('revoke')
    .description('revoke a key by id (at once, also while `segflow serve` runs: the command runs through it)')
    .argument('<id>', 'the key id (key_…), as `keys list` shows it')
    .option('--json', 'print as one JSON document')
    .action(async (id: string, flags: { json?: boolean }, cmd: Command) => {
      const info = await withWarehouse(cmd.optsWithGlobals(), async (wh) => {
        const revoked = await revokeApiKey(wh, id);
        await recordAudit(wh, { actor: cliActor(), action: 'key.revoke', target: id, source: 'cli' });
        return revoked;
      });
      emit(Boolean(flags.json), info, () => `revoked ${info.id} (${info.role}, ${info.prefix}…)`);
    });
}
