/**
 * Constrained decoding for FAST action tokens. The tokens' bytes concatenate into a UTF-8 string whose code
 * points are the chunk's `horizon × dims` coefficients. The grammar tracks the UTF-8 byte state (a partial
 * code point and the values it can still complete to) and the number of code points decoded, and allows
 * only tokens after which the sequence can still end exactly at `horizon × dims` code points, valid UTF-8,
 * every value within the tokenizer's range, within the step budget. `"|"` is allowed only at that end.
 */

/** Byte state: 0 at a code-point boundary, else a partial code point (length, bytes still needed, bits so far). */
type ByteState = number;
const BOUNDARY: ByteState = 0;

function partial(length: number, need: number, value: number): ByteState {
  return (length << 28) | (need << 24) | value;
}

/** Smallest value a UTF-8 sequence of each length may encode (shorter ones are overlong). */
const MIN_BY_LENGTH = [0, 0, 0x80, 0x800, 0x10000];
const MAX_BY_LENGTH = [0, 0x7f, 0x7ff, 0xffff, 0x10ffff];

export interface GrammarOptions {
  /** Raw bytes per FAST id. */
  tokenBytes: readonly Uint8Array[];
  /** Number of code points (coefficients) a chunk must have: horizon × dims. */
  coefficientCount: number;
  /** Largest code point the FAST decoder accepts (its `vocab_size`). */
  maxCodePoint: number;
}

/** The result of feeding a token's bytes from a state: next state and code points completed, or invalid. */
interface Transition {
  next: Int32Array;
  completed: Int32Array;
}

const INVALID = -1;

export class ActionGrammar {
  readonly coefficientCount: number;
  private readonly tokenBytes: readonly Uint8Array[];
  private readonly maxCodePoint: number;
  /** Reachable byte states, by index; index 0 is the boundary. */
  private readonly states: ByteState[] = [BOUNDARY];
  private readonly stateIndex = new Map<ByteState, number>([[BOUNDARY, 0]]);
  private readonly transitions: Transition[] = [];
  /** fewest[stateIndex][remaining] = fewest tokens that end at a boundary with `remaining` more code points. */
  private readonly fewest: Int32Array[] = [];

  constructor(options: GrammarOptions) {
    this.tokenBytes = options.tokenBytes;
    this.coefficientCount = options.coefficientCount;
    this.maxCodePoint = options.maxCodePoint;
    for (let s = 0; s < this.states.length; s++) this.transitions.push(this.transitionsFrom(this.states[s]!));
    this.computeFewest();
  }

  /** The fresh decoding state: no code points yet, at a boundary. */
  start(stepBudget: number): GrammarState {
    return { stateIndex: 0, remaining: this.coefficientCount, stepsLeft: stepBudget };
  }

  /** Fewest tokens (the final `"|"` included) that produce a whole chunk. */
  minimumSteps(): number {
    return this.fewest[0]![this.coefficientCount]! + 1;
  }

  /** Whether FAST id `fastId` may come next. */
  allows(state: GrammarState, fastId: number): boolean {
    const transition = this.transitions[state.stateIndex]!;
    const next = transition.next[fastId];
    if (next === undefined || next === INVALID) return false;
    const remaining = state.remaining - transition.completed[fastId]!;
    if (remaining < 0) return false;
    // This token, the fewest tokens to finish, then "|".
    return 1 + this.fewest[next]![remaining]! + 1 <= state.stepsLeft;
  }

  /** Whether `"|"` may come next: exactly at the end of a whole chunk. */
  allowsEnd(state: GrammarState): boolean {
    return state.stateIndex === 0 && state.remaining === 0 && state.stepsLeft >= 1;
  }

  /** The state after FAST id `fastId` (which must be allowed). */
  advance(state: GrammarState, fastId: number): GrammarState {
    const transition = this.transitions[state.stateIndex]!;
    return { stateIndex: transition.next[fastId]!, remaining: state.remaining - transition.completed[fastId]!, stepsLeft: state.stepsLeft - 1 };
  }

