/**
 * The STS3215 control table (LeRobot 0.6.1's STS/SMS series table: name, address, bytes), with the facts
 * the bus and the simulated arm need besides: EEPROM or RAM, read-only or writable, and the sign bit of
 * the sign-magnitude registers. One table; the bus reads and writes registers by name through it.
 */
import { decodeSignMagnitude, decodeUnsigned, encodeSignMagnitude, encodeUnsigned } from "./protocol.js";

export interface Register {
  readonly name: string;
  readonly address: number;
  readonly size: 1 | 2;
  /** EEPROM settings persist across power cycles when written unlocked (Lock = 0); RAM does not. */
  readonly area: "eeprom" | "ram";
  readonly access: "r" | "rw";
  /** Sign-magnitude registers: the bit holding the sign (LeRobot's encoding table). */
  readonly signBit?: number;
}

const eeprom = (address: number, size: 1 | 2, access: "r" | "rw" = "rw", signBit?: number) => ({ address, size, area: "eeprom" as const, access, ...(signBit !== undefined ? { signBit } : {}) });
const ram = (address: number, size: 1 | 2, access: "r" | "rw" = "rw", signBit?: number) => ({ address, size, area: "ram" as const, access, ...(signBit !== undefined ? { signBit } : {}) });

const TABLE = {
  Firmware_Major_Version: eeprom(0, 1, "r"),
  Firmware_Minor_Version: eeprom(1, 1, "r"),
  Model_Number: eeprom(3, 2, "r"),
  ID: eeprom(5, 1),
  Baud_Rate: eeprom(6, 1),
  Return_Delay_Time: eeprom(7, 1),
  Response_Status_Level: eeprom(8, 1),
  Min_Position_Limit: eeprom(9, 2),
  Max_Position_Limit: eeprom(11, 2),
  Max_Temperature_Limit: eeprom(13, 1),
  Max_Voltage_Limit: eeprom(14, 1),
  Min_Voltage_Limit: eeprom(15, 1),
  Max_Torque_Limit: eeprom(16, 2),
  Phase: eeprom(18, 1),
  Unloading_Condition: eeprom(19, 1),
  LED_Alarm_Condition: eeprom(20, 1),
  P_Coefficient: eeprom(21, 1),
  D_Coefficient: eeprom(22, 1),
  I_Coefficient: eeprom(23, 1),
  Minimum_Startup_Force: eeprom(24, 2),
  CW_Dead_Zone: eeprom(26, 1),
  CCW_Dead_Zone: eeprom(27, 1),
  Protection_Current: eeprom(28, 2),
  Angular_Resolution: eeprom(30, 1),
  Homing_Offset: eeprom(31, 2, "rw", 11),
  Operating_Mode: eeprom(33, 1),
  Protective_Torque: eeprom(34, 1),
  Protection_Time: eeprom(35, 1),
  Overload_Torque: eeprom(36, 1),
  Velocity_closed_loop_P_proportional_coefficient: eeprom(37, 1),
  Over_Current_Protection_Time: eeprom(38, 1),
  Velocity_closed_loop_I_integral_coefficient: eeprom(39, 1),
  Torque_Enable: ram(40, 1),
  Acceleration: ram(41, 1),
  Goal_Position: ram(42, 2, "rw", 15),
  Goal_Time: ram(44, 2),
  Goal_Velocity: ram(46, 2, "rw", 15),
  Torque_Limit: ram(48, 2),
  Lock: ram(55, 1),
  Present_Position: ram(56, 2, "r", 15),
  Present_Velocity: ram(58, 2, "r", 15),
  Present_Load: ram(60, 2, "r", 10),
  Present_Voltage: ram(62, 1, "r"),
  Present_Temperature: ram(63, 1, "r"),
  Status: ram(65, 1, "r"),
  Moving: ram(66, 1, "r"),
  Present_Current: ram(69, 2, "r"),
  Goal_Position_2: ram(71, 2, "r"),
  // Factory area: kept in EEPROM like the settings.
  Moving_Velocity_Threshold: eeprom(80, 1),
  DTs: eeprom(81, 1),
  Velocity_Unit_factor: eeprom(82, 1),
  Hts: eeprom(83, 1),
  Maximum_Velocity_Limit: eeprom(84, 1),
  Maximum_Acceleration: eeprom(85, 1),
  Acceleration_Multiplier: eeprom(86, 1),
} satisfies Record<string, Omit<Register, "name">>;

export type RegisterName = keyof typeof TABLE;

export const REGISTERS: Readonly<Record<RegisterName, Register>> = Object.fromEntries(
  Object.entries(TABLE).map(([name, spec]) => [name, { name, ...spec }]),
) as Record<RegisterName, Register>;

/** STS3215's model number (Model_Number). */
export const STS3215_MODEL_NUMBER = 777;
/** Bytes of the register space the simulated arm holds (addresses 0..86). */
export const CONTROL_TABLE_BYTES = 87;

export function register(name: RegisterName): Register {
  return REGISTERS[name];
}

/** The register holding `address`, if any (a write may span several). */
export function registerAt(address: number): Register | undefined {
  for (const reg of Object.values(REGISTERS)) if (address >= reg.address && address < reg.address + reg.size) return reg;
  return undefined;
}

/** A register value as its bytes (sign-magnitude where the register is signed, little-endian). */
export function encodeRegister(reg: Register, value: number): Uint8Array {
  const raw = reg.signBit !== undefined ? encodeSignMagnitude(value, reg.signBit) : value;
  return encodeUnsigned(raw, reg.size);
}

export function decodeRegister(reg: Register, bytes: ArrayLike<number>, offset = 0): number {
  const raw = decodeUnsigned(bytes, offset, reg.size);
  return reg.signBit !== undefined ? decodeSignMagnitude(raw, reg.signBit) : raw;
}

/** Decodes `reg` from a block read starting at `blockAddress`. */
export function decodeFromBlock(reg: Register, block: ArrayLike<number>, blockAddress: number): number {
  const offset = reg.address - blockAddress;
  if (offset < 0 || offset + reg.size > block.length) throw new RangeError(`${reg.name} (address ${reg.address}) is not inside the block read at ${blockAddress} (${block.length} bytes)`);
  return decodeRegister(reg, block, offset);
}
