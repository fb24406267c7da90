export { buildDockerfile, type BuildOptions, type BuildResult } from './buildDockerfile.js';
export { compileDockerfile } from './compile/compileDockerfile.js';
export type { BuildPlan, StagePlan, Step } from './plan.js';
