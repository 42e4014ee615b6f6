/**
 * `/diagnostics` reporting for a node (diagnostic_msgs/DiagnosticArray), the same on both graphs. Each report is
 * published when it is made, and once a second the latest status of every name not reported since the previous
 * second is published again on the node's clock, as ROS drivers do: `ros2 topic echo --once /diagnostics`
 * answers on an idle node, a diagnostic aggregator does not mark it stale, and a node that reports every second
 * itself is not published twice.
 */
import type { Graph, Publisher } from "./graph.js";
import { DiagnosticMsgsDiagnosticStatusConstants as Level, makeHeader, type DiagnosticMsgsDiagnosticArray, type DiagnosticMsgsDiagnosticStatus } from "../msgs/messages.js";

export type DiagnosticLevel = "ok" | "warn" | "error" | "stale";

const LEVELS: Record<DiagnosticLevel, number> = { ok: Level.OK, warn: Level.WARN, error: Level.ERROR, stale: Level.STALE };

/** How often the latest statuses are published again (1 Hz, diagnostic_updater's default period). */
export const DIAGNOSTICS_REPUBLISH_PERIOD_NS = 1_000_000_000n;

export interface DiagnosticReport {
  /** What is being reported on (`inference`, `servo bus`); prefixed with the node name in the message. */
  name: string;
  level: DiagnosticLevel;
  message: string;
  values?: Record<string, string | number | boolean>;
}

export class Diagnostics {
  private readonly publisher: Publisher<DiagnosticMsgsDiagnosticArray>;
  private readonly prefix: string;
  /** The latest status of each reported name, in the order they were first reported. */
  private readonly latest = new Map<string, DiagnosticMsgsDiagnosticStatus>();
  /** Names reported since the last republish tick: their status is fresh and not repeated then. */
  private readonly reportedSinceTick = new Set<string>();

  constructor(
    private readonly graph: Graph,
    private readonly hardwareId = "",
  ) {
    this.publisher = graph.createPublisher("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable");
    this.prefix = graph.nodeName;
    // The graph cancels the timer with the node.
    graph.createTimer(DIAGNOSTICS_REPUBLISH_PERIOD_NS, () => this.republish());
  }

  report(...reports: DiagnosticReport[]): void {
    const status = reports.map((report) => ({
      level: LEVELS[report.level],
      name: `${this.prefix}: ${report.name}`,
      message: report.message,
      hardware_id: this.hardwareId,
      values: Object.entries(report.values ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    }));
    for (const entry of status) {
      this.latest.set(entry.name, entry);
      this.reportedSinceTick.add(entry.name);
    }
    this.publisher.publish({ header: makeHeader(this.graph.nowNs()), status });
  }

  private republish(): void {
    const quiet = [...this.latest.values()].filter((entry) => !this.reportedSinceTick.has(entry.name));
    this.reportedSinceTick.clear();
    if (quiet.length > 0) this.publisher.publish({ header: makeHeader(this.graph.nowNs()), status: quiet });
  }
}
