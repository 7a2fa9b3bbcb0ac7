export { simulateSession, meanRateHz, SimulateError, type SimulateOptions, type SimulatedSession, type SimulationKind } from './session.js';
export { sessionStreams, sessionToXdf, SIM_STREAMS, type SessionToXdfOptions } from './xdf.js';
export { Prng } from './prng.js';
export type { ReachTrial } from './reaching.js';
