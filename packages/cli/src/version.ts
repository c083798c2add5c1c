// The version this build of Shoal reports, read once from the cli package's manifest.
import { readFileSync } from 'node:fs';
import type { pb } from '@shoal/api';

/** The Local API version; bumped when the Local service changes incompatibly. */
export const LOCAL_API_VERSION = '1';

/** Version facts of this build and the Node runtime it runs on. */
export function versionInfo(): pb.VersionInfo {
  const manifest = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return {
    version: manifest.version,
    gitCommit: process.env.SHOAL_GIT_COMMIT ?? '',
    apiVersion: LOCAL_API_VERSION,
    nodeVersion: process.version,
    os: process.platform,
    arch: process.arch,
  };
}
