import { describe, expect, it } from "vitest";
import { LocalBus } from "../../src/ros/local-graph.js";
import { startWorkerNode } from "../../src/ros/local-worker.js";
import { parseParamsFile } from "../../src/ros/parameters.js";

const moduleUrl = new URL("./nodes/blocking-echo.ts", import.meta.url).href;

function waitFor(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (predicate() ? resolve() : void setTimeout(check, 5));
    check();
  });
}

describe("nodes in worker threads on a real-clock LocalBus", () => {
  it("keep the main thread's timers running while the worker blocks, and keep only the freshest input", async () => {
    const bus = new LocalBus({ params: parseParamsFile("/**/blocking_echo:\n  ros__parameters:\n    block_ms: 300\n", "p.yaml"), logSink: () => {} });
    const main = bus.createGraph("main");
    const outputs: string[] = [];
    main.createSubscription("std_msgs/msg/String", "/out", "reliable", (m) => void outputs.push(m.data));
    const input = main.createPublisher("std_msgs/msg/String", "/in", "reliable");
    const worker = startWorkerNode(bus, { moduleUrl, exportPath: ["blockingEcho"] }, "blocking_echo", { parameters: { prefix: "seen " } });
    await worker.ready;

    let ticks = 0;
    let ticksWhileBlocked = -1;
    main.createTimer(5_000_000n, () => void (ticks += 1));
    input.publish({ data: "m0" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ticksAtStart = ticks;
    for (let i = 1; i <= 9; i += 1) input.publish({ data: `m${i}` });
    await waitFor(() => outputs.length >= 1);
    ticksWhileBlocked = ticks - ticksAtStart;
    await waitFor(() => outputs.length >= 2);
    await worker.shutdown();
    await new Promise((resolve) => setTimeout(resolve, 20));
    bus.close();

    expect(ticksWhileBlocked).toBeGreaterThan(0);
    // Depth 1: m1..m8 were replaced by m9 while the worker was busy with m0.
    expect(outputs).toEqual(["seen m0", "seen m9", "stopped"]);
  });

  it("reports a node that fails to start, with its message", async () => {
    const bus = new LocalBus({ logSink: () => {} });
    const worker = startWorkerNode(bus, { moduleUrl, exportPath: ["failing"] }, "failing");
    await expect(worker.ready).rejects.toThrow("model directory /nope has no pi0fast.json");
    await worker.shutdown();
    bus.close();
  });

  it("refuses a simulated clock", () => {
    expect(() => startWorkerNode(new LocalBus({ clock: 0n }), { moduleUrl, exportPath: ["blockingEcho"] }, "blocking_echo")).toThrow(/worker threads need a real clock/);
  });
});
