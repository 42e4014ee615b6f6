/**
 * Hugging Face's ByteLevel pre-tokenizer and decoder, reproduced for FAST's code-point strings:
 * the GPT-2 split regex (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`)
 * cuts the string into words, each word becomes its UTF-8 bytes, each byte one printable character.
 * Implemented as a scanner over precomputed character classes: it runs per chunk on the decode path.
 */

/** GPT-2's byte → printable character table (`bytes_to_unicode`). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array<string>(256);
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255);
    table[byte] = String.fromCodePoint(printable ? byte : next++);
  }
  return table;
})();

/** The inverse of `BYTE_TO_CHAR`, by code point. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = new Map(BYTE_TO_CHAR.map((char, byte) => [char.codePointAt(0)!, byte]));

/**
 * The raw bytes a vocabulary entry stands for, as Hugging Face's ByteLevel decoder computes them: every
 * character mapped back through the byte table, or, when any character is outside it (FAST's initial
 * alphabet adds raw characters that the encoder never produces), the token's own UTF-8 bytes.
 */
export function tokenToBytes(token: string): Uint8Array {
  const bytes: number[] = [];
  for (const char of token) {
    const byte = CHAR_TO_BYTE.get(char.codePointAt(0)!);
    if (byte === undefined) return new TextEncoder().encode(token);
    bytes.push(byte);
  }
  return Uint8Array.from(bytes);
}

const enum CharClass {
  Letter = 1,
  Number = 2,
  Space = 3,
  Other = 4,
}

/**
 * Letters in Node's (newer) Unicode tables that the Oniguruma tables inside `tokenizers` 0.23 do not know:
 * there they are unassigned, so the regex treats them as "other". The interop test compares every BMP
 * code point with the binding, so a Node or tokenizers upgrade that moves this list is caught.
 */
const NOT_LETTERS_IN_ONIGURUMA = new Set([0x088f, 0x0c5c, 0x0cdc, 0xa7ce, 0xa7cf, 0xa7d2, 0xa7d4, 0xa7f1]);

/** Character classes of the split regex, computed once for the Basic Multilingual Plane. */
const CLASS_TABLE = (() => {
  const table = new Uint8Array(0x10000);
  const letter = /^\p{L}$/u;
  const number = /^\p{N}$/u;
  // Oniguruma's Unicode `\s` is White_Space (it has U+0085 and lacks U+FEFF, unlike JavaScript's `\s`).
  const space = /^\p{White_Space}$/u;
  for (let codePoint = 0; codePoint < 0x10000; codePoint++) {
    if ((codePoint >= 0xd800 && codePoint <= 0xdfff) || NOT_LETTERS_IN_ONIGURUMA.has(codePoint)) {
      table[codePoint] = CharClass.Other;
      continue;
    }
    const char = String.fromCharCode(codePoint);
    table[codePoint] = letter.test(char) ? CharClass.Letter : number.test(char) ? CharClass.Number : space.test(char) ? CharClass.Space : CharClass.Other;
  }
  return table;
})();

const astralClassCache = new Map<number, CharClass>();
function classOf(codePoint: number): CharClass {
  if (codePoint < 0x10000) return CLASS_TABLE[codePoint] as CharClass;
  let cls = astralClassCache.get(codePoint);
  if (cls === undefined) {
    const char = String.fromCodePoint(codePoint);
    cls = /\p{L}/u.test(char) ? CharClass.Letter : /\p{N}/u.test(char) ? CharClass.Number : /\p{White_Space}/u.test(char) ? CharClass.Space : CharClass.Other;
    astralClassCache.set(codePoint, cls);
  }
  return cls;
}

const APOSTROPHE = 0x27;
const SPACE = 0x20;
const CONTRACTIONS: readonly number[][] = ["s", "t", "re", "ve", "m", "ll", "d"].map((s) => [...s].map((c) => c.codePointAt(0)!));

/** Length of the contraction (`'s`, `'re`, …) starting at `start` (before `length`), or 0. */
function contractionLength(codePoints: ArrayLike<number>, start: number, length: number): number {
  if (codePoints[start] !== APOSTROPHE) return 0;
  for (const tail of CONTRACTIONS) {
    let matches = start + tail.length < length;
    for (let i = 0; matches && i < tail.length; i++) matches = codePoints[start + 1 + i] === tail[i];
    if (matches) return 1 + tail.length;
  }
  return 0;
}

/**
 * Splits a code-point sequence into the words of the GPT-2 regex; returns the end index (exclusive) of
 * each word. Leftmost-first alternation with greedy repetition, exactly as the regex engine would.
 */
export function splitWords(codePoints: ArrayLike<number>): number[] {
  const ends = new Int32Array(codePoints.length);
  return Array.from(ends.subarray(0, splitWordsInto(codePoints, codePoints.length, ends)));
}

/**
 * `splitWords` without allocating: writes the word ends of `codePoints[0..length)` into `ends` (at least
 * `length` long, since every word has a code point) and returns how many words there are.
 */
export function splitWordsInto(codePoints: ArrayLike<number>, length: number, ends: Int32Array): number {
  let count = 0;
  let start = 0;
  while (start < length) {
    const first = codePoints[start]!;
    let end = first === APOSTROPHE ? start + contractionLength(codePoints, start, length) : start;
    if (end === start) {
      // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional U+0020 then a run of one class.
      const bodyStart = first === SPACE && start + 1 < length && classOf(codePoints[start + 1]!) !== CharClass.Space ? start + 1 : start;
      const bodyClass = classOf(codePoints[bodyStart]!);
      if (bodyClass !== CharClass.Space) {
        end = bodyStart + 1;
        while (end < length && classOf(codePoints[end]!) === bodyClass) end++;
      } else {
        // `\s+(?!\S)` then `\s+`: a whitespace run, leaving its last character to the next word when
        // something other than whitespace follows (so that " x" stays together).
        let runEnd = start + 1;
        while (runEnd < length && classOf(codePoints[runEnd]!) === CharClass.Space) runEnd++;
        end = runEnd === length || runEnd - start === 1 ? runEnd : runEnd - 1;
      }
    }
    ends[count++] = end;
    start = end;
  }
  return count;
}

/** Appends the UTF-8 bytes of one code point. */
export function pushUtf8(bytes: number[], codePoint: number): void {
  if (codePoint < 0x80) bytes.push(codePoint);
  else if (codePoint < 0x800) bytes.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
  else if (codePoint < 0x10000) bytes.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  else bytes.push(0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 0x3f), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
}
