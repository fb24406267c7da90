import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileDockerfile } from '../../../builders/dockerfile/compile/compileDockerfile.js';
import type { BuildPlan, ConfigStep, CopyStep, RunStep, StagePlan, Step, WorkdirStep } from '../../../builders/dockerfile/plan.js';
import type { ContainerConfig, ImageConfig } from '../../../src/oci/config.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

interface Options {
  buildArgs?: Record<string, string>;
  target?: string;
  bases?: Record<string, ContainerConfig>;
}

/** Compile with a base resolver that knows `bases` (anything else: a plain config with PATH) and records its calls. */
async function compile(text: string, options: Options = {}): Promise<BuildPlan & { resolved: string[] }> {
  const resolved: string[] = [];
  const plan = await compileDockerfile({
    text, file: 'Dockerfile', buildArgs: options.buildArgs ?? {}, platform: arm64, buildPlatform: amd64,
    ...(options.target ? { target: options.target } : {}),
    resolveImageConfig: async (reference, platform): Promise<ImageConfig> => {
      resolved.push(`${reference} ${platform.architecture}`);
      const config = options.bases?.[reference] ?? { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] };
      return { architecture: platform.architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config };
    },
  });
  return { ...plan, resolved };
}

function target(plan: BuildPlan): StagePlan {
  return plan.stages[plan.target]!;
}

function runs(stage: StagePlan): RunStep[] {
  return stage.steps.filter((s): s is RunStep => s.kind === 'run');
}

function copies(stage: StagePlan): CopyStep[] {
  return stage.steps.filter((s): s is CopyStep => s.kind === 'copy');
}

