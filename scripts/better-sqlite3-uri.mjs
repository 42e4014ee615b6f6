#!/usr/bin/env node
/**
 * Run by `npm install`/`npm ci` (postinstall): makes better-sqlite3's SQLite take URI filenames, which the bag
 * reader needs to open a recording with `immutable=1` (no -shm/-wal written beside a WAL-mode bag, and bags on
 * read-only storage open). better-sqlite3 compiles SQLite with SQLITE_USE_URI=0 and has no option to change
 * it, so when the installed build lacks it this rebuilds better-sqlite3 from the sources it ships (offline,
 * about a minute) with the define overridden. A failed rebuild is a warning: everything but sqlite3 bags works.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Opened by URI an in-memory database; without URI support a missing file, which fails without being created.
const PROBE = `const Database = require("better-sqlite3");
try { new Database("file:pi0fast-uri-probe?mode=memory", { fileMustExist: true }).close(); console.log("uri"); }
catch { console.log("no-uri"); }`;

/** "uri", "no-uri", or undefined when better-sqlite3 does not load at all. Run in a child: a loaded addon cannot be reloaded. */
function probe() {
  const result = spawnSync(process.execPath, ["-e", PROBE], { cwd: root, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

if (process.env.PI0FAST_SQLITE_URI_REBUILD !== "1") {
  const before = probe();
  if (before === undefined) {
    console.warn("better-sqlite3-uri: better-sqlite3 does not load; reading sqlite3 bags will fail until it is installed");
  } else if (before === "no-uri") {
    console.log("better-sqlite3-uri: rebuilding better-sqlite3 with SQLITE_USE_URI=1 (about a minute)");
    // gyp's Makefile puts $(CFLAGS) after the package's own defines, so these override its SQLITE_USE_URI=0.
    const env = {
      ...process.env,
      CFLAGS: `${process.env.CFLAGS ?? ""} -USQLITE_USE_URI -DSQLITE_USE_URI=1`.trim(),
      npm_config_build_from_source: "true",
      PI0FAST_SQLITE_URI_REBUILD: "1",
    };
    const packageDir = path.dirname(createRequire(path.join(root, "package.json")).resolve("better-sqlite3/package.json"));
    const addon = path.join(packageDir, "build/Release/better_sqlite3.node");
    // npm rebuild from the project whose node_modules holds it (this one, or the one that installed this package)
    const project = path.resolve(packageDir, "../..");
    // kept outside build/, which the rebuild deletes first
    const keptDir = mkdtempSync(path.join(tmpdir(), "better-sqlite3-"));
    const kept = existsSync(addon) ? path.join(keptDir, "better_sqlite3.node") : undefined;
    if (kept !== undefined) copyFileSync(addon, kept);
    const npm = process.env.npm_execpath;
    const command = npm !== undefined && npm.endsWith(".js") ? [process.execPath, npm] : ["npm"];
    const rebuild = spawnSync(command[0], [...command.slice(1), "rebuild", "better-sqlite3", "--foreground-scripts"], { cwd: project, env, encoding: "utf8", maxBuffer: 1 << 26 });
    const after = probe();
    if (rebuild.status !== 0 || after !== "uri") {
      // keep the working build rather than none: everything but reading sqlite3 bags still works
      if (kept !== undefined && (after === undefined || !existsSync(addon))) {
        mkdirSync(path.dirname(addon), { recursive: true });
        copyFileSync(kept, addon);
      }
      process.stderr.write(`${rebuild.stdout ?? ""}${rebuild.stderr ?? ""}`.split("\n").slice(-30).join("\n"));
      console.warn(
        `better-sqlite3-uri: WARNING: the rebuild ${rebuild.status !== 0 ? `failed (exit ${rebuild.status})` : "did not enable URI filenames"}; sqlite3 bags will not open until \`node scripts/better-sqlite3-uri.mjs\` succeeds (it needs a C compiler)`,
      );
    }
    rmSync(keptDir, { recursive: true, force: true });
  }
}
