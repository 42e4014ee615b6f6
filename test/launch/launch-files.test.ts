/**
 * The launch files, read as launch_ros reads them: arguments and their defaults, <include> with <arg> values,
 * <group> scopes, conditional <set_parameter> (conditions evaluated by Python as `$(eval)` is), and each node's
 * command line built in launch_ros's order (`-r __node/__ns`, the global `-p` parameters, then one
 * `--params-file` per <param from> and per run of inline <param>s, written under the node's full name). Those
 * command lines then go through RosGraph's own parameter resolution, so a test here sees what a node gets.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { NODES } from "../../src/nodes/index.js";
import { fullyQualifiedName, parseParamsFile, resolveOverrides, validateParameters } from "../../src/ros/parameters.js";
import { createRosGraph } from "../../src/ros/ros-graph.js";
import { FakeRclnodejs } from "../ros/fake-rclnodejs.js";
import { REPO_ROOT, hasProgram } from "../helpers/system.js";

type Element = Record<string, unknown>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", preserveOrder: true, allowBooleanAttributes: true });

interface LaunchNode {
  pkg: string;
  exec: string;
  name: string;
  namespace: string;
  /** The node's command line after the executable, as launch_ros builds it. */
  argv: string[];
  remaps: Array<{ from: string; to: string }>;
}

interface LaunchExecutable {
  cmd: string;
  onExit?: string;
}

interface LaunchFile {
  args: Map<string, string | undefined>;
  nodes: LaunchNode[];
  executables: LaunchExecutable[];
  includes: string[];
}

/** Inline parameter files launch writes (`launch_params_*`), by path. */
const writtenParams = new Map<string, string>();

/** What `$(eval expr)` gives: Python's own eval, as launch's PythonExpression does. */
function pythonEval(expression: string): string {
  return execFileSync("python3", ["-c", "import math, sys; print(eval(sys.argv[1], {}, vars(math)))", expression], { encoding: "utf8" }).trim();
}

