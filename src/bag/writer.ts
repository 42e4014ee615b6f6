import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { parse as parseRosmsg } from "@foxglove/rosmsg";
import { McapWriter } from "@mcap/core";
import { FileHandleWritable } from "@mcap/nodejs";
import { stringify as stringifyYaml } from "yaml";
import { InputError } from "../errors.js";
import { CdrMessageWriter } from "../msgs/cdr.js";
import { canonicalTypeName } from "./metadata.js";
import { STANDARD_MESSAGE_TEXT } from "./standard-text.js";

export type BagStorage = "mcap" | "sqlite3";

interface WriterTopic {
  name: string;
  type: string;
  definitionText: string;
  serializer: CdrMessageWriter;
  count: number;
  /** MCAP channel id or sqlite topic id. */
  id: number;
}

/** rosbag2's per-message durability/reliability profile text for metadata v5 ("- history: …"). */
const DEFAULT_QOS = "";

/**
 * Writes a rosbag2 bag (one storage file + metadata.yaml, metadata version 5) the way rosbag2 does:
 * MCAP with the `ros2` profile and `ros2msg` schemas, or sqlite3 schema 4 with `message_definitions`.
 * It writes into `<out>.partial` and renames on `close()`, so an interrupted run leaves no bag.
 */
export class BagWriter {
  readonly outDir: string;
  readonly storage: BagStorage;
  readonly #partialDir: string;
  readonly #fileName: string;
  readonly #topics = new Map<string, WriterTopic>();
  #mcap: { writer: McapWriter; handle: FileHandle } | undefined;
  #sqlite: { db: Database.Database; insert: Database.Statement; pending: number } | undefined;
  #startNs: bigint | undefined;
  #endNs = 0n;
  #count = 0;

  private constructor(outDir: string, storage: BagStorage) {
    this.outDir = outDir;
    this.storage = storage;
    this.#partialDir = `${outDir}.partial`;
    this.#fileName = `${path.basename(outDir)}_0.${storage === "mcap" ? "mcap" : "db3"}`;
  }

