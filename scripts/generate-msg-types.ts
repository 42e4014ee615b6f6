/** `npm run gen:msgs`: regenerates src/msgs/messages.generated.ts from msg/*.msg. */
import { renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateMessageModule } from "../src/msgs/message-codegen.js";
import { standardServiceDefinitions } from "../src/msgs/message-definitions.js";
import { readAllDefinitions } from "../src/msgs/message-files.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const target = path.join(root, "src/msgs/messages.generated.ts");
writeFileSync(`${target}.tmp`, generateMessageModule(readAllDefinitions(path.join(root, "msg")), standardServiceDefinitions()));
renameSync(`${target}.tmp`, target);
console.log(`wrote ${path.relative(root, target)}`);
