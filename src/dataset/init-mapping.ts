/**
 * `pi0fast convert <bags> --init-mapping <file>`: a starting mapping written from what the bags hold, which
 * converts them as they are and says in comments why each value was chosen, for the user to edit.
 * `bagFacts` reads the bags (one pass without decoding, plus one decoded message per topic of interest);
 * `proposeMapping` and `mappingYaml` are pure.
 */
import { stringify as stringifyYaml } from "yaml";
import { BagReader } from "../bag/reader.js";
import { InputError } from "../errors.js";
import { BadImageError, imageMessageToRgb } from "../observation/image.js";

export const IMAGE_TYPES = ["sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"];
const JOINT_STATE = "sensor_msgs/msg/JointState";
const STRING = "std_msgs/msg/String";

/** What a mapping needs to know about one topic of a bag. */
export interface TopicFacts {
  name: string;
  type: string;
  count: number;
  /** Mean message rate over the topic's own span; 0 with fewer than two messages. */
  rateHz: number;
  /** Longest gap between two consecutive messages, seconds (0 with fewer than two). */
  maxGapS: number;
  /** Images: the first decodable frame's size. */
  frame?: { width: number; height: number };
  /** JointState: the first message's joint names. */
  jointNames?: string[];
  /** String: the first message's text. */
  text?: string;
}

export interface BagFacts {
  path: string;
  topics: TopicFacts[];
}

/** Reads what `proposeMapping` needs from one bag. */
export async function bagFacts(bagPath: string): Promise<BagFacts> {
  const bag = await BagReader.open(bagPath);
  if (bag.messageCount === 0) throw new InputError(`${bagPath}: the bag holds no messages; there is nothing to map`);
  const wanted = bag.topics.filter((topic) => IMAGE_TYPES.includes(topic.type) || topic.type === JOINT_STATE || topic.type === STRING);
  const timing = new Map(wanted.map((topic) => [topic.name, { count: 0, first: 0n, last: 0n, maxGap: 0n }]));
  for await (const message of bag.messages({ topics: wanted.map((topic) => topic.name), decode: false })) {
    const time = timing.get(message.topic)!;
    if (time.count === 0) time.first = message.logTimeNs;
    else if (message.logTimeNs - time.last > time.maxGap) time.maxGap = message.logTimeNs - time.last;
    time.last = message.logTimeNs;
    time.count += 1;
  }
  const topics: TopicFacts[] = [];
  for (const topic of wanted) {
    const time = timing.get(topic.name)!;
    if (time.count === 0) continue;
    const spanS = Number(time.last - time.first) / 1e9;
    const facts: TopicFacts = { name: topic.name, type: topic.type, count: time.count, rateHz: time.count > 1 && spanS > 0 ? (time.count - 1) / spanS : 0, maxGapS: Number(time.maxGap) / 1e9 };
    for await (const message of bag.messages({ topics: [topic.name] })) {
      const where = `${bagPath}: ${topic.name}`;
      if (IMAGE_TYPES.includes(topic.type)) {
        try {
          const image = await imageMessageToRgb(message.type, message.message!, where);
          facts.frame = { width: image.width, height: image.height };
        } catch (error) {
          if (error instanceof BadImageError) continue;
          throw error;
        }
      } else if (topic.type === JOINT_STATE) {
        const names = (message.message as { name?: unknown }).name;
        if (Array.isArray(names)) facts.jointNames = names.map(String);
      } else {
        const text = (message.message as { data?: unknown }).data;
        if (typeof text === "string") facts.text = text;
      }
      break;
    }
    topics.push(facts);
  }
  return { path: bagPath, topics };
}

/** The proposal, each value with the reason it was chosen (written as a YAML comment). */
export interface ProposedMapping {
  fps: { value: number; why: string };
  cameras: { key: string; topic: string; width: number; height: number; why: string }[];
  state: { topic: string; joints: string[]; why: string };
  action: { topic: string; joints: string[]; why: string };
  task: { topic: string; why: string } | { constant: string; why: string };
  toleranceS: { value: number; why: string };
}

