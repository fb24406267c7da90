export { buildNodeProject, type NodeBuildOptions, type NodeBuildResult } from './buildNodeProject.js';
