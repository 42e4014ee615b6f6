import path from "node:path";
import { describe, expect, it } from "vitest";
import { BagReader } from "../../src/bag/reader.js";
import { NON_ASCII_TEXTS, scratch, writeNonAsciiBag } from "./helpers.js";

describe("BagWriter", () => {
  it.each(["sqlite3", "mcap"] as const)("writes non-ASCII strings that read back identically (%s)", async (storage) => {
    const bagDir = path.join(scratch(), "non_ascii");
    await writeNonAsciiBag(bagDir, storage);
    const read: unknown[] = [];
    for await (const message of (await BagReader.open(bagDir)).messages()) read.push(message.message);
    expect(read.slice(0, NON_ASCII_TEXTS.length)).toEqual(NON_ASCII_TEXTS.map((data) => ({ data })));
    expect(read[NON_ASCII_TEXTS.length]).toMatchObject({ header: { frame_id: "base_é" }, name: ["épaule", "pince"] });
    expect(read).toHaveLength(NON_ASCII_TEXTS.length + 1);
  });
});