async function rejects(text: string, message: RegExp, options: Options = {}): Promise<void> {
  await assert.rejects(compile(text, options), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'DOCKERFILE_INVALID');
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

test('parsing: continuations join lines, comment and blank lines inside them are dropped, directives are read', async () => {
  const plan = await compile('# syntax=docker/dockerfile:1\n# check=skip=all\nFROM base\nRUN echo a \\\n  # a comment\n\n  b \\   \n  c\nENV X=1\n');
  const [run] = runs(target(plan));
  assert.deepEqual(run!.args, ['/bin/sh', '-c', 'echo a   b   c']);
  assert.equal(run!.line, 4);
  assert.equal(target(plan).steps[1]!.line, 9);
});

test('parsing: # escape=` makes the backtick the continuation and escape character', async () => {
  const plan = await compile('# escape=`\nFROM base\nRUN dir C:\\x `\n  && echo done\nENV P=C:\\app X=`$Y\n');
  assert.deepEqual(runs(target(plan))[0]!.args, ['/bin/sh', '-c', 'dir C:\\x   && echo done']);
  assert.deepEqual(target(plan).finalConfig.Env, ['PATH=/usr/bin:/bin', 'P=C:\\app', 'X=$Y']);
});

test('errors name the file, the line and the problem in one line', async () => {
  await rejects('FROM base\nRUN true\nFORM x\n', /^Dockerfile:3: unknown instruction FORM$/);
  await rejects('FROM base\nCOPY <<EOF /x\nno end\n', /^Dockerfile:2: unterminated heredoc EOF$/);
  await rejects('RUN true\nFROM base\n', /^Dockerfile:1: RUN before the first FROM/);
  await rejects('ARG X\n', /no FROM instruction/);
  await rejects('FROM base\nENV X\n', /^Dockerfile:2: ENV must have two arguments/);
  await rejects('FROM base\nSHELL /bin/bash\n', /^Dockerfile:2: SHELL requires the arguments to be in JSON form/);
  await rejects('FROM base\nCOPY onlyone\n', /^Dockerfile:2: COPY requires at least two arguments/);
  await rejects('FROM base\nRUN --mount=type=nfs,target=/x true\n', /^Dockerfile:2: RUN: unsupported mount type "nfs"/);
  await rejects('FROM base\nRUN --network=bridge true\n', /^Dockerfile:2: unsupported network mode: bridge/);
  await rejects('FROM base\nCOPY --chmod=u+x a /b\n', /^Dockerfile:2: invalid --chmod value/);
  await rejects('FROM base\nCOPY --frm=x a /b\n', /^Dockerfile:2: unknown flag: --frm/);
  await rejects('FROM base\nWORKDIR ${X:?is required}\n', /^Dockerfile:2: WORKDIR: X: is required$/);
  await rejects('FROM base\nEXPOSE 80/tcp abc\n', /^Dockerfile:2: invalid port: "abc"/);
  await rejects('FROM base\nHEALTHCHECK --interval=5x CMD true\n', /^Dockerfile:2: invalid duration for --interval: 5x/);
  await rejects('FROM base\nONBUILD FROM x\n', /^Dockerfile:2: FROM isn't allowed as an ONBUILD trigger/);
  await rejects('FROM a AS x\nFROM b AS X\n', /^Dockerfile:2: duplicate stage name "x"/);
  await rejects('FROM a AS 1x\n', /^Dockerfile:1: invalid name for build stage/);
  await rejects('# escape=x\nFROM a\n', /^Dockerfile:1: invalid escape token 'x'/);
  await rejects('ARG X\nFROM bad-base\n', /^Dockerfile:2: ONBUILD trigger "FORM x" of bad-base: unknown instruction FORM$/, { bases: { 'bad-base': { OnBuild: ['FORM x'] } } });
});

test('heredocs: RUN <<EOF is a script run by the shell; RUN python3 <<EOF hands the heredoc to the shell as written', async () => {
  const plan = await compile('FROM base\nRUN <<EOF\necho one\necho $HOME\nEOF\nRUN python3 <<-"PY" > /out\n\tprint(1)\n\tPY\nRUN <<EOF sh\necho two\nEOF\nRUN <<A cat > /a && <<B cat > /b\na\nA\nb\nB\nENV AFTER=1\n');
  const [script, python, sh, two] = runs(target(plan));
  assert.deepEqual(script!.inputs, [{ path: '/dev/pipes/EOF', content: 'echo one\necho $HOME\n', mode: 0o755 }]);
  assert.deepEqual(script!.args, ['/bin/sh', '/dev/pipes/EOF']);
  const shebang = await compile('FROM base\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\nRUN <<EOF\necho plain\nEOF\n');
  assert.deepEqual(runs(target(shebang)).map((r) => r.args), [['/bin/bash', '-o', 'pipefail', '-c', '/dev/pipes/EOF'], ['/bin/bash', '-o', 'pipefail', '/dev/pipes/EOF']]);
  assert.deepEqual(python!.args, ['/bin/sh', '-c', 'python3 <<-"PY" > /out\n\tprint(1)\n\tPY']);
  assert.deepEqual(sh!.args, ['/bin/sh', '-c', '<<EOF sh\necho two\nEOF']);
  assert.deepEqual(two!.args, ['/bin/sh', '-c', '<<A cat > /a && <<B cat > /b\na\nA\nb\nB']);
  assert.equal(target(plan).steps.at(-1)!.line, 17);
  const fd = await compile('FROM base\nRUN 3<<EOF cat <&3\nFROM x\nEOF\n');
  assert.deepEqual(runs(target(fd))[0]!.args, ['/bin/sh', '-c', '3<<EOF cat <&3\nFROM x\nEOF']);
  assert.equal(fd.stages.length, 1);
  assert.deepEqual(target(plan).finalConfig.Env, ['PATH=/usr/bin:/bin', 'AFTER=1']);
});

test('heredocs: COPY expands an unquoted body, not a quoted one; <<- strips leading tabs; several in one COPY', async () => {
  const plan = await compile('FROM base\nARG NAME=world\nCOPY <<EOF <<-"RAW" /etc/\nhello $NAME "q"\nEOF\n\tkeep $NAME\n\tRAW\n');
  const [copy] = copies(target(plan));
  assert.deepEqual(copy!.heredocs, [{ name: 'EOF', content: 'hello world "q"\n' }, { name: 'RAW', content: 'keep $NAME\n' }]);
  assert.deepEqual(copy!.sources, []);
  assert.equal(copy!.dest, '/etc/');
});

test('expansion: which instructions the builder expands, with ENV over ARG and ENV seeing the values before it', async () => {
  const plan = await compile([
    'ARG TAG=1', 'FROM base:$TAG', 'ARG DIR=/srv', 'ENV DIR=/opt X=$DIR', 'ENV Y=$X', 'WORKDIR $DIR/app', 'WORKDIR sub',
    'USER ${U:-app}', 'LABEL "k $DIR"="v $DIR"', 'EXPOSE ${PORT:-80} 90-91/UDP', 'VOLUME $DIR/data ["/v"]', 'VOLUME ["$DIR/json"]', 'STOPSIGNAL ${SIG:-SIGTERM}',
    'COPY --chown=$U:${G:-0} --chmod=0640 src/$DIR dst/', 'RUN echo $DIR', 'CMD echo $DIR', 'ENTRYPOINT ["echo", "$DIR"]',
  ].join('\n'));
  const stage = target(plan);
  assert.deepEqual(stage.base, { kind: 'image', reference: 'base:1' });
  const c = stage.finalConfig;
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'DIR=/opt', 'X=/srv', 'Y=/srv']);
  assert.equal(c.WorkingDir, '/opt/app/sub');
  assert.deepEqual(stage.steps.filter((s): s is WorkdirStep => s.kind === 'workdir').map((s) => s.path), ['/opt/app', '/opt/app/sub']);
  assert.equal(c.User, 'app');
  assert.deepEqual(c.Labels, { 'k /opt': 'v /opt' });
  assert.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '90/udp', '91/udp']);
  // A JSON-looking word in the word form of VOLUME is just a word, its quotes removed by expansion as BuildKit does.
  assert.deepEqual(Object.keys(c.Volumes!), ['/opt/data', '/opt/json', '[/v]']);
  assert.equal(c.StopSignal, 'SIGTERM');
  const [copy] = copies(stage);
  assert.deepEqual([copy!.chown, copy!.chmod, copy!.sources, copy!.dest], [':0', 0o640, ['src//opt'], '/opt/app/sub/dst/']);
  // RUN, CMD and ENTRYPOINT are left to the shell.
  assert.deepEqual(runs(stage)[0]!.args, ['/bin/sh', '-c', 'echo $DIR']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo $DIR']);
  assert.deepEqual(c.Entrypoint, ['echo', '$DIR']);
});

