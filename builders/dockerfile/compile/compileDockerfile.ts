import type { ContainerConfig, ImageConfig } from '../../../src/oci/config.js';
import { normalizePlatform, parsePlatform, type Platform } from '../../../src/oci/platform.js';
import { BerthError } from '../../../src/errors/BerthError.js';
import { expandWord, ExpansionError } from '../expand/expandWord.js';
import { parseDockerfile, splitFlags, splitQuotedWords, syntaxError, type ParsedInstruction } from '../parse/parseDockerfile.js';
import type { BuildPlan, CompileInput, MountFrom, StageBase, StagePlan } from '../plan.js';
import { ArgScope, platformArgs, proxyArgs } from './buildArgs.js';
import { compileInstruction, defaultPath, type StageState } from './compileInstruction.js';
import { neededStages, remapStage } from './stageGraph.js';

const stageName = /^[a-z][a-z0-9_.-]*$/;

interface StageHeader {
  from: ParsedInstruction;
  body: ParsedInstruction[];
  name?: string;
}

function splitStages(file: string, instructions: ParsedInstruction[]): { globals: ParsedInstruction[]; stages: StageHeader[] } {
  const globals: ParsedInstruction[] = [];
  const stages: StageHeader[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.trim().split(/\s+/);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') {
        name = words[2]!.toLowerCase();
        if (!stageName.test(name)) throw syntaxError(file, ins.line, `invalid name for build stage: ${JSON.stringify(words[2])}, name can't start with a number or contain symbols`);
        if (stages.some((s) => s.name === name)) throw syntaxError(file, ins.line, `duplicate stage name ${JSON.stringify(name)}`);
      } else if (words.length !== 1 || words[0] === '') {
        throw syntaxError(file, ins.line, 'FROM requires either one or three arguments (FROM image [AS name])');
      }
      stages.push({ from: ins, body: [], name });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw syntaxError(file, ins.line, `${ins.keyword} before the first FROM (only ARG may come before it)`);
      globals.push(ins);
    } else {
      stages[stages.length - 1]!.body.push(ins);
    }
  }
  if (stages.length === 0) throw new BerthError('DOCKERFILE_INVALID', `${file}: no FROM instruction: the Dockerfile has no build stage`);
  return { globals, stages };
}

/** Nothing but the default PATH, which buildah and BuildKit both give a stage built FROM scratch. */
function scratchConfig(platform: Platform): ImageConfig {
  return { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [defaultPath] } };
}

/**
 * Compile a Dockerfile into a BuildPlan: parse, expand every word the builder expands, scope the ARGs, turn each
 * instruction into a step (ONBUILD triggers of a base included), then keep the stages the target needs in an order
 * where each comes after the stages it reads from.
 */
