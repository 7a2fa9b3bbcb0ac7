import type { SurfaceResult } from './tally.js';
type O = { cases: number; seed: number };
export async function fuzzLslUdp(_o: O): Promise<SurfaceResult> { throw new Error('todo'); }
export async function fuzzLslTcp(_o: O): Promise<SurfaceResult> { throw new Error('todo'); }
export async function fuzzLslInlet(_o: O): Promise<SurfaceResult> { throw new Error('todo'); }
export async function fuzzLslParsers(_o: O): Promise<SurfaceResult> { throw new Error('todo'); }
