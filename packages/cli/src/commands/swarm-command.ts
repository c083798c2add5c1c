// `shoal swarm init|join|join-token|leave|update`, with Docker's flags and messages.
import { pb } from '@shoal/api';
import { Command } from 'commander';
import { type CliIo, type LocalApiClient, withDaemon } from '../client/cli-context.js';
import { durationFromMs, parseDurationMs } from '../parse.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function joinCommand(token: string, addr: string): string {
  return `    shoal swarm join --token ${token} ${addr}\n`;
}

async function joinTokenText(
  client: LocalApiClient,
  role: 'worker' | 'manager',
  quiet: boolean,
): Promise<string> {
  const [{ cluster }, info] = await Promise.all([
    client.control.getCluster({ clusterId: '' }),
    client.info(),
  ]);
  const token =
    role === 'worker' ? cluster?.rootCa?.joinTokens?.worker : cluster?.rootCa?.joinTokens?.manager;
  if (quiet) return `${token}\n`;
  return `To add a ${role} to this swarm, run the following command:\n\n${joinCommand(token ?? '', info.nodeAddr)}\n`;
}

function checkRole(role: string): 'worker' | 'manager' {
  if (role !== 'worker' && role !== 'manager') {
    throw new TypeError(`Invalid role "${role}": want worker or manager`);
  }
  return role;
}

/** Builds the `swarm` command group. */
export function swarmCommand(io: CliIo): Command {
  const init = new Command('init')
    .description('Initialize a swarm: this node becomes its first manager')
    .option('--advertise-addr <ip[:port]>', 'address other nodes reach this manager at')
    .option('--listen-addr <ip[:port]>', 'address the manager port listens on', '0.0.0.0:2377')
    .option('--default-addr-pool <cidr>', 'address pool for overlay networks (repeatable)', collect)
    .option('--default-addr-pool-mask-length <n>', 'subnet size of overlay networks', '24')
    .option('--force-new-cluster', "force a new cluster from this manager's current state")
    .action(
      async (
        options: {
          advertiseAddr?: string;
          listenAddr: string;
          defaultAddrPool?: string[];
          defaultAddrPoolMaskLength: string;
          forceNewCluster?: boolean;
        },
        self: Command,
      ) => {
        const mask = Number(options.defaultAddrPoolMaskLength);
        if (!Number.isInteger(mask) || mask < 8 || mask > 29) {
          throw new RangeError(
            `Invalid --default-addr-pool-mask-length "${options.defaultAddrPoolMaskLength}": must be from 8 to 29`,
          );
        }
        await withDaemon(self, io, async (client) => {
          const response = await client.swarmInit({
            advertiseAddr: options.advertiseAddr ?? '',
            listenAddr: options.listenAddr,
            defaultAddrPool: options.defaultAddrPool ?? [],
            subnetSize: mask,
            forceNewCluster: options.forceNewCluster === true,
          });
          io.out(
            `Swarm initialized: current node (${response.nodeId}) is now a manager.\n\n` +
              `To add a worker to this swarm, run the following command:\n\n${joinCommand(response.workerToken, response.joinAddr)}\n` +
              "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n\n",
          );
        });
      },
    );

  const join = new Command('join')
    .description('Join a swarm as a node and/or manager')
    .requiredOption('--token <token>', 'token for entry into the swarm')
    .option('--advertise-addr <ip[:port]>', 'address other nodes reach this node at')
    .option(
      '--listen-addr <ip[:port]>',
      'address the manager port listens on if this node becomes a manager',
      '0.0.0.0:2377',
    )
    .argument('<host:port>', "a manager's address")
    .action(
      async (
        remote: string,
        options: { token: string; advertiseAddr?: string; listenAddr: string },
        self: Command,
      ) => {
        await withDaemon(self, io, async (client) => {
          const response = await client.swarmJoin({
            token: options.token,
            remoteAddr: remote,
            advertiseAddr: options.advertiseAddr ?? '',
            listenAddr: options.listenAddr,
          });
          io.out(
            response.manager
              ? 'This node joined a swarm as a manager.\n'
              : 'This node joined a swarm as a worker.\n',
          );
        });
      },
    );

  const joinToken = new Command('join-token')
    .description('Manage join tokens')
    .option('-q, --quiet', 'only display the token')
    .option('--rotate', 'rotate the join token')
    .argument('<worker|manager>', 'which token')
    .action(
      async (roleText: string, options: { quiet?: boolean; rotate?: boolean }, self: Command) => {
        const role = checkRole(roleText);
        await withDaemon(self, io, async (client) => {
          if (options.rotate) {
            const { cluster } = await client.control.getCluster({ clusterId: '' });
            await client.control.updateCluster({
              clusterId: cluster!.id,
              clusterVersion: cluster!.meta?.version ?? 0,
              spec: cluster!.spec,
              rotation: {
                workerJoinToken: role === 'worker',
                managerJoinToken: role === 'manager',
              },
            });
            if (!options.quiet) io.out(`Successfully rotated ${role} join token.\n\n`);
          }
          io.out(await joinTokenText(client, role, options.quiet === true));
        });
      },
    );

  const leave = new Command('leave')
    .description('Leave the swarm')
    .option('-f, --force', 'leave even if this breaks the quorum of the managers')
    .action(async (options: { force?: boolean }, self: Command) => {
      await withDaemon(self, io, async (client) => {
        await client.swarmLeave({ force: options.force === true });
        io.out('Node left the swarm.\n');
      });
    });

  const update = new Command('update')
    .description('Update the swarm')
    .option('--task-history-limit <n>', 'task history retention limit')
    .option('--dispatcher-heartbeat <duration>', 'dispatcher heartbeat period, e.g. 1s')
    .option('--cert-expiry <duration>', 'validity period for node certificates, e.g. 2160h')
    .action(
      async (
        options: { taskHistoryLimit?: string; dispatcherHeartbeat?: string; certExpiry?: string },
        self: Command,
      ) => {
        const history =
          options.taskHistoryLimit === undefined ? undefined : Number(options.taskHistoryLimit);
        if (history !== undefined && (!Number.isInteger(history) || history < 0)) {
          throw new RangeError(
            `Invalid --task-history-limit "${options.taskHistoryLimit}": must be a whole number, 0 or more`,
          );
        }
        const heartbeat =
          options.dispatcherHeartbeat === undefined
            ? undefined
            : parseDurationMs(options.dispatcherHeartbeat, '--dispatcher-heartbeat');
        const expiry =
          options.certExpiry === undefined
            ? undefined
            : parseDurationMs(options.certExpiry, '--cert-expiry');
        await withDaemon(self, io, async (client) => {
          const { cluster } = await client.control.getCluster({ clusterId: '' });
          const spec: pb.ClusterSpec = pb.ClusterSpec.fromPartial(cluster?.spec ?? {});
          if (history !== undefined) spec.orchestration = { taskHistoryRetentionLimit: history };
          if (heartbeat !== undefined)
            spec.dispatcher = { heartbeatPeriod: durationFromMs(heartbeat) };
          if (expiry !== undefined) spec.caConfig = { nodeCertExpiry: durationFromMs(expiry) };
          await client.control.updateCluster({
            clusterId: cluster!.id,
            clusterVersion: cluster!.meta?.version ?? 0,
            spec,
          });
          io.out('Swarm updated.\n');
        });
      },
    );

  const group = new Command('swarm').description('Manage the swarm');
  for (const command of [init, join, joinToken, leave, update]) group.addCommand(command);
  return group;
}
