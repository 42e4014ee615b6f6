/** A test node offering a std_srvs/SetBool service (`~/toggle`) that fails on request. */
import { z } from "zod";
import { defineNode } from "../../../src/ros/graph.js";

export const toggleService = defineNode({
  name: "toggle",
  description: "Answers ~/toggle with the state it switched to; data false with fail=true throws.",
  parameters: z.object({ fail_on_false: z.boolean().default(true) }),
  blocking: true,
  create(graph, parameters) {
    let calls = 0;
    const name = graph.resolveTopic("~/toggle");
    const service = graph.createService("std_srvs/srv/SetBool", "~/toggle", async (request) => {
      calls += 1;
      if (!request.data && parameters.fail_on_false) throw new Error("refusing false");
      return { success: true, message: `${request.data ? "on" : "off"} (call ${calls}, ${name})` };
    });
    return { shutdown: () => service.destroy() };
  },
});
