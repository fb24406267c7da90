import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileDockerfile } from '../../../builders/dockerfile/compile/compileDockerfile.js';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import type { ImageConfig } from '../../../src/oci/config.js';
import { isRoot, peer } from '../../support/peers.js';

const corpus = new URL('../../../../fixtures/dockerfiles/', import.meta.url).pathname;
const compared = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'];

/** null, [], {} and '' all mean "not set" in the configs both tools write. */
function unset(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value) && value.length === 0) return undefined;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined;
  return value;
}

function readBaseConfig(layout: string): ImageConfig {
  const blob = (digest: string) => JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  return blob(blob(index.manifests[0].digest).config.digest) as ImageConfig;
}

// Cases without heredocs, COPY (buildah writes content digests there) or deliberate differences from buildah.
const cases = ['config-instructions', 'cmd-entrypoint', 'arg-scoping', 'env-forms', 'workdir-relative', 'label-continuation', 'run-mount-bind-cache'];

test('the compiled config and history match what buildah writes for the same Dockerfile', async (t) => {
  if (!peer(t, 'buildah')) return;
  if (!isRoot()) return t.skip('buildah --isolation chroot needs root here');
  // buildah turns an oci: path into an image name, which must be lower-case (mkdtemp's suffix is not).
  const dir = join(tmpdir(), `berth-dfconfig-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = join(dir, 'base');
  await makeBaseImage(layout, { tag: 'latest' });
  const base = `oci:${layout}:latest`;
  const baseConfig = readBaseConfig(layout);
  const store = ['--root', join(dir, 'store'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  for (const name of cases) {
    const caseDir = join(corpus, name);
    const buildArgs: Record<string, string> = { BASE: base };
    if (existsSync(join(caseDir, 'build-args'))) {
      for (const line of readFileSync(join(caseDir, 'build-args'), 'utf8').split('\n').filter((l) => l !== '')) {
        buildArgs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
      }
    }
    const argFlags = Object.entries(buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
    const bud = spawnSync('buildah', [...store, 'bud', '--isolation', 'chroot', '--format', 'docker', ...argFlags, '-t', `case-${name}`, '-f', join(caseDir, 'Dockerfile'), caseDir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(bud.status, 0, `${name}: ${bud.stderr}`);
    const inspect = spawnSync('buildah', [...store, 'inspect', `case-${name}`], { encoding: 'utf8' });
    const theirs = JSON.parse(inspect.stdout).Docker as ImageConfig & { author?: string };
    const plan = await compileDockerfile({
      text: readFileSync(join(caseDir, 'Dockerfile'), 'utf8'), file: `${name}/Dockerfile`, buildArgs,
      platform: { os: 'linux', architecture: baseConfig.architecture }, buildPlatform: { os: 'linux', architecture: baseConfig.architecture },
      resolveImageConfig: async () => baseConfig,
    });
    const stage = plan.stages[plan.target]!;
    const theirConfig = { ...theirs.config };
    if (theirConfig.Labels) delete theirConfig.Labels['io.buildah.version'];
    for (const field of compared) assert.deepEqual(unset(stage.finalConfig[field]), unset(theirConfig[field]), `${name}: ${field}`);
    const history = (theirs.history ?? []).slice(baseConfig.history?.length ?? 0).map((h) => h.created_by);
    const ours = stage.steps.filter((s) => s.kind !== 'config' || s.history).map((s) => s.createdBy);
    assert.deepEqual(ours, history, `${name}: history`);
    const author = stage.steps.flatMap((s) => (s.kind === 'config' && s.author !== undefined ? [s.author] : [])).at(-1);
    assert.equal(author, theirs.author, `${name}: author`);
  }
});
