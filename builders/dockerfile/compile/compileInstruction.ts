import { posix } from 'node:path';
import type { ContainerConfig } from '../../../src/oci/config.js';
import { expandHeredoc, expandWord, expandWords, ExpansionError } from '../expand/expandWord.js';
import { splitQuotedWords, syntaxError, type ParsedInstruction } from '../parse/parseDockerfile.js';
import type { ConfigStep, CopyStep, MountFrom, RunMount, RunStep, Step } from '../plan.js';
import { proxyArgs, type ArgScope } from './buildArgs.js';
import { parseGoDuration } from './goDuration.js';
import { MountError, parseRunMount } from './runMounts.js';

const defaultShell = ['/bin/sh', '-c'];
/** buildah writes every history entry as if run by /bin/sh -c, whatever SHELL says. */
const historyShell = '/bin/sh -c';

/** What compiling a stage's instructions carries from one to the next. */
export interface StageState {
  file: string;
  escape: string;
  config: ContainerConfig;
  args: ArgScope;
  /** A CMD was set in this stage (so ENTRYPOINT keeps it; an inherited one it resets). */
  cmdSet: boolean;
  steps: Step[];
  /** `--from=` / `from=` value → a stage (by Dockerfile index) or an image. */
  resolveFrom(value: string, line: number): MountFrom;
}

function envLookup(env: readonly string[] | undefined, name: string): string | undefined {
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if ((eq < 0 ? entry : entry.slice(0, eq)) === name) return eq < 0 ? '' : entry.slice(eq + 1);
  }
  return undefined;
}

function withEnv(env: readonly string[] | undefined, name: string, value: string): string[] {
  const out = [...(env ?? [])];
  const at = out.findIndex((e) => e === name || e.startsWith(`${name}=`));
  if (at >= 0) out[at] = `${name}=${value}`;
  else out.push(`${name}=${value}`);
  return out;
}

/** ENV wins over an ARG of the same name (Docker's rule). */
function lookupIn(state: StageState) {
  return (name: string): string | undefined => envLookup(state.config.Env, name) ?? state.args.value(name);
}

function fail(state: StageState, ins: ParsedInstruction, problem: string): never {
  throw syntaxError(state.file, ins.line, problem);
}

function guard<T>(state: StageState, ins: ParsedInstruction, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ExpansionError || err instanceof MountError) fail(state, ins, `${ins.keyword}: ${err.message}`);
    throw err;
  }
}

function expand(state: StageState, ins: ParsedInstruction, text: string): string {
  return guard(state, ins, () => expandWord(text, lookupIn(state), state.escape));
}

/** The JSON (exec) form, or undefined when the text is not a JSON list of strings (then it is shell form). */
function jsonForm(text: string): string[] | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) return undefined;
  try {
    const value = JSON.parse(trimmed) as unknown;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // not JSON: shell form, as Docker treats it
  }
  return undefined;
}

function shellOf(state: StageState): string[] {
  return state.config.Shell && state.config.Shell.length > 0 ? state.config.Shell : defaultShell;
}

/** Everything textual the step's result depends on (no secret values: those never reach the plan). */
function cacheTextOf(state: StageState, instruction: unknown): string {
  const args = state.args.withValues().filter(([k]) => !proxyArgs.has(k));
  return JSON.stringify({ instruction, args, env: state.config.Env ?? [], user: state.config.User ?? '', workdir: state.config.WorkingDir ?? '', shell: shellOf(state) });
}

function nopCreatedBy(ins: ParsedInstruction): string {
  return `${historyShell} #(nop) ${ins.keyword} ${ins.original}`;
}

function checkFlags(state: StageState, ins: ParsedInstruction, allowed: string[]): void {
  for (const flag of ins.flags) if (!allowed.includes(flag.name)) fail(state, ins, `unknown flag: --${flag.name}`);
}

function flagValue(ins: ParsedInstruction, name: string): string | undefined {
  const flag = [...ins.flags].reverse().find((f) => f.name === name);
  return flag === undefined ? undefined : (flag.value ?? 'true');
}

function boolFlag(state: StageState, ins: ParsedInstruction, name: string): boolean {
  const value = flagValue(ins, name);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  fail(state, ins, `invalid value for --${name}: ${value}`);
}

