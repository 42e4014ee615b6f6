import { statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { InputError } from "../errors.js";
import type { StorageFile, StorageFilter, StorageRecord, StorageTopic } from "./storage.js";

interface TopicRow {
  id: bigint;
  name: string;
  type: string;
  serialization_format: string;
}

interface DefinitionRow {
  topic_type: string;
  encoding: string;
  encoded_message_definition: string;
}

/** Turns a SQLite failure into an error naming the file and what it found. */
function sqliteFailure(file: string, error: unknown): never {
  if (error instanceof InputError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new InputError(`${file}: not a readable rosbag2 sqlite3 file (${message}); expected the tables topics and messages of schema 1–4`);
}

let uriFilenames: boolean | undefined;

/**
 * Throws unless this better-sqlite3 takes URI filenames. The probe opens an in-memory database by URI; without
 * URI support it names a file that does not exist and, opened without create, fails without writing anything.
 */
function requireUriFilenames(): void {
  if (uriFilenames === undefined) {
    try {
      new Database("file:pi0fast-uri-probe?mode=memory", { fileMustExist: true }).close();
      uriFilenames = true;
    } catch {
      uriFilenames = false;
    }
  }
  if (!uriFilenames) {
    throw new Error(
      "better-sqlite3 was built without SQLite URI filenames (SQLITE_USE_URI=1), which reading a bag without writing beside it needs; rebuild it with `node scripts/better-sqlite3-uri.mjs` (npm install runs it)",
    );
  }
}

interface PendingJournal {
  file: string;
  bytes: number;
}

/** The side file holding writes not yet in `file` (a non-empty `-wal` or `-journal`), if any. */
function pendingJournal(file: string): PendingJournal | undefined {
  for (const suffix of ["-wal", "-journal"]) {
    const bytes = statSync(`${file}${suffix}`, { throwIfNoEntry: false })?.size ?? 0;
    if (bytes > 0) return { file: `${file}${suffix}`, bytes };
  }
  return undefined;
}

/**
 * Opens a storage file read-only without writing beside it. rosbag2 writes WAL-mode files, and SQLite opening
 * one (read-only or not) creates `-shm`/`-wal` next to it, which fails on read-only storage; `immutable=1`
 * reads the file as it is, with no side files and no locks (so a bag is read once its recorder has closed it).
 * A file whose `-wal`/`-journal` still holds writes (a recording in progress, or one whose recorder died) is
 * opened the ordinary way instead, so that SQLite applies them and no message is lost.
 */
function openReadOnly(file: string, displayName: string, pending: PendingJournal | undefined): Database.Database {
  if (pending === undefined) return new Database(`${pathToFileURL(path.resolve(file)).href}?immutable=1`, { readonly: true, fileMustExist: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(path.resolve(file), { readonly: true, fileMustExist: true });
    db.pragma("schema_version"); // SQLite opens the -wal at the first read
    return db;
  } catch (error) {
    db?.close();
    const message = error instanceof Error ? error.message : String(error);
    throw new InputError(
      `${displayName}: ${path.basename(pending.file)} holds ${pending.bytes} bytes of writes not yet in the file (a recording still open, or one that did not close), and SQLite cannot read them here (${message}): it needs to write ${path.basename(file)}-shm beside the file; read the bag from writable storage`,
    );
  }
}

/**
 * A rosbag2 sqlite3 file (schema versions 1–4; `message_definitions` from Iron on). Messages come in
 * `ORDER BY timestamp, id` with BigInt timestamps: receive times exceed 2^53 ns.
 */
export class SqliteStorage implements StorageFile {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #topics: StorageTopic[];
  readonly #topicById = new Map<bigint, string>();

  private constructor(path: string, db: Database.Database, topics: StorageTopic[], ids: bigint[]) {
    this.path = path;
    this.#db = db;
    this.#topics = topics;
    ids.forEach((id, index) => this.#topicById.set(id, topics[index]!.name));
  }

  /** Opens `path` read-only; `displayName` is what errors call it. */
  static open(path: string, displayName = path): SqliteStorage {
    const pending = pendingJournal(path);
    if (pending === undefined) requireUriFilenames();
    let db: Database.Database | undefined;
    try {
      db = openReadOnly(path, displayName, pending);
      db.defaultSafeIntegers(true);
      const tables = new Set(
        (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name),
      );
      for (const required of ["topics", "messages"]) {
        if (!tables.has(required)) throw new InputError(`${displayName}: has no '${required}' table; expected a rosbag2 sqlite3 file`);
      }
      const rows = db.prepare("SELECT id, name, type, serialization_format FROM topics ORDER BY id").all() as TopicRow[];
      const definitions = new Map<string, DefinitionRow>();
      if (tables.has("message_definitions")) {
        const definitionRows = db
          .prepare("SELECT topic_type, encoding, encoded_message_definition FROM message_definitions")
          .all() as DefinitionRow[];
        for (const row of definitionRows) definitions.set(row.topic_type, row);
      }
      const topics = rows.map((row): StorageTopic => {
        const stored = definitions.get(row.type);
        return {
          name: row.name,
          type: row.type,
          serializationFormat: row.serialization_format,
          definition: stored === undefined ? undefined : { encoding: stored.encoding, text: stored.encoded_message_definition },
        };
      });
      return new SqliteStorage(displayName, db, topics, rows.map((row) => row.id));
    } catch (error) {
      db?.close();
      return sqliteFailure(displayName, error);
    }
  }

  topics(): StorageTopic[] {
    return this.#topics;
  }

  async messageCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>(this.#topics.map((topic) => [topic.name, 0]));
    try {
      const rows = this.#db.prepare("SELECT topic_id, COUNT(*) AS n FROM messages GROUP BY topic_id").all() as { topic_id: bigint; n: bigint }[];
      for (const row of rows) {
        const name = this.#topicById.get(row.topic_id) ?? `(unknown topic id ${row.topic_id})`;
        counts.set(name, Number(row.n));
      }
    } catch (error) {
      sqliteFailure(this.path, error);
    }
    return counts;
  }

  async *records(filter: StorageFilter): AsyncGenerator<StorageRecord, void, void> {
    const conditions: string[] = [];
    const parameters: bigint[] = [];
    if (filter.topics !== undefined) {
      const ids = [...this.#topicById].filter(([, name]) => filter.topics!.has(name)).map(([id]) => id);
      if (ids.length === 0) return;
      conditions.push(`topic_id IN (${ids.map(() => "?").join(", ")})`);
      parameters.push(...ids);
    }
    if (filter.startNs !== undefined) {
      conditions.push("timestamp >= ?");
      parameters.push(filter.startNs);
    }
    if (filter.endNs !== undefined) {
      conditions.push("timestamp <= ?");
      parameters.push(filter.endNs);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    let rows: IterableIterator<unknown>;
    try {
      rows = this.#db.prepare(`SELECT topic_id, timestamp, data FROM messages ${where} ORDER BY timestamp, id`).iterate(...parameters);
    } catch (error) {
      return sqliteFailure(this.path, error);
    }
    try {
      while (true) {
        let next: IteratorResult<unknown>;
        try {
          next = rows.next();
        } catch (error) {
          return sqliteFailure(this.path, error);
        }
        if (next.done === true) return;
        const row = next.value as { topic_id: bigint; timestamp: bigint; data: Buffer };
        const topic = this.#topicById.get(row.topic_id);
        if (topic === undefined) {
          throw new InputError(`${this.path}: a message at ${row.timestamp} ns names topic id ${row.topic_id}, which the topics table does not list`);
        }
        yield { topic, logTimeNs: row.timestamp, data: row.data };
      }
    } finally {
      rows.return?.();
    }
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
