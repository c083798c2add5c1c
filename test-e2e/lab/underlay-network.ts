// The lab's underlay through iproute2: one bridge in the host namespace with no address,
// and per node a namespace joined to it by a veth. Nothing here enables forwarding or adds
// a default route, so no lab namespace can reach anything outside the lab.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.js';
import { LAB_BRIDGE, LAB_LINK_PREFIX, LAB_NETNS_PREFIX, type NodePaths } from './lab-layout.js';
import { runCommand } from './run-command.js';

async function ip(args: readonly string[]): Promise<string> {
  return (await runCommand('ip', args)).stdout;
}

async function linkExists(name: string): Promise<boolean> {
  const result = await runCommand('ip', ['link', 'show', 'dev', name], { allowFailure: true });
  return result.exitCode === 0;
}

/**
 * Makes the lab bridge, without an address (`addrgenmode none` keeps even the IPv6
 * link-local one off), and brings it up. Idempotent.
 */
export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(LAB_BRIDGE))) {
    await ip(['link', 'add', LAB_BRIDGE, 'type', 'bridge']);
  }
  await ip(['link', 'set', LAB_BRIDGE, 'addrgenmode', 'none']);
  await ip(['link', 'set', LAB_BRIDGE, 'up']);
}

/**
 * Makes node namespace `paths.netns` with loopback up and `eth0` holding
 * `address/prefixLength`, the other end of its veth on the lab bridge.
 */
export async function createNodeNetwork(
  paths: NodePaths,
  options: { address: string; prefixLength: number },
): Promise<void> {
  await ip(['netns', 'add', paths.netns]);
  await ip([
    'link',
    'add',
    paths.hostVeth,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    paths.netns,
  ]);
  await ip(['link', 'set', paths.hostVeth, 'addrgenmode', 'none']);
  await ip(['link', 'set', paths.hostVeth, 'master', LAB_BRIDGE, 'up']);
  await ip(['-n', paths.netns, 'link', 'set', 'lo', 'up']);
  await ip([
    '-n',
    paths.netns,
    'addr',
    'add',
    `${options.address}/${options.prefixLength}`,
    'dev',
    'eth0',
  ]);
  await ip(['-n', paths.netns, 'link', 'set', 'eth0', 'up']);
}

const LINK_UP_TIMEOUT_MS = 5_000;

async function operstate(args: readonly string[]): Promise<string | undefined> {
  const [link] = JSON.parse(await ip(['-json', ...args])) as { operstate?: string }[];
  return link?.operstate;
}

/**
 * Sets the host side of the node's veth down (`cut`) or up (`heal`). Bringing it up waits
 * until both ends report carrier: the kernel's link watcher delays carrier changes by up
 * to a second, and a packet sent meanwhile is dropped, not queued.
 */
export async function setNodeLink(paths: NodePaths, up: boolean): Promise<void> {
  await ip(['link', 'set', paths.hostVeth, up ? 'up' : 'down']);
  if (!up) return;
  const deadline = Date.now() + LINK_UP_TIMEOUT_MS;
  for (;;) {
    const hostSide = await operstate(['link', 'show', 'dev', paths.hostVeth]);
    const nodeSide = await operstate(['-n', paths.netns, 'link', 'show', 'dev', 'eth0']);
    if (hostSide === 'UP' && nodeSide === 'UP') return;
    if (Date.now() > deadline) {
      throw new LabError(
        'SHOAL_LAB_COMMAND_FAILED',
        `Bring up link "${paths.hostVeth}": no carrier after ${LINK_UP_TIMEOUT_MS} ms (host side ${hostSide}, node side ${nodeSide})`,
      );
    }
    await sleep(20);
  }
}

/** Whether the host side of the node's veth is administratively up. */
export async function isNodeLinkUp(paths: NodePaths): Promise<boolean> {
  const [link] = JSON.parse(await ip(['-json', 'link', 'show', 'dev', paths.hostVeth])) as {
    flags?: string[];
  }[];
  return link?.flags?.includes('UP') ?? false;
}

/** The lab's network namespaces present on the system, by name prefix. */
export async function listLabNetns(): Promise<string[]> {
  if (!existsSync('/run/netns')) return [];
  const names = await readdir('/run/netns');
  return names.filter((name) => name.startsWith(LAB_NETNS_PREFIX)).sort();
}

/** The lab's links in the host namespace (bridge and host-side veths), by name prefix. */
export async function listLabLinks(): Promise<string[]> {
  const links = JSON.parse(await ip(['-json', 'link', 'show'])) as { ifname: string }[];
  return links
    .map((link) => link.ifname)
    .filter((name) => name.startsWith(LAB_LINK_PREFIX))
    .sort();
}

/** Deletes network namespace `name` (its veth end goes with it, and so the peer). */
export async function deleteNetns(name: string): Promise<void> {
  await ip(['netns', 'delete', name]);
}

/**
 * Deletes host link `name`. A veth whose namespace was just deleted goes away on its own,
 * asynchronously, so "not found" (even between a check and the delete) is success.
 */
export async function deleteLink(name: string): Promise<void> {
  const result = await runCommand('ip', ['link', 'delete', name], { allowFailure: true });
  if (result.exitCode !== 0 && (await linkExists(name))) {
    throw new LabError(
      'SHOAL_LAB_COMMAND_FAILED',
      `Delete link "${name}": exit code ${result.exitCode}: ${result.stderr.trim()}`,
    );
  }
}
