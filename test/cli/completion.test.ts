import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { commands } from '../../src/cli/commands/index.js';
import { flagsOf } from '../../src/cli/help/shellCompletion.js';
import { writeManPages } from '../../src/cli/help/manPage.js';
import { peer, tempDir } from '../support/peers.js';
import { berth } from '../support/runCli.js';

/** Flags of other programs that help texts name (skopeo's, runc's, a RUN instruction's, berth run's). */
const NAMED_NOT_OWN: Record<string, string[]> = { sign: ['--sign-by'], build: ['--mount'], system: ['--mount'], unpack: ['--bundle'], stop: ['--rm'] };

test('every flag a help text documents is one the parser takes and completion offers (the --no- forms included)', async () => {
  for (const entry of commands) {
    const command = await entry.load();
    const offered = new Set([command.flags, ...Object.values(command.subcommands ?? {})].flatMap((spec) => flagsOf(spec).map((f) => f.spelling)));
    const documented = new Set(command.usage.match(/(?<![\w-])--[a-z][a-z0-9.-]*[a-z0-9]/g) ?? []);
    const missing = [...documented].filter((flag) => !offered.has(flag) && !NAMED_NOT_OWN[entry.name]?.includes(flag));
    assert.deepEqual(missing, [], `berth ${entry.name}: documented but not offered`);
  }
  // A --no- form that means nothing is a typo, not a silent change.
  const typo = berth(['inspect', '--no-format', 'oci:/nonexistent:x']);
  assert.equal(typo.status, 2);
  assert.equal(typo.stderr, 'berth: inspect: unknown flag --no-format (see berth inspect --help)\n');
});

test('berth completion bash completes commands, subcommands, flags and flag values in a real bash', (t) => {
  const dir = tempDir(t, 'berth-completion-');
  const script = berth(['completion', 'bash']);
  assert.equal(script.status, 0, script.stderr);
  writeFileSync(join(dir, 'berth.bash'), script.stdout);
  const complete = (line: string): string[] => {
    const words = line.split(' ');
    const program = `source ${join(dir, 'berth.bash')}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})\nCOMP_CWORD=${words.length - 1}\n_berth\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`;
    const r = spawnSync('bash', ['--norc', '-c', program], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  };
  assert.deepEqual(complete('berth bui'), ['build', 'build-node']);
  assert.deepEqual(complete('berth images --no'), ['--no-trunc']);
  assert.deepEqual(complete('berth build-node --work'), ['--workspace']);
  assert.deepEqual(complete('berth inspect --no-'), ['--no-creds', '--no-tags', '--no-tls-verify']);
  assert.deepEqual(complete('berth registry '), ['gc', 'serve']);
  assert.deepEqual(complete('berth registry serve --log'), ['--log-format']);
  assert.deepEqual(complete('berth completion '), ['bash', 'fish', 'zsh']);
  assert.deepEqual(complete('berth copy --digestfile berth.b'), ['berth.bash'], 'a flag that takes a value completes file names');
  assert.equal(berth(['completion', 'tcsh']).stderr, 'berth: completion: unknown shell "tcsh" (bash, zsh, fish)\n');
});

test('berth completion zsh and fish are scripts their shells accept', (t) => {
  const dir = tempDir(t, 'berth-completion-');
  for (const [shell, check] of [['zsh', ['-n']], ['fish', ['--no-execute']]] as const) {
    if (!peer(t, shell)) continue;
    const script = berth(['completion', shell]);
    assert.equal(script.status, 0, script.stderr);
    const file = join(dir, `berth.${shell}`);
    writeFileSync(file, script.stdout);
    const r = spawnSync(shell, [...check, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    assert.match(script.stdout, /build-node/);
  }
  if (peer(t, 'fish')) {
    // fish loads it and offers berth's commands with their summaries.
    const r = spawnSync('fish', ['--no-config', '-c', `source ${join(dir, 'berth.fish')}; complete -C 'berth build'`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^build-node\tBuild an image from a Node project/m);
  }
});

test('man pages: one per command from its help text, and each renders without a warning', async (t) => {
  const dir = tempDir(t, 'berth-man-');
  const written = await writeManPages(dir);
  assert.equal(written.length, commands.length + 1);
  assert.deepEqual(readdirSync(dir).sort(), ['berth.1', ...commands.map((c) => `berth-${c.name}.1`)].sort());
  const page = readFileSync(join(dir, 'berth-build-node.1'), 'utf8');
  assert.match(page, /^\.TH BERTH-BUILD-NODE 1 /);
  assert.match(page, /^\.SH SYNOPSIS\n\.nf\nberth build\\-node \[OPTIONS\]/m);
  assert.match(page, /\\-\\-workspace/);
  if (!peer(t, 'groff')) return;
  for (const file of written) {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
    assert.equal(r.stderr, '', `${file}: groff warns`);
  }
  const text = spawnSync('groff', ['-man', '-Tutf8', join(dir, 'berth-copy.1')], { encoding: 'utf8' }).stdout.replace(/.\x08/g, '');
  assert.match(text, /NAME\n\s+berth-copy - Copy an image between transports/);
  assert.match(text, /--preserve-digests/);
});
