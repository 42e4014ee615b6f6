import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
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

/** The sqlite3 fixture bags (legacy_single_file has no metadata.yaml). */
export const SQLITE_FIXTURES = readdirSync(BAGS).filter((name) => !name.startsWith("LICENSE") && readdirSync(path.join(BAGS, name)).some((file) => /\.db3(\.zstd)?$/.test(file)));

/**
 * A copy of a fixture as rosbag2 leaves a closed bag: without the empty `-wal` and the `-shm` a reader of the
 * fixture once created beside its WAL-mode `.db3`.
 */
export function pristineCopy(name: string): string {
  const target = path.join(scratch(), name);
  cpSync(path.join(BAGS, name), target, { recursive: true, filter: (source) => !/\.db3-(shm|wal)$/.test(source) });
  return target;
}

/** Every file under `dir` with its size, modification time and sha256, by relative path. */
export async function folderSnapshot(dir: string): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const relative = path.relative(dir, file);
    if (!entry.isFile()) {
      snapshot[relative] = entry.isDirectory() ? "directory" : "other";
      continue;
    }
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const stat = statSync(file);
    snapshot[relative] = `${stat.size} bytes, mtime ${stat.mtimeMs}, sha256 ${hash.digest("hex")}`;
  }
  return snapshot;
}

/** A folder seen read-only, and who reads it: a view the reading user cannot write into. */
export interface ReadOnlyView {
  path: string;
  kind: "read-only bind mount" | "copy without write bits";
  /** The user to read as (undefined: this process's own). */
  uid: number | undefined;
  gid: number | undefined;
  remove(): void;
}

const isRoot = process.getuid?.() === 0;

/** A uid/gid without root's right to write anywhere: `nobody`. */
function unprivilegedUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync("id", [flag, "nobody"], { encoding: "utf8" }).stdout.trim() || 65534);
  return { uid: id("-u"), gid: id("-g") };
}

/** Whether `dir` is a mount point of this process's namespace (/proc/self/mountinfo, field 5). */
function isMountPoint(dir: string): boolean {
  const target = realpathSync(dir);
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4]?.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) === target);
}

/** Where root may mount: a read-only bind mount of `folder` itself; undefined where mounts are refused (a container). */
function bindMountView(folder: string): ReadOnlyView | undefined {
  if (!isRoot) return undefined;
  const view = path.join(scratch("pi0fast-view-"), path.basename(folder));
  mkdirSync(view);
  const bound = spawnSync("mount", ["--bind", folder, view], { stdio: "ignore" }).status === 0;
  const readOnly = bound && spawnSync("mount", ["-o", "remount,ro,bind", view], { stdio: "ignore" }).status === 0;
  const remove = () => {
    if (bound) spawnSync("umount", [view], { stdio: "ignore" });
    // never delete through a mount that is still there: that would delete the folder it shows
    if (isMountPoint(view)) throw new Error(`${view}: still mounted after umount; unmount it by hand`);
    rmSync(path.dirname(view), { recursive: true, force: true });
  };
  if (!readOnly) {
    remove();
    return undefined;
  }
  return { path: view, kind: "read-only bind mount", uid: undefined, gid: undefined, remove };
}

/** A copy of `folder` with every write bit removed, read by a user other than root (who ignores them). */
function noWriteBitView(folder: string): ReadOnlyView {
  const parent = scratch("pi0fast-view-");
  chmodSync(parent, 0o755);
  const view = path.join(parent, path.basename(folder));
  cpSync(folder, view, { recursive: true });
  const setModes = (dir: string, fileMode: number, dirMode: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const child = path.join(dir, entry.name);
      if (entry.isDirectory()) setModes(child, fileMode, dirMode);
      else chmodSync(child, fileMode);
    }
    chmodSync(dir, dirMode);
  };
  setModes(view, 0o444, 0o555);
  const user = isRoot ? unprivilegedUser() : undefined;
  return {
    path: view,
    kind: "copy without write bits",
    uid: user?.uid,
    gid: user?.gid,
    remove: () => {
      setModes(view, 0o644, 0o755);
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/** Whether the view's reader can create a file in it (the premise of a read-only test is that it cannot). */
function viewIsWritable(view: ReadOnlyView): boolean {
  const probe = path.join(view.path, ".pi0fast-write-probe");
  const result = spawnSync(process.execPath, ["-e", `require("fs").writeFileSync(${JSON.stringify(probe)}, "")`], {
    stdio: "ignore",
    ...(view.uid !== undefined ? { uid: view.uid, gid: view.gid } : {}),
  });
  if (result.status === 0) rmSync(probe, { force: true });
  return result.status === 0;
}

/**
 * Calls `use` with each kind of read-only view of `folder` this machine allows (a bind mount needs root and
 * mount rights; a copy without write bits always works), made one at a time and removed whatever happens.
 * Returns the kinds used.
 */
export function eachReadOnlyView(folder: string, use: (view: ReadOnlyView) => void): ReadOnlyView["kind"][] {
  const kinds: ReadOnlyView["kind"][] = [];
  for (const make of [bindMountView, noWriteBitView]) {
    const view = make(folder);
    if (view === undefined) continue;
    try {
      if (viewIsWritable(view)) throw new Error(`${view.kind} of ${folder}: its reader can write into it, so it proves nothing`);
      use(view);
      kinds.push(view.kind);
    } finally {
      view.remove();
    }
  }
  return kinds;
}

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
