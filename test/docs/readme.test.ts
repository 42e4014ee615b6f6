/**
 * README.md's table of nodes and its command list against the code: a node, parameter or command added or
 * renamed without the README following fails here.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/commands.js";
import { NODES } from "../../src/nodes/index.js";
import { REPO_ROOT } from "../helpers/system.js";

const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");

/** The rows of the table under `## Nodes`: node name → its cells. */
function nodeTable(): Map<string, string[]> {
  const section = readme.slice(readme.indexOf("\n## Nodes\n"));
  const table = section.slice(section.indexOf("\n| node |"));
  const lines = table.split("\n").slice(1);
  const rows = lines.slice(0, lines.indexOf("")).filter((line) => /^\| `[a-z0-9_]+` \|/.test(line));
  return new Map(rows.map((row) => {
    const cells = row.split("|").slice(1, -1).map((cell) => cell.trim());
    return [cells[0]!.replaceAll("`", ""), cells.slice(1)];
  }));
}

const backticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);

describe("README.md", () => {
  it("lists every node of the package in the Nodes table, and no other", () => {
    expect([...nodeTable().keys()].sort()).toEqual(Object.keys(NODES).sort());
  });

  for (const [name, definition] of Object.entries(NODES)) {
    it(`gives ${name}'s parameters in the Nodes table exactly as its schema declares them, and a section of its own`, () => {
      const parameters = nodeTable().get(name)?.[3];
      expect(parameters, `a row for ${name}`).toBeDefined();
      expect(backticked(parameters!)).toEqual(Object.keys(definition.parameters.shape));
      expect(readme).toMatch(new RegExp(`^### ${name}\\b`, "m"));
    });
  }

  it("shows every pi0fast command", () => {
    for (const entry of COMMANDS) expect(readme, entry.command).toContain(`pi0fast ${entry.command.split(" ")[0]}`);
  });
});
