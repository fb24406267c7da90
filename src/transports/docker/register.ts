import { registerTransport } from '../transportRegistry.js';
import { dockerTransport } from './DockerImageReference.js';

registerTransport(dockerTransport);