/** Go writes map keys sorted, so the config bytes (and digest) match the reference builders'. */
function sortedMap<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function configStep(state: StageState, ins: ParsedInstruction, expanded: unknown, apply: (c: ContainerConfig) => ContainerConfig, extra: Partial<ConfigStep> = {}): void {
  const step: ConfigStep = { kind: 'config', instruction: ins.keyword, line: ins.line, createdBy: nopCreatedBy(ins), cacheText: cacheTextOf(state, [ins.keyword, expanded]), apply, history: true, ...extra };
  state.steps.push(step);
  state.config = apply(state.config);
}

/** `K=V K2="v 2"` pairs, or ENV/LABEL's one-pair legacy form `K value with spaces`; values expanded against the env before this instruction. */
function nameValues(state: StageState, ins: ParsedInstruction, valueRequired: boolean): [string, string | undefined][] {
  const words = splitQuotedWords(ins.args, state.escape);
  if (words.length === 0) fail(state, ins, `${ins.keyword} requires at least one argument`);
  if (valueRequired && !words[0]!.includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(ins.args.trim());
    if (!m) fail(state, ins, `${ins.keyword} must have two arguments`);
    return [[m[1]!, expand(state, ins, m[2]!)]];
  }
  return words.map((word): [string, string | undefined] => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      if (valueRequired) fail(state, ins, `Syntax error - can't find = in "${word}". Must be of the form: name=value`);
      return [expand(state, ins, word), undefined];
    }
    const name = expand(state, ins, word.slice(0, eq));
    if (name === '') fail(state, ins, `${ins.keyword} names can not be blank`);
    return [name, expand(state, ins, word.slice(eq + 1))];
  });
}

function compileEnv(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const pairs = nameValues(state, ins, true) as [string, string][];
  configStep(state, ins, pairs, (c) => {
    let env = c.Env ?? [];
    for (const [k, v] of pairs) env = withEnv(env, k, v);
    return { ...c, Env: env };
  });
}

function compileLabel(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const pairs = nameValues(state, ins, true) as [string, string][];
  configStep(state, ins, pairs, (c) => ({ ...c, Labels: sortedMap({ ...(c.Labels ?? {}), ...Object.fromEntries(pairs) }) }));
}

function compileArg(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  for (const [name, defaultValue] of nameValues(state, ins, false)) state.args.declare(name, defaultValue);
  // buildah records the names the stage has declared so far, sorted.
  const names = [...state.args.declared.keys()].sort();
  state.steps.push({
    kind: 'config', instruction: 'ARG', line: ins.line, createdBy: `${historyShell} #(nop) ARG ${names.join(' ')}`,
    cacheText: cacheTextOf(state, ['ARG', names]), apply: (c) => c, history: true,
  });
}

function commandOf(state: StageState, ins: ParsedInstruction): string[] {
  return jsonForm(ins.args) ?? [...shellOf(state), ins.args.trim()];
}

function compileCmd(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const cmd = commandOf(state, ins);
  configStep(state, ins, cmd, (c) => ({ ...c, Cmd: cmd }));
  state.cmdSet = true;
}

function compileEntrypoint(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const entrypoint = commandOf(state, ins);
  const resetCmd = !state.cmdSet;
  configStep(state, ins, entrypoint, (c) => (resetCmd ? { ...c, Entrypoint: entrypoint, Cmd: null } : { ...c, Entrypoint: entrypoint }));
}

function compileShell(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const shell = jsonForm(ins.args);
  if (!shell || shell.length === 0) fail(state, ins, 'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
  configStep(state, ins, shell, (c) => ({ ...c, Shell: shell }));
}

function compileUser(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const user = expand(state, ins, ins.args.trim());
  if (user === '') fail(state, ins, 'USER requires an argument');
  configStep(state, ins, user, (c) => ({ ...c, User: user }));
}

function compileStopSignal(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const signal = expand(state, ins, ins.args.trim());
  if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/i.test(signal)) fail(state, ins, `invalid signal: ${JSON.stringify(signal)}`);
  configStep(state, ins, signal, (c) => ({ ...c, StopSignal: signal }));
}

function compileMaintainer(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const author = ins.args.trim();
  configStep(state, ins, author, (c) => c, { author });
}

