import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExecutorFlags } from '../../src/cli/commands/executor.js';
import { isBerthError } from '../../src/errors/BerthError.js';
import { berth } from '../support/runCli.js';

test('kaniko command lines from its README and CI examples parse to what kaniko would do', () => {
  const readme = parseExecutorFlags(['--dockerfile', '/workspace/Dockerfile', '--destination', 'gcr.io/project/image:v1', '--context', 'dir:///workspace/']);
  assert.deepEqual(readme.context, { kind: 'dir', path: '/workspace/' });
  assert.equal(readme.dockerfile, '/workspace/Dockerfile');
  assert.deepEqual(readme.destinations, ['gcr.io/project/image:v1']);
  assert.equal(readme.push, true);
  assert.equal(readme.cache, false, 'kaniko caches only with --cache');
  assert.deepEqual(readme.ignorePaths, ['/kaniko', '/var/run'], 'kaniko keeps its own directory and /var/run');

  const gitlab = parseExecutorFlags(['--context', '/builds/group/app', '--dockerfile', '/builds/group/app/Dockerfile', '--destination', 'registry.example.com/group/app:1.0', '--destination=registry.example.com/group/app:latest', '--cache=true', '--cache-repo=registry.example.com/group/app/cache', '--cache-ttl=2h30m', '--build-arg', 'VERSION=1.0', '--label=org.opencontainers.image.revision=abc', '--reproducible', '--insecure-pull', '--skip-tls-verify', '--push-retry=5', '--ignore-var-run=false', '--cleanup']);
  assert.deepEqual(gitlab.destinations, ['registry.example.com/group/app:1.0', 'registry.example.com/group/app:latest']);
  assert.equal(gitlab.cache, true);
  assert.equal(gitlab.cacheRepo, 'registry.example.com/group/app/cache');
  assert.equal(gitlab.cacheTtlMs, 9_000_000);
  assert.deepEqual(gitlab.buildArgs, { VERSION: '1.0' });
  assert.deepEqual(gitlab.labels, { 'org.opencontainers.image.revision': 'abc' });
  assert.equal(gitlab.timestamp?.getTime(), 0);
  assert.equal(gitlab.pullRegistry.tlsVerify, false);
  assert.deepEqual(gitlab.pushRegistry, { tlsVerify: false, retryTimes: 5 });
  assert.deepEqual(gitlab.ignorePaths, ['/kaniko']);
  assert.equal(gitlab.cleanup, true);

  const tar = parseExecutorFlags(['-c', 'tar:///workspace/context.tar.gz', '-f', 'build/Dockerfile', '--no-push', '--tar-path=/out/image.tar', '--registry-mirror=mirror.local:5000', '--insecure-registry=mirror.local:5000']);
  assert.deepEqual(tar.context, { kind: 'tar', file: '/workspace/context.tar.gz' });
  assert.equal(tar.dockerfile, 'build/Dockerfile');
  assert.equal(tar.push, false);
  assert.match(tar.registriesConf ?? '', /prefix = "docker.io"[\s\S]*\[\[registry.mirror\]\]\nlocation = "mirror.local:5000"\ninsecure = true/);
});

test('a kaniko flag berth does not support, or a context it cannot read, is refused with one clear reason', () => {
  const refused = (argv: string[], code: string, pattern: RegExp) => {
    assert.throws(() => parseExecutorFlags(argv), (err: unknown) => isBerthError(err) && err.code === code && pattern.test(err.message) && !err.message.includes('\n'));
  };
  refused(['--destination=r/a:1', '--single-snapshot'], 'NOT_IMPLEMENTED', /--single-snapshot: berth writes one layer per step/);
  refused(['--destination=r/a:1', '--context=git://github.com/org/repo.git'], 'NOT_IMPLEMENTED', /only a directory, dir:\/\/ or a local tar file/);
  refused(['--destination=r/a:1', '--context=s3://bucket/ctx.tar.gz'], 'NOT_IMPLEMENTED', /only a directory/);
  refused(['--destination=r/a:1', '--custom-platform=linux/s390x'], 'NOT_IMPLEMENTED', /only this host's platform/);
  refused(['--destination=r/a:1', '--compression=zstd'], 'NOT_IMPLEMENTED', /only gzip/);
  refused(['--destination=r/a:1', '--registry-map=index.docker.io=mirror'], 'NOT_IMPLEMENTED', /registry maps are not supported/);
  refused(['--destination=r/a:1', '--snapshot-mode=fast'], 'USAGE', /must be full, redo or time/);
  refused(['--destination=r/a:1', '--cache-ttl=soon'], 'USAGE', /--cache-ttl takes a duration/);
  refused(['--context=/workspace'], 'USAGE', /at least one --destination, or --no-push/);
  refused(['--destination=r/a:1', '--frobnicate'], 'USAGE', /unknown flag --frobnicate/);
});

test('berth with kaniko flags and no command is kaniko\'s executor: a refusal is one line on stderr and a non-zero exit', () => {
  for (const argv of [['--destination=127.0.0.1:1/a:1', '--single-snapshot'], ['--destination', '127.0.0.1:1/a:1', '--frobnicate']]) {
    const r = berth(argv);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^berth: executor: /);
  }
});
