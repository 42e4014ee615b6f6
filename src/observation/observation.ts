/**
 * A synchronized set (camera frames + a joint state) → `pi0fast_ros/Observation`: each image decoded and
 * brought to the model's input size (rgb8), the joints in the policy's names and units, the instruction.
 * The header stamp is the set's newest source stamp: nothing in the observation is younger than it.
 */
import { makeHeader, timeFromNs, type Pi0fastRosObservation, type SensorMsgsCompressedImage, type SensorMsgsImage, type SensorMsgsJointState } from "../msgs/messages.js";
import { imageMessageToModelInput, type ImageResize } from "./image.js";
import { jointPositionsToState, type StateMapping } from "./state.js";

/** What the observation is built for: the model's cameras, input size and state. */
export interface ObservationSpec {
  /** The model's camera names, in the order the frames are given. */
  readonly cameraNames: readonly string[];
  /** Side of the model's square input image, pixels. */
  readonly imageSize: number;
  readonly resize: ImageResize;
  readonly state: StateMapping;
}

export type CameraMessage = { readonly type: "sensor_msgs/msg/Image"; readonly message: SensorMsgsImage } | { readonly type: "sensor_msgs/msg/CompressedImage"; readonly message: SensorMsgsCompressedImage };

export interface CameraFrame {
  readonly camera: CameraMessage;
  readonly stampNs: bigint;
  /** Names the frame in errors (topic and stamp). */
  readonly where: string;
}

export interface JointStateSample {
  readonly message: SensorMsgsJointState;
  readonly stampNs: bigint;
  readonly where: string;
}

/** Builds the observation; a frame that does not decode is a `BadImageError`, a missing joint an `InputError`. */
export async function assembleObservation(spec: ObservationSpec, frames: readonly CameraFrame[], jointState: JointStateSample, instruction: string): Promise<Pi0fastRosObservation> {
  if (frames.length !== spec.cameraNames.length) throw new RangeError(`${frames.length} camera frames for ${spec.cameraNames.length} cameras`);
  const state = jointPositionsToState(jointState.message.name, jointState.message.position, spec.state, jointState.where);
  const images = await Promise.all(
    frames.map(async (frame): Promise<SensorMsgsImage> => {
      const rgb = await imageMessageToModelInput(frame.camera.type, frame.camera.message as unknown as Record<string, unknown>, spec.imageSize, spec.resize, frame.where);
      return { header: makeHeader(frame.stampNs, frame.camera.message.header.frame_id), height: rgb.height, width: rgb.width, encoding: "rgb8", is_bigendian: 0, step: rgb.width * 3, data: rgb.data };
    }),
  );
  const stampNs = frames.reduce((newest, frame) => (frame.stampNs > newest ? frame.stampNs : newest), jointState.stampNs);
  return {
    header: makeHeader(stampNs),
    camera_names: [...spec.cameraNames],
    images,
    image_stamps: frames.map((frame) => timeFromNs(frame.stampNs)),
    state,
    state_names: [...spec.state.names],
    state_stamp: timeFromNs(jointState.stampNs),
    instruction,
  };
}
