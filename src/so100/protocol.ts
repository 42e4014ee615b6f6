/**
 * The Feetech SCS/STS serial protocol (protocol 0, the STS3215's), pure: packets in and out, no I/O and
 * no joints. An instruction packet is `FF FF ID LEN INSTR P1..Pn CHK` and a status packet
 * `FF FF ID LEN ERR P1..Pn CHK`, with `LEN = n + 2` and `CHK = ~(ID + LEN + INSTR|ERR + ΣP) & 0xFF`; both
 * share one framing, so one parser reads the bus side (status) and the servo side (instructions).
 */

/** Instruction codes. */
export const Instruction = {
  PING: 0x01,
  READ: 0x02,
  WRITE: 0x03,
  REG_WRITE: 0x04,
  ACTION: 0x05,
  SYNC_READ: 0x82,
  SYNC_WRITE: 0x83,
} as const;
export type InstructionCode = (typeof Instruction)[keyof typeof Instruction];

/** Every servo listens to this id and none answers it (except a broadcast PING, which each answers in turn). */
export const BROADCAST_ID = 0xfe;
/** Highest unicast id. */
export const MAX_ID = 0xfd;
/** Largest LEN byte a servo sends or accepts (the Feetech SDK's RXPACKET_MAX_LEN). */
export const MAX_LENGTH_BYTE = 250;
/** `FF FF ID LEN` before the instruction/error byte, and the checksum after the parameters. */
const HEADER_BYTES = 4;

/** Status packet error bits. */
export const StatusError = {
  INPUT_VOLTAGE: 0x01,
  ANGLE_SENSOR: 0x02,
  OVERHEAT: 0x04,
  OVERCURRENT: 0x08,
  OVERLOAD: 0x20,
} as const;

const ERROR_NAMES: ReadonlyArray<[number, string]> = [
  [StatusError.INPUT_VOLTAGE, "input voltage"],
  [StatusError.ANGLE_SENSOR, "angle sensor"],
  [StatusError.OVERHEAT, "overheat"],
  [StatusError.OVERCURRENT, "overcurrent"],
  [StatusError.OVERLOAD, "overload"],
];

/** The names of the error bits set in a status byte (`["overload"]`), unknown bits as `bit 0x40`. */
export function describeStatusError(error: number): string[] {
  const names = ERROR_NAMES.filter(([bit]) => (error & bit) !== 0).map(([, name]) => name);
  const known = ERROR_NAMES.reduce((mask, [bit]) => mask | bit, 0);
  for (let bit = 1; bit < 0x100; bit <<= 1) if ((error & bit) !== 0 && (known & bit) === 0) names.push(`bit 0x${bit.toString(16).padStart(2, "0")}`);
  return names;
}

/** `~(ID + LEN + INSTR|ERR + ΣP) & 0xFF` over `bytes[start, end)`. */
export function checksum(bytes: ArrayLike<number>, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return ~sum & 0xff;
}

function checkId(id: number, what: string, allowBroadcast: boolean): void {
  if (!Number.isInteger(id) || id < 0 || id > (allowBroadcast ? BROADCAST_ID : MAX_ID)) {
    throw new RangeError(`${what}: servo id ${id} is not an integer in 0..${allowBroadcast ? BROADCAST_ID : MAX_ID}`);
  }
}

function checkByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`${what}: ${value} is not a byte`);
}

/** One packet: id, then the instruction (instruction packet) or error byte (status packet), then parameters. */
function encodeFrame(id: number, code: number, parameters: ArrayLike<number>): Uint8Array {
  const lengthByte = parameters.length + 2;
  if (lengthByte > MAX_LENGTH_BYTE) throw new RangeError(`packet for id ${id}: ${parameters.length} parameter bytes exceed the protocol's ${MAX_LENGTH_BYTE - 2}`);
  const packet = new Uint8Array(HEADER_BYTES + 1 + parameters.length + 1);
  packet[0] = 0xff;
  packet[1] = 0xff;
  packet[2] = id;
  packet[3] = lengthByte;
  packet[4] = code;
  for (let i = 0; i < parameters.length; i++) {
    checkByte(parameters[i]!, `packet for id ${id}, parameter ${i}`);
    packet[5 + i] = parameters[i]!;
  }
  packet[packet.length - 1] = checksum(packet, 2, packet.length - 1);
  return packet;
}

