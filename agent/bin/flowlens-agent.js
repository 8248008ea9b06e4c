#!/usr/bin/env node
// The flowlens-agent command. This shim is committed (unlike dist/) so that `npm ci` links the bin on a fresh
// clone; the command itself is the TypeScript build in dist/ (`npm run build`).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('flowlens-agent: not built yet; run `npm run build` (or `npm run build -w agent`) first\n');
  process.exit(1);
}
await import(cli.href);