test('ARG scoping: global ARGs only in FROM unless re-declared; build args override defaults; platform args when declared', async () => {
  const text = [
    'ARG BASE=alpine', 'ARG V=global', 'FROM --platform=$BUILDPLATFORM $BASE AS build', 'RUN echo no-args', 'ARG V', 'ARG TARGETARCH', 'ARG D=def',
    'RUN echo $V $TARGETARCH $D', 'FROM $BASE', 'ARG BUILDPLATFORM', 'RUN echo final', 'COPY --from=build /x /x',
  ].join('\n');
  const plan = await compile(text, { buildArgs: { D: 'given', UNUSED: 'x', BASE: 'alpine' } });
  const quoted = await compile('ARG IMG="base:with space" T=${IMG}\nFROM scratch\nARG IMG\nARG T\nRUN x\n');
  assert.deepEqual(runs(target(quoted))[0]!.env.slice(1), ['IMG=base:with space', 'T=base:with space']);
  assert.deepEqual(plan.unusedBuildArgs, ['UNUSED']);
  const [build, final] = plan.stages;
  assert.deepEqual(build!.platform, amd64);
  assert.deepEqual(final!.platform, arm64);
  assert.deepEqual(plan.resolved.sort(), ['alpine amd64', 'alpine arm64']);
  const [before, after] = runs(build!);
  const shadowed = await compile('FROM base\nARG S=arg\nENV S=env\nRUN echo $S\n');
  assert.equal(runs(target(shadowed))[0]!.createdBy, '|1 S=env /bin/sh -c echo $S');
  assert.deepEqual(before!.env, ['PATH=/usr/bin:/bin']);
  assert.equal(before!.createdBy, '/bin/sh -c echo no-args');
  assert.deepEqual(after!.env, ['PATH=/usr/bin:/bin', 'D=given', 'TARGETARCH=arm64', 'V=global']);
  assert.equal(after!.createdBy, '|3 D=given TARGETARCH=arm64 V=global /bin/sh -c echo $V $TARGETARCH $D');
  assert.deepEqual(runs(final!)[0]!.env, ['PATH=/usr/bin:/bin', 'BUILDPLATFORM=linux/amd64']);
  const argHistory = build!.steps.filter((s) => s.kind === 'config').map((s) => s.createdBy);
  assert.deepEqual(argHistory, ['/bin/sh -c #(nop) ARG V', '/bin/sh -c #(nop) ARG TARGETARCH V', '/bin/sh -c #(nop) ARG D TARGETARCH V']);
});

