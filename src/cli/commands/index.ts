import type { Command } from '../command.js';

/**
 * Every berth subcommand, in the order `berth --help` lists them. Modules load
 * lazily so that a command pays only for what it uses at start-up.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const commands: CommandEntry[] = [
  { name: 'copy', summary: 'Copy an image between transports (skopeo copy)', load: async () => (await import('./copy.js')).copyCommand },
  { name: 'inspect', summary: 'Show an image\'s manifest, config and tags (skopeo inspect)', load: async () => (await import('./inspect.js')).inspectCommand },
  { name: 'delete', summary: 'Delete an image from a registry or layout (skopeo delete)', load: async () => (await import('./delete.js')).deleteCommand },
  { name: 'list-tags', summary: 'List the tags of a repository (skopeo list-tags)', load: async () => (await import('./list-tags.js')).listTagsCommand },
  { name: 'sync', summary: 'Synchronise images between registries, directories and OCI layouts (skopeo sync)', load: async () => (await import('./sync.js')).syncCommand },
  { name: 'login', summary: 'Log in to a registry, storing credentials where skopeo and podman find them', load: async () => (await import('./login.js')).loginCommand },
  { name: 'logout', summary: 'Remove stored credentials for a registry', load: async () => (await import('./logout.js')).logoutCommand },
  { name: 'manifest-digest', summary: 'Print the digest of a manifest file (skopeo manifest-digest)', load: async () => (await import('./manifest-digest.js')).manifestDigestCommand },
  { name: 'images', summary: 'List the images in the local store', load: async () => (await import('./images.js')).imagesCommand },
  { name: 'rmi', summary: 'Remove images from the local store', load: async () => (await import('./rmi.js')).rmiCommand },
  { name: 'registry', summary: 'Serve the embedded OCI registry, or collect its garbage', load: async () => (await import('./registry.js')).registryCommand },
  { name: 'generate-key', summary: 'Generate a cosign-compatible ECDSA P-256 signing key pair', load: async () => (await import('./generate-key.js')).generateKeyCommand },
  { name: 'sign', summary: 'Sign an image (cosign signatures, or OpenPGP simple signing)', load: async () => (await import('./sign.js')).signCommand },
  { name: 'verify', summary: 'Verify an image\'s signatures (cosign keys, or OpenPGP simple signing)', load: async () => (await import('./verify.js')).verifyCommand },
  { name: 'standalone-sign', summary: 'Sign a manifest file with OpenPGP, without image storage (skopeo standalone-sign)', load: async () => (await import('./standalone-sign.js')).standaloneSignCommand },
  { name: 'standalone-verify', summary: 'Verify an OpenPGP simple signature of a manifest file (skopeo standalone-verify)', load: async () => (await import('./standalone-verify.js')).standaloneVerifyCommand },
  { name: 'pull', summary: 'Pull an image from its registry into the local store (podman pull)', load: async () => (await import('./pull.js')).pullCommand },
  { name: 'push', summary: 'Push an image of the local store to a registry or any reference (podman push)', load: async () => (await import('./push.js')).pushCommand },
  { name: 'tag', summary: 'Give an image of the local store more names', load: async () => (await import('./tag.js')).tagCommand },
  { name: 'save', summary: 'Write an image of the local store to a docker-archive tarball', load: async () => (await import('./save.js')).saveCommand },
  { name: 'load', summary: 'Read a docker-archive tarball into the local store', load: async () => (await import('./load.js')).loadCommand },
  { name: 'build', summary: 'Build an image from a Dockerfile (RUN included, no daemon)', load: async () => (await import('./build.js')).buildCommand },
  { name: 'executor', summary: 'Build and push in a CI pod, with kaniko\'s executor flags (in place, unprivileged)', load: async () => (await import('./executor.js')).executorCommand },
  { name: 'build-node', summary: 'Build an image from a Node project, no Dockerfile (jib-style)', load: async () => (await import('./build-node.js')).buildNodeCommand },
  { name: 'unpack', summary: 'Unpack an image into an OCI runtime bundle (rootfs/ + config.json)', load: async () => (await import('./unpack.js')).unpackCommand },
  { name: 'run', summary: 'Run a command in a new container from an image (podman run)', load: async () => (await import('./run.js')).runCommand },
  { name: 'ps', summary: 'List containers started by berth run', load: async () => (await import('./ps.js')).psCommand },
  { name: 'logs', summary: 'Print the output of a detached container (-f to follow)', load: async () => (await import('./logs.js')).logsCommand },
  { name: 'stop', summary: 'Stop containers started by berth run (TERM, then KILL)', load: async () => (await import('./stop.js')).stopCommand },
  { name: 'rm', summary: 'Remove containers started by berth run', load: async () => (await import('./rm.js')).rmCommand },
  { name: 'system', summary: 'Prune the local caches: unpacked images no container uses (podman system prune)', load: async () => (await import('./system.js')).systemCommand },
  { name: 'completion', summary: 'Print a shell completion script (bash, zsh, fish)', load: async () => (await import('./completion.js')).completionCommand },
];
