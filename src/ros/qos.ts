/**
 * The QoS profiles nodes choose from, by name. `RosGraph` maps them to rclnodejs QoS objects and
 * `LocalGraph` reproduces what matters in-process: keep-last depth (oldest dropped) and the latched
 * last value a late subscriber of a transient-local topic receives.
 */
export type QosName = "sensor" | "reliable" | "latched";

export interface QosProfile {
  readonly reliability: "best_effort" | "reliable";
  readonly durability: "volatile" | "transient_local";
  /** Keep-last history depth. */
  readonly depth: number;
}

/** A named profile, optionally with another depth. */
export type QosOption = QosName | { profile: QosName; depth: number };

export const QOS_PROFILES: Readonly<Record<QosName, QosProfile>> = {
  // Same as rclcpp/rclnodejs profileSensorData: best effort, keep last 5.
  sensor: { reliability: "best_effort", durability: "volatile", depth: 5 },
  reliable: { reliability: "reliable", durability: "volatile", depth: 10 },
  // A late subscriber still gets the last value (instructions, configuration).
  latched: { reliability: "reliable", durability: "transient_local", depth: 1 },
};

export function resolveQos(option: QosOption): QosProfile {
  if (typeof option === "string") return QOS_PROFILES[option];
  if (!Number.isInteger(option.depth) || option.depth < 1) {
    throw new RangeError(`QoS depth must be a whole number ≥ 1, got ${option.depth}`);
  }
  return { ...QOS_PROFILES[option.profile], depth: option.depth };
}
