import { BerthError } from '../../../src/errors/BerthError.js';
import type { MountFrom, StagePlan, Step } from '../plan.js';

/** The stages a stage reads from (its base, COPY --from, RUN --mount from=), by Dockerfile index. */
export function stageDependencies(stage: StagePlan): number[] {
  const deps = new Set<number>();
  if (stage.base.kind === 'stage') deps.add(stage.base.stage);
  const fromOf = (from: MountFrom | undefined) => {
    if (from?.kind === 'stage') deps.add(from.stage);
  };
  for (const step of stage.steps) {
    if (step.kind === 'copy') fromOf(step.from);
    if (step.kind === 'run') for (const mount of step.mounts) if ('from' in mount) fromOf(mount.from);
  }
  return [...deps];
}

function describe(stage: StagePlan): string {
  return stage.name ?? String(stage.dockerfileIndex);
}

/**
 * The stages `target` needs, each after the stages it reads from (depth-first, in Dockerfile order among siblings),
 * with a cycle reported as BuildKit does. Returns Dockerfile indices.
 */
export function neededStages(stages: StagePlan[], target: number, file: string): number[] {
  const state = new Map<number, 'visiting' | 'done'>();
  const order: number[] = [];
  const visit = (index: number, path: number[]) => {
    const seen = state.get(index);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(index)), index].map((i) => describe(stages[i]!));
      throw new BerthError('DOCKERFILE_INVALID', `${file}: circular dependency between stages: ${cycle.join(' -> ')}`);
    }
    state.set(index, 'visiting');
    for (const dep of stageDependencies(stages[index]!).sort((a, b) => a - b)) visit(dep, [...path, index]);
    state.set(index, 'done');
    order.push(index);
  };
  visit(target, []);
  return order;
}

function remapFrom<T extends MountFrom | undefined>(from: T, map: Map<number, number>): T {
  if (from?.kind !== 'stage') return from;
  return { kind: 'stage', stage: map.get(from.stage)! } as T;
}

/** Rewrite Dockerfile stage indices in a stage's base and steps to positions in the plan's stage list. */
export function remapStage(stage: StagePlan, map: Map<number, number>): StagePlan {
  const steps = stage.steps.map((step): Step => {
    if (step.kind === 'copy') return { ...step, from: remapFrom(step.from, map) };
    if (step.kind === 'run') return { ...step, mounts: step.mounts.map((m) => ('from' in m && m.from ? { ...m, from: remapFrom(m.from, map) } : m)) };
    return step;
  });
  const base = stage.base.kind === 'stage' ? { kind: 'stage' as const, stage: map.get(stage.base.stage)! } : stage.base;
  return { ...stage, base, steps };
}