/** A substitution's argument: a quoted string (launch's grammar, `\'` escapes) or a bare word. */
function unquote(operand: string): string {
  const text = operand.trim();
  if (text.length >= 2 && (text[0] === "'" || text[0] === '"') && text.endsWith(text[0]!)) return text.slice(1, -1).replace(/\\(['"\\])/g, "$1");
  return text;
}

/** Resolves the substitutions our launch files use, innermost first. */
function substitute(text: string, args: Map<string, string | undefined>): string {
  let result = text;
  for (;;) {
    // The innermost $(…): one whose operand holds no further $(.
    const match = /\$\((\S+)((?:[^$()]|\([^()]*\))*)\)/.exec(result);
    if (match === null) return result;
    const [whole, kind, operand = ""] = match;
    let value: string;
    if (kind === "var") {
      const found = args.get(operand.trim());
      // A required argument (no default) stands for what the user passes.
      value = found === undefined ? `<${operand.trim()}>` : found;
    } else if (kind === "find-pkg-share" && operand.trim() === "pi0fast_ros") value = REPO_ROOT;
    else if (kind === "eval") value = pythonEval(unquote(operand));
    else throw new Error(`unsupported substitution $(${kind} ${operand})`);
    result = result.slice(0, match.index) + value + result.slice(match.index + whole!.length);
  }
}

/** launch's IfCondition/UnlessCondition on an evaluated expression. */
function conditionHolds(attributes: Record<string, string>, args: Map<string, string | undefined>): boolean {
  const truth = (text: string): boolean => {
    const value = substitute(text, args).trim().toLowerCase();
    if (["true", "1"].includes(value)) return true;
    if (["false", "0"].includes(value)) return false;
    throw new Error(`condition '${text}' evaluates to '${value}', which launch rejects (expected true/false/1/0)`);
  };
  if (attributes.if !== undefined && !truth(attributes.if)) return false;
  if (attributes.unless !== undefined && truth(attributes.unless)) return false;
  return true;
}

/**
 * A parameter value as launch_ros evaluates it (YAML; launch rejects what is not a scalar or a non-empty uniform
 * list: an empty value parses to null and makes `ros2 launch` fail).
 */
function launchParameterValue(text: string, where: string): unknown {
  const value = parseYaml(text) as unknown;
  const scalar = (v: unknown): boolean => ["boolean", "number", "string"].includes(typeof v);
  if (scalar(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => scalar(v) && typeof v === typeof value[0])) return value;
  throw new Error(`${where}: launch_ros rejects the value ${JSON.stringify(text)} (YAML ${JSON.stringify(value)}): quote an empty string as ''`);
}

/** Python's str() of an evaluated value: launch_ros writes a global parameter as `-p name:={value}`. */
function pythonStr(value: unknown): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === "string" ? `'${v}'` : pythonStr(v))).join(", ")}]`;
  return String(value);
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

/** Reads a launch file with the given argument values (the command line's `name:=value`, or an include's). */
function readLaunch(filePath: string, given: Record<string, string> = {}): LaunchFile {
  const file = path.basename(filePath);
  const document = parser.parse(readFileSync(filePath, "utf8")) as Element[];
  const root = document.find((element) => tagOf(element) === "launch");
  if (root === undefined) throw new Error(`${file}: no <launch> element`);
  const launch: LaunchFile = { args: new Map(), nodes: [], executables: [], includes: [] };
  const walk = (elements: Element[], scope: { namespace: string; globalParams: string[] }): void => {
    for (const element of elements) {
      const tag = tagOf(element);
      const a = attrs(element);
      if (tag === "arg") {
        launch.args.set(a.name!, given[a.name!] ?? (a.default !== undefined ? substitute(a.default, launch.args) : undefined));
        continue;
      }
      if (!conditionHolds(a, launch.args)) continue;
      if (tag === "push-ros-namespace") scope.namespace = `/${substitute(a.namespace!, launch.args).replace(/^\//, "")}`;
      else if (tag === "group") walk(children(element), { namespace: scope.namespace, globalParams: [...scope.globalParams] });
      else if (tag === "set_parameter") {
        const value = launchParameterValue(substitute(a.value!, launch.args), `${file}: <set_parameter name="${a.name}">`);
        scope.globalParams.push("-p", `${a.name}:=${pythonStr(value)}`);
      } else if (tag === "executable") launch.executables.push({ cmd: substitute(a.cmd!, launch.args), ...(a.on_exit !== undefined ? { onExit: a.on_exit } : {}) });
      else if (tag === "include") {
        const included = substitute(a.file!, launch.args);
        launch.includes.push(included);
        const includeArgs = Object.fromEntries(children(element).filter((c) => tagOf(c) === "arg").map((c) => [attrs(c).name!, substitute(attrs(c).value!, launch.args)]));
        const inner = readLaunch(included, includeArgs);
        // An include sees the including scope's global parameters first.
        for (const node of inner.nodes) node.argv.splice(node.argv.indexOf("--ros-args") + 5, 0, ...scope.globalParams);
        launch.nodes.push(...inner.nodes);
        launch.executables.push(...inner.executables);
      } else if (tag === "node") {
        const name = substitute(a.name!, launch.args);
        const namespace = a.namespace !== undefined ? `/${substitute(a.namespace, launch.args).replace(/^\//, "")}` : scope.namespace;
        const node: LaunchNode = { pkg: a.pkg!, exec: a.exec!, name, namespace, argv: ["--ros-args", "-r", `__node:=${name}`, "-r", `__ns:=${namespace}`, ...scope.globalParams], remaps: [] };
        let inline: Record<string, unknown> | undefined;
        const flushInline = (): void => {
          if (inline === undefined) return;
          const written = path.join(tmpdir(), `launch_params_${writtenParams.size}`);
          writtenParams.set(written, stringifyYaml({ [fullyQualifiedName(namespace, name)]: { ros__parameters: inline } }));
          node.argv.push("--params-file", written);
          inline = undefined;
        };
        for (const child of children(element)) {
          const c = attrs(child);
          if (tagOf(child) === "param" && c.from !== undefined) {
            flushInline();
            node.argv.push("--params-file", substitute(c.from, launch.args));
          } else if (tagOf(child) === "param") {
            inline ??= {};
            inline[c.name!] = launchParameterValue(substitute(c.value!, launch.args), `${file}: <param name="${c.name}">`);
          } else if (tagOf(child) === "remap") node.remaps.push({ from: substitute(c.from!, launch.args), to: substitute(c.to!, launch.args) });
        }
        flushInline();
        for (const remap of node.remaps) node.argv.push("-r", `${remap.from}:=${remap.to}`);
        launch.nodes.push(node);
      }
    }
  };
  walk(children(root), { namespace: "/", globalParams: [] });
  return launch;
}

/** The parameters a launched node ends up with: its command line through RosGraph's own resolution. */
async function launchedParameters(node: LaunchNode): Promise<Record<string, unknown>> {
  FakeRclnodejs.reset();
  const readFile = (file: string): string => writtenParams.get(file) ?? readFileSync(file, "utf8");
  const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: node.exec, argv: [node.exec, node.exec, ...node.argv], readFile });
  const values = graph.declareParameters(NODES[node.name]!.parameters) as Record<string, unknown>;
  const simTime = FakeRclnodejs.nodes[0]!.recorded.setParameters.filter((p) => p.name === "use_sim_time").pop();
  return { ...values, use_sim_time: simTime?.value ?? false };
}