test('ARG scoping: an undeclared build arg leaves every cache text unchanged; a declared one changes it from its first use', async () => {
  const text = 'FROM base\nRUN echo before\nARG V\nRUN echo $V\nCOPY a /a\n';
  const texts = async (buildArgs: Record<string, string>) => target(await compile(text, { buildArgs })).steps.map((s: Step) => s.cacheText);
  const plain = await texts({});
  assert.deepEqual(await texts({ OTHER: '1' }), plain);
  const changed = await texts({ V: '1' });
  assert.equal(changed[0], plain[0]);
  assert.notEqual(changed[2], plain[2]);
  assert.notEqual(changed[3], plain[3]);
});

test('proxy args: every RUN sees them without an ARG; history and cache text never do', async () => {
  const text = 'FROM base\nARG X=1\nRUN echo hi\n';
  const withProxy = await compile(text, { buildArgs: { HTTP_PROXY: 'http://user:pw@proxy:3128' } });
  const without = await compile(text);
  const run = runs(target(withProxy))[0]!;
  assert.ok(run.env.includes('HTTP_PROXY=http://user:pw@proxy:3128'));
  assert.doesNotMatch(run.createdBy, /proxy/i);
  assert.equal(run.cacheText, runs(target(without))[0]!.cacheText);
});

test('CMD and ENTRYPOINT: shell form under SHELL; ENTRYPOINT resets an inherited CMD but keeps one set in the stage', async () => {
  const inherited = await compile('FROM base\nENTRYPOINT ["/app"]\n');
  assert.equal(target(inherited).finalConfig.Cmd, null);
  const own = await compile('FROM base\nSHELL ["/bin/bash", "-ec"]\nCMD run it\nENTRYPOINT exec app\n');
  assert.deepEqual(target(own).finalConfig.Cmd, ['/bin/bash', '-ec', 'run it']);
  assert.deepEqual(target(own).finalConfig.Entrypoint, ['/bin/bash', '-ec', 'exec app']);
});

test('HEALTHCHECK with flags, NONE, ONBUILD stored, MAINTAINER as author, ENV legacy form', async () => {
  const plan = await compile('FROM base\nHEALTHCHECK --interval=1m30s --timeout=5s --start-period=0s --retries=3 CMD ["curl", "-f", "x"]\nONBUILD RUN make\nMAINTAINER Jane <j@x>\nENV GREETING hello  big world\nLABEL one two\n');
  const c = target(plan).finalConfig;
  assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'curl', '-f', 'x'], Interval: 90e9, Timeout: 5e9, Retries: 3 });
  assert.deepEqual(c.OnBuild, ['RUN make']);
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'GREETING=hello  big world']);
  assert.deepEqual(c.Labels, { one: 'two' });
  const maintainer = target(plan).steps.find((s): s is ConfigStep => s.kind === 'config' && s.instruction === 'MAINTAINER');
  assert.equal(maintainer!.author, 'Jane <j@x>');
  const none = await compile('FROM base\nHEALTHCHECK NONE\n', { bases: { base: { Healthcheck: { Test: ['CMD', 'x'] } } } });
  assert.deepEqual(target(none).finalConfig.Healthcheck, { Test: ['NONE'] });
});

