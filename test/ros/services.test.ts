import { beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { LocalBus } from "../../src/ros/local-graph.js";
import { startWorkerNode } from "../../src/ros/local-worker.js";
import { createRosGraph } from "../../src/ros/ros-graph.js";
import { FakeRclnodejs, type FakeService } from "./fake-rclnodejs.js";

describe("services on a LocalGraph", () => {
  it("resolve ~/name under the node, answer calls from other nodes by relative or absolute name, with normalized shapes", async () => {
    const bus = new LocalBus({ clock: 0n, logSink: () => {} });
    const server = bus.createGraph("so100_controller", { namespace: "/so100" });
    const client = bus.createGraph("driver", { namespace: "/so100" });
    const seen: unknown[] = [];
    const service = server.createService("std_srvs/srv/SetBool", "~/enable_torque", (request) => {
      seen.push(request);
      return { success: request.data, message: "done", extra: 1 } as never;
    });
    expect(service.name).toBe("/so100/so100_controller/enable_torque");
    expect(await client.callService("std_srvs/srv/SetBool", "so100_controller/enable_torque", { data: true, junk: 2 } as never)).toEqual({ success: true, message: "done" });
    expect(await client.callService("std_srvs/srv/SetBool", "/so100/so100_controller/enable_torque", { data: false })).toEqual({ success: false, message: "done" });
    expect(seen).toEqual([{ data: true }, { data: false }]);
    const trigger = server.createService("std_srvs/srv/Trigger", "~/hold", async () => ({ success: true, message: "held" }));
    expect(await client.callService("std_srvs/srv/Trigger", "so100_controller/hold", {})).toEqual({ success: true, message: "held" });
    trigger.destroy();
    await expect(client.callService("std_srvs/srv/Trigger", "so100_controller/hold", {})).rejects.toThrow(/no server for service '\/so100\/so100_controller\/hold' \(served: \/so100\/so100_controller\/enable_torque\)/);
  });

  it("refuse a second server on one name, a call with another type, and reject with the handler's error", async () => {
    const bus = new LocalBus({ clock: 0n, logSink: () => {} });
    const server = bus.createGraph("node");
    server.createService("std_srvs/srv/Trigger", "/reset", () => {
      throw new Error("not now");
    });
    expect(() => server.createService("std_srvs/srv/Trigger", "/reset", () => ({ success: true, message: "" }))).toThrow(InputError);
    await expect(server.callService("std_srvs/srv/SetBool", "/reset", { data: true })).rejects.toThrow(/'\/reset' is std_srvs\/srv\/Trigger; cannot call it as std_srvs\/srv\/SetBool/);
    await expect(server.callService("std_srvs/srv/Trigger", "/reset", {})).rejects.toThrow("not now");
    server.destroy();
    expect(bus.services.names()).toEqual([]);
  });

  it("cross to a node in a worker thread and back", async () => {
    const bus = new LocalBus({ logSink: () => {} });
    const worker = startWorkerNode(bus, { moduleUrl: new URL("./nodes/toggle-service.ts", import.meta.url).href, exportPath: ["toggleService"] }, "toggle", { namespace: "/arm" });
    await worker.ready;
    const client = bus.createGraph("client", { namespace: "/arm" });
    // The worker announces its service asynchronously.
    for (let i = 0; i < 100 && bus.services.names().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await client.callService("std_srvs/srv/SetBool", "toggle/toggle", { data: true })).toEqual({ success: true, message: "on (call 1, /arm/toggle/toggle)" });
    await expect(client.callService("std_srvs/srv/SetBool", "toggle/toggle", { data: false })).rejects.toThrow("refusing false");
    await worker.shutdown();
    bus.close();
  });
});

describe("services on RosGraph (rclnodejs 2.x contract)", () => {
  beforeEach(() => FakeRclnodejs.reset());

  it("create the rclnodejs service with the type and the name as written, answer through response.send, normalize the request", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "so100_controller", argv: ["node", "x", "--ros-args", "-r", "__ns:=/so100"] });
    const requests: unknown[] = [];
    const service = graph.createService("std_srvs/srv/SetBool", "~/enable_torque", async (request) => {
      requests.push(request);
      return { success: true, message: `torque ${request.data ? "on" : "off"}` };
    });
    const node = FakeRclnodejs.nodes[0]!;
    const [fake] = node.recorded.services as [FakeService];
    expect([fake.type, fake.name, service.name]).toEqual(["std_srvs/srv/SetBool", "~/enable_torque", "/so100/so100_controller/enable_torque"]);
    // rclnodejs hands plain objects, with the fields its generated class has.
    expect(await fake.call({ data: true })).toEqual({ success: true, message: "torque on" });
    expect(requests).toEqual([{ data: true }]);
    service.destroy();
    expect(fake.destroyed).toBe(true);
  });

  it("log a failing handler and send no response", async () => {
    const graph = await createRosGraph(FakeRclnodejs.api(), { nodeName: "n", argv: ["node", "x"] });
    graph.createService("std_srvs/srv/Trigger", "~/hold", () => {
      throw new Error("bus disconnected");
    });
    const node = FakeRclnodejs.nodes[0]!;
    const outcome = await Promise.race([node.recorded.services[0]!.call({}).then(() => "answered"), new Promise((resolve) => setTimeout(() => resolve("no response"), 50))]);
    expect(outcome).toBe("no response");
    expect(node.recorded.logs).toContainEqual(["error", "service '~/hold' failed, no response sent: bus disconnected"]);
  });
});