  static async create(outDir: string, storage: BagStorage): Promise<BagWriter> {
    if (existsSync(outDir)) throw new InputError(`${outDir}: already exists; a bag is written into a new directory`);
    const writer = new BagWriter(outDir, storage);
    rmSync(writer.#partialDir, { recursive: true, force: true });
    mkdirSync(writer.#partialDir, { recursive: true });
    const file = path.join(writer.#partialDir, writer.#fileName);
    if (storage === "mcap") {
      const handle = await open(file, "w");
      const mcap = new McapWriter({ writable: new FileHandleWritable(handle), chunkSize: 4 << 20 });
      await mcap.start({ profile: "ros2", library: "pi0fast_ros" });
      writer.#mcap = { writer: mcap, handle };
    } else {
      const db = new Database(path.resolve(file));
      db.pragma("journal_mode = MEMORY");
      db.pragma("synchronous = OFF");
      db.exec(`
        CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
        CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL, metadata TEXT NOT NULL);
        CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL, type_description_hash TEXT NOT NULL);
        CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL, encoding TEXT NOT NULL, encoded_message_definition TEXT NOT NULL, type_description_hash TEXT NOT NULL);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX timestamp_idx ON messages (timestamp ASC);
        INSERT INTO schema VALUES (4, 'jazzy');
      `);
      db.exec("BEGIN");
      writer.#sqlite = { db, insert: db.prepare("INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)"), pending: 0 };
    }
    return writer;
  }

  /** Declares a topic; `definitionText` defaults to the standard text of the type. */
  async addTopic(name: string, type: string, definitionText?: string): Promise<void> {
    const canonical = canonicalTypeName(type);
    const text = definitionText ?? STANDARD_MESSAGE_TEXT[canonical];
    if (text === undefined) throw new InputError(`topic ${name}: no message definition known for ${canonical}; pass its ros2msg text`);
    // foxglove's MessageWriter sizes strings by UTF-16 length and garbles non-ASCII text; ours writes UTF-8
    const serializer = new CdrMessageWriter(parseRosmsg(text, { ros2: true }));
    let id: number;
    if (this.#mcap !== undefined) {
      const schemaId = await this.#mcap.writer.registerSchema({ name: canonical, encoding: "ros2msg", data: new TextEncoder().encode(text) });
      id = await this.#mcap.writer.registerChannel({ topic: name, schemaId, messageEncoding: "cdr", metadata: new Map([["offered_qos_profiles", DEFAULT_QOS]]) });
    } else {
      const db = this.#sqlite!.db;
      id = this.#topics.size + 1;
      db.prepare("INSERT INTO topics VALUES (?, ?, ?, 'cdr', ?, '')").run(id, name, canonical, DEFAULT_QOS);
      const known = db.prepare("SELECT 1 FROM message_definitions WHERE topic_type = ?").get(canonical);
      if (known === undefined) db.prepare("INSERT INTO message_definitions (topic_type, encoding, encoded_message_definition, type_description_hash) VALUES (?, 'ros2msg', ?, '')").run(canonical, text);
    }
    this.#topics.set(name, { name, type: canonical, definitionText: text, serializer, count: 0, id });
  }

  /** Serializes `message` to CDR and writes it with receive time `logTimeNs` (non-decreasing). */
  async write(topicName: string, logTimeNs: bigint, message: unknown): Promise<void> {
    const topic = this.#topics.get(topicName);
    if (topic === undefined) throw new InputError(`topic ${topicName}: write before addTopic`);
    const data = topic.serializer.writeMessage(message);
    topic.count += 1;
    this.#count += 1;
    this.#startNs = this.#startNs === undefined || logTimeNs < this.#startNs ? logTimeNs : this.#startNs;
    if (logTimeNs > this.#endNs) this.#endNs = logTimeNs;
    if (this.#mcap !== undefined) {
      await this.#mcap.writer.addMessage({ channelId: topic.id, sequence: topic.count, logTime: logTimeNs, publishTime: logTimeNs, data });
    } else {
      const sqlite = this.#sqlite!;
      sqlite.insert.run(topic.id, logTimeNs, data);
      if (++sqlite.pending >= 2000) {
        sqlite.db.exec("COMMIT; BEGIN");
        sqlite.pending = 0;
      }
    }
  }

  /** Finishes the storage file, writes metadata.yaml and moves the bag into place. */
  async close(): Promise<void> {
    const metadataText = stringifyYaml(this.#metadata(), { lineWidth: 0 });
    if (this.#mcap !== undefined) {
      await this.#mcap.writer.end();
      await this.#mcap.handle.close();
    } else {
      const { db } = this.#sqlite!;
      db.prepare("INSERT INTO metadata (metadata_version, metadata) VALUES (5, ?)").run(metadataText);
      db.exec("COMMIT");
      db.close();
    }
    writeFileSync(path.join(this.#partialDir, "metadata.yaml"), metadataText);
    renameSync(this.#partialDir, this.outDir);
  }

  /** Drops everything written so far. */
  async abort(): Promise<void> {
    try {
      if (this.#mcap !== undefined) await this.#mcap.handle.close();
      this.#sqlite?.db.close();
    } finally {
      rmSync(this.#partialDir, { recursive: true, force: true });
    }
  }

  #metadata(): unknown {
    const startNs = this.#startNs ?? 0n;
    const durationNs = this.#count === 0 ? 0n : this.#endNs - startNs;
    return {
      rosbag2_bagfile_information: {
        version: 5,
        storage_identifier: this.storage,
        duration: { nanoseconds: durationNs },
        starting_time: { nanoseconds_since_epoch: startNs },
        message_count: this.#count,
        topics_with_message_count: [...this.#topics.values()].map((topic) => ({
          topic_metadata: { name: topic.name, type: topic.type, serialization_format: "cdr", offered_qos_profiles: DEFAULT_QOS },
          message_count: topic.count,
        })),
        compression_format: "",
        compression_mode: "",
        relative_file_paths: [this.#fileName],
        files: [{ path: this.#fileName, starting_time: { nanoseconds_since_epoch: startNs }, duration: { nanoseconds: durationNs }, message_count: this.#count }],
      },
    };
  }
}
