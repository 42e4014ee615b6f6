import type { StoredDefinition } from "./definitions.js";

/** A topic as one storage file declares it. */
export interface StorageTopic {
  name: string;
  /** As the file wrote it (`pkg/Type` or `pkg/msg/Type`). */
  type: string;
  serializationFormat: string;
  definition: StoredDefinition | undefined;
}

/** One serialized message as a storage file holds it. */
export interface StorageRecord {
  topic: string;
  logTimeNs: bigint;
  /** CDR bytes with their encapsulation header (still zstd-compressed in MESSAGE mode). */
  data: Uint8Array;
}

export interface StorageFilter {
  topics?: ReadonlySet<string>;
  /** Inclusive bounds on the receive time. */
  startNs?: bigint;
  endNs?: bigint;
  /** Check MCAP chunk CRCs (costs a pass over every byte; `bag info --verify` turns it on). */
  validateCrcs?: boolean;
}

/** One storage file of a bag (`.db3` or `.mcap`), read in receive-time order. */
export interface StorageFile {
  readonly path: string;
  topics(): StorageTopic[];
  /** Messages per topic name, counted by the storage's own index where it has one. */
  messageCounts(): Promise<Map<string, number>>;
  records(filter: StorageFilter): AsyncGenerator<StorageRecord, void, void>;
  close(): Promise<void>;
}
