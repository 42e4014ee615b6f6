/**
 * What the middleware-test drivers publish to the policy: a mid-grey observation sized for the model in
 * $MODEL_DIR (its cameras, image size and state names), the state at zero.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { makeHeader, type Pi0fastRosObservation } from "../../../src/msgs/messages.js";

/** Reads $MODEL_DIR's manifest once; returns the observation for a stamp. */
export function greyObservationsForModel(): (stampNs: bigint) => Pi0fastRosObservation {
  const modelDir = process.env.MODEL_DIR;
  if (modelDir === undefined) throw new Error("MODEL_DIR is not set");
  const manifest = JSON.parse(readFileSync(path.join(modelDir, "pi0fast.json"), "utf8")) as {
    vision: { image_size: number; cameras: string[] };
    state: { names: string[] };
  };
  const size = manifest.vision.image_size;
  const { cameras } = manifest.vision;
  return (stampNs) => ({
    header: makeHeader(stampNs, "base_link"),
    camera_names: cameras,
    images: cameras.map(() => ({ header: makeHeader(stampNs), height: size, width: size, encoding: "rgb8", is_bigendian: 0, step: size * 3, data: new Uint8Array(size * size * 3).fill(90) })),
    image_stamps: cameras.map(() => makeHeader(stampNs).stamp),
    state: new Float64Array(manifest.state.names.length),
    state_names: manifest.state.names,
    state_stamp: makeHeader(stampNs).stamp,
    instruction: "pick up the red cube",
  });
}
