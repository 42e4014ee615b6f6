import { createReadStream, existsSync, openSync, closeSync, writeSync, statSync, readdirSync, mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Decompress, decompress as zstdDecompress } from "fzstd";
import { InputError } from "../errors.js";
import { TopicDecoder } from "./definitions.js";
import { McapStorage } from "./mcap-storage.js";
import { canonicalTypeName, parseBagMetadata, type BagMetadata } from "./metadata.js";
import { SqliteStorage } from "./sqlite-storage.js";
import type { StorageFile, StorageTopic } from "./storage.js";

/** One message of a bag, in receive-time order. */
export interface BagMessage {
  topic: string;
  /** Canonical `pkg/msg/Type`. */
  type: string;
  /** Receive time (rosbag2's `timestamp` / MCAP log time). */
  logTimeNs: bigint;
  /** Serialized CDR, decompressed. */
  data: Uint8Array;
  /** The decoded message as a plain object; undefined when read with `decode: false`. */
  message: Record<string, unknown> | undefined;
  /** The storage file it came from, for error messages. */
  file: string;
}

/** A topic of the whole bag. */
export interface BagTopicInfo {
  name: string;
  type: string;
  serializationFormat: string;
  /** From metadata.yaml when present, else counted by the storage. */
  messageCount: number;
}

export interface ReadOptions {
  /** Only these topics (all when absent). Unknown names are an error naming the bag's topics. */
  topics?: readonly string[];
  /** Inclusive receive-time window. */
  startNs?: bigint;
  endNs?: bigint;
  /** Decode CDR into plain objects (default true). */
  decode?: boolean;
  /** Check MCAP chunk CRCs (default false: it costs a pass over every byte). */
  validateCrcs?: boolean;
}

function storageKind(file: string): "sqlite3" | "mcap" | undefined {
  const name = file.endsWith(".zstd") ? file.slice(0, -5) : file;
  if (name.endsWith(".db3")) return "sqlite3";
  if (name.endsWith(".mcap")) return "mcap";
  return undefined;
}

/** Streams a zstd file (rosbag2 FILE compression) into `target`, a chunk at a time. */
async function decompressFile(source: string, target: string): Promise<void> {
  const fd = openSync(target, "w");
  try {
    const stream = new Decompress((chunk) => {
      writeSync(fd, chunk);
    });
    for await (const chunk of createReadStream(source, { highWaterMark: 1 << 20 })) stream.push(chunk as Buffer);
    stream.push(new Uint8Array(0), true);
  } catch (error) {
    throw new InputError(`${source}: zstd decompression failed (${(error as Error).message}); expected a complete zstd stream`);
  } finally {
    closeSync(fd);
  }
}

/**
 * A rosbag2 bag: a directory with metadata.yaml (v4–v9) or without, or a single `.db3` / `.mcap` file.
 * `messages()` streams every storage file in recording order, one file open at a time.
 */
export class BagReader {
  readonly path: string;
  readonly metadata: BagMetadata | undefined;
  readonly storageIdentifier: "sqlite3" | "mcap";
  /** Absolute storage file paths in recording order. */
  readonly files: string[];
  readonly compressionFormat: "" | "zstd";
  readonly compressionMode: "" | "FILE" | "MESSAGE";
  readonly topics: BagTopicInfo[];

  private constructor(bagPath: string, metadata: BagMetadata | undefined, storage: "sqlite3" | "mcap", files: string[], topics: BagTopicInfo[]) {
    this.path = bagPath;
    this.metadata = metadata;
    this.storageIdentifier = storage;
    this.files = files;
    this.compressionFormat = metadata?.compressionFormat ?? "";
    this.compressionMode = metadata?.compressionMode ?? "";
    this.topics = topics;
  }

  static async open(bagPath: string): Promise<BagReader> {
    if (!existsSync(bagPath)) throw new InputError(`${bagPath}: no such bag (expected a rosbag2 directory or a .db3/.mcap file)`);
    const isDirectory = statSync(bagPath).isDirectory();
    const directory = isDirectory ? bagPath : path.dirname(bagPath);
    const metadataPath = path.join(directory, "metadata.yaml");
    let metadata: BagMetadata | undefined;
    let files: string[];
    if (isDirectory && existsSync(metadataPath)) {
      metadata = parseBagMetadata(readFileSync(metadataPath, "utf8"), metadataPath);
      files = metadata.relativeFilePaths.map((relative) => path.join(directory, relative));
      for (const file of files) {
        if (!existsSync(file)) throw new InputError(`${metadataPath} lists ${path.basename(file)}, which is missing from ${directory}`);
      }
    } else if (isDirectory) {
      files = readdirSync(directory)
        .filter((name) => storageKind(name) !== undefined)
        .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
        .map((name) => path.join(directory, name));
      if (files.length === 0) throw new InputError(`${bagPath}: has neither metadata.yaml nor any .db3/.mcap file; expected a rosbag2 bag`);
    } else {
      if (storageKind(bagPath) === undefined) throw new InputError(`${bagPath}: expected a rosbag2 directory or a .db3/.mcap file`);
      files = [bagPath];
    }
    const kinds = new Set(files.map((file) => storageKind(file)));
    const storage = metadata?.storageIdentifier ?? [...kinds][0];
    for (const file of files) {
      if (storageKind(file) !== storage) throw new InputError(`${file}: is not a ${storage} file, which the bag's storage_identifier says it holds`);
    }
    if (storage === undefined) throw new InputError(`${bagPath}: cannot tell the storage format`);
    let topics: BagTopicInfo[];
    if (metadata !== undefined && (metadata.topics.length > 0 || metadata.compressionMode === "FILE")) {
      topics = metadata.topics.map((topic) => ({ ...topic }));
    } else {
      const merged = new Map<string, BagTopicInfo>();
      for (const file of files) {
        const opened = await openStorage(file, storage, undefined);
        try {
          const counts = await opened.storage.messageCounts();
          for (const topic of opened.storage.topics()) {
            const known = merged.get(topic.name);
            const count = counts.get(topic.name) ?? 0;
            if (known !== undefined) known.messageCount += count;
            else merged.set(topic.name, { name: topic.name, type: canonicalTypeName(topic.type), serializationFormat: topic.serializationFormat, messageCount: count });
          }
        } finally {
          await opened.close();
        }
      }
      topics = [...merged.values()];
    }
    return new BagReader(bagPath, metadata, storage, files, topics);
  }

