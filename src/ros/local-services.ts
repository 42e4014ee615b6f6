/**
 * Services on the LocalBus: one server per name and type, called in-process with the request and
 * response normalized to the generated shapes, as they would be after crossing a middleware.
 */
import { InputError } from "../errors.js";
import { normalizeServiceMessage, type ServiceRequestOf, type ServiceResponseOf, type ServiceTypeName } from "../msgs/messages.js";
import type { Service, ServiceHandler } from "./graph.js";

interface Entry {
  type: ServiceTypeName;
  handler: ServiceHandler<ServiceTypeName>;
}

export class LocalServiceRegistry {
  private readonly entries = new Map<string, Entry>();

  /** `name` is already resolved. A second server on one name is an error, as one name has one server in ROS. */
  add<S extends ServiceTypeName>(type: S, name: string, handler: ServiceHandler<S>): Service {
    if (this.entries.has(name)) throw new InputError(`service '${name}' already has a server (of ${this.entries.get(name)!.type})`);
    const entry: Entry = { type, handler: handler as unknown as ServiceHandler<ServiceTypeName> };
    this.entries.set(name, entry);
    return {
      name,
      destroy: () => {
        if (this.entries.get(name) === entry) this.entries.delete(name);
      },
    };
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Calls the server of `name` (resolved); rejects naming the service when none serves it or the type differs. */
  async call<S extends ServiceTypeName>(type: S, name: string, request: ServiceRequestOf<S>): Promise<ServiceResponseOf<S>> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new InputError(`no server for service '${name}' (served: ${this.names().join(", ") || "none"})`);
    if (entry.type !== type) throw new InputError(`service '${name}' is ${entry.type}; cannot call it as ${type}`);
    const response = await entry.handler(normalizeServiceMessage(type, "request", request));
    return normalizeServiceMessage(type, "response", response) as ServiceResponseOf<S>;
  }

  clear(): void {
    this.entries.clear();
  }
}
