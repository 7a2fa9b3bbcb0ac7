/**
 * The task's streams in a closed-loop recording, as the simulated user's calibration block writes
 * them and `langevind recalibrate` looks them up (by type first, then by name):
 *   - cursor: [x, y] per bin, stamped like the bin it follows (double64 from the task, float32 in
 *     the simulated calibration block);
 *   - target: [x, y, radius] per bin (NaN position while no target is shown);
 *   - markers: one string per event, irregular; the first word is the task state entered
 *     (TASK_STATES, the TaskState message's `state`), then key=value pairs, e.g.
 *     "target_on trial=3 target=5 x=7.0710678118654755 y=-7.0710678118654755 r=1.5", "hold trial=3", "success trial=3".
 * Decoded velocity is the daemon's recorder stream `langevind-decoded` (type Decoded).
 */
export const TASK_STREAMS = {
  cursor: { name: 'langevind-cursor', type: 'Cursor' },
  target: { name: 'langevind-target', type: 'Target' },
  markers: { name: 'langevind-task-markers', type: 'Markers' },
} as const;

export const DECODED_STREAM = { name: 'langevind-decoded', type: 'Decoded' } as const;

/**
 * The daemon's own event stream (streams/recorder.ts: model and readout swaps, resets, one JSON
 * object each). It shares the type Markers with the task's markers, so a lookup of the task's
 * markers by type must pass over it.
 */
export const DAEMON_MARKERS_STREAM = { name: 'langevind-markers', type: 'Markers' } as const;

export const TASK_STATES = ['iti', 'target_on', 'hold', 'success', 'timeout', 'aborted'] as const;
export type TaskStateName = (typeof TASK_STATES)[number];

export function isTaskState(s: string): s is TaskStateName {
  return (TASK_STATES as readonly string[]).includes(s);
}
