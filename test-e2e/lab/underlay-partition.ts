// Network partitions of the lab underlay: an nftables table of the bridge family in the
// host namespace that drops frames between the bridge ports of nodes in different groups.
// Being on the bridge, it cuts ARP as well as IP, and it touches nothing but lab ports.
import { runCommand } from './run-command.js';

/** The nftables table (family `bridge`) that holds the partition rules. */
export const PARTITION_TABLE = 'shoal_lab';

/**
 * The nft script that replaces the partition with `groups` (each a list of host-side veth
 * names): traffic between ports of different groups is dropped, ports in no group are not
 * touched. One transaction: add-then-delete makes the delete safe when the table is absent.
 *
 * @example
 * renderPartition([['shl-m1'], ['shl-w1', 'shl-w2']]);
 */
export function renderPartition(groups: readonly (readonly string[])[]): string {
  const rules: string[] = [];
  groups.forEach((group, index) => {
    const others = groups.filter((_, other) => other !== index).flat();
    if (group.length === 0 || others.length === 0) return;
    const set = others.map((port) => JSON.stringify(port)).join(', ');
    for (const port of group) {
      rules.push(`    iifname ${JSON.stringify(port)} oifname { ${set} } drop`);
    }
  });
  return [
    `table bridge ${PARTITION_TABLE}`,
    `delete table bridge ${PARTITION_TABLE}`,
    `table bridge ${PARTITION_TABLE} {`,
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Applies {@link renderPartition}'s script for `groups` with `nft -f`. */
export async function applyPartition(groups: readonly (readonly string[])[]): Promise<void> {
  await runCommand('nft', ['-f', '-'], { input: renderPartition(groups) });
}

/** Whether the partition table exists (a partition is in force or was left behind). */
export async function hasPartitionTable(): Promise<boolean> {
  const result = await runCommand('nft', ['list', 'table', 'bridge', PARTITION_TABLE], {
    allowFailure: true,
  });
  return result.exitCode === 0;
}

/** Removes the partition table, if there is one: the underlay is whole again. */
export async function clearPartition(): Promise<void> {
  if (await hasPartitionTable()) {
    await runCommand('nft', ['delete', 'table', 'bridge', PARTITION_TABLE]);
  }
}
