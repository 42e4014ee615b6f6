import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { STANDARD_SERVICE_TEXT, parseSrvFile, standardServiceDefinitions } from "../../src/msgs/message-definitions.js";
import { normalizeServiceMessage } from "../../src/msgs/messages.js";
import { REPO_ROOT } from "../helpers/system.js";

/** std_srvs as a ROS 2 install has it (the PyPI wheels' share/ under .ros, or AMENT_PREFIX_PATH). */
function installedSrv(type: string): string | undefined {
  const [pkg, , name] = type.split("/");
  const prefixes = [path.join(REPO_ROOT, ".ros/venv"), ...(process.env.AMENT_PREFIX_PATH ?? "").split(":").filter(Boolean)];
  for (const prefix of prefixes) {
    const file = path.join(prefix, "share", pkg!, "srv", `${name}.srv`);
    if (existsSync(file)) return readFileSync(file, "utf8");
  }
  return undefined;
}

describe("service definitions", () => {
  const installed = Object.keys(STANDARD_SERVICE_TEXT).map((type) => [type, installedSrv(type)] as const);
  const haveInstall = installed.every(([, text]) => text !== undefined);
  if (!haveInstall) {
    if (process.env.REQUIRE_SYSTEM_DEPS === "1") throw new Error("std_srvs .srv files not found in a ROS 2 install (.ros/venv or AMENT_PREFIX_PATH)");
    console.warn("skipping the std_srvs comparison: no ROS 2 install with std_srvs found");
  }

  it.skipIf(!haveInstall)("are the std_srvs definitions of the ROS 2 install, field for field", () => {
    for (const [type, text] of installed) {
      const ours = parseSrvFile(type, STANDARD_SERVICE_TEXT[type]!);
      const theirs = parseSrvFile(type, text!);
      expect(ours).toEqual(theirs);
    }
  });

  it("parse request and response around the '---' line, and name a malformed file", () => {
    const setBool = standardServiceDefinitions().get("std_srvs/srv/SetBool")!;
    expect(setBool.request.definitions.map((f) => [f.name, f.type])).toEqual([["data", "bool"]]);
    expect(setBool.response.definitions.map((f) => [f.name, f.type])).toEqual([["success", "bool"], ["message", "string"]]);
    expect(standardServiceDefinitions().get("std_srvs/srv/Trigger")!.request.definitions).toEqual([]);
    expect(() => parseSrvFile("pkg/srv/Bad", "bool a\n")).toThrow(/pkg\/srv\/Bad: a service definition has one '---' line/);
  });

  it("normalize requests and responses to the generated shapes", () => {
    expect(normalizeServiceMessage("std_srvs/srv/SetBool", "request", { data: true, structure_needs_at_least_one_member: 0 })).toEqual({ data: true });
    expect(normalizeServiceMessage("std_srvs/srv/Trigger", "request", undefined)).toEqual({});
    expect(normalizeServiceMessage("std_srvs/srv/Trigger", "response", { success: false, message: "x" })).toEqual({ success: false, message: "x" });
  });
});
