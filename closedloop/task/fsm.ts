/**
 * A declarative finite-state machine: a table state → [event, test, next state], after
 * brain-python-interface's riglib/experiment/fsm.py. Each test gets the context and the seconds
 * spent in the current state, read from one injected clock. At most one transition fires per
 * tick (the first event in table order whose test holds), so every state is visible for at least
 * one tick, and a table's order is its priority.
 */
import type { Clock } from './clock.js';

export interface Transition<S extends string, C> {
  event: string;
  test: (ctx: C, inState: number) => boolean;
  next: S;
}

export type FsmTable<S extends string, C> = { readonly [K in S]: readonly Transition<S, C>[] };

export interface FiredEvent<S extends string> {
  event: string;
  from: S;
  to: S;
  /** Clock time of the transition, s. */
  t: number;
}

export class Fsm<S extends string, C> {
  private current: S;
  private entered: number;

  constructor(private readonly table: FsmTable<S, C>, initial: S, private readonly clock: Clock) {
    this.current = initial;
    this.entered = clock.now();
  }

  get state(): S {
    return this.current;
  }

  /** Clock time the current state was entered, s. */
  get enteredAt(): number {
    return this.entered;
  }

  inState(): number {
    return this.clock.now() - this.entered;
  }

  /** Runs the current state's tests in order; returns the transition that fired, or null. */
  tick(ctx: C): FiredEvent<S> | null {
    const now = this.clock.now();
    const dt = now - this.entered;
    for (const tr of this.table[this.current]) {
      if (!tr.test(ctx, dt)) continue;
      const from = this.current;
      this.current = tr.next;
      this.entered = now;
      return { event: tr.event, from, to: tr.next, t: now };
    }
    return null;
  }
}
