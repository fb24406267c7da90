import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { makeBaseImage, makeMultiPlatformImage } from '../../../fixtures/base-image/makeBaseImage.js';
import { berthBin, isRoot, peer, tempDir } from '../../support/peers.js';
import { runUnderPodman } from '../../support/podman.js';
import { berth, berthAsync, type RunResult } from '../../support/runCli.js';

const corpus = new URL('../../../../fixtures/dockerfiles/', import.meta.url).pathname;

interface Sandbox {
  dir: string;
  /** The environment the sandbox's berth runs with (its own store). */
  env: Record<string, string>;
  base: string;
  build(args: string[], input?: string): RunResult;
  /** The same, without blocking this process (when the test serves something the build fetches). */
  buildAsync(args: string[]): Promise<RunResult>;
  run(image: string, command: string[]): RunResult;
  /** The files of an image in the local store, unpacked. */
  files(image: string): string;
}

async function sandbox(t: TestContext): Promise<Sandbox | undefined> {
  if (!isRoot()) {
    t.skip('RUN steps need root (berth-runc)');
    return undefined;
  }
  const dir = tempDir(t, 'berth-build-');
  await makeBaseImage(join(dir, 'base'), { tag: 'bb' });
  const env = { BERTH_ROOT: join(dir, 'root') };
  let unpacked = 0;
  return {
    dir,
    env,
    base: `oci:${join(dir, 'base')}:bb`,
    build: (args, input) => berth(['build', ...args], { env, ...(input !== undefined ? { input } : {}) }),
    buildAsync: (args) => berthAsync(['build', ...args], { env }),
    run: (image, command) => berth(['run', '--rm', image, ...command], { env }),
    files: (image) => {
      const out = join(dir, `unpacked-${unpacked++}`);
      const r = berth(['unpack', `berth:${image}`, out], { env });
      assert.equal(r.status, 0, r.stderr);
      return join(out, 'rootfs');
    },
  };
}

test('heredoc cases (which buildah 1.28 cannot build) give the files their first comment lists', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const run = s.build(['-q', '--build-arg', `BASE=${s.base}`, '-t', 'localhost/hd-run:1', join(corpus, 'heredoc-run')]);
  assert.equal(run.status, 0, run.stderr);
  const runFiles = s.files('localhost/hd-run:1');
  const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
  assert.equal(read(runFiles, 'hd/script'), 'script\n');
  assert.equal(read(runFiles, 'hd/cat'), 'not expanded: $HOME\n');
  assert.equal(read(runFiles, 'hd/tabs'), 'tab-indented\n');
  assert.equal(read(runFiles, 'hd/two-a'), 'first\n');
  assert.equal(read(runFiles, 'hd/two-b'), 'second\n');
  const copy = s.build(['-q', '--build-arg', `BASE=${s.base}`, '-t', 'localhost/hd-copy:1', join(corpus, 'heredoc-copy')]);
  assert.equal(copy.status, 0, copy.stderr);
  const copyFiles = s.files('localhost/hd-copy:1');
  assert.equal(read(copyFiles, 'hd/expanded'), 'hello world\n');
  assert.equal(read(copyFiles, 'hd/literal'), 'hello $WHO\n');
  assert.equal(read(copyFiles, 'hd/dir/one'), '1\n');
  assert.equal(read(copyFiles, 'hd/dir/two'), '2\n');
});

test('a multi-stage build runs under berth-runc, runc and podman and prints what its Dockerfile says; -f - reads it from stdin', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'name.txt'), 'berth\n');
  const dockerfile = `ARG BASE\nFROM \${BASE} AS build\nCOPY name.txt /src/\nRUN tr a-z A-Z < /src/name.txt > /shout\nFROM \${BASE}\nCOPY --from=build /shout /shout\nCMD ["sh", "-c", "echo hello $(cat /shout)"]\n`;
  const built = s.build(['--build-arg', `BASE=${s.base}`, '-f', '-', '-t', 'localhost/ms:1', context], dockerfile);
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stderr, /STEP 3\/6: RUN tr a-z A-Z/);
  assert.match(built.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const ran = s.run('localhost/ms:1', []);
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stdout, 'hello BERTH\n');
  if (peer(t, 'runc')) {
    const underRunc = await berthAsync(['run', '--rm', '--runtime', 'runc', 'localhost/ms:1'], { env: s.env });
    assert.equal(underRunc.stdout, 'hello BERTH\n', underRunc.stderr);
  }
  const podman = await runUnderPodman(t, s.dir, 'berth:localhost/ms:1', s.env);
  if (podman !== undefined) assert.equal(podman, 'hello BERTH\n');
});

