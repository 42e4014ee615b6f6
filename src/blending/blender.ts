/**
 * The chunk blender's core: real-time chunk execution for an autoregressive policy. Accepted chunks wait
 * until their stamp, are switched in at a control tick, and every tick folds the chunks covering its time
 * (blend schedule), adds the fading switch-over offset (offset alignment), then clamps and rate-limits the
 * result against the previous command. Pure: time comes in as bigint nanoseconds, nothing here does I/O.
 */
import { chunkEndNs, sampleChunk, stepAt, toTimedChunk, DROP_REASONS, type ChunkInput, type ChunkVerdict, type DropReason, type TimedChunk } from "./chunk.js";
import { limitCommand, type JointLimits } from "./limits.js";
import { foldWeight, replacesOlder, type BlendSettings } from "./schedules.js";

export interface BlenderSettings {
  /** The joints commanded, in command order. */
  readonly jointNames: readonly string[];
  /** Nominal time between ticks; the velocity limit never allows more than one period's travel per tick. */
  readonly controlPeriodS: number;
  readonly blend: BlendSettings;
  /** Remove the jump between what is commanded and a newly switched-in chunk, fading it over `alignFadeS`. */
  readonly alignOffset: boolean;
  readonly alignFadeS: number;
  readonly limits: JointLimits;
  readonly maxChunkAgeMs: number;
}

/**
 * waiting_for_joint_state: nothing is commanded yet; holding: the arm's position at start, no chunk yet;
 * tracking: following chunks; underrun: the chunks ran out, the last command is held.
 */
export type ControlState = "waiting_for_joint_state" | "holding" | "tracking" | "underrun";

export interface BlenderCounters {
  chunksAccepted: number;
  chunksRepaired: number;
  dropped: Record<DropReason, number>;
  /** Switch-overs onto a chunk while an older one still covered the time (its overlap is blended). */
  blends: number;
  /** Times the chunks ran out (each followed by holding the last command). */
  underruns: number;
  underrunTicks: number;
  /** Ticks where the velocity limit held back at least one joint. */
  rateLimitedTicks: number;
  /** Steps of switched-in chunks that were already in the past (all chunks, and the last one). */
  skippedStepsTotal: number;
  lastSkippedSteps: number;
  /** Arrival time − stamp of the last chunk that arrived, accepted or not. */
  lastChunkAgeMs: number | undefined;
}

/** What the replan scheduler needs to know about the execution at a time. */
export interface ExecutionState {
  /** Chunk being executed (the newest switched in); 0 before the first. */
  readonly chunkId: number;
  /** Its step at that time (whole steps). */
  readonly step: number;
  /** Step period of the newest accepted chunk, undefined before any. */
  readonly dtS: number | undefined;
  /** Time until the newest accepted chunk runs out (negative once it has); undefined before any. */
  readonly remainingS: number | undefined;
  /** When the first chunk was switched in. */
  readonly firstSwitchNs: bigint | undefined;
}

interface ActiveChunk {
  readonly chunk: TimedChunk;
  readonly switchNs: bigint;
}

/** Older chunks beyond this many overlapping ones are forgotten (their weight is negligible by then). */
export const MAX_OVERLAPPING_CHUNKS = 16;

export class ChunkBlender {
  private settings: BlenderSettings;
  private readonly jointCount: number;
  private readonly presentRad: Float64Array;
  private readonly presentSeen: boolean[];
  private jointStateComplete = false;
  /** The last command returned; never mutated after it was returned. */
  private command: Float64Array | undefined;
  private commandNs = 0n;
  private active: ActiveChunk[] = [];
  private readonly pending: TimedChunk[] = [];
  private newestStampNs: bigint | undefined;
  private newest: TimedChunk | undefined;
  private readonly offsetRad: Float64Array;
  private offsetStartNs = 0n;
  private realign = false;
  private controlState: ControlState = "waiting_for_joint_state";
  private firstSwitchNs: bigint | undefined;
  private readonly sample: Float64Array;
  private readonly previousTarget: Float64Array;
  private readonly target: Float64Array;
  readonly counters: BlenderCounters;

