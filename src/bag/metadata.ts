import { parse as parseYaml } from "yaml";
import { InputError } from "../errors.js";

/** One topic as metadata.yaml or a storage file describes it. */
export interface BagTopic {
  name: string;
  /** Canonical `pkg/msg/Type` form, whatever the bag wrote. */
  type: string;
  serializationFormat: string;
  messageCount: number;
}

/** What `metadata.yaml` says about a bag (metadata versions 4–9). */
export interface BagMetadata {
  version: number;
  storageIdentifier: "sqlite3" | "mcap";
  /** Storage files in recording order, relative to the bag directory, as they are on disk. */
  relativeFilePaths: string[];
  /** Per-file message counts keyed by the file path as listed under `files` (v5+). */
  fileMessageCounts: Map<string, number>;
  compressionFormat: "" | "zstd";
  compressionMode: "" | "FILE" | "MESSAGE";
  startNs: bigint;
  durationNs: bigint;
  messageCount: number;
  topics: BagTopic[];
  rosDistro: string;
}

/** `sensor_msgs/Image` and `sensor_msgs/msg/Image` both become `sensor_msgs/msg/Image`. */
export function canonicalTypeName(type: string): string {
  const parts = type.split("/");
  if (parts.length === 2) return `${parts[0]}/msg/${parts[1]}`;
  return type;
}

/** `sensor_msgs/msg/Image` → `sensor_msgs/Image`, the key the standard definitions use. */
export function shortTypeName(type: string): string {
  const parts = type.split("/");
  return parts.length === 3 ? `${parts[0]}/${parts[2]}` : type;
}

function record(value: unknown, where: string, file: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError(`${file}: ${where} is ${JSON.stringify(value)}, expected a mapping`);
  }
  return value as Record<string, unknown>;
}

function bigintOf(value: unknown, where: string, file: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  throw new InputError(`${file}: ${where} is ${JSON.stringify(String(value))}, expected an integer`);
}

function nanoseconds(value: unknown, key: string, where: string, file: string): bigint {
  return bigintOf(record(value, where, file)[key], `${where}.${key}`, file);
}

/** Parses the text of a `metadata.yaml`; `file` names it in errors. */
export function parseBagMetadata(text: string, file: string): BagMetadata {
  let document: unknown;
  try {
    document = parseYaml(text, { intAsBigInt: true });
  } catch (error) {
    throw new InputError(`${file}: not valid YAML (${(error as Error).message.split("\n")[0]})`);
  }
  const info = record(record(document, "the document", file).rosbag2_bagfile_information, "rosbag2_bagfile_information", file);
  const version = Number(bigintOf(info.version ?? 4n, "version", file));
  if (version < 1 || version > 9) throw new InputError(`${file}: metadata version ${version} is not supported, expected 4–9`);
  const storage = String(info.storage_identifier ?? "");
  if (storage !== "sqlite3" && storage !== "mcap") {
    throw new InputError(`${file}: storage_identifier '${storage}' is not supported, expected sqlite3 or mcap`);
  }
  const compressionFormat = String(info.compression_format ?? "");
  if (compressionFormat !== "" && compressionFormat !== "zstd") {
    throw new InputError(`${file}: compression_format '${compressionFormat}' is not supported, expected zstd or none`);
  }
  const compressionMode = String(info.compression_mode ?? "").toUpperCase();
  if (compressionMode !== "" && compressionMode !== "FILE" && compressionMode !== "MESSAGE" && compressionMode !== "NONE") {
    throw new InputError(`${file}: compression_mode '${compressionMode}' is not supported, expected FILE, MESSAGE or none`);
  }
  const paths = info.relative_file_paths;
  if (!Array.isArray(paths)) throw new InputError(`${file}: relative_file_paths is missing, expected a list of storage files`);
  const fileMessageCounts = new Map<string, number>();
  if (Array.isArray(info.files)) {
    for (const entry of info.files) {
      const item = record(entry, "an entry of files", file);
      fileMessageCounts.set(String(item.path), Number(bigintOf(item.message_count ?? 0n, "files[].message_count", file)));
    }
  }
  const topicsList = info.topics_with_message_count;
  const topics: BagTopic[] = Array.isArray(topicsList)
    ? topicsList.map((entry) => {
        const item = record(entry, "an entry of topics_with_message_count", file);
        const meta = record(item.topic_metadata, "topic_metadata", file);
        return {
          name: String(meta.name),
          type: canonicalTypeName(String(meta.type)),
          serializationFormat: String(meta.serialization_format ?? "cdr"),
          messageCount: Number(bigintOf(item.message_count ?? 0n, `message_count of ${String(meta.name)}`, file)),
        };
      })
    : [];
  return {
    version,
    storageIdentifier: storage,
    relativeFilePaths: paths.map(String),
    fileMessageCounts,
    compressionFormat,
    compressionMode: compressionMode === "NONE" ? "" : (compressionMode as BagMetadata["compressionMode"]),
    startNs: info.starting_time === undefined ? 0n : nanoseconds(info.starting_time, "nanoseconds_since_epoch", "starting_time", file),
    durationNs: info.duration === undefined ? 0n : nanoseconds(info.duration, "nanoseconds", "duration", file),
    messageCount: Number(bigintOf(info.message_count ?? 0n, "message_count", file)),
    topics,
    rosDistro: String(info.ros_distro ?? ""),
  };
}
