import { accessSync, constants, existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { NODES } from "../../src/nodes/index.js";
import { fullyQualifiedName, parseParamsFile, resolveOverrides, validateParameters } from "../../src/ros/parameters.js";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "../helpers/system.js";

type Element = Record<string, unknown>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", preserveOrder: true, allowBooleanAttributes: true });

interface LaunchNode {
  pkg: string;
  exec: string;
  name: string;
  namespace: string;
  paramFiles: string[];
  inlineParams: Record<string, unknown>;
  remaps: Array<{ from: string; to: string }>;
}

interface LaunchFile {
  args: Map<string, string | undefined>;
  nodes: LaunchNode[];
  executables: string[];
  includes: string[];
}

/** Resolves the substitutions our launch files use, with each argument's default. */
function substitute(text: string, args: Map<string, string | undefined>): string {
  return text.replace(/\$\((\S+)\s*([^)]*)\)/g, (_match, kind: string, operand: string) => {
    if (kind === "var") {
      const value = args.get(operand.trim());
      // A required argument (no default) stands for what the user passes.
      return value === undefined ? `<${operand.trim()}>` : substitute(value, args);
    }
    if (kind === "find-pkg-share" && operand.trim() === "pi0fast_ros") return REPO_ROOT;
    throw new Error(`unsupported substitution $(${kind} ${operand})`);
  });
}

/**
 * What launch_ros does with a `<param value>`: parse it as YAML and accept only a scalar or a non-empty
 * uniform list (an empty value parses to null and makes `ros2 launch` fail).
 */
function launchParameterValue(text: string, where: string): unknown {
  const value = parseYaml(text) as unknown;
  const scalar = (v: unknown): boolean => ["boolean", "number", "string"].includes(typeof v);
  if (scalar(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => scalar(v) && typeof v === typeof value[0])) return value;
  throw new Error(`${where}: launch_ros rejects the value ${JSON.stringify(text)} (YAML ${JSON.stringify(value)}): quote an empty string as ''`);
}

function children(element: Element): Element[] {
  const tag = Object.keys(element).find((key) => key !== ":@");
  return tag === undefined ? [] : ((element[tag] as Element[]) ?? []);
}

function tagOf(element: Element): string {
  return Object.keys(element).find((key) => key !== ":@") ?? "";
}

function attrs(element: Element): Record<string, string> {
  return (element[":@"] as Record<string, string> | undefined) ?? {};
}

function readLaunch(filePath: string): LaunchFile {
  const file = path.basename(filePath);
  const document = parser.parse(readFileSync(filePath, "utf8")) as Element[];
  const root = document.find((element) => tagOf(element) === "launch");
  if (root === undefined) throw new Error(`${file}: no <launch> element`);
  const launch: LaunchFile = { args: new Map(), nodes: [], executables: [], includes: [] };
  const walk = (elements: Element[], namespace: string): void => {
    let ns = namespace;
    for (const element of elements) {
      const tag = tagOf(element);
      const a = attrs(element);
      if (tag === "arg") launch.args.set(a.name!, a.default);
      else if (tag === "push-ros-namespace") ns = `/${substitute(a.namespace!, launch.args).replace(/^\//, "")}`;
      else if (tag === "group") walk(children(element), ns);
      else if (tag === "executable") launch.executables.push(substitute(a.cmd!, launch.args));
      else if (tag === "include") launch.includes.push(substitute(a.file!, launch.args));
      else if (tag === "node") {
        const node: LaunchNode = {
          pkg: a.pkg!,
          exec: a.exec!,
          name: a.name!,
          namespace: a.namespace !== undefined ? `/${substitute(a.namespace, launch.args).replace(/^\//, "")}` : ns,
          paramFiles: [],
          inlineParams: {},
          remaps: [],
        };
        for (const child of children(element)) {
          const c = attrs(child);
          if (tagOf(child) === "param" && c.from !== undefined) node.paramFiles.push(substitute(c.from, launch.args));
          else if (tagOf(child) === "param") node.inlineParams[c.name!] = launchParameterValue(substitute(c.value!, launch.args), `${file}: <param name="${c.name}">`);
          else if (tagOf(child) === "remap") node.remaps.push({ from: substitute(c.from!, launch.args), to: substitute(c.to!, launch.args) });
        }
        launch.nodes.push(node);
      }
    }
  };
  walk(children(root), "/");
  return launch;
}

const launchDir = path.join(REPO_ROOT, "launch");
const launchFiles = readdirSync(launchDir).filter((file) => file.endsWith(".launch.xml"));

describe("launch files", () => {
  it("exist: the pipeline and the replay evaluation", () => {
    expect(launchFiles.sort()).toEqual(["pipeline.launch.xml", "replay_eval.launch.xml"]);
  });

  for (const file of launchFiles) {
    describe(file, () => {
      const launch = readLaunch(path.join(launchDir, file));

      it("starts only nodes of the package, each through its bin/ executable", () => {
        for (const node of launch.nodes) {
          expect(node.pkg).toBe("pi0fast_ros");
          expect(Object.keys(NODES)).toContain(node.name);
          expect(node.exec).toBe(`${node.name}_node`);
          const executable = path.join(REPO_ROOT, "bin", node.exec);
          expect(existsSync(executable), `${executable} exists`).toBe(true);
          accessSync(executable, constants.X_OK);
        }
      });

      it("gives each node parameters that exist and validate against its schema", () => {
        for (const node of launch.nodes) {
          expect(node.paramFiles.length).toBeGreaterThan(0);
          const entries = node.paramFiles.flatMap((paramFile) => {
            expect(existsSync(paramFile), `${paramFile} exists`).toBe(true);
            return parseParamsFile(readFileSync(paramFile, "utf8"), paramFile);
          });
          const values = { ...resolveOverrides(entries, fullyQualifiedName(node.namespace, node.name)), ...node.inlineParams };
          expect(() => validateParameters(NODES[node.name]!.parameters, values, `${file}: node ${node.name}`)).not.toThrow();
        }
      });
    });
  }

  it("start every node the package has in the pipeline, and every bin/ executable is a node", () => {
    const pipeline = readLaunch(path.join(launchDir, "pipeline.launch.xml"));
    expect(pipeline.nodes.map((node) => node.name).sort()).toEqual(Object.keys(NODES).sort());
    const executables = readdirSync(path.join(REPO_ROOT, "bin")).sort();
    expect(executables).toEqual(Object.keys(NODES).map((name) => `${name}_node`).sort());
    for (const name of ["namespace", "use_sim_time", "model_dir", "params_file"]) expect(pipeline.args.has(name), `argument ${name}`).toBe(true);
  });

  it("replays a bag with --clock on simulated time in the evaluation", () => {
    const replay = readLaunch(path.join(launchDir, "replay_eval.launch.xml"));
    expect(replay.executables.some((cmd) => /^ros2 bag play <bag> --clock/.test(cmd))).toBe(true);
    expect(replay.args.get("use_sim_time")).toBe("true");
    expect(replay.includes).toEqual([path.join(REPO_ROOT, "launch/pipeline.launch.xml")]);
  });
});

describe("config/pipeline.yaml", () => {
  it("names only nodes the package has and validates for each of them", () => {
    const file = path.join(REPO_ROOT, "config/pipeline.yaml");
    const entries = parseParamsFile(readFileSync(file, "utf8"), file);
    for (const [name, definition] of Object.entries(NODES)) {
      expect(() => validateParameters(definition.parameters, resolveOverrides(entries, `/so100/${name}`), name)).not.toThrow();
    }
  });
});
