/**
 * berth build-node against buildah building the equivalent Dockerfile, both pushing to a registry on loopback (berth's
 * own, served from this process), side by side in one run. The project is fixtures/node/plain-app on the offline
 * Node base (the host's node on BusyBox).
 *   cold: empty caches: berth build-node (arborist installs from the lockfile) against `npm ci --omit=dev` on the host
 *         then buildah bud (vfs, --layers) of a Dockerfile that copies node_modules and the application;
 *   incremental: one line of the application edited, both caches warm; goal berth/buildah ≤ 0.2 and berth < 0.5 s.
 * Each figure is the median of N runs.
 *
 *   node dist/bench/buildNode.js [--runs N]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { flag, median, seconds } from './measure.js';
import { makeNodeBaseImage } from '../fixtures/base-image/makeNodeBaseImage.js';
import { startRegistryServer } from '../registry/server/startRegistryServer.js';

const berthBin = new URL('../bin/berth.js', import.meta.url).pathname;
const fixture = new URL('../../fixtures/node/plain-app/', import.meta.url).pathname;
/** Asynchronous: the registry serves from this very process, so nothing here may block its event loop. */
const run = promisify(execFile);

async function main(): Promise<void> {
  const runs = flag('runs', 3);
  const work = join(tmpdir(), `berth-bench-node-${randomBytes(6).toString('hex')}`);
  mkdirSync(work);
  const registry = await startRegistryServer({ addr: '127.0.0.1:0', root: join(work, 'registry') });
  try {
    const base = await makeNodeBaseImage(join(work, 'base'));
    await run(process.execPath, [berthBin, 'copy', '-q', '--dest-tls-verify=false', base, `docker://${registry.host}/node:base`]);
    const cold = { berth: [] as number[], buildah: [] as number[] };
    const incremental = { berth: [] as number[], buildah: [] as number[] };
    for (let r = 0; r < runs; r++) {
      const project = join(work, `project-${r}`);
      cpSync(fixture, project, { recursive: true });
      const main = join(project, 'src', 'main.js');
      writeFileSync(join(project, 'Dockerfile'), [`FROM ${registry.host}/node:base`, 'WORKDIR /app', 'COPY node_modules node_modules', 'COPY package.json package-lock.json ./', 'COPY src src', 'CMD ["node", "/app/src/main.js"]', ''].join('\n'));
      const env = { ...process.env, BERTH_ROOT: join(work, `berth-${r}`) };
      const store = ['--root', join(work, `buildah-${r}`, 'store'), '--runroot', join(work, `buildah-${r}`, 'run'), '--storage-driver', 'vfs'];
      const berthBuild = (tag: string) => run(process.execPath, [berthBin, 'build-node', '-q', '--base', `${registry.host}/node:base`, '--tls-verify=false', '-t', `docker://${registry.host}/app:${tag}`, project], { env });
      const buildahBuild = async (tag: string) => {
        await run('buildah', [...store, 'bud', '-q', '--layers', '--tls-verify=false', '-t', `app-${tag}`, project]);
        await run('buildah', [...store, 'push', '-q', '--tls-verify=false', `app-${tag}`, `docker://${registry.host}/buildah-app:${tag}`]);
      };
      cold.berth.push(await seconds(() => berthBuild(`cold-${r}`)));
      cold.buildah.push(await seconds(async () => {
        await run('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });
        await buildahBuild(`cold-${r}`);
      }));
      writeFileSync(main, readFileSync(main, 'utf8').replace(/\n$/, ` // edited ${r}\n`));
      incremental.berth.push(await seconds(() => berthBuild(`edit-${r}`)));
      incremental.buildah.push(await seconds(() => buildahBuild(`edit-${r}`)));
      await run('buildah', [...store, 'rmi', '-a', '-f']).catch(() => undefined);
      for (const dir of [project, `berth-${r}`, `buildah-${r}`]) rmSync(join(work, dir), { recursive: true, force: true });
    }
    const line = (name: string, o: { berth: number[]; buildah: number[] }, goal: string) =>
      `${name}: berth ${median(o.berth).toFixed(2)} s, buildah ${median(o.buildah).toFixed(2)} s, berth/buildah ${(median(o.berth) / median(o.buildah)).toFixed(2)}${goal}`;
    console.log(`fixtures/node/plain-app pushed to a registry on loopback, median of ${runs} runs each`);
    console.log(line('cold (berth build-node | npm ci --omit=dev + buildah bud --layers + push)', cold, ''));
    console.log(line('incremental after a one-line edit (both caches warm, push included)', incremental, ` (goal ≤ 0.2, berth < 0.5 s)`));
  } finally {
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
