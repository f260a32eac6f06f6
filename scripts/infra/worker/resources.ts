import type * as pulumi from "@pulumi/pulumi";

type Pulumi = typeof pulumi;

export interface EvaluatedResource {
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  dependsOn: string[];
  inputs: Record<string, unknown>;
  /**
   * Set on a resource read with `Resource.get` (another stage's, e.g. a preview's base VPC): the
   * id it was read by. Its `inputs` are then the state the read returned. Not this stage's: never
   * priced, and no check counts it as created here.
   */
  read?: string;
  /** A component's registered outputs (e.g. a dev command's `_dev`), when it has any. */
  outputs?: Record<string, unknown>;
}

/**
 * Every resource the program registers, in registration order. Two sources fill each entry: the
 * mocks see the inputs, a stack transformation sees the parent and `dependsOn` (which never reach
 * the mocks). Either may see a resource first.
 */
export class ResourceLog {
  readonly #entries = new Map<string, EvaluatedResource>();
  readonly #pending: Promise<unknown>[] = [];

  /** The entry for a resource, created at first sight. */
  entry(type: string, name: string): EvaluatedResource {
    const key = `${type}::${name}`;
    let resource = this.#entries.get(key);
    if (!resource) {
      resource = { type, name, custom: true, dependsOn: [], inputs: {} };
      this.#entries.set(key, resource);
    }
    return resource;
  }

  all(): EvaluatedResource[] {
    return [...this.#entries.values()];
  }

  /**
   * Records each resource's parent and `dependsOn`. Call inside `runInPulumiStack`, so that the
   * transformation applies to every resource of the stack.
   */
  recordParentsAndDependsOn(runtime: Pulumi) {
    runtime.runtime.registerStackTransformation((args) => {
      const resource = this.entry(args.type, args.name);
      const parent = args.opts.parent as { __name?: string } | undefined;
      if (parent?.__name) resource.parent = parent.__name;
      this.#pending.push(
        new Promise((resolve) => {
          runtime.output(args.opts.dependsOn ?? []).apply((list) => {
            const resources = Array.isArray(list) ? list : [list];
            resource.dependsOn = resources
              .map((dep) => (dep as { __name?: string }).__name)
              .filter((name): name is string => typeof name === "string");
            resolve(undefined);
          });
        }),
      );
      return undefined;
    });
  }

  /** Resolves once every recorded `dependsOn` is known (after `runtime.disconnect()`). */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