test('ONBUILD triggers of the base run first and are not passed on; config steps are pure', async () => {
  const plan = await compile('FROM app-base\nRUN echo own\n', { bases: { 'app-base': { Env: ['A=1'], OnBuild: ['ENV B=$A', 'COPY . /src', 'RUN make'] } } });
  const stage = target(plan);
  assert.deepEqual(stage.steps.map((s) => [s.kind, s.line]), [['config', 1], ['copy', 1], ['run', 1], ['run', 2]]);
  // As buildah records a triggered instruction: like one written in the Dockerfile.
  assert.deepEqual(stage.steps.map((s) => s.createdBy), ['/bin/sh -c #(nop) ENV B=$A', '/bin/sh -c #(nop) COPY . in /src ', '/bin/sh -c make', '/bin/sh -c echo own']);
  assert.deepEqual(stage.finalConfig, { Env: ['A=1', 'B=1'] });
  assert.equal(stage.baseConfig.config?.OnBuild, undefined);
  const env = stage.steps[0] as ConfigStep;
  const before: ContainerConfig = { Env: ['A=1'] };
  assert.deepEqual(env.apply(before), { Env: ['A=1', 'B=1'] });
  assert.deepEqual(before, { Env: ['A=1'] });
});

test('RUN flags: mounts of every type with defaults, --network', async () => {
  const plan = await compile([
    'FROM base AS deps', 'FROM base', 'WORKDIR /w',
    'RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=bind,from=deps,source=/out,target=in --mount=type=secret,id=tok --mount=type=secret,id=key,env=KEY --mount=type=tmpfs,target=/t,size=64m --mount=type=ssh --network=none make',
  ].join('\n'));
  const run = runs(target(plan))[0]!;
  assert.equal(run.network, 'none');
  assert.deepEqual(run.mounts, [
    { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'locked', readonly: false, mode: 0o755, uid: 0, gid: 0 },
    { type: 'bind', target: '/w/in', source: '/out', from: { kind: 'stage', stage: 0 }, readwrite: false },
    { type: 'secret', target: '/run/secrets/tok', id: 'tok', required: false, mode: 0o400, uid: 0, gid: 0 },
    { type: 'secret', target: '', id: 'key', required: false, env: 'KEY', mode: 0o400, uid: 0, gid: 0 },
    { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024 },
    { type: 'ssh', target: '/run/buildkit/ssh_agent.0', id: 'default', required: false, mode: 0o600, uid: 0, gid: 0 },
  ]);
  // buildah keeps the flags in history (they name secrets by id, never their values).
  assert.match(run.createdBy, /^\/bin\/sh -c --mount=type=cache,target=\/root\/\.cache,sharing=locked .* --network=none make$/);
  assert.deepEqual(run.args, ['/bin/sh', '-c', 'make']);
});

