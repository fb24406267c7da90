// The part of npm-packlist (which ships no types) the Node builder uses: npm pack's file list for a package.
declare module 'npm-packlist' {
  interface PackTree {
    path: string;
    package: Record<string, unknown>;
    isProjectRoot: boolean;
    edgesOut: Map<string, unknown>;
  }
  export default function packlist(tree: PackTree): Promise<string[]>;
}
