import { describe, expect, it } from "vitest";
import { Diagnostics } from "../../src/ros/diagnostics.js";
import { LocalBus } from "../../src/ros/local-graph.js";
import { nsFromTime, type DiagnosticMsgsDiagnosticArray } from "../../src/msgs/messages.js";

const S = 1_000_000_000n;

describe("Diagnostics", () => {
  it("publishes each report at once and every name's latest status again when it was not published for a second, on the node's clock", async () => {
    const bus = new LocalBus({ clock: 0n });
    const arrays: DiagnosticMsgsDiagnosticArray[] = [];
    bus.createGraph("monitor").createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => void arrays.push(array));
    const diagnostics = new Diagnostics(bus.createGraph("policy", { namespace: "/so100" }), "so100_arm");
    await bus.advanceTo(S / 2n);
    diagnostics.report({ name: "model", level: "ok", message: "loaded on cpu", values: { provider: "cpu" } });
    diagnostics.report({ name: "inference", level: "warn", message: "chunk 1: repaired" });
    diagnostics.report({ name: "inference", level: "ok", message: "chunk 2" });
    await bus.advanceTo(3n * S + S / 2n);
    const seen = arrays.map((array) => [Number(nsFromTime(array.header.stamp) / (S / 10n)) / 10, array.status.map((status) => `${status.level} ${status.name}: ${status.message}`)]);
    expect(seen).toEqual([
      [0.5, ["0 policy: model: loaded on cpu"]],
      [0.5, ["1 policy: inference: chunk 1: repaired"]],
      [0.5, ["0 policy: inference: chunk 2"]],
      // At 1 s both were published half a second ago.
      [2, ["0 policy: model: loaded on cpu", "0 policy: inference: chunk 2"]],
      [3, ["0 policy: model: loaded on cpu", "0 policy: inference: chunk 2"]],
    ]);
    expect(arrays[3]!.status[0]).toMatchObject({ hardware_id: "so100_arm", values: [{ key: "provider", value: "cpu" }] });
  });

  it("stays quiet until something was reported, republishes nothing a node reports every second itself, and stops with its node", async () => {
    const bus = new LocalBus({ clock: 0n });
    const arrays: DiagnosticMsgsDiagnosticArray[] = [];
    bus.createGraph("monitor").createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => void arrays.push(array));
    const graph = bus.createGraph("idle");
    const diagnostics = new Diagnostics(graph);
    await bus.advanceTo(2n * S + 1n);
    expect(arrays).toEqual([]);
    diagnostics.report({ name: "bus", level: "error", message: "no servo answers" });
    await bus.advanceTo(4n * S + 1n);
    graph.destroy();
    await bus.advanceTo(6n * S);
    expect(arrays.length).toBe(2);
  });

  it("republishes nothing for a name its node reports every second itself", async () => {
    const bus = new LocalBus({ clock: 0n });
    const arrays: DiagnosticMsgsDiagnosticArray[] = [];
    bus.createGraph("monitor").createSubscription("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable", (array) => void arrays.push(array));
    const graph = bus.createGraph("chunk_blender");
    const diagnostics = new Diagnostics(graph);
    graph.createTimer(S, () => diagnostics.report({ name: "control", level: "ok", message: "tracking" }));
    await bus.advanceTo(5n * S + 1n);
    expect(arrays.map((array) => Number(nsFromTime(array.header.stamp) / S))).toEqual([1, 2, 3, 4, 5]);
  });
});
