// The service modules an image definition can use, each under its own top-level key.
// Adding one: write modules/NAME.ts with defineModule and list it here.
import type { ImageModule } from './module.js';
import { nginx } from './nginx.js';
import { postgresql } from './postgresql.js';
import { redis } from './redis.js';

export const modules: readonly ImageModule[] = [nginx as ImageModule, postgresql as ImageModule, redis as ImageModule];
