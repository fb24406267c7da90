import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseExecutorFlags } from '../../src/cli/commands/executor.js';

const doc = readFileSync(new URL('../../../docs/kubernetes.md', import.meta.url), 'utf8');
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

type Node = Record<string, unknown>;
const manifests = yamlBlocks.flatMap((text) => parseAllDocuments(text).map((d) => {
  assert.equal(d.errors.length, 0, String(d.errors[0]));
  return d.toJS() as Node;
}));
const byKind = (kind: string) => manifests.find((m) => m.kind === kind) as Node;
const at = (node: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((n, key) => (n as Record<string | number, unknown>)[key], node);

/** Words of a shell command line as sh splits them: double and single quotes, ${VAR} from `vars`. */
function shellWords(line: string, vars: Record<string, string>): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'" ? c === "'" : quote === '"' ? c === '"' : c === '"' || c === "'") {
      quote = quote ? undefined : (c as '"' | "'");
      word ??= '';
    } else if (c === '$' && quote !== "'" && line[i + 1] === '{') {
      const end = line.indexOf('}', i);
      const name = line.slice(i + 2, end);
      assert.ok(name in vars, `a value for \${${name}}`);
      word = (word ?? '') + vars[name];
      i = end;
    } else if (c === ' ' && !quote) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

test('docs/kubernetes.md: the Job builds with the default pod security, credentials from a docker config Secret, and a shared cache', () => {
  const job = byKind('Job');
  assert.equal(job.apiVersion, 'batch/v1');
  const pod = at(job, 'spec', 'template', 'spec') as Node;
  const container = at(pod, 'containers', 0) as Node;
  const security = (container.securityContext ?? {}) as Node;
  assert.notEqual(security.privileged, true);
  assert.equal(security.allowPrivilegeEscalation, false);
  assert.equal(at(security, 'capabilities'), undefined, 'no capabilities added');
  assert.equal(pod.hostNetwork ?? false, false);
  const plan = parseExecutorFlags(container.args as string[]);
  assert.deepEqual(plan.context, { kind: 'dir', path: '/workspace' });
  assert.deepEqual(plan.destinations, ['registry.example.com/team/app:1.0.0']);
  assert.equal(plan.cache, true);
  assert.equal(plan.cacheRepo, 'registry.example.com/team/app/cache');
  assert.equal(plan.cacheTtlMs, 168 * 3600 * 1000);
  const mounts = container.volumeMounts as Node[];
  const dockerConfig = mounts.find((m) => m.mountPath === '/kaniko/.docker')!;
  const secretVolume = (pod.volumes as Node[]).find((v) => v.name === dockerConfig.name)!;
  assert.deepEqual(at(secretVolume, 'secret', 'items'), [{ key: '.dockerconfigjson', path: 'config.json' }]);
  const workspace = mounts.find((m) => m.mountPath === '/workspace')!;
  assert.ok((pod.volumes as Node[]).some((v) => v.name === workspace.name && 'emptyDir' in v), 'the context is a volume: a mount point the build keeps');
  const clone = at(pod, 'initContainers', 0) as Node;
  assert.ok((clone.volumeMounts as Node[]).some((m) => m.name === workspace.name && m.mountPath === '/workspace'));
});

test('docs/kubernetes.md: the Tekton Task takes the kaniko Task\'s parameters and writes IMAGE_DIGEST', () => {
  const task = byKind('Task');
  assert.equal(task.apiVersion, 'tekton.dev/v1');
  const params = (at(task, 'spec', 'params') as Node[]).map((p) => p.name);
  assert.deepEqual(params, ['IMAGE', 'DOCKERFILE', 'CONTEXT', 'EXTRA_ARGS']);
  assert.deepEqual((at(task, 'spec', 'results') as Node[]).map((r) => r.name), ['IMAGE_DIGEST', 'IMAGE_URL']);
  const step = at(task, 'spec', 'steps', 0) as Node;
  const values: Record<string, string> = {
    'params.DOCKERFILE': './Dockerfile', 'params.CONTEXT': './', 'params.IMAGE': 'registry.example.com/team/app:1.0.0',
    'workspaces.source.path': '/workspace/source', 'results.IMAGE_DIGEST.path': '/tekton/results/IMAGE_DIGEST',
  };
  const args = (step.args as string[]).filter((a) => a !== '$(params.EXTRA_ARGS)').map((a) => a.replace(/\$\(([^)]+)\)/g, (_m, name: string) => {
    assert.ok(name in values, `a value for $(${name})`);
    return values[name]!;
  }));
  const plan = parseExecutorFlags(args);
  assert.deepEqual(plan.destinations, ['registry.example.com/team/app:1.0.0']);
  assert.equal(plan.digestFile, '/tekton/results/IMAGE_DIGEST');
  assert.deepEqual(plan.context, { kind: 'dir', path: '/workspace/source/./' });
  assert.equal(at(step, 'securityContext', 'allowPrivilegeEscalation'), false);
  const dockerconfig = (at(task, 'spec', 'workspaces') as Node[]).find((w) => w.name === 'dockerconfig')!;
  assert.equal(dockerconfig.mountPath, '/kaniko/.docker');
});

test('docs/kubernetes.md: the GitLab job\'s /kaniko/executor line is a command line berth takes', () => {
  const job = manifests.find((m) => 'build' in m)!.build as Node;
  assert.deepEqual(at(job, 'image', 'entrypoint'), ['']);
  const script = job.script as string[];
  const line = script.find((l) => l.startsWith('/kaniko/executor '))!;
  const words = shellWords(line, { CI_PROJECT_DIR: '/builds/team/app', CI_REGISTRY_IMAGE: 'registry.gitlab.example.com/team/app', CI_COMMIT_SHORT_SHA: '1a2b3c4d' });
  assert.equal(words[0], '/kaniko/executor');
  const plan = parseExecutorFlags(words.slice(1));
  assert.deepEqual(plan.context, { kind: 'dir', path: '/builds/team/app' });
  assert.equal(plan.dockerfile, '/builds/team/app/Dockerfile');
  assert.deepEqual(plan.destinations, ['registry.gitlab.example.com/team/app:1a2b3c4d']);
  assert.equal(plan.cacheRepo, 'registry.gitlab.example.com/team/app/cache');
  assert.ok(script.some((l) => l.includes('> /kaniko/.docker/config.json')), 'credentials where the executor reads them');
});