function compileExpose(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const words = guard(state, ins, () => expandWords(ins.args, lookupIn(state), state.escape));
  if (words.length === 0) fail(state, ins, 'EXPOSE requires at least one argument');
  const ports: string[] = [];
  for (const word of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(word);
    if (!m) fail(state, ins, `invalid port: ${JSON.stringify(word)}`);
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    if (high < low || high > 65535) fail(state, ins, `invalid port range: ${word}`);
    for (let p = low; p <= high; p++) ports.push(`${p}/${proto}`);
  }
  configStep(state, ins, ports, (c) => ({ ...c, ExposedPorts: sortedMap({ ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) }) }));
}

function compileVolume(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  // Each element of the JSON form is a word BuildKit expands too.
  const json = jsonForm(ins.args);
  const volumes = (json ? json.map((v) => expand(state, ins, v)) : guard(state, ins, () => expandWords(ins.args, lookupIn(state), state.escape))).map((v) => v.trim());
  if (volumes.length === 0 || volumes.some((v) => v === '')) fail(state, ins, 'VOLUME specified can not be an empty string');
  configStep(state, ins, volumes, (c) => ({ ...c, Volumes: sortedMap({ ...(c.Volumes ?? {}), ...Object.fromEntries(volumes.map((v) => [v, {}])) }) }));
}

function compileHealthcheck(state: StageState, ins: ParsedInstruction): void {
  const words = ins.args.trim().split(/\s+/);
  const type = (words[0] ?? '').toUpperCase();
  if (type === 'NONE') {
    if (words.length > 1 || ins.flags.length > 0) fail(state, ins, 'HEALTHCHECK NONE takes no arguments');
    configStep(state, ins, ['NONE'], (c) => ({ ...c, Healthcheck: { Test: ['NONE'] } }));
    return;
  }
  if (type !== 'CMD') fail(state, ins, `unknown type for HEALTHCHECK: ${JSON.stringify(words[0] ?? '')} (expected CMD or NONE)`);
  checkFlags(state, ins, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
  const rest = ins.args.trim().slice(3).trim();
  if (rest === '') fail(state, ins, 'HEALTHCHECK CMD requires a command');
  const exec = jsonForm(rest);
  const health: Record<string, unknown> = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', rest] };
  const durations: [string, string][] = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']];
  for (const [flag, field] of durations) {
    const value = flagValue(ins, flag);
    if (value === undefined) continue;
    const ns = parseGoDuration(value);
    if (ns === undefined || ns < 0) fail(state, ins, `invalid duration for --${flag}: ${value}`);
    if (ns > 0) health[field] = ns;
  }
  const retries = flagValue(ins, 'retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) fail(state, ins, `invalid value for --retries: ${retries}`);
    if (Number(retries) > 0) health.Retries = Number(retries);
  }
  configStep(state, ins, health, (c) => ({ ...c, Healthcheck: health }));
}

const forbiddenTriggers = new Set(['ONBUILD', 'FROM', 'MAINTAINER']);

function compileOnbuild(state: StageState, ins: ParsedInstruction): void {
  const trigger = ins.original.trim();
  const keyword = (trigger.split(/\s+/)[0] ?? '').toUpperCase();
  if (keyword === '') fail(state, ins, 'ONBUILD requires an instruction');
  if (forbiddenTriggers.has(keyword)) fail(state, ins, `${keyword} isn't allowed as an ONBUILD trigger`);
  configStep(state, ins, trigger, (c) => ({ ...c, OnBuild: [...(c.OnBuild ?? []), trigger] }));
}

function compileWorkdir(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, []);
  const written = expand(state, ins, ins.args.trim());
  if (written === '') fail(state, ins, 'WORKDIR requires an argument');
  const path = posix.resolve(state.config.WorkingDir || '/', written);
  const cacheText = cacheTextOf(state, ['WORKDIR', path]);
  state.steps.push({ kind: 'workdir', line: ins.line, createdBy: nopCreatedBy(ins), cacheText, path, user: state.config.User ?? '' });
  state.config = { ...state.config, WorkingDir: path };
}

