import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeBaseImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { isRoot, peer } from '../../support/peers.js';
import { berth } from '../../support/runCli.js';
import { treeOf } from '../../support/fileTrees.js';

const corpus = new URL('../../../../fixtures/dockerfiles/', import.meta.url).pathname;
const compared = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell'];

/**
 * Cases berth builds as BuildKit does where buildah 1.28 differs (each fixture's first comment says why), or that
 * buildah cannot build (heredocs); they are checked on their own below.
 */
const notCompared = new Set(['expose-ranges', 'heredoc-copy', 'heredoc-run', 'expansion-modifiers', 'escape-directive', 'shell-instruction']);

/** Paths the two tools leave differently on purpose: buildah leaves RUN's mount points (hosts, resolv.conf) behind. */
const runtimeLeftovers = new Set(['etc/hosts', 'etc/resolv.conf', 'etc/hostname', 'run', 'run/.containerenv', 'dev', 'proc', 'sys']);

function unset(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value) && value.length === 0) return undefined;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined;
  return value;
}

/** What differs between two trees, leaving out what neither build touched (same as the base in both). */
function treeDifferences(ours: Map<string, string>, theirs: Map<string, string>): string[] {
  const differences: string[] = [];
  for (const path of new Set([...ours.keys(), ...theirs.keys()])) {
    if (runtimeLeftovers.has(path)) continue;
    if (ours.get(path) !== theirs.get(path)) differences.push(`${path}: berth ${ours.get(path) ?? '(absent)'} | buildah ${theirs.get(path) ?? '(absent)'}`);
  }
  return differences.sort();
}

function caseArgs(caseDir: string, base: string): string[] {
  const args = ['--build-arg', `BASE=${base}`];
  if (existsSync(join(caseDir, 'build-args'))) {
    for (const line of readFileSync(join(caseDir, 'build-args'), 'utf8').split('\n').filter((l) => l !== '')) args.push('--build-arg', line);
  }
  if (existsSync(join(caseDir, 'target'))) args.push('--target', readFileSync(join(caseDir, 'target'), 'utf8').trim());
  return args;
}

test('every Dockerfile of the corpus builds with berth to the files and config buildah builds', async (t) => {
  if (!peer(t, 'buildah')) return;
  if (!isRoot()) return t.skip('RUN steps and buildah --isolation chroot need root');
  // buildah turns an oci: path into an image name, which must be lower-case (mkdtemp's suffix is not).
  const dir = join(tmpdir(), `berth-dfbuild-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = join(dir, 'base');
  await makeBaseImage(layout, { tag: 'latest' });
  const base = `oci:${layout}:latest`;
  const env = { BERTH_ROOT: join(dir, 'berth') };
  const store = ['--root', join(dir, 'store'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  const cases = readdirSync(corpus).filter((n) => existsSync(join(corpus, n, 'Dockerfile')) && !notCompared.has(n));
  assert.ok(cases.length >= 30, `corpus has ${cases.length} comparable cases`);
  const failures: string[] = [];
  for (const name of cases) {
    const caseDir = join(corpus, name);
    const args = caseArgs(caseDir, base);
    const ours = berth(['build', '-q', ...args, '-t', `localhost/case-${name}:1`, caseDir], { env });
    if (ours.status !== 0) {
      failures.push(`${name}: berth build failed: ${ours.stderr.trim()}`);
      continue;
    }
    const unpacked = join(dir, 'unpacked', name);
    const unpack = berth(['unpack', `berth:localhost/case-${name}:1`, unpacked], { env });
    assert.equal(unpack.status, 0, `${name}: ${unpack.stderr}`);
    const bud = spawnSync('buildah', [...store, 'bud', '--isolation', 'chroot', '--format', 'docker', ...args, '-t', `case-${name}`, '-f', join(caseDir, 'Dockerfile'), caseDir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(bud.status, 0, `${name}: buildah: ${bud.stderr}`);
    const pushed = join(dir, 'buildah-images');
    const push = spawnSync('buildah', [...store, 'push', `case-${name}`, `oci:${pushed}:${name}`], { encoding: 'utf8' });
    assert.equal(push.status, 0, `${name}: buildah push: ${push.stderr}`);
    const theirTree = join(dir, 'buildah-unpacked', name);
    assert.equal(berth(['unpack', `oci:${pushed}:${name}`, theirTree], { env }).status, 0);
    const differences = treeDifferences(treeOf(join(unpacked, 'rootfs')), treeOf(join(theirTree, 'rootfs')));
    if (differences.length) failures.push(`${name}: files differ:\n  ${differences.join('\n  ')}`);
    const theirs = JSON.parse(spawnSync('buildah', [...store, 'inspect', `case-${name}`], { encoding: 'utf8' }).stdout).Docker.config as Record<string, unknown>;
    if (theirs.Labels) delete (theirs.Labels as Record<string, string>)['io.buildah.version'];
    const inspected = JSON.parse(berth(['inspect', '--config', `berth:localhost/case-${name}:1`], { env }).stdout).config as Record<string, unknown>;
    for (const field of compared) {
      if (JSON.stringify(unset(inspected[field])) !== JSON.stringify(unset(theirs[field]))) failures.push(`${name}: ${field}: berth ${JSON.stringify(inspected[field])} | buildah ${JSON.stringify(theirs[field])}`);
    }
  }
  assert.deepEqual(failures, []);
});
