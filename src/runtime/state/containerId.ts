import { BerthError } from '../../errors/BerthError.js';

/** runc's rule for container ids; they become directory names under --root. */
export function checkContainerId(id: string | undefined): string {
  if (!id) throw new BerthError('USAGE', 'container id cannot be empty');
  if (!/^[\w+\-.]+$/.test(id) || id === '.' || id === '..' || id.length > 1024) throw new BerthError('USAGE', `invalid container id format: ${id}`);
  return id;
}
