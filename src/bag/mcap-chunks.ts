/**
 * Front-to-back reading of an indexed MCAP file's chunks: when the summary shows that no two chunks
 * overlap in log time, the chunks in file order already give the messages in time order, so each chunk
 * is read with one positioned read and its messages are handed out as views into it (no per-message copy,
 * no message-index reads, no heap merge).
 */
import { crc32 } from "node:zlib";
import type { DecompressHandlers, McapTypes } from "@mcap/core";

/** MCAP record opcodes used here (MCAP specification, "Records"). */
const OPCODE_MESSAGE = 0x05;
const OPCODE_CHUNK = 0x06;
/** opcode (1) + record content length (8) */
const RECORD_PREFIX_BYTES = 1 + 8;
/** channel id (2) + sequence (4) + log time (8) + publish time (8) */
const MESSAGE_PREFIX_BYTES = 2 + 4 + 8 + 8;

/** The chunks in file order, or undefined when two of them overlap in log time (then a merge is needed). */
export function sequentialChunks(chunkIndexes: readonly McapTypes.ChunkIndex[]): McapTypes.ChunkIndex[] | undefined {
  const ordered = [...chunkIndexes].sort((a, b) => (a.chunkStartOffset < b.chunkStartOffset ? -1 : a.chunkStartOffset > b.chunkStartOffset ? 1 : 0));
  for (let index = 1; index < ordered.length; index++) {
    if (ordered[index]!.messageStartTime < ordered[index - 1]!.messageEndTime) return undefined;
  }
  return ordered;
}

/** One message of a chunk; `data` is a view into the chunk's bytes. */
export interface ChunkMessage {
  channelId: number;
  logTimeNs: bigint;
  data: Uint8Array;
}

/** What to keep from a chunk. */
export interface ChunkFilter {
  channelIds: ReadonlySet<number> | undefined;
  startNs: bigint | undefined;
  endNs: bigint | undefined;
  validateCrcs: boolean;
}

/**
 * Parses a whole chunk record (`chunkRecord` holds exactly the `chunkLength` bytes at `chunkStartOffset`),
 * decompresses its records and returns its messages in log-time order (ties in file order, as
 * McapIndexedReader gives them). `where` names the file for errors.
 */
export function chunkMessages(chunkRecord: Uint8Array, index: McapTypes.ChunkIndex, handlers: DecompressHandlers, filter: ChunkFilter, where: string): ChunkMessage[] {
  const at = `${where}: chunk at byte ${index.chunkStartOffset}`;
  const view = new DataView(chunkRecord.buffer, chunkRecord.byteOffset, chunkRecord.byteLength);
  if (chunkRecord.byteLength < RECORD_PREFIX_BYTES || view.getUint8(0) !== OPCODE_CHUNK) {
    throw new Error(`${at}: expected a Chunk record (opcode 0x06) where the chunk index points, found ${chunkRecord.byteLength === 0 ? "the end of the file" : `opcode 0x${view.getUint8(0).toString(16)}`}`);
  }
  let offset = RECORD_PREFIX_BYTES + /* message start time */ 8 + /* message end time */ 8 + /* uncompressed size */ 8;
  const uncompressedCrc = view.getUint32(offset, true);
  offset += 4;
  const compressionLength = view.getUint32(offset, true);
  offset += 4 + compressionLength;
  const recordsLength = Number(view.getBigUint64(offset, true));
  offset += 8;
  if (offset + recordsLength > chunkRecord.byteLength) {
    throw new Error(`${at}: its records (${recordsLength} bytes) run past the chunk's ${chunkRecord.byteLength} bytes; the file is damaged`);
  }
  let records = chunkRecord.subarray(offset, offset + recordsLength);
  if (index.compression !== "") {
    const decompress = handlers[index.compression];
    if (decompress === undefined) throw new Error(`${at}: unsupported chunk compression '${index.compression}' (expected zstd, lz4 or none)`);
    records = decompress(records, index.uncompressedSize);
  }
  if (filter.validateCrcs && uncompressedCrc !== 0 && crc32(records) >>> 0 !== uncompressedCrc) {
    throw new Error(`${at}: CRC ${crc32(records) >>> 0} of its records does not match the recorded ${uncompressedCrc}; the file is damaged`);
  }
  const recordsView = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const messages: ChunkMessage[] = [];
  let ordered = true;
  let previous = -1n;
  for (let cursor = 0; cursor < records.byteLength; ) {
    if (cursor + RECORD_PREFIX_BYTES > records.byteLength) throw new Error(`${at}: a record header is cut off at byte ${cursor} of its ${records.byteLength} bytes of records`);
    const opcode = recordsView.getUint8(cursor);
    const contentLength = Number(recordsView.getBigUint64(cursor + 1, true));
    const contentStart = cursor + RECORD_PREFIX_BYTES;
    cursor = contentStart + contentLength;
    if (cursor > records.byteLength) throw new Error(`${at}: a record of ${contentLength} bytes at byte ${contentStart - RECORD_PREFIX_BYTES} runs past its ${records.byteLength} bytes of records`);
    if (opcode !== OPCODE_MESSAGE) continue; // schemas and channels also sit in the summary
    if (contentLength < MESSAGE_PREFIX_BYTES) throw new Error(`${at}: a Message record at byte ${contentStart - RECORD_PREFIX_BYTES} is ${contentLength} bytes, shorter than its ${MESSAGE_PREFIX_BYTES}-byte header`);
    const channelId = recordsView.getUint16(contentStart, true);
    const logTimeNs = recordsView.getBigUint64(contentStart + 2 + 4, true);
    if (logTimeNs < previous) ordered = false;
    previous = logTimeNs;
    if (filter.channelIds !== undefined && !filter.channelIds.has(channelId)) continue;
    if (filter.startNs !== undefined && logTimeNs < filter.startNs) continue;
    if (filter.endNs !== undefined && logTimeNs > filter.endNs) continue;
    messages.push({ channelId, logTimeNs, data: records.subarray(contentStart + MESSAGE_PREFIX_BYTES, cursor) });
  }
  // Array.prototype.sort is stable: equal times keep file order
  if (!ordered) messages.sort((a, b) => (a.logTimeNs < b.logTimeNs ? -1 : a.logTimeNs > b.logTimeNs ? 1 : 0));
  return messages;
}
