import type { ContainerConfig, ImageConfig } from '../../src/oci/config.js';
import type { Platform } from '../../src/oci/platform.js';

/**
 * A Dockerfile compiled before anything runs (BuildKit's idea): every word
 * expanded, every stage's base known, stages the target does not need pruned.
 * `compileDockerfile` (compile/) makes it; `executePlan` (execute/) runs it.
 * Nothing here touches the filesystem of a stage: steps are descriptions.
 */
export interface BuildPlan {
  /** The stages the target needs, in an order where a stage comes after every stage it reads from. */
  stages: StagePlan[];
  /** Index into `stages` of the stage whose result is the image. */
  target: number;
  /** --build-arg names no ARG of the Dockerfile declares (BuildKit warns: "build-args [..] were not consumed"). */
  unusedBuildArgs?: string[];
}

export interface StagePlan {
  /** Position of the FROM in the Dockerfile (0-based), for messages and `--from=N`. */
  dockerfileIndex: number;
  name?: string;
  base: StageBase;
  /** The platform this stage is built for (FROM --platform, else the build's target platform). */
  platform: Platform;
  /**
   * The base's config as the stage starts from it (scratch: empty), ONBUILD triggers already turned into steps.
   * For a stage base its `config` is that stage's finalConfig; rootfs and history come from the built stage.
   */
  baseConfig: ImageConfig;
  steps: Step[];
  /** The config after every step: what the stage's image carries (history excluded; the executor writes it). */
  finalConfig: ContainerConfig;
}

export type StageBase =
  | { kind: 'scratch' }
  /** A berth image reference as the user wrote it after expansion (short names are the executor's to resolve). */
  | { kind: 'image'; reference: string }
  /** Another stage of this plan, by index into `BuildPlan.stages`. */
  | { kind: 'stage'; stage: number };

export type Step = RunStep | CopyStep | WorkdirStep | ConfigStep;

interface StepCommon {
  /** Dockerfile line (1-based) of the instruction, for progress and errors. */
  line: number;
  /** The instruction as buildah records it in history `created_by` (e.g. `/bin/sh -c #(nop) ENV A=b`, `|1 X=y /bin/sh -c make`). */
  createdBy: string;
  /**
   * Everything textual that can change this step's result, canonical and free of secret values: the expanded
   * instruction with its flags, the ARG values and ENV it can see, the user, workdir and shell. The executor adds
   * what only it knows (parent chain, input digests, platform, isolation) to make the cache key.
   */
  cacheText: string;
}

/** RUN. The executor runs `args` in the stage's rootfs and snapshots what changed into one layer. */
export interface RunStep extends StepCommon {
  kind: 'run';
  /** Final argv: shell form already wrapped with the stage's SHELL. */
  args: string[];
  /** Environment of the process: the config's Env plus the ARGs the stage declared (ARGs are not persisted). */
  env: string[];
  /** USER in effect, unresolved ("app", "1000:1000", "" = root); the executor resolves names in the stage's rootfs. */
  user: string;
  /** WORKDIR in effect (absolute). */
  workdir: string;
  /** Files that exist only while this RUN runs (heredocs), never in the layer. Paths absolute in the container. */
  inputs: { path: string; content: string; mode: number }[];
  /** When set, the process reads this on stdin (e.g. `RUN python3 <<EOF`). */
  stdin?: string;
  mounts: RunMount[];
  network: 'default' | 'none' | 'host';
}

export type RunMount =
  | { type: 'bind'; target: string; source: string; from?: MountFrom; readwrite: boolean }
  | { type: 'cache'; target: string; id: string; sharing: 'shared' | 'private' | 'locked'; readonly: boolean; from?: MountFrom; source?: string; mode?: number; uid?: number; gid?: number }
  | { type: 'tmpfs'; target: string; size?: number }
  | { type: 'secret'; target: string; id: string; required: boolean; env?: string; mode: number; uid: number; gid: number }
  | { type: 'ssh'; target: string; id: string; required: boolean; mode: number; uid: number; gid: number };

/** Where files come from: the build context, another stage, or an image. */
export type MountFrom = { kind: 'context' } | { kind: 'stage'; stage: number } | { kind: 'image'; reference: string };

/** COPY and ADD. The executor resolves `sources` against `from` (with .dockerignore for the context) and writes one layer. */
export interface CopyStep extends StepCommon {
  // createdBy lists the sources as written (`/bin/sh -c #(nop) COPY a b in /dst/ `); buildah writes
  // `file:<sha256>`, `dir:<sha256>` or `multi:<sha256>` of the copied content there, which only the executor knows.
  kind: 'copy';
  instruction: 'COPY' | 'ADD';
  from: MountFrom;
  /** Source patterns as written (expanded), relative to the context or the stage's root; http(s) URLs for ADD. */
  sources: string[];
  /** Inline files from heredocs (`COPY <<EOF /dest`). */
  heredocs: { name: string; content: string }[];
  /** Destination as written, made absolute against the WORKDIR; a trailing "/" kept (it means "a directory"). */
  dest: string;
  /** --chown as written (names resolved by the executor in the stage's /etc/passwd and /etc/group). */
  chown?: string;
  /** --chmod, parsed from octal. */
  chmod?: number;
  link: boolean;
  parents: boolean;
  exclude: string[];
  /** ADD --checksum=sha256:... */
  checksum?: string;
  /** ADD --keep-git-dir */
  keepGitDir?: boolean;
  /** The USER in effect; COPY without --chown gives root:root as Docker does, this is for history and cache only. */
  user: string;
}

/** WORKDIR: the directory is created (owned as BuildKit owns it) and the config changes. */
export interface WorkdirStep extends StepCommon {
  kind: 'workdir';
  path: string;
  /** The USER in effect, which owns a WORKDIR created by this step (BuildKit's behaviour). */
  user: string;
}

/** ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, SHELL, HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER, ARG: no layer. */
export interface ConfigStep extends StepCommon {
  kind: 'config';
  instruction: string;
  /** Pure: the container config after this instruction. */
  apply(config: ContainerConfig): ContainerConfig;
  /** Whether the step leaves a history entry. */
  history: boolean;
  /** MAINTAINER: the image's `author` (outside the container config, so not something `apply` can set). */
  author?: string;
}

/** What `compileDockerfile` needs from outside: the Dockerfile and a way to read base images' configs. */
export interface CompileInput {
  /** Dockerfile text, and the name used in messages (`Dockerfile:3: ...`). */
  text: string;
  file: string;
  buildArgs: Record<string, string>;
  target?: string;
  /** The platform of the image being built (TARGETPLATFORM); the build host's is BUILDPLATFORM. */
  platform: Platform;
  buildPlatform: Platform;
  /** The config of a base image (for its ENV, ONBUILD, Shell, ...). Called once per distinct reference and platform. */
  resolveImageConfig(reference: string, platform: Platform): Promise<ImageConfig>;
}
