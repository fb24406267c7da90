import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familiarDockerReference, formatDockerReference, parseDockerReference, parseDockerReferenceWithDefaultTag } from '../../src/reference/dockerReference.js';

test('short names normalise to docker.io/library with :latest', () => {
  assert.equal(formatDockerReference(parseDockerReferenceWithDefaultTag('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(formatDockerReference(parseDockerReference('user/app:1.0')), 'docker.io/user/app:1.0');
  assert.equal(formatDockerReference(parseDockerReference('index.docker.io/library/alpine')), 'docker.io/library/alpine');
  assert.equal(familiarDockerReference(parseDockerReference('docker.io/library/busybox:1')), 'busybox:1');
});

test('registries with ports, localhost and IPv6 are recognised', () => {
  assert.deepEqual(parseDockerReference('127.0.0.1:5000/a/b:tag'), { domain: '127.0.0.1:5000', path: 'a/b', tag: 'tag' });
  assert.deepEqual(parseDockerReference('localhost/app'), { domain: 'localhost', path: 'app' });
  assert.equal(parseDockerReference('[::1]:5000/app:1').domain, '[::1]:5000');
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseDockerReference(`quay.io/x/y:t@${digest}`), { domain: 'quay.io', path: 'x/y', tag: 't', digest });
});

test('invalid references are refused with one clear reason', () => {
  for (const bad of ['', 'Busybox', 'library/Busybox', 'a/../b', 'app:bad tag', 'app@sha256:123', 'app:', '/abs', 'a//b', `x/${'a'.repeat(300)}`, 'host:port/app']) {
    assert.throws(() => parseDockerReference(bad), { code: 'INVALID_REFERENCE' }, bad);
  }
});