test('--output writes an OCI archive or the files into a directory; --annotation reaches the manifest', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'out-ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nRUN mkdir /made && echo made > /made/file && chown 1000:1000 /made/file\n');
  const archive = join(s.dir, 'image.tar');
  const toArchive = s.build(['-q', '--build-arg', `BASE=${s.base}`, '--annotation', 'org.example.built-by=berth', '-o', `type=oci,dest=${archive}`, context]);
  assert.equal(toArchive.status, 0, toArchive.stderr);
  const manifest = JSON.parse(berth(['inspect', '--raw', `oci-archive:${archive}`]).stdout) as { annotations?: Record<string, string> };
  assert.equal(manifest.annotations?.['org.example.built-by'], 'berth');
  const dir = join(s.dir, 'files');
  const toDir = s.build(['-q', '--build-arg', `BASE=${s.base}`, '-o', `type=local,dest=${dir}`, context]);
  assert.equal(toDir.status, 0, toDir.stderr);
  assert.equal(readFileSync(join(dir, 'made', 'file'), 'utf8'), 'made\n');
  assert.equal(lstatSync(join(dir, 'made', 'file')).uid, 1000);
  assert.ok(existsSync(join(dir, 'bin', 'busybox')), 'the base\'s files too');
  const bad = s.build(['--build-arg', `BASE=${s.base}`, '-o', 'type=tar', context]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--output must be type=oci\|docker\|local,dest=PATH/);
});

test('the step cache: hits for what cannot change the result, misses from the first step that sees a change, never stale', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'cache-ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'app.txt'), 'v1\n');
  writeFileSync(join(context, 'ignored.txt'), 'i1\n');
  writeFileSync(join(context, '.dockerignore'), 'ignored.txt\n');
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nARG FLAVOUR=plain\nRUN echo "$FLAVOUR" > /flavour\nCOPY app.txt /app.txt\nRUN cat /app.txt /flavour > /combined; ls -l /app.txt | cut -c1-10 > /mode\n');
  const build = (...extra: string[]) => {
    const r = s.build(['--build-arg', `BASE=${s.base}`, ...extra, '-t', 'localhost/cache:1', context]);
    assert.equal(r.status, 0, r.stderr);
    return { hits: (r.stderr.match(/Using cache/g) ?? []).length, combined: () => readFileSync(join(s.files('localhost/cache:1'), 'combined'), 'utf8') };
  };
  assert.equal(build().hits, 0);
  assert.equal(build().hits, 3, 'an unchanged rebuild hits every step');
  const undeclared = build('--build-arg', 'UNRELATED=1');
  assert.equal(undeclared.hits, 3, 'a build arg the Dockerfile does not declare changes nothing');
  writeFileSync(join(context, 'ignored.txt'), 'i2\n');
  assert.equal(build().hits, 3, 'a .dockerignored file is not an input');
  const declared = build('--build-arg', 'FLAVOUR=spicy');
  assert.equal(declared.hits, 0, 'a declared ARG misses from the first step that sees it');
  assert.equal(declared.combined(), 'v1\nspicy\n');
  writeFileSync(join(context, 'app.txt'), 'v2\n');
  const edited = build();
  assert.equal(edited.hits, 1, 'a changed COPY source misses from the COPY on');
  assert.equal(edited.combined(), 'v2\nplain\n');
  chmodSync(join(context, 'app.txt'), 0o600);
  const moded = build();
  assert.equal(moded.hits, 1, 'a changed mode of a COPY source misses too');
  assert.equal(readFileSync(join(s.files('localhost/cache:1'), 'mode'), 'utf8'), '-rw-------\n');
  const noCache = build('--no-cache');
  assert.equal(noCache.hits, 0);
});