/** What a RUN's PATH is when the image sets none, and a scratch stage's Env (BuildKit's and buildah's default for Linux). */
export const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment a RUN sees: the config's Env, then the declared ARGs (and given proxy args) ENV does not shadow. */
function runEnv(state: StageState): string[] {
  const env = [...(state.config.Env ?? [])];
  if (envLookup(env, 'PATH') === undefined) env.unshift(defaultPath);
  for (const [k, v] of [...state.args.withValues(), ...state.args.undeclaredProxies()]) {
    if (envLookup(env, k) === undefined) env.push(`${k}=${v}`);
  }
  return env;
}

function compileRun(state: StageState, ins: ParsedInstruction): void {
  checkFlags(state, ins, ['mount', 'network', 'security']);
  const workdir = state.config.WorkingDir || '/';
  const mounts: RunMount[] = [];
  let sshIndex = 0;
  for (const flag of ins.flags.filter((f) => f.name === 'mount')) {
    const spec = expand(state, ins, flag.value ?? '');
    const mount = guard(state, ins, () => parseRunMount(spec, workdir, (from) => state.resolveFrom(from, ins.line), sshIndex));
    if (mount.type === 'ssh') sshIndex++;
    mounts.push(mount);
  }
  const network = flagValue(ins, 'network') ?? 'default';
  if (network !== 'default' && network !== 'none' && network !== 'host') fail(state, ins, `unsupported network mode: ${network}`);
  const security = flagValue(ins, 'security');
  if (security !== undefined && security !== 'sandbox') fail(state, ins, `--security=${security} is not supported`);
  const exec = jsonForm(ins.args);
  if (exec && ins.heredocs.length > 0) fail(state, ins, 'heredocs are not supported with the JSON form of RUN');
  if (exec && exec.length === 0) fail(state, ins, 'RUN requires a command');
  if (!exec && ins.args.trim() === '') fail(state, ins, 'RUN requires a command');
  const inputs: RunStep['inputs'] = [];
  let args: string[];
  const only = ins.heredocs.length === 1 && /^<<-?["']?[^\s"']+["']?$/.test(ins.args.trim()) ? ins.heredocs[0] : undefined;
  if (exec) {
    args = exec;
  } else if (only) {
    // `RUN <<EOF`: the body is a script file. With a #! line the kernel runs its interpreter (`sh -c FILE`);
    // without, the shell reads the file itself (`sh FILE`): the same for the script, and no shell has to re-execute
    // itself to run it (BusyBox would through /proc/self/exe, which a chroot in a pod lacks).
    const path = `/dev/pipes/${only.name}`;
    inputs.push({ path, content: only.content, mode: 0o755 });
    const shell = shellOf(state);
    args = only.content.startsWith('#!') || shell.at(-1) !== '-c' ? [...shell, path] : [...shell.slice(0, -1), path];
  } else if (ins.heredocs.length > 0) {
    // `RUN python3 <<EOF` and friends: the shell reads the heredocs itself, from the text as written.
    args = [...shellOf(state), [ins.args, ...ins.heredocs.map((h) => h.raw)].join('\n')];
  } else {
    args = [...shellOf(state), ins.args.trim()];
  }
  // buildah shows each declared ARG with the value the RUN sees (an ENV of the same name wins), and the flags as written.
  const shown = state.args.withValues().filter(([k]) => !proxyArgs.has(k)).map(([k, v]) => `${k}=${envLookup(state.config.Env, k) ?? v}`);
  const prefix = shown.length > 0 ? `|${shown.length} ${shown.join(' ')} ` : '';
  const step: RunStep = {
    kind: 'run', line: ins.line, createdBy: `${prefix}${historyShell} ${ins.original}`,
    cacheText: cacheTextOf(state, ['RUN', args, inputs, mounts, network]),
    args, env: runEnv(state), user: state.config.User ?? '', workdir, inputs, mounts, network,
  };
  state.steps.push(step);
}

