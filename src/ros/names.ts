/** ROS 2 name expansion and remapping for topics (pure). */
import { InputError } from "../errors.js";
import { fullyQualifiedName } from "./parameters.js";

const NAME_TOKEN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A node namespace as rcl takes it: relative ones (`so100`, launch's own default) are made absolute
 * (`/so100`) as launch does, a trailing `/` is dropped; anything else ROS would refuse is an InputError.
 */
export function absoluteNamespace(namespace: string): string {
  const absolute = namespace.startsWith("/") ? namespace : `/${namespace}`;
  const trimmed = absolute.length > 1 ? absolute.replace(/\/$/, "") : absolute;
  if (trimmed !== "/" && !trimmed.slice(1).split("/").every((token) => NAME_TOKEN.test(token))) {
    throw new InputError(`namespace '${namespace}' is not a valid ROS namespace: expected '/' or names of letters, digits and '_' (not starting with a digit) joined by '/', e.g. 'so100' or '/so100'`);
  }
  return trimmed;
}

/** A node name as ROS takes it (letters, digits, '_', not starting with a digit). */
export function validNodeName(nodeName: string): string {
  if (!NAME_TOKEN.test(nodeName)) throw new InputError(`node name '${nodeName}' is not a valid ROS node name (letters, digits and '_', not starting with a digit)`);
  return nodeName;
}

/** Expands `~/x` (private), `x` (relative to the namespace) and `/x` (absolute) as rcl does. */
export function expandTopicName(topic: string, nodeName: string, namespace: string): string {
  if (topic.length === 0) throw new InputError(`topic name is empty (node '${nodeName}')`);
  if (/\s/.test(topic) || topic.includes("//")) throw new InputError(`topic name '${topic}' is not a valid ROS name (node '${nodeName}')`);
  let expanded: string;
  if (topic === "~") expanded = fullyQualifiedName(namespace, nodeName);
  else if (topic.startsWith("~/")) expanded = `${fullyQualifiedName(namespace, nodeName)}/${topic.slice(2)}`;
  else if (topic.startsWith("/")) expanded = topic;
  else expanded = namespace === "/" || namespace === "" ? `/${topic}` : `${namespace.replace(/\/$/, "")}/${topic}`;
  return expanded.length > 1 ? expanded.replace(/\/$/, "") : expanded;
}

export interface TopicRemap {
  /** Only for this node name, when given (`node:from:=to`). */
  node?: string;
  from: string;
  to: string;
}

/** Applies the first remap rule whose expanded `from` equals the expanded topic (rcl's rule order). */
export function remapTopic(expanded: string, remaps: readonly TopicRemap[], nodeName: string, namespace: string): string {
  for (const rule of remaps) {
    if (rule.node !== undefined && rule.node !== nodeName) continue;
    if (expandTopicName(rule.from, nodeName, namespace) === expanded) return expandTopicName(rule.to, nodeName, namespace);
  }
  return expanded;
}