test('a base re-tagged to another image misses the cache', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'retag');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nRUN cat /etc/base-id 2>/dev/null > /seen; ls / > /listing\n');
  const first = s.build(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/retag:1', context]);
  assert.equal(first.status, 0, first.stderr);
  // Another image under the same tag: the base with one more file.
  const other = join(s.dir, 'other-ctx');
  mkdirSync(other);
  writeFileSync(join(other, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nRUN echo other > /etc/base-id\n');
  assert.equal(s.build(['--build-arg', `BASE=${s.base}`, '-t', `oci:${join(s.dir, 'base')}:bb`, other]).status, 0);
  const second = s.build(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/retag:1', context]);
  assert.equal(second.status, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /Using cache/);
  assert.equal(readFileSync(join(s.files('localhost/retag:1'), 'seen'), 'utf8'), 'other\n');
});

test('secrets (as a file or an environment variable), cache and rw bind mounts reach RUN but no layer, history entry, later build or the context', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'secret-ctx');
  mkdirSync(context);
  writeFileSync(join(s.dir, 'token'), 'TOPSECRET-1234\n');
  mkdirSync(join(context, 'data'));
  writeFileSync(join(context, 'data', 'f'), 'one\n');
  writeFileSync(join(context, 'Dockerfile'), [
    'ARG BASE', 'FROM ${BASE}',
    'RUN --mount=type=secret,id=tok cat /run/secrets/tok | wc -c > /token-length',
    'RUN --mount=type=cache,target=/var/cache/x expr 40000 + 2 >> /var/cache/x/f && wc -l < /var/cache/x/f > /cache-lines',
    'RUN --mount=type=secret,id=tok,env=TOKEN printf %s "$TOKEN" | wc -c > /env-length && test ! -e /run/secrets/tok',
    'RUN --mount=type=bind,source=data,target=/data,rw echo scribble >> /data/f && wc -l < /data/f > /bind-lines',
    '',
  ].join('\n'));
  const built = s.build(['--build-arg', `BASE=${s.base}`, '--secret', `id=tok,src=${join(s.dir, 'token')}`, '-t', `oci:${join(s.dir, 'out')}:s`, context]);
  assert.equal(built.status, 0, built.stderr);
  const blobs = join(s.dir, 'out', 'blobs', 'sha256');
  for (const name of readdirSync(blobs)) {
    let bytes = readFileSync(join(blobs, name));
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    assert.equal(bytes.includes('TOPSECRET'), false, `blob ${name} holds the secret`);
    assert.equal(bytes.includes('40002'), false, `blob ${name} holds the cache mount's file`);
  }
  const files = join(s.dir, 'secret-files');
  assert.equal(berth(['unpack', `oci:${join(s.dir, 'out')}:s`, files]).status, 0);
  assert.equal(readFileSync(join(files, 'rootfs', 'token-length'), 'utf8').trim(), '15');
  assert.equal(readFileSync(join(files, 'rootfs', 'cache-lines'), 'utf8').trim(), '1');
  assert.equal(readFileSync(join(files, 'rootfs', 'env-length'), 'utf8').trim(), '15');
  assert.equal(readFileSync(join(files, 'rootfs', 'bind-lines'), 'utf8').trim(), '2');
  assert.equal(readFileSync(join(context, 'data', 'f'), 'utf8'), 'one\n', 'a rw bind mount never writes into the context');
  assert.equal(existsSync(join(files, 'rootfs', 'data')), false);
  assert.equal(existsSync(join(files, 'rootfs', 'var', 'cache', 'x', 'f')), false);
  assert.equal(existsSync(join(files, 'rootfs', 'run', 'secrets', 'tok')), false, 'the secret\'s mount point is left behind');
  // The cache mount persists between builds (keyed by its id): a --no-cache rebuild sees the first line.
  assert.equal(s.build(['--no-cache', '--build-arg', `BASE=${s.base}`, '--secret', `id=tok,src=${join(s.dir, 'token')}`, '-t', 'localhost/secret:2', context]).status, 0);
  assert.equal(readFileSync(join(s.files('localhost/secret:2'), 'cache-lines'), 'utf8').trim(), '2');
});

