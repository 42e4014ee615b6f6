/**
 * Node parameters, declared once as a flat zod object schema. From it come the ROS parameter
 * descriptors (type, description, range, read-only), the validation of values from params files and of
 * live changes, and the values nodes read. Params files use ROS's own layout and node-matching rules.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { InputError, describeValue } from "../errors.js";

export type ParameterKind = "bool" | "integer" | "double" | "string" | "bool_array" | "integer_array" | "double_array" | "string_array";
export type ParameterValue = boolean | number | string | boolean[] | number[] | string[];

export interface ParameterSpec {
  readonly name: string;
  readonly kind: ParameterKind;
  readonly description: string;
  readonly defaultValue: ParameterValue;
  /** Inclusive numeric range from the schema's bounds (exclusive bounds are kept as the bound itself). */
  readonly range?: { readonly from: number; readonly to: number };
  /** Allowed values of an enum string parameter. */
  readonly allowed?: readonly string[];
}

interface JsonSchemaProperty {
  type?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: unknown[];
  items?: JsonSchemaProperty;
}

const SAFE = Number.MAX_SAFE_INTEGER;

/** One spec per schema key, in schema order. Every parameter must have a default (ROS declares a value). */
export function describeParameters(schema: z.ZodObject): ParameterSpec[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as { properties?: Record<string, JsonSchemaProperty> };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const kind = kindOf(name, property);
    if (property.default === undefined) throw new Error(`parameter '${name}' has no default: give it one with .default(...)`);
    const low = property.minimum ?? property.exclusiveMinimum;
    const high = property.maximum ?? property.exclusiveMaximum;
    const bounded = (low !== undefined && Math.abs(low) < SAFE) || (high !== undefined && Math.abs(high) < SAFE);
    const spec: ParameterSpec = {
      name,
      kind,
      description: property.description ?? "",
      defaultValue: property.default as ParameterValue,
      ...(bounded && (kind === "integer" || kind === "double") ? { range: { from: low ?? -SAFE, to: high ?? SAFE } } : {}),
      ...(property.enum !== undefined ? { allowed: property.enum.map(String) } : {}),
    };
    return spec;
  });
}

function kindOf(name: string, property: JsonSchemaProperty): ParameterKind {
  const scalar = (type: string | undefined): "bool" | "integer" | "double" | "string" | undefined =>
    type === "boolean" ? "bool" : type === "integer" ? "integer" : type === "number" ? "double" : type === "string" ? "string" : undefined;
  if (property.type === "array") {
    const item = scalar(property.items?.type);
    if (item !== undefined) return `${item}_array`;
  } else {
    const kind = scalar(property.type);
    if (kind !== undefined) return kind;
  }
  throw new Error(`parameter '${name}' has a type ROS parameters cannot hold (${JSON.stringify(property.type)}): use bool, integer, number, string or an array of one of them`);
}

/**
 * Validates raw values (from a params file, the command line or a live change) against the schema.
 * Unknown names are ignored as ROS ignores overrides for undeclared parameters; a bad value is an
 * InputError naming the parameter, the value and what the schema expects.
 */
export function validateParameters<S extends z.ZodObject>(schema: S, values: Record<string, unknown>, source: string): z.infer<S> {
  const known = Object.keys(schema.shape);
  const picked = Object.fromEntries(Object.entries(values).filter(([name]) => known.includes(name)));
  const result = schema.safeParse(picked);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".");
    return `parameter '${name}' = ${describeValue(picked[String(issue.path[0])])}: ${issue.message}`;
  });
  throw new InputError(`${source}: ${problems.join("; ")}`);
}

/** A parameter schema's values and its live changes, shared by both graphs. */
export class ParameterStore<S extends z.ZodObject> {
  private current: z.infer<S>;
  private readonly listeners: Array<(values: z.infer<S>, changed: string[]) => void> = [];

  constructor(
    readonly schema: S,
    initial: Record<string, unknown>,
    source: string,
  ) {
    this.current = validateParameters(schema, initial, source);
  }

  get values(): z.infer<S> {
    return this.current;
  }

  /** Applies a change atomically: all names valid or nothing changes. Returns the reason on rejection. */
  trySet(changes: Record<string, unknown>): { successful: true } | { successful: false; reason: string } {
    const unknown = Object.keys(changes).filter((name) => !Object.hasOwn(this.schema.shape, name));
    if (unknown.length > 0) return { successful: false, reason: `no parameter named ${unknown.map((n) => `'${n}'`).join(", ")}` };
    try {
      const next = validateParameters(this.schema, { ...(this.current as Record<string, unknown>), ...changes }, "parameter change");
      this.current = next;
    } catch (error) {
      return { successful: false, reason: error instanceof Error ? error.message : String(error) };
    }
    for (const listener of this.listeners) listener(this.current, Object.keys(changes));
    return { successful: true };
  }

