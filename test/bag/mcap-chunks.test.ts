import { readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { parse as parseRosmsg } from "@foxglove/rosmsg";
import { McapWriter } from "@mcap/core";
import { FileHandleWritable } from "@mcap/nodejs";
import { describe, expect, it } from "vitest";
import { McapStorage } from "../../src/bag/mcap-storage.js";
import { BagReader } from "../../src/bag/reader.js";
import type { StorageFilter } from "../../src/bag/storage.js";
import { CdrMessageWriter } from "../../src/msgs/cdr.js";
import { scratch } from "./helpers.js";

const stringWriter = new CdrMessageWriter(parseRosmsg("string data", { ros2: true }));
/** Each message carries ~1 kB so that three of them fill a 2500-byte chunk. */
const PADDING = "x".repeat(1000);

/** Writes an MCAP whose chunks hold the given (log time, label) messages, three per chunk, in this order. */
async function writeChunkedMcap(file: string, messages: [bigint, string][]): Promise<void> {
  const handle = await open(file, "w");
  const writer = new McapWriter({ writable: new FileHandleWritable(handle), chunkSize: 2500 });
  await writer.start({ profile: "ros2", library: "test" });
  const schemaId = await writer.registerSchema({ name: "std_msgs/msg/String", encoding: "ros2msg", data: new TextEncoder().encode("string data") });
  const channelId = await writer.registerChannel({ topic: "/label", schemaId, messageEncoding: "cdr", metadata: new Map() });
  for (const [index, [timeNs, label]] of messages.entries()) {
    await writer.addMessage({ channelId, sequence: index, logTime: timeNs, publishTime: timeNs, data: stringWriter.writeMessage({ data: `${label} ${PADDING}` }) });
  }
  await writer.end();
  await handle.close();
}

async function labels(file: string, filter: StorageFilter = {}): Promise<{ sequential: boolean; chunks: number; read: string[] }> {
  const storage = await McapStorage.open(file);
  try {
    const bag = await BagReader.open(file);
    const read: string[] = [];
    for await (const message of bag.messages({ ...(filter.startNs !== undefined ? { startNs: filter.startNs, endNs: filter.endNs! } : {}) })) {
      read.push(`${message.logTimeNs} ${(message.message as { data: string }).data.split(" ")[0]}`);
    }
    return { sequential: storage.sequential, chunks: storage.chunkCount, read };
  } finally {
    await storage.close();
  }
}

describe("MCAP chunks", () => {
  it("reads chunks that do not overlap front to back, sorting each chunk's messages by time (ties in file order)", async () => {
    const file = path.join(scratch(), "ordered.mcap");
    await writeChunkedMcap(file, [[30n, "a"], [10n, "first"], [30n, "b"], [30n, "c"], [50n, "last"], [40n, "d"]]);
    const { sequential, chunks, read } = await labels(file);
    expect([sequential, chunks]).toEqual([true, 2]);
    expect(read).toEqual(["10 first", "30 a", "30 b", "30 c", "40 d", "50 last"]);
    expect((await labels(file, { startNs: 30n, endNs: 40n })).read).toEqual(["30 a", "30 b", "30 c", "40 d"]);
  });

  it("merges chunks that overlap in time through the index", async () => {
    const file = path.join(scratch(), "overlapping.mcap");
    await writeChunkedMcap(file, [[10n, "a"], [50n, "e"], [30n, "c"], [20n, "b"], [60n, "f"], [40n, "d"]]);
    const { sequential, chunks, read } = await labels(file);
    expect([sequential, chunks]).toEqual([false, 2]);
    expect(read).toEqual(["10 a", "20 b", "30 c", "40 d", "50 e", "60 f"]);
  });

  it("checks a chunk's CRC only when asked to", async () => {
    const file = path.join(scratch(), "damaged.mcap");
    await writeChunkedMcap(file, [[10n, "a"], [20n, "b"], [30n, "c"], [40n, "d"]]);
    const bytes = readFileSync(file);
    bytes[bytes.indexOf("a xxx") + 2] = "y".charCodeAt(0);
    writeFileSync(file, bytes);
    const bag = await BagReader.open(file);
    let count = 0;
    for await (const message of bag.messages()) count += message.message === undefined ? 0 : 1;
    expect(count).toBe(4);
    await expect(async () => {
      for await (const message of bag.messages({ validateCrcs: true })) void message;
    }).rejects.toThrow(/damaged\.mcap: .*chunk at byte \d+: CRC \d+ of its records does not match the recorded \d+/);
  });
});
