// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');
const swc = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  moduleNameMapper: {
    ...base.moduleNameMapper,
    // @grafana/ui 13 imports react-dom/server; under jsdom jest picks React 19's browser build, which needs
    // MessageChannel. The Node build renders the same markup without it.
    '^react-dom/server$': 'react-dom/server.node',
  },
  // ESM-only packages that @grafana/ui 13 pulls in beyond the scaffold's list.
  transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, '@react-hookz', '@ver0'])],
  transform: {
    ...base.transform,
    // @grafana/data 13 pulls d3-interpolate, which ships only ESM as .mjs: transform it like the other ESM deps.
    '^.+\\.mjs$': swc,
  },
};
