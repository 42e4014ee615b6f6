import { open, type FileHandle } from "node:fs/promises";
import { McapIndexedReader, McapStreamReader, type DecompressHandlers, type McapTypes } from "@mcap/core";
import { FileHandleReadable } from "@mcap/nodejs";
import { loadDecompressHandlers } from "@mcap/support";
import { InputError } from "../errors.js";
import { chunkMessages, sequentialChunks, type ChunkFilter } from "./mcap-chunks.js";
import type { StorageFile, StorageFilter, StorageRecord, StorageTopic } from "./storage.js";

let decompressHandlers: Promise<DecompressHandlers> | undefined;
/** zstd / lz4 chunk decompressors, loaded once. */
function handlers(): Promise<DecompressHandlers> {
  decompressHandlers ??= loadDecompressHandlers();
  return decompressHandlers;
}

const textDecoder = new TextDecoder();

function topicOf(channel: McapTypes.Channel, schemas: ReadonlyMap<number, McapTypes.Schema>): StorageTopic {
  const schema = schemas.get(channel.schemaId);
  return {
    name: channel.topic,
    type: schema?.name ?? "",
    serializationFormat: channel.messageEncoding,
    definition: schema === undefined || schema.data.byteLength === 0 ? undefined : { encoding: schema.encoding, text: textDecoder.decode(schema.data) },
  };
}

