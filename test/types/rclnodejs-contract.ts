/**
 * Compiled (not run) against rclnodejs's own published type declarations by test/ros/rclnodejs-types.test.ts:
 * fails to type-check when the API surface RosGraph relies on no longer matches rclnodejs 2.x.
 */
import * as rclnodejs from "rclnodejs";
import type { RclnodejsApi } from "../../src/ros/ros-graph.js";

export const api: RclnodejsApi<rclnodejs.NodeOptions> = rclnodejs;
