import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNodeProject } from '../builders/node/buildNodeProject.js';
import { makeBaseImage } from '../fixtures/base-image/makeBaseImage.js';
import { copyFromSource } from '../src/copy/copyImage.js';
import { mutateImage } from '../src/image/mutateImage.js';
import { createLayerFromDirectory } from '../src/layer/directoryLayer.js';
import { layerFromTar } from '../src/layer/newLayer.js';
import '../src/transports/allTransports.js';
import { parseImageReference } from '../src/transports/transportRegistry.js';

const TIME = new Date('2024-01-01T00:00:00Z');

/**
 * berth's own container image, built by berth, offline: BusyBox (a shell for CI scripts), node and the libraries it
 * loads under /berth/node, berth itself under /berth (`berth build-node --app-root /berth` of this repository), and
 * /kaniko/executor for kaniko's command lines. Everything berth needs lives under /berth, which a build in place
 * (kaniko mode) keeps while it replaces the rest of the root. Written to OUT as oci:OUT:TAG.
 */
export async function buildBerthImage(out: string, tag = 'berth'): Promise<{ reference: string; digest: string }> {
  const repository = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const work = mkdtempSync(join(tmpdir(), 'berth-image-'));
  try {
    await makeBaseImage(join(work, 'busybox'), { tag: 'bb' });
    const runtime = join(work, 'runtime');
    const nodeLib = join(runtime, 'berth/node/lib');
    mkdirSync(join(runtime, 'berth/node/bin'), { recursive: true });
    mkdirSync(nodeLib, { recursive: true });
    copyFileSync(realpathSync(process.execPath), join(runtime, 'berth/node/bin/node'));
    chmodSync(join(runtime, 'berth/node/bin/node'), 0o755);
    for (const line of execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).split('\n')) {
      const library = /(\/\S+) \(0x/.exec(line)?.[1];
      if (!library) continue;
      copyFileSync(realpathSync(library), join(nodeLib, basename(library)));
      // The loader is named in node's ELF header: it must be at that path when the container starts.
      if (!line.includes('=>')) {
        mkdirSync(join(runtime, dirname(library)), { recursive: true });
        copyFileSync(realpathSync(library), join(runtime, library));
      }
    }
    mkdirSync(join(runtime, 'kaniko'), { recursive: true });
    symlinkSync('/berth/dist/bin/berth.js', join(runtime, 'kaniko/executor'));
    mkdirSync(join(runtime, 'workspace'), { recursive: true });
    const layer = await layerFromTar(createLayerFromDirectory(runtime, { uid: 0, gid: 0, mtime: TIME }), { blobDir: join(work, 'blobs'), history: { created: TIME.toISOString(), created_by: 'berth image: node runtime under /berth/node' } });
    const busybox = await parseImageReference(`oci:${join(work, 'busybox')}:bb`).newSource();
    try {
      const base = await mutateImage(busybox, {
        layers: [layer],
        created: TIME.toISOString(),
        config: (c) => ({ ...c, config: { ...c.config, Env: ['PATH=/berth/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LD_LIBRARY_PATH=/berth/node/lib', 'DOCKER_CONFIG=/kaniko/.docker'] } }),
      });
      await copyFromSource(base, parseImageReference(`oci:${join(work, 'base')}:node`));
    } finally {
      await busybox.close();
    }
    const result = await buildNodeProject({
      project: repository,
      base: `oci:${join(work, 'base')}:node`,
      tags: [`oci:${resolve(out)}:${tag}`],
      appRoot: '/berth',
      entrypoint: ['/berth/node/bin/node', '/berth/dist/bin/berth.js'],
      labels: { 'org.opencontainers.image.description': 'berth: daemonless image builds (Dockerfile, Node, kaniko mode in CI pods), copies, signatures, a registry and a runtime' },
      timestamp: TIME,
      storeRoot: join(work, 'store'),
    });
    return { reference: `oci:${resolve(out)}:${tag}`, digest: result.destinations[0]!.manifestDigest };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out = 'berth-image', tag] = process.argv.slice(2);
  const { reference, digest } = await buildBerthImage(out, tag);
  process.stdout.write(`${reference} ${digest}\n`);
}