test('COPY/ADD flags: --from stage or image, --link, --parents, --exclude, ADD --checksum and --keep-git-dir', async () => {
  const plan = await compile([
    'FROM base AS one', 'FROM base', 'COPY --from=one --link --parents --exclude=*.md --exclude=tmp a/ b/*.c ./', 'COPY --from=0 /x /y',
    'COPY --from=busybox:1.36 /bin/busybox /bb', 'ADD --checksum=sha256:abcd https://example.invalid/f.tgz /f', 'ADD --keep-git-dir=true https://example.invalid/r.git /r',
    'COPY ["a b", "/dst dir/"]',
  ].join('\n'));
  const [c1, c2, c3, a1, a2, json] = copies(target(plan));
  assert.deepEqual([c1!.from, c1!.link, c1!.parents, c1!.exclude, c1!.sources, c1!.dest], [{ kind: 'stage', stage: 0 }, true, true, ['*.md', 'tmp'], ['a/', 'b/*.c'], '/']);
  assert.deepEqual(c2!.from, { kind: 'stage', stage: 0 });
  assert.deepEqual(c3!.from, { kind: 'image', reference: 'busybox:1.36' });
  assert.deepEqual([a1!.instruction, a1!.checksum], ['ADD', 'sha256:abcd']);
  assert.equal(a2!.keepGitDir, true);
  assert.deepEqual([json!.sources, json!.dest], [['a b'], '/dst dir/']);
  assert.equal(c1!.createdBy, '/bin/sh -c #(nop) COPY a/ b/*.c in ./ ');
});

test('stage graph: --target keeps only what it needs, in dependency order, forward COPY --from included', async () => {
  const text = ['FROM base AS a', 'COPY --from=c /x /x', 'FROM base AS unused', 'RUN echo no', 'FROM base AS c', 'RUN echo c', 'FROM a AS d', 'RUN echo d', 'FROM base', 'COPY --from=d /y /y'].join('\n');
  const plan = await compile(text, { target: 'D' });
  assert.deepEqual(plan.stages.map((s) => s.name), ['c', 'a', 'd']);
  assert.equal(plan.target, 2);
  assert.deepEqual(plan.stages[2]!.base, { kind: 'stage', stage: 1 });
  assert.deepEqual(copies(plan.stages[1]!)[0]!.from, { kind: 'stage', stage: 0 });
  const all = await compile(text);
  assert.deepEqual(all.stages.map((s) => s.name ?? String(s.dockerfileIndex)), ['c', 'a', 'd', '4']);
  await rejects(text, /target stage "nope" could not be found/, { target: 'nope' });
});

test('stage graph: cycles, self references and unknown stage indexes are one-line errors', async () => {
  await rejects('FROM base AS a\nCOPY --from=b /x /x\nFROM base AS b\nCOPY --from=a /y /y\n', /circular dependency between stages: [ab] -> [ab] -> [ab]/);
  await rejects('FROM base AS a\nCOPY --from=a /x /x\n', /^Dockerfile:2: stage "a" cannot read from itself/);
  await rejects('FROM base\nCOPY --from=3 /x /x\n', /^Dockerfile:2: unknown stage 3/);
});

test('FROM a stage inherits its config and platform; FROM scratch starts empty; a later stage name in FROM is an image', async () => {
  const plan = await compile('FROM base AS b\nENV X=1\nFROM b\nENV Y=2\nFROM scratch AS s\nFROM later AS first\nFROM base AS later\n', { target: 'first' });
  assert.deepEqual(target(plan).base, { kind: 'image', reference: 'later' });
  const chained = await compile('FROM --platform=linux/amd64 base AS b\nENV X=1\nFROM b\nENV Y=2\n');
  assert.deepEqual(target(chained).finalConfig.Env, ['PATH=/usr/bin:/bin', 'X=1', 'Y=2']);
  assert.deepEqual(target(chained).platform, amd64);
  const scratch = await compile('FROM scratch\nCOPY a /\n');
  assert.deepEqual(target(scratch).baseConfig.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
  assert.deepEqual(scratch.resolved, []);
});

test('RUN gets the default PATH when the image sets none; a scratch stage has it in its config, as buildah writes it', async () => {
  const plan = await compile('FROM nopath\nENV A=1\nRUN true\n', { bases: { nopath: {} } });
  assert.deepEqual(runs(target(plan))[0]!.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
  assert.deepEqual(target(plan).finalConfig.Env, ['A=1']);
  const scratch = await compile('FROM scratch\nENV A=1\n');
  assert.deepEqual(target(scratch).finalConfig.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
});