  onChanged(listener: (values: z.infer<S>, changed: string[]) => void): void {
    this.listeners.push(listener);
  }
}

/** One node section of a params file: the node-name pattern and its flattened parameters. */
export interface ParamsFileEntry {
  readonly nodePattern: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/**
 * Parses a ROS 2 params file (`<node pattern>: ros__parameters: {...}`; nested maps flatten to dotted
 * names, as ROS does). Errors name the file and the offending key.
 */
export function parseParamsFile(text: string, fileName: string): ParamsFileEntry[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new InputError(`${fileName}: not valid YAML (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
  }
  if (document === null || document === undefined) return [];
  if (!isPlainObject(document)) throw new InputError(`${fileName}: expected a map of node names to { ros__parameters: ... }, found ${describeValue(document)}`);
  return Object.entries(document).map(([nodePattern, section]) => {
    if (!isPlainObject(section) || !isPlainObject(section.ros__parameters)) {
      throw new InputError(`${fileName}: node '${nodePattern}' must hold a 'ros__parameters' map (the ROS 2 params-file layout)`);
    }
    const parameters: Record<string, unknown> = {};
    flatten(section.ros__parameters, "", parameters);
    return { nodePattern, parameters };
  });
}

function flatten(map: Record<string, unknown>, prefix: string, into: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(map)) {
    if (isPlainObject(value)) flatten(value, `${prefix}${key}.`, into);
    else into[`${prefix}${key}`] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `/ns/name` from a namespace and a node name. */
export function fullyQualifiedName(namespace: string, nodeName: string): string {
  return namespace === "/" || namespace === "" ? `/${nodeName}` : `${namespace.replace(/\/$/, "")}/${nodeName}`;
}

/**
 * ROS 2's node-name matching for params files: a pattern without a leading `/` is absolute anyway,
 * `*` matches one name token and `**` any number of tokens (so `/**` matches every node).
 */
export function nodePatternMatches(pattern: string, fullyQualified: string): boolean {
  const absolute = pattern.startsWith("/") ? pattern : `/${pattern}`;
  const patternTokens = absolute.split("/").slice(1);
  const nameTokens = fullyQualified.split("/").slice(1);
  const match = (p: number, n: number): boolean => {
    if (p === patternTokens.length) return n === nameTokens.length;
    const token = patternTokens[p]!;
    if (token === "**") {
      for (let skip = n; skip <= nameTokens.length; skip += 1) if (match(p + 1, skip)) return true;
      return false;
    }
    if (n === nameTokens.length) return false;
    const regex = new RegExp(`^${token.split("*").map(escapeRegex).join("[^/]*")}$`);
    return regex.test(nameTokens[n]!) && match(p + 1, n + 1);
  };
  return match(0, 0);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The values a node gets from params files: every matching section in order, later ones win. */
export function resolveOverrides(entries: readonly ParamsFileEntry[], fullyQualified: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const entry of entries) if (nodePatternMatches(entry.nodePattern, fullyQualified)) Object.assign(values, entry.parameters);
  return values;
}

/** Parameters the ROS 2 client libraries declare on every node themselves. */
function isRosOwnParameter(name: string): boolean {
  return name === "use_sim_time" || name === "start_type_description_service" || name.startsWith("qos_overrides.");
}

/**
 * The parameter names a node's own configuration gives it: those of every matching section that names the node
 * (`/so100/policy`, `/**\/policy`, `policy`). Shared sections (`/**`, `/so100/*`) hold other nodes' parameters too.
 */
export function namesAddressedTo(entries: readonly ParamsFileEntry[], fullyQualified: string): string[] {
  const names = new Set<string>();
  for (const entry of entries) {
    const last = entry.nodePattern.split("/").filter((token) => token.length > 0).pop() ?? "";
    if (last === "" || last.includes("*") || !nodePatternMatches(entry.nodePattern, fullyQualified)) continue;
    for (const name of Object.keys(entry.parameters)) names.add(name);
  }
  return [...names];
}

/**
 * One warning per name the schema does not declare (ROS's own parameters excepted), naming the closest declared
 * name: ROS ignores such overrides silently, and a misspelled `max_decod_steps` would otherwise go unnoticed.
 */
export function unknownParameterWarnings(schema: z.ZodObject, names: Iterable<string>, node: string): string[] {
  const declared = Object.keys(schema.shape);
  const warnings: string[] = [];
  for (const name of new Set(names)) {
    if (declared.includes(name) || isRosOwnParameter(name)) continue;
    const closest = closestName(name, declared);
    warnings.push(`parameter '${name}' is not declared by node '${node}' and is ignored${closest !== undefined ? `; did you mean '${closest}'?` : " (it declares none)"}`);
  }
  return warnings;
}

/** The candidate with the smallest edit distance to `name` (the first of equals, in the schema's order). */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions of one character each cost 1. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length]!;
}