export function instructionPacket(id: number, instruction: InstructionCode, parameters: ArrayLike<number> = []): Uint8Array {
  checkId(id, "instruction packet", true);
  return encodeFrame(id, instruction, parameters);
}

/** A servo's reply (the simulated arm sends these). */
export function statusPacket(id: number, error: number, parameters: ArrayLike<number> = []): Uint8Array {
  checkId(id, "status packet", false);
  checkByte(error, `status packet for id ${id}, error byte`);
  return encodeFrame(id, error, parameters);
}

export function pingPacket(id: number): Uint8Array {
  return instructionPacket(id, Instruction.PING);
}

export function readPacket(id: number, address: number, length: number): Uint8Array {
  checkByte(address, "READ address");
  checkByte(length, "READ length");
  return instructionPacket(id, Instruction.READ, [address, length]);
}

export function writePacket(id: number, address: number, data: ArrayLike<number>): Uint8Array {
  checkByte(address, "WRITE address");
  return instructionPacket(id, Instruction.WRITE, [address, ...Array.from(data)]);
}

/** Each listed servo answers in turn with a status packet holding `length` bytes from `address`. */
export function syncReadPacket(address: number, length: number, ids: readonly number[]): Uint8Array {
  checkByte(address, "SYNC_READ address");
  checkByte(length, "SYNC_READ length");
  for (const id of ids) checkId(id, "SYNC_READ", false);
  return instructionPacket(BROADCAST_ID, Instruction.SYNC_READ, [address, length, ...ids]);
}

/** The same `length` bytes at `address` for several servos, one broadcast packet, no reply. */
export function syncWritePacket(address: number, length: number, entries: ReadonlyArray<{ id: number; data: ArrayLike<number> }>): Uint8Array {
  checkByte(address, "SYNC_WRITE address");
  checkByte(length, "SYNC_WRITE length");
  const parameters = new Uint8Array(2 + entries.length * (1 + length));
  parameters[0] = address;
  parameters[1] = length;
  let at = 2;
  for (const entry of entries) {
    checkId(entry.id, "SYNC_WRITE", false);
    if (entry.data.length !== length) throw new RangeError(`SYNC_WRITE: id ${entry.id} has ${entry.data.length} data bytes, expected ${length}`);
    parameters[at++] = entry.id;
    for (let i = 0; i < length; i++) parameters[at++] = entry.data[i]!;
  }
  return instructionPacket(BROADCAST_ID, Instruction.SYNC_WRITE, parameters);
}

/**
 * Sign-magnitude as Feetech uses for signed registers: bit `signBit` is the sign, the bits below the
 * magnitude (LeRobot's encode_sign_magnitude).
 */
export function encodeSignMagnitude(value: number, signBit: number): number {
  const maxMagnitude = (1 << signBit) - 1;
  const magnitude = Math.abs(value);
  if (!Number.isInteger(value) || magnitude > maxMagnitude) throw new RangeError(`${value} does not fit sign-magnitude with the sign at bit ${signBit} (|value| ≤ ${maxMagnitude})`);
  return ((value < 0 ? 1 : 0) << signBit) | magnitude;
}

export function decodeSignMagnitude(raw: number, signBit: number): number {
  const magnitude = raw & ((1 << signBit) - 1);
  return ((raw >> signBit) & 1) === 1 ? -magnitude : magnitude;
}

/** Little-endian bytes of an unsigned value. */
export function encodeUnsigned(value: number, size: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size)) throw new RangeError(`${value} does not fit ${size} unsigned byte(s)`);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (value >>> (8 * i)) & 0xff;
  return bytes;
}

export function decodeUnsigned(bytes: ArrayLike<number>, offset: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[offset + i]!;
  return value;
}

/** A well-formed packet: the instruction (instruction packets) or error byte (status packets) is `code`. */
export interface Frame {
  readonly kind: "frame";
  readonly id: number;
  readonly code: number;
  readonly parameters: Uint8Array;
}