export async function compileDockerfile(input: CompileInput): Promise<BuildPlan> {
  const file = input.file;
  const parsed = parseDockerfile(input.text, file);
  const { globals, stages: headers } = splitStages(file, parsed.instructions);
  const autoArgs = platformArgs(input.platform, input.buildPlatform);

  // ARGs before the first FROM: usable in FROM lines, and as the value of a stage's ARG of the same name.
  const globalArgs = new ArgScope(input.buildArgs, new Map());
  const globalLookup = (name: string) => globalArgs.value(name) ?? autoArgs.get(name);
  const expandGlobal = (ins: ParsedInstruction, text: string) => {
    try {
      return expandWord(text, globalLookup, parsed.escape);
    } catch (err) {
      if (err instanceof ExpansionError) throw syntaxError(file, ins.line, `${ins.keyword}: ${err.message}`);
      throw err;
    }
  };
  for (const ins of globals) {
    if (ins.flags.length > 0) throw syntaxError(file, ins.line, `unknown flag: --${ins.flags[0]!.name}`);
    const words = splitQuotedWords(ins.args, parsed.escape);
    if (words.length === 0) throw syntaxError(file, ins.line, 'ARG requires at least one argument');
    for (const word of words) {
      const eq = word.indexOf('=');
      globalArgs.declare(eq < 0 ? word : word.slice(0, eq), eq < 0 ? undefined : expandGlobal(ins, word.slice(eq + 1)));
    }
  }
  const inherited = new Map<string, string | undefined>([...autoArgs, ...globalArgs.declared]);

  const resolveFrom = (fromStage: number) => (value: string, line: number): MountFrom => {
    if (/^\d+$/.test(value)) {
      const index = Number(value);
      if (index >= headers.length) throw syntaxError(file, line, `unknown stage ${value}: the Dockerfile has ${headers.length} stage(s)`);
      if (index === fromStage) throw syntaxError(file, line, `stage ${value} cannot read from itself`);
      return { kind: 'stage', stage: index };
    }
    const byName = headers.findIndex((h) => h.name === value.toLowerCase());
    if (byName === fromStage) throw syntaxError(file, line, `stage ${JSON.stringify(value)} cannot read from itself`);
    if (byName >= 0) return { kind: 'stage', stage: byName };
    return { kind: 'image', reference: value };
  };

  const configCache = new Map<string, Promise<ImageConfig>>();
  const resolveConfig = (reference: string, platform: Platform) => {
    const key = `${reference}\n${JSON.stringify(platform)}`;
    let config = configCache.get(key);
    if (!config) {
      config = input.resolveImageConfig(reference, platform);
      configCache.set(key, config);
    }
    return config;
  };

  const compiled: StagePlan[] = [];
  const declaredAnywhere = new Set(globalArgs.declared.keys());
  for (const [index, header] of headers.entries()) {
    const fromIns = header.from;
    const { flags, rest } = splitFlags(fromIns.original);
    for (const flag of flags) if (flag.name !== 'platform') throw syntaxError(file, fromIns.line, `unknown flag: --${flag.name}`);
    const platformFlag = flags.find((f) => f.name === 'platform');
    let platform = input.platform;
    if (platformFlag) {
      try {
        platform = normalizePlatform(parsePlatform(expandGlobal(fromIns, platformFlag.value ?? '')));
      } catch (err) {
        throw syntaxError(file, fromIns.line, `FROM --platform: ${(err as Error).message}`);
      }
    }
    const imageWord = rest.trim().split(/\s+/)[0]!;
    const image = expandGlobal(fromIns, imageWord);
    if (image === '') throw syntaxError(file, fromIns.line, `FROM: base name (${imageWord}) should not be blank`);
    // A FROM names an earlier stage, else an image (a later stage's name is an image, as BuildKit reads it).
    const earlier = headers.slice(0, index).findIndex((h) => h.name === image.toLowerCase());
    let base: StageBase;
    let baseConfig: ImageConfig;
    if (earlier >= 0) {
      base = { kind: 'stage', stage: earlier };
      const parent = compiled[earlier]!;
      platform = platformFlag ? platform : parent.platform;
      baseConfig = { ...parent.baseConfig, config: parent.finalConfig };
    } else if (image.toLowerCase() === 'scratch') {
      base = { kind: 'scratch' };
      baseConfig = scratchConfig(platform);
    } else {
      base = { kind: 'image', reference: image };
      baseConfig = await resolveConfig(image, platform);
    }

    const triggers = baseConfig.config?.OnBuild ?? [];
    // A base's ONBUILD triggers run now and are not passed on to this image.
    const startConfig: ContainerConfig = { ...(baseConfig.config ?? {}) };
    delete startConfig.OnBuild;
    const state: StageState = {
      file, escape: parsed.escape, config: startConfig, args: new ArgScope(input.buildArgs, inherited),
      cmdSet: false, steps: [], resolveFrom: resolveFrom(index),
    };
    for (const trigger of triggers) {
      try {
        for (const ins of parseDockerfile(trigger, file).instructions) compileInstruction(state, { ...ins, line: fromIns.line });
      } catch (err) {
        if (!(err instanceof BerthError) || err.code !== 'DOCKERFILE_INVALID') throw err;
        const problem = err.message.replace(/^[^:]*:\d+: /, '');
        throw syntaxError(file, fromIns.line, `ONBUILD trigger ${JSON.stringify(trigger)} of ${image}: ${problem}`);
      }
    }
    for (const ins of header.body) compileInstruction(state, ins);
    for (const name of state.args.declared.keys()) declaredAnywhere.add(name);
    compiled.push({
      dockerfileIndex: index, ...(header.name ? { name: header.name } : {}), base, platform,
      baseConfig: { ...baseConfig, config: startConfig }, steps: state.steps, finalConfig: state.config,
    });
  }

  let target = compiled.length - 1;
  if (input.target !== undefined) {
    target = headers.findIndex((h) => h.name === input.target!.toLowerCase());
    if (target < 0) throw new BerthError('DOCKERFILE_INVALID', `${file}: target stage ${JSON.stringify(input.target)} could not be found`);
  }
  const order = neededStages(compiled, target, file);
  const position = new Map(order.map((dockerfileIndex, i) => [dockerfileIndex, i]));
  const unusedBuildArgs = Object.keys(input.buildArgs).filter((k) => !declaredAnywhere.has(k) && !proxyArgs.has(k)).sort();
  return { stages: order.map((i) => remapStage(compiled[i]!, position)), target: position.get(target)!, ...(unusedBuildArgs.length > 0 ? { unusedBuildArgs } : {}) };
}
