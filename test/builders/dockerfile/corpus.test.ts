import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileDockerfile } from '../../../builders/dockerfile/compile/compileDockerfile.js';
import type { BuildPlan, CopyStep, RunStep } from '../../../builders/dockerfile/plan.js';

/** The corpus lives in the source tree; tests run from dist/test/builders/dockerfile. */
const corpus = new URL('../../../../fixtures/dockerfiles/', import.meta.url).pathname;
const base = 'oci:/layouts/base:latest';
const amd64 = { os: 'linux', architecture: 'amd64' };

async function compileCase(name: string): Promise<BuildPlan> {
  const dir = join(corpus, name);
  const buildArgs: Record<string, string> = { BASE: base };
  if (existsSync(join(dir, 'build-args'))) {
    for (const line of readFileSync(join(dir, 'build-args'), 'utf8').split('\n').filter((l) => l !== '')) {
      const eq = line.indexOf('=');
      buildArgs[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  const target = existsSync(join(dir, 'target')) ? readFileSync(join(dir, 'target'), 'utf8').trim() : undefined;
  return compileDockerfile({
    text: readFileSync(join(dir, 'Dockerfile'), 'utf8'), file: `${name}/Dockerfile`, buildArgs, ...(target ? { target } : {}),
    platform: amd64, buildPlatform: amd64,
    resolveImageConfig: async () => ({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] } }),
  });
}

const cases = readdirSync(corpus, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

test('the corpus has at least 20 cases, each saying what it covers in its first comment', () => {
  assert.ok(cases.length >= 20, `${cases.length} cases`);
  for (const name of cases) {
    const comments = readFileSync(join(corpus, name, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.startsWith('# ') && !/^# (escape|syntax|check)=/.test(l));
    assert.ok(comments.length > 0 && comments[0]!.length > 20, `${name} has no description`);
  }
});

for (const name of cases) {
  test(`corpus ${name} compiles, every image base the given one`, async () => {
    const plan = await compileCase(name);
    for (const stage of plan.stages) assert.ok(stage.base.kind !== 'image' || stage.base.reference === base, name);
  });
}

test('corpus expectations the compiler alone decides', async () => {
  const target = await compileCase('multistage-target');
  assert.deepEqual(target.stages.map((s) => s.name), ['wanted']);
  const args = await compileCase('arg-scoping');
  const [before, after] = args.stages[0]!.steps.filter((s): s is RunStep => s.kind === 'run');
  assert.ok(!before!.env.some((e) => e.startsWith('GLOBAL=')));
  assert.ok(after!.env.includes('GIVEN=from-command-line') && after!.env.includes('GLOBAL=global-default') && after!.env.includes('SHADOWED=from-env'));
  assert.ok(!after!.env.some((e) => e.startsWith('NOT_DECLARED')));
  const expansion = await compileCase('expansion-modifiers');
  const final = expansion.stages[0]!;
  assert.deepEqual(final.finalConfig.Env!.slice(1), ['R1=d1', 'R2=d2', 'R3=alt', 'R4=', 'R5=$SET', 'R6=value', 'R7=$SET']);
  assert.deepEqual(final.finalConfig.Labels, { 'label.value': 'value-none' });
  assert.deepEqual(final.steps.filter((s): s is CopyStep => s.kind === 'copy').map((s) => [s.sources, s.dest]), [[['file-value.txt'], '/dir-value/']]);
  const heredocs = await compileCase('heredoc-copy');
  assert.deepEqual(heredocs.stages[0]!.steps.filter((s): s is CopyStep => s.kind === 'copy').map((s) => s.heredocs), [
    [{ name: 'EOF', content: 'hello world\n' }], [{ name: 'EOF', content: 'hello $WHO\n' }], [{ name: 'one', content: '1\n' }, { name: 'two', content: '2\n' }],
  ]);
  const escape = await compileCase('escape-directive');
  assert.deepEqual(escape.stages[0]!.steps.filter((s): s is RunStep => s.kind === 'run').map((s) => s.args[2]), ['mkdir /out &&     echo C:\\path\\to > /out/windows-like', 'echo one     two > /out/joined']);
});