  constructor(settings: BlenderSettings) {
    this.settings = settings;
    this.jointCount = settings.jointNames.length;
    const n = this.jointCount;
    this.presentRad = new Float64Array(n);
    this.presentSeen = new Array<boolean>(n).fill(false);
    this.offsetRad = new Float64Array(n);
    this.sample = new Float64Array(n);
    this.previousTarget = new Float64Array(n);
    this.target = new Float64Array(n);
    this.counters = {
      chunksAccepted: 0,
      chunksRepaired: 0,
      dropped: Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>,
      blends: 0,
      underruns: 0,
      underrunTicks: 0,
      rateLimitedTicks: 0,
      skippedStepsTotal: 0,
      lastSkippedSteps: 0,
      lastChunkAgeMs: undefined,
    };
  }

  get jointNames(): readonly string[] {
    return this.settings.jointNames;
  }

  get state(): ControlState {
    return this.controlState;
  }

  /** The last command (radians, joint order), undefined before the first. */
  get lastCommand(): Float64Array | undefined {
    return this.command;
  }

  /** The arm's last reported position (radians, joint order), undefined until every joint was reported. */
  get presentPosition(): Float64Array | undefined {
    return this.jointStateComplete ? this.presentRad : undefined;
  }

  /** New settings at run time (same joints). The next tick re-aligns, so the change cannot make the command jump. */
  updateSettings(settings: BlenderSettings): void {
    if (settings.jointNames.join("\0") !== this.settings.jointNames.join("\0")) throw new Error("the blender's joints cannot change while it runs");
    this.settings = settings;
    this.realign = true;
  }

  /** A joint state (names + positions in any order, other joints ignored). Returns whether it was usable. */
  observeJointState(names: readonly string[], positionsRad: ArrayLike<number>): boolean {
    const joints = this.settings.jointNames;
    let usable = false;
    for (let i = 0; i < names.length && i < positionsRad.length; i++) {
      const j = joints.indexOf(names[i]!);
      const position = positionsRad[i]!;
      if (j < 0 || !Number.isFinite(position)) continue;
      this.presentRad[j] = position;
      this.presentSeen[j] = true;
      usable = true;
    }
    if (!this.jointStateComplete) this.jointStateComplete = this.presentSeen.every((seen) => seen);
    return usable;
  }

  /** An arriving chunk: validated, and queued until its stamp when it is newer than every chunk before it. */
  offerChunk(message: ChunkInput, arrivalNs: bigint): ChunkVerdict {
    let verdict = toTimedChunk(message, { jointNames: this.settings.jointNames, maxChunkAgeMs: this.settings.maxChunkAgeMs }, arrivalNs);
    if (verdict.accepted && this.newestStampNs !== undefined && verdict.chunk.stampNs <= this.newestStampNs) {
      const than = this.newest !== undefined ? ` chunk ${this.newest.chunkId}'s` : "";
      verdict = { accepted: false, reason: "not_newer", detail: `chunk ${message.chunk_id}: stamped ${verdict.chunk.stampNs} ns, not after${than} ${this.newestStampNs} ns (a duplicate or out of order)`, ageMs: verdict.ageMs };
    }
    this.counters.lastChunkAgeMs = verdict.ageMs;
    if (!verdict.accepted) {
      this.counters.dropped[verdict.reason]++;
      return verdict;
    }
    this.counters.chunksAccepted++;
    if (verdict.chunk.repaired) this.counters.chunksRepaired++;
    this.newestStampNs = verdict.chunk.stampNs;
    this.newest = verdict.chunk;
    this.pending.push(verdict.chunk);
    return verdict;
  }

  /**
   * The command at a control tick (a fresh array, radians in joint order), or undefined while no joint
   * state has been seen. The first command is the arm's present position.
   */
  tick(timeNs: bigint): Float64Array | undefined {
    if (this.command === undefined) {
      if (!this.jointStateComplete) return undefined;
      this.command = Float64Array.from(this.presentRad);
      this.commandNs = timeNs;
      this.controlState = "holding";
      return this.command;
    }
    while (this.pending.length > 0 && this.pending[0]!.stampNs <= timeNs) this.switchIn(this.pending.shift()!, timeNs);
    const target = this.target;
    if (this.realign) {
      this.realign = false;
      if (this.fold(timeNs, target) > 0) this.alignTo(this.command, target, timeNs);
    }
    if (this.fold(timeNs, target) > 0) {
      this.addOffset(timeNs, target);
      this.controlState = "tracking";
    } else {
      if (this.controlState === "tracking") this.counters.underruns++;
      if (this.firstSwitchNs !== undefined) {
        this.controlState = "underrun";
        this.counters.underrunTicks++;
      }
      target.set(this.command);
    }
    const elapsedS = Math.min(Math.max(0, Number(timeNs - this.commandNs) / 1e9), this.settings.controlPeriodS);
    const next = new Float64Array(this.jointCount);
    if (limitCommand(this.settings.limits, this.command, target, elapsedS, next) > 0) this.counters.rateLimitedTicks++;
    this.command = next;
    this.commandNs = timeNs;
    return next;
  }

