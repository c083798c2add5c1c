// `shoal node ls|inspect|promote|demote|update|rm`, with Docker's flags and output.
import { pb } from '@shoal/api';
import { Command, Option } from 'commander';
import { type CliIo, type LocalApiClient, withDaemon } from '../client/cli-context.js';
import { renderJson, renderTable, withFormatOption, withListingOptions } from '../client/output.js';
import {
  NODE_LS_HEADERS,
  nodeInspectView,
  nodeRow,
  nodeRowCells,
  renderNodePretty,
} from './node-view.js';

/** Reads `k=v` (or a bare `k`, with an empty value), as `--label-add` takes it. */
export function parseLabel(text: string, flag: string): [string, string] {
  const eq = text.indexOf('=');
  const key = (eq < 0 ? text : text.slice(0, eq)).trim();
  if (key === '')
    throw new TypeError(`Invalid ${flag} "${text}": want key=value with a non-empty key`);
  return [key, eq < 0 ? '' : text.slice(eq + 1)];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

async function changeNode(
  client: LocalApiClient,
  reference: string,
  change: (spec: pb.NodeSpec) => pb.NodeSpec,
): Promise<pb.Node> {
  const { node } = await client.control.getNode({ nodeId: reference });
  const spec = change(
    node?.spec ?? {
      annotations: { name: '', labels: {} },
      desiredRole: pb.NodeRole.NODE_ROLE_WORKER,
      availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
  );
  const updated = await client.control.updateNode({
    nodeId: node!.id,
    nodeVersion: node!.meta?.version ?? 0,
    spec,
  });
  return updated.node!;
}

function roleChange(io: CliIo, name: 'promote' | 'demote'): Command {
  const role = name === 'promote' ? pb.NodeRole.NODE_ROLE_MANAGER : pb.NodeRole.NODE_ROLE_WORKER;
  return new Command(name)
    .description(
      name === 'promote'
        ? 'Promote one or more nodes to manager in the swarm'
        : 'Demote one or more nodes from manager in the swarm',
    )
    .argument('<node...>', 'node ID, ID prefix or hostname')
    .action(async (references: string[], _options: unknown, self: Command) => {
      await withDaemon(self, io, async (client) => {
        for (const reference of references) {
          const { node } = await client.control.getNode({ nodeId: reference });
          const shown = node?.description?.hostname || reference;
          if (node?.spec?.desiredRole === role) {
            io.out(
              name === 'promote'
                ? `Node ${shown} is already a manager.\n`
                : `Node ${shown} is already a worker.\n`,
            );
            continue;
          }
          await changeNode(client, node!.id, (spec) => ({ ...spec, desiredRole: role }));
          io.out(
            name === 'promote'
              ? `Node ${shown} promoted to a manager in the swarm.\n`
              : `Manager ${shown} demoted in the swarm.\n`,
          );
        }
      });
    });
}

const AVAILABILITIES: Readonly<Record<string, pb.NodeAvailability>> = {
  active: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
  pause: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE,
  drain: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN,
};

/** Builds the `node` command group. */
export function nodeCommand(io: CliIo): Command {
  const ls = withListingOptions(
    new Command('ls').alias('list').description('List nodes in the swarm'),
  ).action(async (options: { format: string; quiet?: boolean }, self: Command) => {
    await withDaemon(self, io, async (client) => {
      const [info, { nodes }] = await Promise.all([client.info(), client.control.listNodes({})]);
      const rows = nodes.map((node) => nodeRow(node, info.nodeId));
      if (options.quiet) io.out(rows.map((row) => `${row.ID}\n`).join(''));
      else if (options.format === 'json') io.out(renderJson(rows));
      else io.out(renderTable(NODE_LS_HEADERS, rows.map(nodeRowCells)));
    });
  });

  const inspect = withFormatOption(
    new Command('inspect').description('Display detailed information on one or more nodes'),
  )
    .option('--pretty', 'print the information in a human friendly format')
    .argument('<node...>', 'node ID, ID prefix or hostname ("self" for this node)')
    .action(async (references: string[], options: { pretty?: boolean }, self: Command) => {
      await withDaemon(self, io, async (client) => {
        const selfId = references.includes('self') ? (await client.info()).nodeId : '';
        const nodes: pb.Node[] = [];
        for (const reference of references) {
          nodes.push(
            (await client.control.getNode({ nodeId: reference === 'self' ? selfId : reference }))
              .node!,
          );
        }
        if (options.pretty) io.out(nodes.map(renderNodePretty).join('\n'));
        else io.out(renderJson(nodes.map(nodeInspectView)));
      });
    });

  const update = new Command('update')
    .description('Update a node')
    .addOption(
      new Option('--availability <availability>', 'availability of the node').choices(
        Object.keys(AVAILABILITIES),
      ),
    )
    .option('--label-add <key=value>', 'add or update a node label (repeatable)', collect)
    .option('--label-rm <key>', 'remove a node label if it exists (repeatable)', collect)
    .addOption(new Option('--role <role>', 'role of the node').choices(['worker', 'manager']))
    .argument('<node>', 'node ID, ID prefix or hostname')
    .action(
      async (
        reference: string,
        options: { availability?: string; labelAdd?: string[]; labelRm?: string[]; role?: string },
        self: Command,
      ) => {
        const adds = (options.labelAdd ?? []).map((text) => parseLabel(text, '--label-add'));
        await withDaemon(self, io, async (client) => {
          const node = await changeNode(client, reference, (spec) => {
            const labels = { ...(spec.annotations?.labels ?? {}) };
            for (const [key, value] of adds) labels[key] = value;
            for (const key of options.labelRm ?? []) delete labels[key];
            return {
              ...spec,
              annotations: { name: spec.annotations?.name ?? '', labels },
              availability: options.availability
                ? AVAILABILITIES[options.availability]!
                : spec.availability,
              desiredRole:
                options.role === undefined
                  ? spec.desiredRole
                  : options.role === 'manager'
                    ? pb.NodeRole.NODE_ROLE_MANAGER
                    : pb.NodeRole.NODE_ROLE_WORKER,
            };
          });
          io.out(`${node.id}\n`);
        });
      },
    );

  const rm = new Command('rm')
    .alias('remove')
    .description('Remove one or more nodes from the swarm')
    .option('-f, --force', 'force-remove a node from the swarm')
    .argument('<node...>', 'node ID, ID prefix or hostname')
    .action(async (references: string[], options: { force?: boolean }, self: Command) => {
      await withDaemon(self, io, async (client) => {
        for (const reference of references) {
          const { node } = await client.control.getNode({ nodeId: reference });
          await client.control.removeNode({ nodeId: node!.id, force: options.force === true });
          io.out(`${reference}\n`);
        }
      });
    });

  const group = new Command('node').description('Manage swarm nodes');
  for (const command of [
    ls,
    inspect,
    roleChange(io, 'promote'),
    roleChange(io, 'demote'),
    update,
    rm,
  ])
    group.addCommand(command);
  return group;
}
