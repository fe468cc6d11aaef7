// A build starts from an empty dist/, so nothing stale (old .map or internal .d.ts files, modules
// since removed) is ever packed.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
