import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REGISTERS, decodeRegister, encodeRegister, registerAt } from "../../src/so100/control-table.js";
import {
  FrameParser,
  Instruction,
  StatusError,
  checksum,
  decodeSignMagnitude,
  describeStatusError,
  encodeSignMagnitude,
  instructionPacket,
  pingPacket,
  readPacket,
  statusPacket,
  syncReadPacket,
  syncWritePacket,
  writePacket,
  type ParseResult,
} from "../../src/so100/protocol.js";

const bytes = (text: string): Uint8Array => Uint8Array.from(text.split(/\s+/).map((h) => parseInt(h, 16)));
const hex = (data: Uint8Array): string => [...data].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(" ");

function parseAll(parser: FrameParser): ParseResult[] {
  const results: ParseResult[] = [];
  for (let r = parser.next(); r !== undefined; r = parser.next()) results.push(r);
  return results;
}

describe("Feetech packets: the manual's test vectors", () => {
  it("PING id 1 and its reply", () => {
    expect(hex(pingPacket(1))).toBe("FF FF 01 02 01 FB");
    expect(hex(statusPacket(1, 0))).toBe("FF FF 01 02 00 FC");
  });

  it("READ Present_Position of id 1 and the reply holding position 1304", () => {
    expect(hex(readPacket(1, REGISTERS.Present_Position.address, 2))).toBe("FF FF 01 04 02 38 02 BE");
    const parser = new FrameParser();
    parser.push(bytes("FF FF 01 04 00 18 05 DD"));
    const [frame] = parseAll(parser);
    expect(frame).toMatchObject({ kind: "frame", id: 1, code: 0 });
    expect(decodeRegister(REGISTERS.Present_Position, (frame as { parameters: Uint8Array }).parameters)).toBe(1304);
  });

  it("WRITE of position 2048, time 0, speed 1000 from address 0x2A", () => {
    const data = [...encodeRegister(REGISTERS.Goal_Position, 2048), ...encodeRegister(REGISTERS.Goal_Time, 0), ...encodeRegister(REGISTERS.Goal_Velocity, 1000)];
    expect(hex(writePacket(1, REGISTERS.Goal_Position.address, data))).toBe("FF FF 01 09 03 2A 00 08 00 00 E8 03 D5");
  });

  it("SYNC_READ and SYNC_WRITE are broadcast packets with the address, the length and the ids", () => {
    expect(hex(syncReadPacket(56, 2, [1, 2, 3]))).toBe(hex(instructionPacket(0xfe, Instruction.SYNC_READ, [56, 2, 1, 2, 3])));
    const packet = syncWritePacket(42, 2, [
      { id: 1, data: [0x00, 0x08] },
      { id: 2, data: [0xff, 0x0f] },
    ]);
    expect(hex(packet)).toBe("FF FF FE 0A 83 2A 02 01 00 08 02 FF 0F " + hex(Uint8Array.of(checksum(packet, 2, packet.length - 1))));
    expect(() => syncWritePacket(42, 2, [{ id: 1, data: [1] }])).toThrow(/id 1 has 1 data bytes, expected 2/);
    expect(() => pingPacket(300)).toThrow(/servo id 300/);
  });
});

describe("sign-magnitude values (LeRobot's encoding)", () => {
  it("puts the sign at the register's bit", () => {
    expect(encodeSignMagnitude(-5, 11)).toBe(0x805);
    expect(encodeSignMagnitude(-1000, 15)).toBe(0x83e8);
    expect(decodeSignMagnitude(0x805, 11)).toBe(-5);
    expect(decodeSignMagnitude(0x400 | 300, 10)).toBe(-300);
    expect(() => encodeSignMagnitude(2048, 11)).toThrow(/does not fit/);
  });

  it("round-trips every value a register can hold", () => {
    fc.assert(
      fc.property(fc.constantFrom(REGISTERS.Homing_Offset, REGISTERS.Goal_Velocity, REGISTERS.Present_Load), fc.integer({ min: -2047, max: 2047 }), (reg, value) => {
        const magnitude = Math.min(Math.abs(value), (1 << reg.signBit!) - 1) * Math.sign(value);
        expect(decodeRegister(reg, encodeRegister(reg, magnitude))).toBe(magnitude);
      }),
    );
  });

  it("finds the register holding an address", () => {
    expect(registerAt(43)?.name).toBe("Goal_Position");
    expect(registerAt(2)).toBeUndefined();
  });
});

describe("FrameParser", () => {
  it("reads packets split across arbitrary chunk boundaries", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 253 }), fc.uint8Array({ maxLength: 20 })), { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }), (packets, cuts) => {
        const stream = Uint8Array.from(packets.flatMap(([id, params]) => [...statusPacket(id, 0, params)]));
        const parser = new FrameParser();
        const frames: ParseResult[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const size = cuts[i % cuts.length]!;
          parser.push(stream.subarray(at, at + size));
          at += size;
          frames.push(...parseAll(parser));
        }
        expect(frames.map((f) => (f.kind === "frame" ? [f.id, [...f.parameters]] : f.kind))).toEqual(packets.map(([id, p]) => [id, [...p]]));
      }),
    );
  });

  it("resynchronises on noise and names what it found where a header was expected", () => {
    const parser = new FrameParser();
    parser.push(Uint8Array.of(0x12, 0x34, ...statusPacket(2, 0, [7])));
    const [noise, frame] = parseAll(parser);
    expect(noise).toMatchObject({ kind: "discarded", reason: "noise", bytes: 2 });
    expect((noise as { description: string }).description).toMatch(/found 12 34 where a header FF FF was expected/);
    expect(frame).toMatchObject({ kind: "frame", id: 2 });
  });

  it("treats FF FF FF as preamble before the id", () => {
    const parser = new FrameParser();
    parser.push(Uint8Array.of(0xff, ...statusPacket(3, 0)));
    const results = parseAll(parser);
    expect(results.at(-1)).toMatchObject({ kind: "frame", id: 3 });
  });

  it("names a bad checksum and a bad length, and still reads the packet after them", () => {
    const corrupt = statusPacket(1, 0, [0x18, 0x05]);
    corrupt[corrupt.length - 1] = 0x00;
    const parser = new FrameParser();
    parser.push(Uint8Array.of(...corrupt, 0xff, 0xff, 0x04, 0x01, ...statusPacket(5, StatusError.OVERLOAD)));
    const results = parseAll(parser);
    expect(results[0]).toMatchObject({ kind: "discarded", reason: "checksum" });
    expect((results[0] as { description: string }).description).toMatch(/found checksum 00 where DD was expected \(id 1, length 4/);
    expect(results.some((r) => r.kind === "discarded" && r.reason === "length" && /found length 1 \(id 4\)/.test(r.description))).toBe(true);
    expect(results.at(-1)).toMatchObject({ kind: "frame", id: 5, code: StatusError.OVERLOAD });
  });

  it("waits for the rest of an incomplete packet", () => {
    const parser = new FrameParser();
    const packet = statusPacket(1, 0, [1, 2, 3]);
    parser.push(packet.subarray(0, 5));
    expect(parser.next()).toBeUndefined();
    parser.push(packet.subarray(5));
    expect(parser.next()).toMatchObject({ kind: "frame", id: 1 });
  });

  it("names status error bits", () => {
    expect(describeStatusError(StatusError.OVERLOAD | StatusError.OVERHEAT)).toEqual(["overheat", "overload"]);
    expect(describeStatusError(0x40)).toEqual(["bit 0x40"]);
  });
});