function mcapFailure(file: string, error: unknown): never {
  if (error instanceof InputError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new InputError(`${file}: not a readable MCAP file (${message})`);
}

/** Bytes read per step by the streaming fallback. */
const STREAM_READ_BYTES = 4 << 20;

/**
 * A rosbag2 MCAP file. An indexed file whose chunks do not overlap in time (what rosbag2 writes) is read
 * chunk by chunk front to back; one with overlapping chunks goes through McapIndexedReader's merge; a
 * file without a usable summary (a recording that was cut off) is streamed record by record.
 */
export class McapStorage implements StorageFile {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #indexed: McapIndexedReader | undefined;
  readonly #topics: StorageTopic[];
  readonly #streamCounts: Map<string, number> | undefined;

  private constructor(path: string, handle: FileHandle, indexed: McapIndexedReader | undefined, topics: StorageTopic[], counts?: Map<string, number>) {
    this.path = path;
    this.#handle = handle;
    this.#indexed = indexed;
    this.#topics = topics;
    this.#streamCounts = counts;
  }

  static async open(path: string, displayName = path): Promise<McapStorage> {
    const handle = await open(path, "r");
    try {
      const head = Buffer.alloc(8);
      await handle.read(head, 0, 8, 0);
      if (head.subarray(1, 5).toString("latin1") !== "MCAP") {
        throw new InputError(`${displayName}: does not start with the MCAP magic (found ${head.toString("hex")}); expected an MCAP file`);
      }
      let indexed: McapIndexedReader | undefined;
      try {
        // the zstd/lz4 handlers cost a WebAssembly compile: load them only for compressed chunks the merge reads
        indexed = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle) });
        if (indexed.chunkIndexes.length === 0 && (indexed.statistics?.messageCount ?? 0n) > 0n) indexed = undefined;
        else if (sequentialChunks(indexed.chunkIndexes) === undefined && indexed.chunkIndexes.some((chunk) => chunk.compression !== "")) {
          indexed = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle), decompressHandlers: await handlers() });
        }
      } catch {
        indexed = undefined;
      }
      if (indexed !== undefined) {
        const topics = [...indexed.channelsById.values()].map((channel) => topicOf(channel, indexed.schemasById));
        return new McapStorage(displayName, handle, indexed, topics);
      }
      const scan = new McapStorage(displayName, handle, undefined, []);
      const channels = new Map<number, McapTypes.Channel>();
      const schemas = new Map<number, McapTypes.Schema>();
      const counts = new Map<string, number>();
      for await (const record of scan.#streamRecords()) {
        if (record.type === "Schema") schemas.set(record.id, record);
        else if (record.type === "Channel") channels.set(record.id, record);
        else if (record.type === "Message") {
          const topic = channels.get(record.channelId)?.topic ?? "";
          counts.set(topic, (counts.get(topic) ?? 0) + 1);
        }
      }
      const topics = [...channels.values()].map((channel) => topicOf(channel, schemas));
      for (const topic of topics) if (!counts.has(topic.name)) counts.set(topic.name, 0);
      return new McapStorage(displayName, handle, undefined, topics, counts);
    } catch (error) {
      await handle.close();
      return mcapFailure(displayName, error);
    }
  }

  /** True when the file's summary index was used. */
  get indexed(): boolean {
    return this.#indexed !== undefined;
  }

  topics(): StorageTopic[] {
    return this.#topics;
  }

  async messageCounts(): Promise<Map<string, number>> {
    if (this.#streamCounts !== undefined) return new Map(this.#streamCounts);
    const counts = new Map<string, number>(this.#topics.map((topic) => [topic.name, 0]));
    const stats = this.#indexed?.statistics;
    if (stats !== undefined) {
      for (const [channelId, count] of stats.channelMessageCounts) {
        const topic = this.#indexed!.channelsById.get(channelId)?.topic;
        if (topic !== undefined) counts.set(topic, (counts.get(topic) ?? 0) + Number(count));
      }
      return counts;
    }
    for await (const record of this.records({})) counts.set(record.topic, (counts.get(record.topic) ?? 0) + 1);
    return counts;
  }

  /** Every record front to back; a file cut off inside a record is reported with the offset. */
  async *#streamRecords(): AsyncGenerator<McapTypes.TypedMcapRecord, void, void> {
    const reader = new McapStreamReader({ decompressHandlers: await handlers() });
    const buffer = Buffer.alloc(STREAM_READ_BYTES);
    let offset = 0;
    while (true) {
      const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      reader.append(buffer.subarray(0, bytesRead));
      for (let record = reader.nextRecord(); record !== undefined; record = reader.nextRecord()) yield record;
    }
    if (!reader.done() && reader.bytesRemaining() > 0) {
      throw new InputError(
        `${this.path}: the file ends inside a record (${reader.bytesRemaining()} bytes of an incomplete record at byte ${offset - reader.bytesRemaining()}); the recording was cut off or damaged`,
      );
    }
  }

  async *records(filter: StorageFilter): AsyncGenerator<StorageRecord, void, void> {
    const indexed = this.#indexed;
    try {
      const chunks = indexed === undefined ? undefined : sequentialChunks(indexed.chunkIndexes);
      if (indexed !== undefined && chunks !== undefined) {
        yield* this.#sequentialRecords(indexed, chunks, filter);
        return;
      }
      if (indexed !== undefined) {
        const messages = indexed.readMessages({
          ...(filter.topics !== undefined ? { topics: [...filter.topics] } : {}),
          ...(filter.startNs !== undefined ? { startTime: filter.startNs } : {}),
          ...(filter.endNs !== undefined ? { endTime: filter.endNs } : {}),
          validateCrcs: filter.validateCrcs ?? false,
        });
        for await (const message of messages) {
          const topic = indexed.channelsById.get(message.channelId)?.topic ?? "";
          yield { topic, logTimeNs: message.logTime, data: message.data };
        }
        return;
      }
      const channels = new Map<number, string>();
      for await (const record of this.#streamRecords()) {
        if (record.type === "Channel") channels.set(record.id, record.topic);
        if (record.type !== "Message") continue;
        const topic = channels.get(record.channelId) ?? "";
        if (filter.topics !== undefined && !filter.topics.has(topic)) continue;
        if (filter.startNs !== undefined && record.logTime < filter.startNs) continue;
        if (filter.endNs !== undefined && record.logTime > filter.endNs) continue;
        yield { topic, logTimeNs: record.logTime, data: record.data };
      }
    } catch (error) {
      mcapFailure(this.path, error);
    }
  }

  /** True when messages are read chunk by chunk in file order (the chunks do not overlap in time). */
  get sequential(): boolean {
    return this.#indexed !== undefined && sequentialChunks(this.#indexed.chunkIndexes) !== undefined;
  }

  /** Chunks the summary lists (0 without a usable summary). */
  get chunkCount(): number {
    return this.#indexed?.chunkIndexes.length ?? 0;
  }

  /** Chunks in file order, the next one read while the current one's messages are handed out. */
  async *#sequentialRecords(indexed: McapIndexedReader, chunks: McapTypes.ChunkIndex[], filter: StorageFilter): AsyncGenerator<StorageRecord, void, void> {
    let channelIds: Set<number> | undefined;
    if (filter.topics !== undefined) {
      channelIds = new Set([...indexed.channelsById.values()].filter((channel) => filter.topics!.has(channel.topic)).map((channel) => channel.id));
    }
    const wanted = chunks.filter(
      (chunk) =>
        (filter.startNs === undefined || chunk.messageEndTime >= filter.startNs) &&
        (filter.endNs === undefined || chunk.messageStartTime <= filter.endNs) &&
        // the chunk index lists the channels a chunk holds (when the writer wrote message indexes)
        (channelIds === undefined || chunk.messageIndexOffsets.size === 0 || [...chunk.messageIndexOffsets.keys()].some((id) => channelIds.has(id))),
    );
    const chunkFilter: ChunkFilter = { channelIds, startNs: filter.startNs, endNs: filter.endNs, validateCrcs: filter.validateCrcs ?? false };
    const decompress = wanted.some((chunk) => chunk.compression !== "") ? await handlers() : {};
    const topicById = new Map([...indexed.channelsById].map(([id, channel]) => [id, channel.topic]));
    const readChunk = async (chunk: McapTypes.ChunkIndex): Promise<Uint8Array> => {
      const chunkRecord = Buffer.allocUnsafe(Number(chunk.chunkLength));
      const { bytesRead } = await this.#handle.read(chunkRecord, 0, chunkRecord.length, Number(chunk.chunkStartOffset));
      return chunkRecord.subarray(0, bytesRead);
    };
    let pending = wanted.length > 0 ? readChunk(wanted[0]!) : undefined;
    try {
      for (let index = 0; index < wanted.length; index++) {
        const chunkRecord = await pending!;
        pending = index + 1 < wanted.length ? readChunk(wanted[index + 1]!) : undefined;
        for (const message of chunkMessages(chunkRecord, wanted[index]!, decompress, chunkFilter, this.path)) {
          yield { topic: topicById.get(message.channelId) ?? "", logTimeNs: message.logTimeNs, data: message.data };
        }
      }
    } finally {
      // a read still in flight must not outlive the file handle, nor reject unobserved
      await pending?.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
