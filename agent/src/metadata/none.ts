/** No metadata source: flows carry IPs only. */
import type { MetadataProvider } from '../contracts/metadata.js';

export function noMetadata(): MetadataProvider {
  return {
    start: async () => undefined,
    stop: async () => undefined,
    podByIp: () => undefined,
    nodeByName: () => undefined,
    nodeByIp: () => undefined,
    serviceByIp: () => undefined,
  };
}