test('SIGTERM during a RUN kills its container, removes its scratch and writes nothing', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'sig-ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nRUN echo started; sleep 60\n');
  const out = join(s.dir, 'never');
  const child = spawn(process.execPath, [berthBin, 'build', '--build-arg', `BASE=${s.base}`, '-t', `oci:${out}:x`, context], { env: { ...process.env, BERTH_ROOT: join(s.dir, 'root') } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve()));
  const started = Date.now();
  child.kill('SIGTERM');
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  assert.equal(status, 1);
  assert.ok(Date.now() - started < 10_000, 'the RUN container did not hold the build');
  assert.match(stderr, /berth: build interrupted \(SIGTERM\); nothing was written\n$/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(join(s.dir, 'root', 'build-cache')).filter((n) => n.startsWith('.tmp-')), [], 'scratch left behind');
});

test('bad input: one line each, the right exit status, nothing written to the destination', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'bad');
  mkdirSync(context);
  writeFileSync(join(context, 'in.txt'), 'x\n');
  const out = join(s.dir, 'never');
  const cases: [string, RegExp, number][] = [
    ['FROM ${BASE}\nFORM x\n', /Dockerfile:3: unknown instruction FORM/, 2],
    ['FROM ${BASE}\nCOPY missing.txt /\n', /no source files were specified or found for "missing.txt"/, 3],
    ['FROM ${BASE}\nCOPY ../outside /\n', /outside the build context/, 6],
    ['FROM ${BASE}\nRUN echo about to fail; exit 3\n', /Dockerfile:3: RUN echo about to fail; exit 3: exit status 3/, 1],
    ['FROM ${BASE}\nCOPY --from=7 /x /\n', /unknown stage 7/, 2],
    ['FROM ${BASE} AS a\nCOPY --from=b /x /x\nFROM ${BASE} AS b\nCOPY --from=a /y /y\n', /circular dependency between stages/, 2],
    [`FROM oci:${join(s.dir, 'nonexistent')}:x\n`, /nonexistent/, 3],
  ];
  for (const [text, message, status] of cases) {
    writeFileSync(join(context, 'Dockerfile'), `ARG BASE\n${text}`);
    const r = s.build(['--build-arg', `BASE=${s.base}`, '-t', `oci:${out}:x`, context]);
    assert.equal(r.status, status, `${text}: ${r.stderr}`);
    const lastLine = r.stderr.trimEnd().split('\n').at(-1)!;
    assert.match(lastLine, message);
    assert.match(lastLine, /^berth: /);
    assert.equal(existsSync(out), false, `${text}: the destination was written`);
  }
});

test('COPY --from and RUN --mount=type=bind,from= take an image\'s files; a bind source that links out of the context is refused', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'from-image');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), [
    'ARG BASE', 'FROM scratch AS empty', 'ARG BASE', 'COPY --from=${BASE} /bin/busybox /bin/busybox',
    'FROM ${BASE}', 'ARG BASE', 'COPY --from=empty /bin/busybox /copied-busybox',
    'RUN --mount=type=bind,from=${BASE},source=/bin,target=/image-bin ls /image-bin | wc -l > /image-bin-count',
    '',
  ].join('\n'));
  const built = s.build(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/from-image:1', context]);
  assert.equal(built.status, 0, built.stderr);
  const files = s.files('localhost/from-image:1');
  assert.deepEqual(readFileSync(join(files, 'copied-busybox')), readFileSync(join(files, 'bin', 'busybox')));
  assert.ok(Number(readFileSync(join(files, 'image-bin-count'), 'utf8')) > 10);
  assert.equal(existsSync(join(files, 'image-bin')), false);

  symlinkSync('/etc', join(context, 'host-etc'));
  writeFileSync(join(context, 'Dockerfile.escape'), 'ARG BASE\nFROM ${BASE}\nRUN --mount=type=bind,source=host-etc/hostname,target=/h cat /h\n');
  const escape = s.build(['--build-arg', `BASE=${s.base}`, '-f', join(context, 'Dockerfile.escape'), '-t', 'localhost/escape:1', context]);
  assert.notEqual(escape.status, 0);
  assert.match(escape.stderr, /RUN --mount=type=bind: host-etc\/hostname does not exist in its source/);
});