  /** Where the execution stands at `timeNs`, for replanning. */
  execution(timeNs: bigint): ExecutionState {
    const current = this.active[this.active.length - 1]?.chunk;
    const step = current === undefined ? 0 : Math.min(current.horizon - 1, Math.max(0, Math.floor(stepAt(current, timeNs))));
    const newest = this.newest;
    return {
      chunkId: current?.chunkId ?? 0,
      step,
      dtS: newest?.dtS,
      remainingS: newest === undefined ? undefined : Number(chunkEndNs(newest) - timeNs) / 1e9,
      firstSwitchNs: this.firstSwitchNs,
    };
  }

  private switchIn(chunk: TimedChunk, timeNs: bigint): void {
    const previous = this.previousTarget;
    const covered = this.fold(timeNs, previous) > 0;
    if (covered) this.addOffset(timeNs, previous);
    else previous.set(this.command!);
    this.active.push({ chunk, switchNs: timeNs });
    if (this.active.length > MAX_OVERLAPPING_CHUNKS) this.active.shift();
    if (covered) this.counters.blends++;
    const skipped = Math.max(0, Math.ceil(stepAt(chunk, timeNs)));
    this.counters.lastSkippedSteps = skipped;
    this.counters.skippedStepsTotal += skipped;
    this.firstSwitchNs ??= timeNs;
    const next = this.target;
    this.fold(timeNs, next);
    this.alignTo(previous, next, timeNs);
  }

  /** Sets the offset that makes the command continue from `from` where the chunks now give `to`. */
  private alignTo(from: Float64Array, to: Float64Array, timeNs: bigint): void {
    const align = this.settings.alignOffset && this.settings.alignFadeS > 0;
    for (let j = 0; j < this.jointCount; j++) this.offsetRad[j] = align ? from[j]! - to[j]! : 0;
    this.offsetStartNs = timeNs;
  }

  private addOffset(timeNs: bigint, target: Float64Array): void {
    const fadeS = this.settings.alignFadeS;
    const sinceS = Number(timeNs - this.offsetStartNs) / 1e9;
    if (!this.settings.alignOffset || fadeS <= 0 || sinceS >= fadeS) return;
    // Raised cosine: the offset leaves and reaches zero with zero slope.
    const factor = 0.5 * (1 + Math.cos((Math.PI * sinceS) / fadeS));
    for (let j = 0; j < this.jointCount; j++) target[j]! += factor * this.offsetRad[j]!;
  }

  /**
   * Folds the active chunks covering `timeNs` into `out`, oldest first, and forgets chunks that ran out
   * or that a newer one fully replaces. Returns how many covered the time.
   */
  private fold(timeNs: bigint, out: Float64Array): number {
    const blend = this.settings.blend;
    const sample = this.sample;
    let rank = 0;
    let firstKept = 0;
    let ranOut = false;
    for (let a = 0; a < this.active.length; a++) {
      const { chunk, switchNs } = this.active[a]!;
      const phase = sampleChunk(chunk, timeNs, sample);
      if (phase !== "inside") {
        ranOut ||= phase === "after";
        continue;
      }
      const stepsSinceSwitch = Number(timeNs - switchNs) / 1e9 / chunk.dtS;
      if (rank === 0) out.set(sample);
      else {
        const w = foldWeight(blend, rank, stepsSinceSwitch);
        for (let j = 0; j < this.jointCount; j++) out[j]! += w * (sample[j]! - out[j]!);
      }
      if (replacesOlder(blend, stepsSinceSwitch)) firstKept = a;
      rank++;
    }
    if (firstKept > 0 || ranOut) {
      this.active = this.active.filter((entry, a) => a >= firstKept && sampleChunk(entry.chunk, timeNs, sample) !== "after");
    }
    return rank;
  }
}
