/** Options shared by `langevind status | reload | reset` and `recalibrate --apply`: where the daemon's control API is. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ControlClientError, type ClientOptions } from '../control/client.js';

export const CLIENT_USAGE = `  --control URL           the daemon's control API (default $LANGEVIND_CONTROL or http://127.0.0.1:7370)
  --token-file F          bearer token file (default $LANGEVIND_CONTROL_TOKEN_FILE), as the daemon's
                          --control-token-file`;

/** The parseArgs options behind CLIENT_USAGE, for a command that parses its own arguments. */
export const CLIENT_OPTIONS = { control: { type: 'string' }, 'token-file': { type: 'string' } } as const satisfies NonNullable<ParseArgsConfig['options']>;

/** The client options from values parsed with CLIENT_OPTIONS. */
export function clientOptions(v: Record<string, unknown>): ClientOptions {
  return { url: v.control as string | undefined, tokenFile: v['token-file'] as string | undefined };
}

export function parseClientArgs(cmd: string, argv: string[], extra: NonNullable<ParseArgsConfig['options']> = {}): { client: ClientOptions; values: Record<string, string | boolean | undefined> } | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: { ...CLIENT_OPTIONS, help: { type: 'boolean', short: 'h' }, ...extra },
    });
  } catch (err) {
    throw new ControlClientError('EUSAGE', `${cmd}: ${(err as Error).message}`);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return null;
  return { client: clientOptions(v), values: v };
}
