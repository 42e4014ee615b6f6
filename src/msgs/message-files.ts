/** Reads the package's `msg/*.msg` files into parsed definitions (the I/O side of message-definitions). */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { MessageDefinition } from "@foxglove/message-definition";
import { PACKAGE_NAME, collectDefinitions, parseMsgFile } from "./message-definitions.js";

export function readPackageMessages(msgDir: string): MessageDefinition[] {
  return readdirSync(msgDir)
    .filter((file) => file.endsWith(".msg"))
    .sort()
    .map((file) => parseMsgFile(`${PACKAGE_NAME}/msg/${file.slice(0, -4)}`, readFileSync(path.join(msgDir, file), "utf8")));
}

export function readAllDefinitions(msgDir: string): Map<string, MessageDefinition> {
  return collectDefinitions(readPackageMessages(msgDir));
}
