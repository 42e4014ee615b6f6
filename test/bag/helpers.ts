import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BagWriter, type BagStorage } from "../../src/bag/writer.js";
import { FIXTURES, REPO_ROOT } from "../helpers/system.js";

export const BAGS = path.join(FIXTURES, "bags");

/** A fresh temporary directory. */
export function scratch(prefix = "pi0fast-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A writable copy of a fixture bag. */
export function copyFixture(name: string): string {
  const target = path.join(scratch(), name);
  cpSync(path.join(BAGS, name), target, { recursive: true });
  return target;
}

export { runCli } from "../helpers/cli.js";

/** Text outside ASCII: 2-, 3- and 4-byte UTF-8 sequences, which a UTF-16-sized writer truncates. */
export const NON_ASCII_TEXTS = ["saisir la tasse → bac", "把杯子放进盒子里", "greif 🤖 zu", "ASCII only"];

/** Writes one String per text and a JointState with a non-ASCII joint name and frame id. */
export async function writeNonAsciiBag(bagDir: string, storage: BagStorage): Promise<void> {
  const writer = await BagWriter.create(bagDir, storage);
  await writer.addTopic("/instruction", "std_msgs/msg/String");
  await writer.addTopic("/joint_states", "sensor_msgs/msg/JointState");
  const start = 1_760_000_000_000_000_000n;
  for (const [index, text] of NON_ASCII_TEXTS.entries()) await writer.write("/instruction", start + BigInt(index), { data: text });
  await writer.write("/joint_states", start + 10n, {
    header: { stamp: { sec: 1_760_000_000, nanosec: 10 }, frame_id: "base_é" },
    name: ["épaule", "pince"],
    position: Float64Array.from([0.5, -1]),
    velocity: new Float64Array(0),
    effort: new Float64Array(0),
  });
  await writer.close();
}
