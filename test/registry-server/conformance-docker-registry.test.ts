import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { peer, which } from '../support/peers.js';
import { defineConformanceSuite } from './support/conformance.js';
import { startDockerRegistryTarget } from './support/targets.js';

const binary = which('docker-registry');

if (!binary) {
  test('distribution-spec conformance: docker-registry', (t) => {
    peer(t, 'docker-registry');
  });
} else {
  // Where docker-registry 2.8 answers differently from the OCI distribution-spec v1.1 (found by running this suite).
  defineConformanceSuite('docker-registry', async () => {
    const root = mkdtempSync(join(tmpdir(), 'berth-docker-registry-'));
    const target = await startDockerRegistryTarget(binary, root);
    return {
      ...target,
      close: async () => {
        await target.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  }, {
    'pull.blob-range-unsatisfiable': 'drops the connection instead of answering 416 to a Range that starts past the end of the blob',
    'push.monolithic-post': 'ignores the body of a monolithic POST ?digest= and opens an upload session (202); the spec allows that fallback, berth answers 201',
    'push.chunk-out-of-order': 'accepts a PATCH whose Content-Range does not start at the current upload offset (202 instead of 416)',
    'push.subject': 'predates distribution-spec v1.1: stores a manifest with a subject but sends no OCI-Subject header',
    'push.invalid-name': 'answers 404 (no route matches) instead of 400 NAME_INVALID for a repository name with upper-case letters',
    'discovery.tags': 'the Debian 2.8 build lists tags in storage order, not lexical order',
    'discovery.tags-pagination': 'ignores n on the tags list (returns every tag, no Link header)',
    'discovery.tags-last': 'ignores n and last on the tags list',
    'discovery.referrers': 'has no referrers API (404)',
    'discovery.referrers-filter': 'has no referrers API (404)',
    'discovery.referrers-empty': 'has no referrers API (404)',
    'management.delete-referrer': 'has no referrers API (404)',
    'management.delete-tag': 'refuses DELETE of a manifest by tag (400), which distribution-spec v1.1 allows',
  });
}