const GENERIC_TOPIC_WORDS = new Set(["image_raw", "image", "raw", "compressed", "image_color", "color", "image_rect", "image_rect_color", "rgb"]);

/**
 * Camera keys from their topics: `/camera/front/image_raw` → `front` (generic words and a leading "camera"
 * dropped); topics that would share a key keep all their words (`camera_image_raw`, `camera_compressed`).
 */
export function cameraKeys(topics: readonly string[]): string[] {
  const words = topics.map((topic) => topic.split("/").filter((word) => word !== "").map((word) => word.replace(/[^A-Za-z0-9_]/g, "_")));
  const short = words.map((parts) => {
    const meaningful = parts.filter((word) => !GENERIC_TOPIC_WORDS.has(word.toLowerCase()));
    const named = meaningful.length > 1 && /^cameras?$/i.test(meaningful[0]!) ? meaningful.slice(1) : meaningful;
    return named.join("_") || "camera";
  });
  const keys = short.map((key, i) => (short.filter((other) => other === key).length > 1 ? words[i]!.join("_") || key : key));
  return keys.map((key, i) => (keys.indexOf(key) !== i ? `${key}_${i}` : key));
}

function pickState(candidates: TopicFacts[]): TopicFacts {
  const isLeader = (topic: TopicFacts) => /leader|action|command|target|teleop/i.test(topic.name);
  return candidates.find((topic) => /follower/i.test(topic.name)) ?? candidates.find((topic) => !isLeader(topic)) ?? candidates[0]!;
}

/** The starting mapping for bags with these facts (the first bag's topics; gaps and rates over all). */
export function proposeMapping(bags: readonly BagFacts[]): ProposedMapping {
  const first = bags[0]!;
  const where = first.path;
  const byName = (name: string) => bags.flatMap((bag) => bag.topics.filter((topic) => topic.name === name));
  const joints = first.topics.filter((topic) => topic.type === JOINT_STATE && topic.jointNames !== undefined && topic.jointNames.length > 0);
  if (joints.length === 0) {
    const list = first.topics.map((topic) => `${topic.name} (${topic.type})`).join(", ") || "none";
    throw new InputError(`${where}: no sensor_msgs/msg/JointState topic with joint names, which the state and action need; its topics of interest are: ${list}`);
  }
  const stateTopic = pickState(joints);
  const others = joints.filter((topic) => topic !== stateTopic);
  const actionTopic = others.find((topic) => /leader|action|command|target|teleop/i.test(topic.name)) ?? others[0];
  const state = { topic: stateTopic.name, joints: stateTopic.jointNames!, why: `${JOINT_STATE}, ${stateTopic.rateHz.toFixed(1)} Hz` };
  const action =
    actionTopic !== undefined
      ? { topic: actionTopic.name, joints: actionTopic.jointNames!, why: `${JOINT_STATE}, ${actionTopic.rateHz.toFixed(1)} Hz${others.length > 1 ? `; other JointState topics: ${others.filter((t) => t !== actionTopic).map((t) => t.name).join(", ")}` : ""}` }
      : { topic: stateTopic.name, joints: stateTopic.jointNames!, why: "the bag has one JointState topic: the action is the state here; point it at the commanded (leader) joints if you record them" };

  const imageTopics = first.topics.filter((topic) => IMAGE_TYPES.includes(topic.type) && topic.frame !== undefined);
  const keys = cameraKeys(imageTopics.map((topic) => topic.name));
  const cameras = imageTopics.map((topic, i) => ({
    key: keys[i]!,
    topic: topic.name,
    width: topic.frame!.width,
    height: topic.frame!.height,
    why: `${topic.type.split("/").pop()}, ${topic.frame!.width}×${topic.frame!.height}, ${topic.rateHz.toFixed(1)} Hz`,
  }));

  const fastest = [...imageTopics].sort((a, b) => b.rateHz - a.rateHz)[0];
  const fps = fastest !== undefined && fastest.rateHz >= 1 ? { value: Math.min(1000, Math.round(fastest.rateHz)), why: `the fastest camera's rate (${fastest.name}, ${fastest.rateHz.toFixed(1)} Hz)` } : { value: 30, why: "no camera: LeRobot's usual rate" };

  const strings = first.topics.filter((topic) => topic.type === STRING);
  const instruction = strings.find((topic) => /instruction|task|prompt|language/i.test(topic.name)) ?? strings[0];
  const task = instruction !== undefined ? { topic: instruction.name, why: `${STRING}${instruction.text !== undefined ? `; first text: ${JSON.stringify(instruction.text)}` : ""}` } : { constant: "describe the task here", why: "no std_msgs/msg/String topic in the bag: one text for every frame" };

  // the resampled streams; the task topic is not one (its latest text holds however old)
  const mapped = [state.topic, action.topic, ...cameras.map((camera) => camera.topic)];
  let longest = { gapS: 0, topic: "" };
  for (const name of new Set(mapped)) for (const facts of byName(name)) if (facts.maxGapS > longest.gapS) longest = { gapS: facts.maxGapS, topic: name };
  const tolerance = Math.max(0.1, Math.ceil(longest.gapS * 1.2 * 100) / 100);
  const toleranceS = { value: tolerance, why: longest.topic !== "" ? `1.2 × the longest gap between two messages of a mapped topic (${longest.topic}, ${longest.gapS.toFixed(3)} s), at least 0.1` : "the default" };
  return { fps, cameras, state, action, task, toleranceS };
}

