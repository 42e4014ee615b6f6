/**
 * The one rule for what a command writes (a dataset, bags, a tokenizer, a model, a mapping, a report):
 * a new path or an empty folder is written; anything else is refused unless `overwrite` is set, and then
 * replaced. Everything is written into a hidden staging path beside the output and renamed into place when
 * complete, so a failed or interrupted run leaves neither a half-written output nor the staging path.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { InputError } from "./errors.js";

export interface OutputOptions {
  /** Replace an existing non-empty output. */
  overwrite: boolean;
  /** How the output was named, for errors: `--out dataset`. */
  label: string;
  /** A folder (default) or a single file. */
  kind?: "folder" | "file";
}

/** Staging paths still open in this process, removed by `discardStagedOutputs` (signals, failures). */
const open = new Set<StagedOutput>();

/**
 * Throws unless `target` may be written under the rule: it does not exist, is an empty folder (for a
 * folder output), or `overwrite` is set (and it is of the same kind).
 */
export function checkOutput(target: string, options: OutputOptions): void {
  const kind = options.kind ?? "folder";
  if (!existsSync(target)) return;
  const isFolder = statSync(target).isDirectory();
  if (kind === "folder" && !isFolder) throw new InputError(`${options.label}: exists and is a file; expected a folder (or a new path)`);
  if (kind === "file" && isFolder) throw new InputError(`${options.label}: is a folder; expected a file path`);
  if (options.overwrite) return;
  if (kind === "folder" && readdirSync(target).length === 0) return;
  throw new InputError(`${options.label}: already exists${kind === "folder" ? " and is not empty" : ""}; give --overwrite to replace it, or choose a new path`);
}

export class StagedOutput {
  /** Where the output ends up. */
  readonly target: string;
  /** Where it is written meanwhile (a hidden sibling, never shown to the user). */
  readonly path: string;
  readonly kind: "folder" | "file";
  #done = false;

  private constructor(target: string, kind: "folder" | "file") {
    this.target = target;
    this.kind = kind;
    this.path = path.join(path.dirname(target), `.${path.basename(target)}.partial-${process.pid}`);
  }

  /** Checks the rule and creates the staging path (a folder; for a file output, nothing yet). */
  static begin(target: string, options: OutputOptions): StagedOutput {
    checkOutput(target, options);
    const staged = new StagedOutput(path.resolve(target), options.kind ?? "folder");
    mkdirSync(path.dirname(staged.path), { recursive: true });
    rmSync(staged.path, { recursive: true, force: true });
    if (staged.kind === "folder") mkdirSync(staged.path);
    open.add(staged);
    return staged;
  }

  /** Moves the finished output into place, replacing what was there (kept aside until the new one is in). */
  commit(): void {
    if (this.#done) throw new Error(`${this.target}: output already committed or discarded`);
    if (existsSync(this.target)) {
      const old = `${this.path}.old`;
      rmSync(old, { recursive: true, force: true });
      renameSync(this.target, old);
      renameSync(this.path, this.target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(this.path, this.target);
    }
    this.#done = true;
    open.delete(this);
  }

  /** Deletes the staging path; the target is left as it was. Safe to call more than once. */
  discard(): void {
    if (!this.#done) rmSync(this.path, { recursive: true, force: true });
    this.#done = true;
    open.delete(this);
  }

  /** Runs `write` on the staging path, then commits; on any failure discards and rethrows. */
  static async write<T>(target: string, options: OutputOptions, write: (stagingPath: string) => Promise<T> | T): Promise<T> {
    const staged = StagedOutput.begin(target, options);
    try {
      const result = await write(staged.path);
      staged.commit();
      return result;
    } catch (error) {
      staged.discard();
      throw error;
    }
  }
}

/** Removes every staging path this process still has open (synchronous: safe in a signal handler). */
export function discardStagedOutputs(): void {
  for (const staged of [...open]) staged.discard();
}
