// The part of @npmcli/arborist (which ships no types) the Node builder uses.
declare module '@npmcli/arborist' {
  interface ArboristOptions {
    path: string;
    cache?: string;
    registry?: string;
    ignoreScripts?: boolean;
    audit?: boolean;
    fund?: boolean;
    [option: string]: unknown;
  }
  export default class Arborist {
    constructor(options: ArboristOptions);
    reify(options?: { omit?: string[]; save?: boolean; [option: string]: unknown }): Promise<unknown>;
  }
}