function compileCopy(state: StageState, ins: ParsedInstruction): void {
  const isAdd = ins.keyword === 'ADD';
  checkFlags(state, ins, isAdd ? ['chown', 'chmod', 'link', 'exclude', 'checksum', 'keep-git-dir'] : ['from', 'chown', 'chmod', 'link', 'parents', 'exclude']);
  const heredocNames = new Set(ins.heredocs.map((h) => h.name));
  const json = jsonForm(ins.args);
  const words = (json ?? ins.args.trim().split(/\s+/).filter((w) => w !== '')).filter((w) => {
    const m = /^<<-?["']?([^"']+)["']?$/.exec(w);
    return !(m && heredocNames.has(m[1]!));
  });
  const expanded = words.map((w) => expand(state, ins, w));
  if (expanded.length + ins.heredocs.length < 2 || expanded.length < 1) fail(state, ins, `${ins.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
  const written = expanded[expanded.length - 1]!;
  const sources = expanded.slice(0, -1);
  const workdir = state.config.WorkingDir || '/';
  const trailing = written.endsWith('/') || written === '.' || written.endsWith('/.');
  let dest = posix.resolve(workdir, written);
  if (trailing && dest !== '/') dest += '/';
  const fromValue = flagValue(ins, 'from');
  const from: MountFrom = fromValue === undefined ? { kind: 'context' } : state.resolveFrom(expand(state, ins, fromValue), ins.line);
  const chownValue = flagValue(ins, 'chown');
  const chown = chownValue === undefined ? undefined : expand(state, ins, chownValue);
  const chmodValue = flagValue(ins, 'chmod');
  let chmod: number | undefined;
  if (chmodValue !== undefined) {
    const text = expand(state, ins, chmodValue);
    if (!/^[0-7]{3,4}$/.test(text)) fail(state, ins, `invalid --chmod value ${JSON.stringify(text)}: octal mode expected`);
    chmod = parseInt(text, 8);
  }
  const exclude = ins.flags.filter((f) => f.name === 'exclude').map((f) => expand(state, ins, f.value ?? ''));
  const checksumValue = flagValue(ins, 'checksum');
  const checksum = checksumValue === undefined ? undefined : expand(state, ins, checksumValue);
  if (checksum !== undefined && !/^sha(256|384|512):[0-9a-f]+$/.test(checksum)) fail(state, ins, `invalid --checksum ${JSON.stringify(checksum)}`);
  if (checksum !== undefined && !sources.every((s) => /^https?:\/\//.test(s))) fail(state, ins, '--checksum is only supported with HTTP(S) sources');
  const heredocs = ins.heredocs.map((h) => ({ name: h.name, content: h.expand ? guard(state, ins, () => expandHeredoc(h.content, lookupIn(state))) : h.content }));
  const step: CopyStep = {
    kind: 'copy', instruction: isAdd ? 'ADD' : 'COPY', line: ins.line,
    createdBy: `${historyShell} #(nop) ${ins.keyword} ${[...sources, ...heredocs.map((h) => h.name)].join(' ')} in ${written} `,
    cacheText: '', from, sources, heredocs, dest,
    ...(chown !== undefined ? { chown } : {}), ...(chmod !== undefined ? { chmod } : {}),
    link: boolFlag(state, ins, 'link'), parents: boolFlag(state, ins, 'parents'), exclude,
    ...(checksum !== undefined ? { checksum } : {}), ...(isAdd && flagValue(ins, 'keep-git-dir') !== undefined ? { keepGitDir: boolFlag(state, ins, 'keep-git-dir') } : {}),
    user: state.config.User ?? '',
  };
  step.cacheText = cacheTextOf(state, [step.instruction, from, sources, heredocs, dest, chown ?? null, chmod ?? null, step.link, step.parents, exclude, checksum ?? null, step.keepGitDir ?? null]);
  state.steps.push(step);
}

const handlers: Record<string, (state: StageState, ins: ParsedInstruction) => void> = {
  ADD: compileCopy,
  ARG: compileArg,
  CMD: compileCmd,
  COPY: compileCopy,
  ENTRYPOINT: compileEntrypoint,
  ENV: compileEnv,
  EXPOSE: compileExpose,
  HEALTHCHECK: compileHealthcheck,
  LABEL: compileLabel,
  MAINTAINER: compileMaintainer,
  ONBUILD: compileOnbuild,
  RUN: compileRun,
  SHELL: compileShell,
  STOPSIGNAL: compileStopSignal,
  USER: compileUser,
  VOLUME: compileVolume,
  WORKDIR: compileWorkdir,
};

/** One instruction of a stage (not FROM) into its step, updating the stage's config, ARGs and CMD flag. */
export function compileInstruction(state: StageState, ins: ParsedInstruction): void {
  const handler = handlers[ins.keyword];
  if (!handler) fail(state, ins, `unknown instruction ${ins.keyword}`);
  handler(state, ins);
}
