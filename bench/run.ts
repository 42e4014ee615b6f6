/**
 * `npm run bench -- <name> [args]` runs bench/<name>.bench.ts; with no name, lists the benches.
 * Each bench module exports `run(args: string[]): Promise<void>` and prints its own figures, measured
 * against a reference in the same run wherever one exists.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(benchDir)
  .filter((file) => file.endsWith(".bench.ts"))
  .map((file) => file.slice(0, -".bench.ts".length))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (name === undefined) {
  console.log(`benches: ${available.join(", ") || "(none yet)"}\nusage: npm run bench -- <name> [args]`);
} else if (!available.includes(name)) {
  console.error(`unknown bench '${name}'; expected one of: ${available.join(", ")}`);
  process.exitCode = 2;
} else {
  const module = (await import(pathToFileURL(path.join(benchDir, `${name}.bench.ts`)).href)) as {
    run(args: string[]): Promise<void>;
  };
  await module.run(args);
}
