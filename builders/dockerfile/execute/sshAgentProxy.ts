import { chmodSync, chownSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';

export interface SshAgentProxy {
  /** The proxy's socket: what a RUN step's ssh mount binds at its target. */
  path: string;
  close(): Promise<void>;
}

/**
 * A socket, owned and moded as the RUN --mount=type=ssh asks (uid, gid, mode 0600 by default), that forwards each
 * connection to the build's ssh agent, as BuildKit forwards its session's agent. The agent's own socket never
 * enters the step, and the step can use the agent only while it runs.
 */
export async function startSshAgentProxy(agentSocket: string, path: string, owner: { uid: number; gid: number; mode: number }): Promise<SshAgentProxy> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const agent = connect(agentSocket);
    open.add(client).add(agent);
    const end = () => {
      client.destroy();
      agent.destroy();
      open.delete(client);
      open.delete(agent);
    };
    client.on('error', end).on('close', end);
    agent.on('error', end).on('close', end);
    client.pipe(agent).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chownSync(path, owner.uid, owner.gid);
  chmodSync(path, owner.mode);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
