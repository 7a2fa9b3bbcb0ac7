/**
 * Several recordings of one session as one: a lab records the daemon (`run --record`: spikes,
 * decodes) and the task (`task --record`: cursor, target, markers) into separate files, and a
 * LabRecorder would have left them in one. The streams keep their timestamps (both processes
 * stamp with the bin's timestamp, so they already share a clock) and their clock offsets; only
 * the stream ids are renumbered 1, 2, 3 … in the order of the files.
 */
import { readXdf, type XdfFile } from './reader.js';
import { writeXdf, type WriteXdfOptions, type XdfStreamInput } from './writer.js';

/** The streams of every file in order, as one file (the first file's header, every warning). */
export function mergeXdf(files: readonly XdfFile[]): XdfFile {
  if (files.length === 0) throw new RangeError('mergeXdf: no files');
  let id = 0;
  return {
    fileHeader: files[0].fileHeader,
    streams: files.flatMap((f) => f.streams.map((s) => ({ ...s, id: ++id }))),
    warnings: files.flatMap((f) => f.warnings),
  };
}

/** The streams of a file as the writer takes them. */
export function streamInputs(file: XdfFile): XdfStreamInput[] {
  return file.streams.map((s) => ({ id: s.id, info: s.info, timeStamps: s.timeStamps, data: s.data as XdfStreamInput['data'], clockOffsets: s.clockOffsets }));
}

/** The XDF files at these paths merged (mergeXdf) into the bytes of one XDF file. */
export function mergeXdfFiles(paths: readonly string[], opts?: WriteXdfOptions): Uint8Array {
  return writeXdf(streamInputs(mergeXdf(paths.map((p) => readXdf(p)))), opts);
}
