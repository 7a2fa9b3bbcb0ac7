/** `langevind reset`: POST /reset; the running daemon's filter resets at the next bin. */
import { controlRequest } from '../control/client.js';
import { CLIENT_USAGE, parseClientArgs } from './control-args.js';

const USAGE = `usage: langevind reset [--control URL] [--token-file F]

  Resets the running daemon's filter state at the next bin.
${CLIENT_USAGE}`;

export { USAGE as usage };

export async function main(argv: string[]): Promise<number> {
  const a = parseClientArgs('reset', argv);
  if (!a) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  await controlRequest(a.client, 'POST', '/reset', {});
  process.stdout.write('filter reset at the next bin\n');
  return 0;
}