  /** Total messages: metadata.yaml's count, or the sum over topics. */
  get messageCount(): number {
    return this.metadata?.messageCount ?? this.topics.reduce((sum, topic) => sum + topic.messageCount, 0);
  }

  /** Throws an error listing the bag's topics when `names` holds one it lacks. */
  requireTopics(names: readonly string[], purpose = "asked for"): void {
    const known = new Set(this.topics.map((topic) => topic.name));
    const missing = names.filter((name) => !known.has(name));
    if (missing.length > 0) {
      const list = this.topics.map((topic) => `${topic.name} (${topic.type})`).join(", ") || "none";
      throw new InputError(`${this.path}: has no topic ${missing.join(", ")} (${purpose}); its topics are: ${list}`);
    }
  }

  /** Messages in receive-time order across all storage files. */
  async *messages(options: ReadOptions = {}): AsyncGenerator<BagMessage, void, void> {
    if (options.topics !== undefined) this.requireTopics(options.topics);
    const filter = {
      ...(options.topics !== undefined ? { topics: new Set(options.topics) } : {}),
      ...(options.startNs !== undefined ? { startNs: options.startNs } : {}),
      ...(options.endNs !== undefined ? { endNs: options.endNs } : {}),
      validateCrcs: options.validateCrcs ?? false,
    };
    const decode = options.decode ?? true;
    const decoders = new Map<string, TopicDecoder>();
    const messageCompressed = this.compressionMode === "MESSAGE";
    let previous: { timeNs: bigint; file: string } | undefined;
    for (const file of this.files) {
      const opened = await openStorage(file, this.storageIdentifier, this.compressionMode);
      try {
        // per topic of this file: its canonical type and decoder, looked up once rather than per message
        const byName = new Map<string, StorageTopic>(opened.storage.topics().map((topic) => [topic.name, topic]));
        const topicsOfFile = new Map<string, { type: string; decoder: TopicDecoder | undefined }>();
        for await (const record of opened.storage.records(filter)) {
          if (previous !== undefined && record.logTimeNs < previous.timeNs) {
            throw new InputError(
              previous.file === file
                ? `${file}: message times go backwards (${record.logTimeNs} ns after ${previous.timeNs} ns)`
                : `${file}: its first message (${record.logTimeNs} ns) is earlier than the last message of ${previous.file} (${previous.timeNs} ns); split files must follow each other in time`,
            );
          }
          previous = { timeNs: record.logTimeNs, file };
          let topicOfFile = topicsOfFile.get(record.topic);
          if (topicOfFile === undefined) {
            const topic = byName.get(record.topic);
            const type = canonicalTypeName(topic?.type ?? this.topics.find((t) => t.name === record.topic)?.type ?? "");
            let decoder: TopicDecoder | undefined;
            if (decode) {
              const key = `${record.topic}\u0000${type}`;
              decoder = decoders.get(key);
              if (decoder === undefined) {
                decoder = new TopicDecoder(record.topic, type, topic?.definition);
                decoders.set(key, decoder);
              }
            }
            topicOfFile = { type, decoder };
            topicsOfFile.set(record.topic, topicOfFile);
          }
          const { type, decoder } = topicOfFile;
          let data = record.data;
          if (messageCompressed) {
            try {
              data = zstdDecompress(data);
            } catch (error) {
              throw new InputError(`${file}: the message on ${record.topic} at ${record.logTimeNs} ns is not valid zstd (${(error as Error).message}), as MESSAGE compression requires`);
            }
          }
          const message = decoder?.decode(data, `${file} at ${record.logTimeNs} ns`);
          yield { topic: record.topic, type, logTimeNs: record.logTimeNs, data, message, file };
        }
      } finally {
        await opened.close();
      }
    }
  }
}

/** Opens one storage file, first decompressing a FILE-compressed one into a temporary folder. */
async function openStorage(file: string, storage: "sqlite3" | "mcap", mode: string | undefined): Promise<{ storage: StorageFile; close(): Promise<void> }> {
  let target = file;
  let scratch: string | undefined;
  if (file.endsWith(".zstd") || mode === "FILE") {
    if (!file.endsWith(".zstd")) throw new InputError(`${file}: the bag says FILE compression but the file has no .zstd suffix`);
    scratch = mkdtempSync(path.join(tmpdir(), "pi0fast-bag-"));
    target = path.join(scratch, path.basename(file, ".zstd"));
    try {
      await decompressFile(file, target);
    } catch (error) {
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    }
  }
  try {
    const opened = storage === "sqlite3" ? SqliteStorage.open(target, file) : await McapStorage.open(target, file);
    return {
      storage: opened,
      close: async () => {
        await opened.close();
        if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}