  private indexOf(state: ByteState): number {
    let index = this.stateIndex.get(state);
    if (index === undefined) {
      index = this.states.length;
      this.states.push(state);
      this.stateIndex.set(state, index);
    }
    return index;
  }

  private transitionsFrom(start: ByteState): Transition {
    const count = this.tokenBytes.length;
    const next = new Int32Array(count).fill(INVALID);
    const completed = new Int32Array(count);
    for (let id = 0; id < count; id++) {
      const bytes = this.tokenBytes[id]!;
      if (bytes.length === 0) continue;
      let state = start;
      let done = 0;
      for (const byte of bytes) {
        const result = this.step(state, byte);
        if (result === INVALID) {
          done = -1;
          break;
        }
        if (result === BOUNDARY) done++;
        state = result;
      }
      if (done < 0 || done > this.coefficientCount) continue;
      next[id] = this.indexOf(state);
      completed[id] = done;
    }
    return { next, completed };
  }

  /** One byte: the next state (BOUNDARY when a code point completes), or INVALID. */
  private step(state: ByteState, byte: number): ByteState {
    if (state === BOUNDARY) {
      if (byte < 0x80) return byte <= this.maxCodePoint ? BOUNDARY : INVALID;
      const length = byte >= 0xc0 && byte < 0xe0 ? 2 : byte >= 0xe0 && byte < 0xf0 ? 3 : byte >= 0xf0 && byte < 0xf8 ? 4 : 0;
      if (length === 0) return INVALID;
      const value = byte & (0x7f >> length);
      return this.feasible(length, length - 1, value) ? partial(length, length - 1, value) : INVALID;
    }
    if (byte < 0x80 || byte >= 0xc0) return INVALID;
    const length = state >>> 28;
    const need = ((state >>> 24) & 0xf) - 1;
    const value = ((state & 0xffffff) << 6) | (byte & 0x3f);
    if (!this.feasible(length, need, value)) return INVALID;
    return need === 0 ? BOUNDARY : partial(length, need, value);
  }

  /** Whether some completion of `need` more continuation bytes gives a valid code point the decoder accepts. */
  private feasible(length: number, need: number, value: number): boolean {
    const low = Math.max(value * 64 ** need, MIN_BY_LENGTH[length]!);
    const high = Math.min((value + 1) * 64 ** need - 1, MAX_BY_LENGTH[length]!, this.maxCodePoint);
    if (low > high) return false;
    // Surrogates are not code points: the interval must reach outside 0xD800..0xDFFF.
    return !(low >= 0xd800 && high <= 0xdfff);
  }

  private computeFewest(): void {
    const total = this.coefficientCount;
    const stateCount = this.states.length;
    const unreachable = 1 << 29;
    for (let s = 0; s < stateCount; s++) this.fewest.push(new Int32Array(total + 1).fill(unreachable));
    this.fewest[0]![0] = 0;
    for (let remaining = 0; remaining <= total; remaining++) {
      // Tokens completing no code point stay at the same `remaining`: relax until nothing improves.
      for (let changed = true; changed; ) {
        changed = false;
        for (let s = 0; s < stateCount; s++) {
          const { next, completed } = this.transitions[s]!;
          let best = this.fewest[s]![remaining]!;
          for (let id = 0; id < next.length; id++) {
            const target = next[id]!;
            if (target === INVALID) continue;
            const left = remaining - completed[id]!;
            if (left < 0) continue;
            const cost = 1 + this.fewest[target]![left]!;
            if (cost < best) best = cost;
          }
          if (best < this.fewest[s]![remaining]!) {
            this.fewest[s]![remaining] = best;
            changed = true;
          }
        }
      }
    }
  }
}

export interface GrammarState {
  readonly stateIndex: number;
  /** Code points still to produce. */
  readonly remaining: number;
  /** Decoding steps left, the final `"|"` included. */
  readonly stepsLeft: number;
}
