/**
 * Binding an address that a socket closed a moment ago: libzmq releases a closed socket's
 * listener asynchronously on its I/O thread, so a restarted source or sink (or a daemon restarted
 * on the same address) can see EADDRINUSE for a few milliseconds. Retry briefly before reporting
 * a real conflict.
 */
const RETRY_MS = 20;
const GIVE_UP_MS = 1000;

export async function bindWhenFree(sock: { bind(address: string): Promise<void> }, address: string): Promise<void> {
  const deadline = performance.now() + GIVE_UP_MS;
  for (;;) {
    try {
      await sock.bind(address);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EADDRINUSE' || performance.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
