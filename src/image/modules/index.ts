// The service modules an image definition can use, each under its own top-level key.
// Adding one (redis, postgres): write modules/NAME.ts with defineModule and list it here.
import type { ImageModule } from './module.js';
import { nginx } from './nginx.js';

export const modules: readonly ImageModule[] = [nginx as ImageModule];