/** Bytes the parser threw away, and what it found where something else was expected. */
export interface Discarded {
  readonly kind: "discarded";
  readonly reason: "noise" | "length" | "checksum";
  readonly bytes: number;
  readonly description: string;
  /** The id byte of a packet thrown away for its length or checksum (it may itself be damaged). */
  readonly id?: number;
}

export type ParseResult = Frame | Discarded;

function hex(bytes: ArrayLike<number>, start: number, end: number, limit = 8): string {
  const shown: string[] = [];
  for (let i = start; i < Math.min(end, start + limit); i++) shown.push(bytes[i]!.toString(16).padStart(2, "0").toUpperCase());
  return end - start > limit ? `${shown.join(" ")} …` : shown.join(" ");
}

/**
 * Streaming packet parser: `push` bytes as they arrive, then call `next()` until it returns undefined
 * (a packet is incomplete). It resynchronises on the next `FF FF` after noise, a bad length or a bad
 * checksum, and says what it found where a header, a length or a checksum was expected.
 */
export class FrameParser {
  private buffer = new Uint8Array(512);
  private start = 0;
  private end = 0;

  /** Bytes received and not yet parsed. */
  get pending(): number {
    return this.end - this.start;
  }

  push(bytes: Uint8Array): void {
    if (this.end + bytes.length > this.buffer.length) {
      const live = this.end - this.start;
      if (live + bytes.length <= this.buffer.length) this.buffer.copyWithin(0, this.start, this.end);
      else {
        const grown = new Uint8Array(2 * (live + bytes.length));
        grown.set(this.buffer.subarray(this.start, this.end));
        this.buffer = grown;
      }
      this.start = 0;
      this.end = live;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Drops everything received so far (before a new transaction: late replies must not be taken for its own). */
  clear(): number {
    const dropped = this.end - this.start;
    this.start = 0;
    this.end = 0;
    return dropped;
  }

  next(): ParseResult | undefined {
    const b = this.buffer;
    const available = this.end - this.start;
    if (available === 0) return undefined;
    // Header: the first FF FF followed by an id; FF FF FF is preamble (0xFF is no id), so one FF is noise.
    let at = this.start;
    while (at < this.end) {
      if (b[at] === 0xff) {
        if (at + 1 === this.end) break; // may be the start of a header
        if (b[at + 1] === 0xff && (at + 2 === this.end || b[at + 2] !== 0xff)) break;
      }
      at++;
    }
    if (at > this.start) {
      const skipped = at - this.start;
      const description = `found ${hex(b, this.start, at)} where a header FF FF was expected (${skipped} byte${skipped === 1 ? "" : "s"} skipped)`;
      this.start = at;
      return { kind: "discarded", reason: "noise", bytes: skipped, description };
    }
    if (available < HEADER_BYTES) return undefined;
    const id = b[at + 2]!;
    const lengthByte = b[at + 3]!;
    if (lengthByte < 2 || lengthByte > MAX_LENGTH_BYTE) {
      this.start = at + 2; // resync after this header
      return { kind: "discarded", reason: "length", bytes: 2, id, description: `found length ${lengthByte} (id ${id}) where a length of 2..${MAX_LENGTH_BYTE} was expected` };
    }
    const total = HEADER_BYTES + lengthByte;
    if (available < total) return undefined;
    const expected = checksum(b, at + 2, at + total - 1);
    const found = b[at + total - 1]!;
    if (found !== expected) {
      this.start = at + 2;
      return {
        kind: "discarded",
        reason: "checksum",
        bytes: 2,
        id,
        description: `found checksum ${hex([found], 0, 1)} where ${hex([expected], 0, 1)} was expected (id ${id}, length ${lengthByte}: ${hex(b, at, at + total, 12)})`,
      };
    }
    const frame: Frame = { kind: "frame", id, code: b[at + 4]!, parameters: b.slice(at + 5, at + total - 1) };
    this.start = at + total;
    if (this.start === this.end) this.start = this.end = 0;
    return frame;
  }
}
