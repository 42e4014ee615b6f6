/**
 * A scripted stand-in for the policy node, for tests on a LocalGraph (simulated clock or real): it answers
 * each `replan_request` with an `action_chunk` after a chosen latency, as the policy node does — the chunk
 * is stamped with the observation it was "computed" from (the request's arrival time minus an observation
 * age) and holds a known trajectory sampled at that stamp + i·dt_s. A test can tamper with any answer.
 */
import { Pi0fastRosActionChunkConstants as Decode, makeHeader, type Pi0fastRosActionChunk, type Pi0fastRosReplanRequest } from "../../src/msgs/messages.js";
import type { Graph } from "../../src/ros/graph.js";
import { SO100_JOINTS } from "../../src/so100/calibration.js";

export interface ScriptedPolicyOptions {
  /** Request → chunk latency in ms; a function gets the request's index (0 = the first request). */
  latencyMs: number | ((requestIndex: number) => number);
  /** The joint positions (rad, in `actionNames` order) the policy intends at a time (s on the graph's clock). */
  trajectory: (timeS: number, requestIndex: number) => readonly number[];
  actionNames?: readonly string[];
  horizon?: number;
  dtS?: number;
  /** How old the newest observation is when a request arrives, ms (the chunk's stamp is that much earlier). */
  observationAgeMs?: number;
  /** Changes an answer before it is published; returning undefined leaves the request unanswered. */
  tamper?: (chunk: Pi0fastRosActionChunk, requestIndex: number) => Pi0fastRosActionChunk | undefined;
}

export interface ScriptedPolicy {
  readonly requests: Pi0fastRosReplanRequest[];
  /** Each published chunk with the graph time it was published at. */
  readonly published: Array<{ chunk: Pi0fastRosActionChunk; publishedNs: bigint }>;
  stop(): void;
}

export function startScriptedPolicy(graph: Graph, options: ScriptedPolicyOptions): ScriptedPolicy {
  const names = [...(options.actionNames ?? SO100_JOINTS)];
  const horizon = options.horizon ?? 50;
  const dtS = options.dtS ?? 1 / 30;
  const requests: Pi0fastRosReplanRequest[] = [];
  const published: ScriptedPolicy["published"] = [];
  const timers = new Set<{ cancel(): void }>();
  const publisher = graph.createPublisher("pi0fast_ros/msg/ActionChunk", "action_chunk", "reliable");
  let chunkId = 0;
  const subscription = graph.createSubscription("pi0fast_ros/msg/ReplanRequest", "replan_request", "reliable", (request) => {
    const index = requests.length;
    requests.push(request);
    const stampNs = graph.nowNs() - BigInt(Math.round((options.observationAgeMs ?? 0) * 1e6));
    const latencyMs = typeof options.latencyMs === "number" ? options.latencyMs : options.latencyMs(index);
    const actions = new Float64Array(horizon * names.length);
    for (let i = 0; i < horizon; i++) {
      const positions = options.trajectory(Number(stampNs) / 1e9 + i * dtS, index);
      for (let j = 0; j < names.length; j++) actions[i * names.length + j] = positions[j]!;
    }
    const chunk: Pi0fastRosActionChunk = {
      header: makeHeader(stampNs),
      chunk_id: ++chunkId,
      dt_s: dtS,
      horizon,
      action_names: names,
      actions_rad: actions,
      inference_latency_ms: latencyMs,
      token_count: 1,
      decode_status: Decode.DECODE_OK,
      decode_detail: "",
    };
    const answer = options.tamper !== undefined ? options.tamper(chunk, index) : chunk;
    if (answer === undefined) return;
    const timer = graph.createTimer(BigInt(Math.max(1, Math.round(latencyMs * 1e6))), () => {
      timer.cancel();
      timers.delete(timer);
      publisher.publish(answer);
      published.push({ chunk: answer, publishedNs: graph.nowNs() });
    });
    timers.add(timer);
  });
  return {
    requests,
    published,
    stop: () => {
      subscription.destroy();
      for (const timer of timers) timer.cancel();
      timers.clear();
    },
  };
}
