/** `/diagnostics` reporting for a node (diagnostic_msgs/DiagnosticArray), the same on both graphs. */
import type { Graph, Publisher } from "./graph.js";
import { DiagnosticMsgsDiagnosticStatusConstants as Level, makeHeader, type DiagnosticMsgsDiagnosticArray } from "../msgs/messages.js";

export type DiagnosticLevel = "ok" | "warn" | "error" | "stale";

const LEVELS: Record<DiagnosticLevel, number> = { ok: Level.OK, warn: Level.WARN, error: Level.ERROR, stale: Level.STALE };

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

  constructor(
    private readonly graph: Graph,
    private readonly hardwareId = "",
  ) {
    this.publisher = graph.createPublisher("diagnostic_msgs/msg/DiagnosticArray", "/diagnostics", "reliable");
    this.prefix = graph.nodeName;
  }

  report(...reports: DiagnosticReport[]): void {
    this.publisher.publish({
      header: makeHeader(this.graph.nowNs()),
      status: reports.map((report) => ({
        level: LEVELS[report.level],
        name: `${this.prefix}: ${report.name}`,
        message: report.message,
        hardware_id: this.hardwareId,
        values: Object.entries(report.values ?? {}).map(([key, value]) => ({ key, value: String(value) })),
      })),
    });
  }
}
