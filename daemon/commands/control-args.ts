/** Options shared by `langevind status | reload | reset`: where the daemon's control API is. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ControlClientError, type ClientOptions } from '../control/client.js';

export const CLIENT_USAGE = `  --control URL           the daemon's control API (default $LANGEVIND_CONTROL or http://127.0.0.1:7370)
  --token-file F          bearer token file (default $LANGEVIND_CONTROL_TOKEN_FILE), as the daemon's
                          --control-token-file`;

export function parseClientArgs(cmd: string, argv: string[], extra: NonNullable<ParseArgsConfig['options']> = {}): { client: ClientOptions; values: Record<string, string | boolean | undefined> } | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: { control: { type: 'string' }, 'token-file': { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...extra },
    });
  } catch (err) {
    throw new ControlClientError('EUSAGE', `${cmd}: ${(err as Error).message}`);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return null;
  return { client: { url: v.control as string | undefined, tokenFile: v['token-file'] as string | undefined }, values: v };
}
