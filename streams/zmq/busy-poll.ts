/**
 * Opt-in busy-polling for a ZeroMQ input (`zmq+tcp://…?busypoll`), for rigs with a core to spare.
 *
 * Why: between bins the daemon's main thread sleeps in epoll; a bin then has to wake it (libzmq's
 * I/O thread signals the socket's eventfd), and on a VM that wake-up of a halted vCPU is where
 * most of the round trip's tail comes from. Spinning on ZMQ_EVENTS instead keeps the thread (and
 * its CPU) awake, at the price of that CPU: a whole core, all the time.
 *
 * The spin yields to the event loop every `yieldMs` so timers, signals and the other sockets
 * still run; everything else about the socket (HWM, bounded queues) is unchanged.
 */

/** What the spin needs of a zeromq.js socket. */
export interface Pollable {
  /** ZMQ_EVENTS has POLLIN: a receive() now resolves at once. */
  readonly readable: boolean;
  readonly closed: boolean;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Returns once `sock` has a message, is closed, or `stop()` says so. */
export async function spinUntilReadable(sock: Pollable, stop: () => boolean, yieldMs = 1): Promise<void> {
  let until = performance.now() + yieldMs;
  while (!stop() && !sock.closed && !sock.readable) {
    if (performance.now() >= until) {
      await yieldToLoop();
      until = performance.now() + yieldMs;
    }
  }
}