test('a COPY source whose directory is a symlink out of the context is looked up inside the context, never on the host', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'escape');
  mkdirSync(join(context, 'etc'), { recursive: true });
  symlinkSync('/etc', join(context, 'host-etc'));
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY host-etc/hostname /leak\n');
  const refused = s.build(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/leak:1', context]);
  assert.notEqual(refused.status, 0, 'the host\'s /etc/hostname must not be reachable');
  assert.match(refused.stderr, /no source files were specified or found for "host-etc\/hostname"/);
  // Inside the context the link leads to the context's own etc/.
  writeFileSync(join(context, 'etc', 'hostname'), 'from the context\n');
  const built = s.build(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/leak:2', context]);
  assert.equal(built.status, 0, built.stderr);
  assert.equal(readFileSync(join(s.files('localhost/leak:2'), 'leak'), 'utf8'), 'from the context\n');
});

test('ADD of an http URL saves the body with mode 0600 and its Last-Modified time, checks --checksum, and misses the cache when the content changes', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  let body = 'echo first\n';
  const server = createServer((req, res) => {
    if (req.url !== '/dl/tool.sh') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Last-Modified': 'Wed, 01 May 2024 10:00:00 GMT', 'Content-Type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dl/tool.sh`;
  const context = join(s.dir, 'add-url');
  mkdirSync(context);
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const dockerfile = (checksum: string) => `ARG BASE\nFROM \${BASE}\nADD ${url} /opt/\nADD --checksum=sha256:${checksum} ${url} /checked.sh\n`;
  writeFileSync(join(context, 'Dockerfile'), dockerfile(sha(body)));
  const first = await s.buildAsync(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/add-url:1', context]);
  assert.equal(first.status, 0, first.stderr);
  const files = s.files('localhost/add-url:1');
  const tool = lstatSync(join(files, 'opt', 'tool.sh'));
  assert.equal(readFileSync(join(files, 'opt', 'tool.sh'), 'utf8'), 'echo first\n');
  assert.equal(tool.mode & 0o7777, 0o600);
  assert.equal(tool.mtime.toISOString(), '2024-05-01T10:00:00.000Z');
  assert.equal(readFileSync(join(files, 'checked.sh'), 'utf8'), 'echo first\n');

  const again = await s.buildAsync(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/add-url:2', context]);
  assert.equal(again.stderr.split('\n').filter((l) => l === '--> Using cache').length, 2, again.stderr);
  body = 'echo second\n';
  writeFileSync(join(context, 'Dockerfile'), dockerfile(sha(body)));
  const changed = await s.buildAsync(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/add-url:3', context]);
  assert.equal(changed.status, 0, changed.stderr);
  assert.equal(readFileSync(join(s.files('localhost/add-url:3'), 'opt', 'tool.sh'), 'utf8'), 'echo second\n', 'changed content is never a stale hit');
  writeFileSync(join(context, 'Dockerfile'), dockerfile(sha('something else')));
  const wrong = await s.buildAsync(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/add-url:4', context]);
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /does not match --checksum=sha256:/);
});

test('--format docker writes Docker schema 2 manifests (the image ID stays), and a destination that cannot hold them says so', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'format');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nRUN echo docker > /format\nCMD ["cat", "/format"]\n');
  const oci = s.build(['-q', '--timestamp', '1700000000', '--build-arg', `BASE=${s.base}`, '-t', 'localhost/format:oci', context]);
  const docker = s.build(['-q', '--timestamp', '1700000000', '--format', 'docker', '--build-arg', `BASE=${s.base}`, '-t', 'localhost/format:docker', context]);
  assert.equal(docker.status, 0, docker.stderr);
  assert.equal(docker.stdout, oci.stdout, 'the same config, the same image ID');
  const manifest = JSON.parse(berth(['inspect', '--raw', 'berth:localhost/format:docker'], { env: { BERTH_ROOT: join(s.dir, 'root') } }).stdout) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string }[] };
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
  assert.ok(manifest.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip'));
  assert.equal(s.run('localhost/format:docker', []).stdout, 'docker\n');
  const refused = s.build(['--format', 'docker', '--build-arg', `BASE=${s.base}`, '-t', `oci:${join(s.dir, 'layout')}:x`, context]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /cannot store Docker manifests/);
});

test('--platform: a COPY-only build for another architecture needs no emulation; a RUN for one says what it needs; a base for another platform is refused', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  await makeMultiPlatformImage(join(s.dir, 'multi'), 'multi');
  const context = join(s.dir, 'platform');
  mkdirSync(context);
  writeFileSync(join(context, 'note'), 'for arm\n');
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nARG TARGETARCH\nCOPY note /note\nLABEL arch=${TARGETARCH}\n');
  const built = s.build(['--platform', 'linux/arm64', '--build-arg', `BASE=oci:${join(s.dir, 'multi')}:multi`, '-t', 'localhost/arm:1', context]);
  assert.equal(built.status, 0, built.stderr);
  const config = JSON.parse(berth(['inspect', '--config', 'berth:localhost/arm:1'], { env: { BERTH_ROOT: join(s.dir, 'root') } }).stdout) as { architecture: string; variant?: string; config: { Labels: Record<string, string> } };
  assert.equal(config.architecture, 'arm64');
  assert.equal(config.config.Labels.arch, 'arm64');
  const files = s.files('localhost/arm:1');
  assert.equal(readFileSync(join(files, 'etc', 'arch'), 'utf8'), 'arm64\n', 'the arm64 instance of the base was chosen');
  assert.equal(readFileSync(join(files, 'note'), 'utf8'), 'for arm\n');
  // A single-platform base asked for as another platform is refused, never relabelled.
  const relabelled = s.build(['--platform', 'linux/arm64', '--build-arg', `BASE=${s.base}`, '-t', 'localhost/relabelled:1', context]);
  assert.equal(relabelled.status, 3);
  assert.match(relabelled.stderr, /berth: oci:.* is an image for linux\/amd64, not linux\/arm64\/v8\n$/);
  await makeBaseImage(join(s.dir, 's390x'), { tag: 'bb', architecture: 's390x' });
  writeFileSync(join(context, 'Dockerfile.run'), 'ARG BASE\nFROM ${BASE}\nRUN true\n');
  const run = s.build(['--platform', 'linux/s390x', '--build-arg', `BASE=oci:${join(s.dir, 's390x')}:bb`, '-f', join(context, 'Dockerfile.run'), '-t', 'localhost/s390x:1', context]);
  if (existsSync('/proc/sys/fs/binfmt_misc/qemu-s390x')) return;
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /RUN for linux\/s390x needs emulation/);
});

test('COPY --parents keeps each source\'s path below the destination (after a /./ pivot), globs and directories alike', async (t) => {
  const s = await sandbox(t);
  if (!s) return;
  const context = join(s.dir, 'parents');
  for (const file of ['src/app/main.c', 'src/app/util.c', 'src/app/README.md', 'src/lib/x.c', 'docs/guide/intro.md']) {
    mkdirSync(join(context, file, '..'), { recursive: true });
    writeFileSync(join(context, file), `${file}\n`);
  }
  writeFileSync(join(context, 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY --parents src/*/*.c docs/guide /out/\nCOPY src/app/main.c /flat/\nCOPY --parents ./src/./*/*.c /pivot/\n');
  const built = s.build(['--build-arg', `BASE=${s.base}`, '-t', 'localhost/parents:1', context]);
  assert.equal(built.status, 0, built.stderr);
  const files = s.files('localhost/parents:1');
  const list = (dir: string): string[] => readdirSync(join(files, dir), { recursive: true }).map(String).sort();
  assert.deepEqual(list('out'), ['docs', 'docs/guide', 'docs/guide/intro.md', 'src', 'src/app', 'src/app/main.c', 'src/app/util.c', 'src/lib', 'src/lib/x.c']);
  assert.deepEqual(list('flat'), ['main.c'], 'without --parents a file lands by its name');
  assert.deepEqual(list('pivot'), ['app', 'app/main.c', 'app/util.c', 'lib', 'lib/x.c'], 'what precedes a /./ pivot is dropped, as BuildKit drops it');
});