const launchDir = path.join(REPO_ROOT, "launch");
const launchFiles = readdirSync(launchDir).filter((file) => file.endsWith(".launch.xml"));
const python = hasProgram("python3");

describe.skipIf(!python)("launch files", () => {
  beforeEach(() => FakeRclnodejs.reset());

  it("exist: the pipeline and the replay evaluation", () => {
    expect(launchFiles.sort()).toEqual(["pipeline.launch.xml", "replay_eval.launch.xml"]);
  });

  for (const file of launchFiles) {
    describe(file, () => {
      const launch = readLaunch(path.join(launchDir, file), { bag: "/bags/run1" });

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

      it("gives each node parameters that exist and validate against its schema", async () => {
        for (const node of launch.nodes) {
          const files = node.argv.filter((_, i) => node.argv[i - 1] === "--params-file");
          expect(files.length).toBeGreaterThan(0);
          for (const paramFile of files) expect(writtenParams.has(paramFile) || existsSync(paramFile), `${paramFile} exists`).toBe(true);
          await expect(launchedParameters(node)).resolves.toBeDefined();
        }
      });
    });
  }

  describe("pipeline.launch.xml: the params file against launch arguments", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pi0fast-launch-"));
    const model = (name: string): string => {
      const modelDir = path.join(dir, name);
      mkdirSync(modelDir, { recursive: true });
      writeFileSync(path.join(modelDir, "pi0fast.json"), "{}");
      return modelDir;
    };
    const userFile = path.join(dir, "mine.yaml");
    writeFileSync(userFile, `/**:\n  ros__parameters:\n    use_sim_time: true\n/**/policy:\n  ros__parameters:\n    model_dir: ${JSON.stringify(model("from_file"))}\n    max_decode_steps: 64\n`);
    const policyWith = async (given: Record<string, string>) => {
      const launch = readLaunch(path.join(launchDir, "pipeline.launch.xml"), given);
      return launchedParameters(launch.nodes.find((node) => node.name === "policy")!);
    };

    it("never replaces a value of the params file by a launch default", async () => {
      const values = await policyWith({ params_file: userFile });
      expect([values.model_dir, values.use_sim_time, values.max_decode_steps]).toEqual([path.join(dir, "from_file"), true, 64]);
    });

    it("lets an argument given on the command line win over the params file", async () => {
      const values = await policyWith({ params_file: userFile, model_dir: model("from_cli"), use_sim_time: "false" });
      expect([values.model_dir, values.use_sim_time, values.max_decode_steps]).toEqual([path.join(dir, "from_cli"), false, 64]);
    });

    it("runs the package's own file as it is when no argument is given", async () => {
      const values = await policyWith({});
      expect([values.model_dir, values.use_sim_time]).toEqual(["", false]);
    });
  });

  it("start every node the package has in the pipeline, with the arguments the README names", () => {
    const pipeline = readLaunch(path.join(launchDir, "pipeline.launch.xml"));
    expect(pipeline.nodes.map((node) => node.name).sort()).toEqual(Object.keys(NODES).sort());
    for (const name of ["namespace", "use_sim_time", "model_dir", "params_file"]) expect(pipeline.args.has(name), `argument ${name}`).toBe(true);
  });

  it("replays a bag with --clock on simulated time in the evaluation, and ends the launch with the player", async () => {
    const replay = readLaunch(path.join(launchDir, "replay_eval.launch.xml"), { bag: "/bags/run1" });
    const player = replay.executables.find((executable) => /^ros2 bag play \/bags\/run1 --clock/.test(executable.cmd));
    expect(player).toBeDefined();
    expect(player!.onExit).toBe("shutdown");
    expect(replay.includes).toEqual([path.join(REPO_ROOT, "launch/pipeline.launch.xml")]);
    for (const node of replay.nodes) expect((await launchedParameters(node)).use_sim_time, node.name).toBe(true);
  });
});

describe("bin/ executables", () => {
  it("are one <name>_node per node of the package and the pi0fast command, all installed by CMakeLists.txt", () => {
    const executables = readdirSync(path.join(REPO_ROOT, "bin")).sort();
    expect(executables).toEqual(["pi0fast", ...Object.keys(NODES).map((name) => `${name}_node`)].sort());
    for (const executable of executables) accessSync(path.join(REPO_ROOT, "bin", executable), constants.X_OK);
    const cmake = readFileSync(path.join(REPO_ROOT, "CMakeLists.txt"), "utf8");
    expect(cmake).toMatch(/file\(GLOB NODE_EXECUTABLES "\$\{CMAKE_CURRENT_SOURCE_DIR\}\/bin\/\*_node"\)/);
    expect(cmake).toMatch(/install\(PROGRAMS \$\{NODE_EXECUTABLES\} bin\/pi0fast DESTINATION lib\/\$\{PROJECT_NAME\}\)/);
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