const scalar = (value: unknown): string => stringifyYaml(value, { lineWidth: 0 }).trim();
const flowList = (values: readonly string[]): string => `[${values.map(scalar).join(", ")}]`;

/** The mapping file's text. */
export function mappingYaml(proposal: ProposedMapping, bags: readonly string[]): string {
  const lines = [
    `# Mapping for \`pi0fast convert\`, written by --init-mapping from: ${bags.join(", ")}`,
    "# It converts those bags as they are; edit it to taste (every field is documented in config/convert.sample.yaml).",
    `fps: ${proposal.fps.value}  # ${proposal.fps.why}`,
    "robot_type: so100_follower",
    "",
    "# Camera topics → observation.images.<key>; width/height: the frame size in the dataset.",
    proposal.cameras.length > 0 ? "cameras:" : "cameras: {}  # no image topic in the bag",
    ...proposal.cameras.flatMap((camera) => [`  ${camera.key}:  # ${camera.why}`, `    topic: ${scalar(camera.topic)}`, `    width: ${camera.width}`, `    height: ${camera.height}`]),
    "",
    "# observation.state and action: JointState topics (radians) in LeRobot's degrees; see the sample for range units.",
    `state:  # ${proposal.state.why}`,
    `  topic: ${scalar(proposal.state.topic)}`,
    `  joints: ${flowList(proposal.state.joints)}`,
    "  units: degrees",
    `action:  # ${proposal.action.why}`,
    `  topic: ${scalar(proposal.action.topic)}`,
    `  joints: ${flowList(proposal.action.joints)}`,
    "  units: degrees",
    "",
    "task:",
    "topic" in proposal.task ? `  topic: ${scalar(proposal.task.topic)}  # ${proposal.task.why}` : `  constant: ${scalar(proposal.task.constant)}  # ${proposal.task.why}`,
    "",
    "resampling:",
    "  policy: hold",
    `  tolerance_s: ${proposal.toleranceS.value}  # ${proposal.toleranceS.why}`,
    "",
    "episodes:",
    "  split: per_bag  # one episode per bag",
    "",
  ];
  return lines.join("\n");
}
