// Every published package's `prepack`: refuses to pack with npm, which would ship the `workspace:` ranges of the
// package's Tributary dependencies as they are (no one could install it), then copies the root LICENSE in.
import { copyFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const agent = process.env.npm_config_user_agent ?? '';
if (agent.startsWith('npm/')) {
  const pinned = ['dependencies', 'peerDependencies', 'optionalDependencies']
    .flatMap((field) => Object.entries(manifest[field] ?? {}))
    .filter(([, range]) => String(range).startsWith('workspace:'));
  if (pinned.length > 0) {
    const [name, range] = pinned[0];
    console.error(
      `${manifest.name}: pack and publish with pnpm (pnpm -r pack, pnpm -r publish, or changeset publish), not npm: ` +
        `npm would ship the dependency '${name}': '${range}' as it is, and the package could not be installed.`,
    );
    process.exit(1);
  }
}
copyFileSync(fileURLToPath(new URL('../LICENSE', import.meta.url)), 'LICENSE');
