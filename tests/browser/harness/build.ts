/**
 * Bundles the browser harness (entry.tsx + the src/ components it mounts) with esbuild into `outDir`,
 * next to an index.html that loads it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const ENTRY = resolve(__dirname, 'entry.tsx');

/**
 * tests/lib/grafana-data-proxy.ts holds both the Node data proxy and the browser-side fetch the harness
 * uses; the browser never calls the Node half, so its `node:` imports become empty modules.
 */
const nodeBuiltinsStub: Plugin = {
  name: 'node-builtins-stub',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({
      contents: 'export const createServer = undefined;',
      loader: 'js',
    }));
  },
};

/**
 * In a `.mjs` file esbuild follows Node: `import X from 'cjs-package'` is the whole `module.exports`, even when
 * the package was compiled from ESM (`__esModule` + `exports.default`). Webpack, which builds Grafana, gives
 * `exports.default` instead, and @grafana/ui's ESM build relies on that (e.g. react-custom-scrollbars-2).
 * Such imports go through a small re-export module, where esbuild applies the `__esModule` convention.
 */
const webpackDefaultInterop: Plugin = {
  name: 'webpack-default-interop',
  setup(b) {
    b.onResolve({ filter: /^[@a-z]/ }, async (args) => {
      if (!args.importer.endsWith('.mjs') || args.pluginData === 'interop') {
        return undefined;
      }
      const real = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'interop',
      });
      if (real.errors.length > 0 || !/\.c?js$/.test(real.path)) {
        return undefined;
      }
      const source = await readFile(real.path, 'utf8');
      // Only CommonJS compiled from ESM needs it; an ES module (export statements) is imported as it is.
      if (!source.includes('__esModule') || /^\s*export\s/m.test(source)) {
        return undefined;
      }
      return { path: real.path, namespace: 'cjs-interop' };
    });
    b.onLoad({ filter: /.*/, namespace: 'cjs-interop' }, (args) => ({
      contents: `export * from ${JSON.stringify(args.path)}; export { default } from ${JSON.stringify(args.path)};`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/** @grafana/runtime's setPluginPage lives in a module its package exports do not list (see app/entry.tsx). */
const RUNTIME_PLUGIN_PAGE = resolve(
  __dirname,
  '../../../node_modules/@grafana/runtime/dist/esm/components/PluginPage.mjs'
);

export interface BuildOptions {
  /** Defaults to the component harness (entry.tsx beside this file). */
  entry?: string;
  /** ES module output, for an entry (or src/module.tsx) with top-level await. */
  esm?: boolean;
}

export async function buildHarness(outDir: string, opts: BuildOptions = {}): Promise<void> {
  const result = await build({
    entryPoints: [opts.entry ?? ENTRY],
    outfile: join(outDir, 'harness.js'),
    bundle: true,
    format: opts.esm ? 'esm' : 'iife',
    // Like the plugin's webpack config: `import pluginJson from 'plugin.json'` resolves from src/.
    nodePaths: [resolve(__dirname, '../../../src')],
    alias: { 'grafana-runtime-plugin-page': RUNTIME_PLUGIN_PAGE },
    platform: 'browser',
    target: 'chrome120',
    jsx: 'automatic',
    sourcemap: false,
    minify: false,
    logLevel: 'silent',
    define: {
      'process.env.NODE_ENV': JSON.stringify(process.env.HARNESS_DEV ? 'development' : 'production'),
      global: 'globalThis',
    },
    loader: { '.svg': 'text', '.woff': 'empty', '.woff2': 'empty', '.png': 'empty', '.ttf': 'empty' },
    plugins: [nodeBuiltinsStub, webpackDefaultInterop],
  });
  if (result.errors.length > 0) {
    throw new Error(`harness bundle failed: ${result.errors.map((e) => e.text).join('; ')}`);
  }
  await writeFile(
    join(outDir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>Flowlens harness</title>' +
      '<link rel="stylesheet" href="/harness.css"></head>' +
      `<body style="margin:0"><div id="root"></div><script ${opts.esm ? 'type="module" ' : ''}src="/harness.js"></script></body></html>`
  );
}
