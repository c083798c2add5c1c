// `shoal service create|ls|ps|inspect|update|scale|rollback|rm` and `shoal node ps`,
// with Docker's flags, output and progress display.
import { type pb, ShoalError } from '@shoal/api';
import { Command } from 'commander';
import {
  type CliIo,
  type LocalApiClient,
  SYSTEM_CLOCK,
  withDaemon,
} from '../client/cli-context.js';
import { renderJson, renderTable, withFormatOption, withListingOptions } from '../client/output.js';
import {
  addCreateOptions,
  addUpdateOptions,
  applyServiceUpdate,
  buildServiceSpec,
  type ServiceCreateFlags,
  type ServiceUpdateFlags,
} from './service-flags.js';
import { serviceLogsCommand } from './service-logs-command.js';
import { watchServiceProgress } from './service-progress.js';
import {
  renderServicePretty,
  SERVICE_LS_HEADERS,
  serviceInspectView,
  serviceRow,
  serviceRowCells,
} from './service-view.js';
import {
  matchesTaskFilter,
  parseTaskFilter,
  TASK_PS_HEADERS,
  taskRowCells,
  taskRows,
} from './task-view.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const NO_TASK_FILTERS = { serviceIds: [], nodeIds: [], desiredStates: [], idPrefixes: [] };

async function getService(client: LocalApiClient, reference: string): Promise<pb.Service> {
  const { service } = await client.control.getService({ serviceId: reference });
  if (!service) throw new ShoalError('SHOAL_NOT_FOUND', `No such service: "${reference}"`);
  return service;
}

/**
 * Shows progress unless --detach; `-q` keeps the wait but not the display. `service` is
 * as read before the change, so its update status is the one a new one replaces.
 */
async function follow(
  io: CliIo,
  client: LocalApiClient,
  service: pb.Service,
  options: { detach?: boolean; quiet?: boolean },
  kind: 'create' | 'update' | 'rollback',
): Promise<void> {
  if (options.detach) return;
  await watchServiceProgress(client, service.id, {
    out: options.quiet ? () => {} : io.out,
    clock: io.clock ?? SYSTEM_CLOCK,
    isTty: io.isTty ?? false,
    kind,
    before: service.updateStatus,
  });
}

/** Runs `each` for every reference and fails after all of them if any failed, as Docker does. */
async function forEachReference(
  references: readonly string[],
  each: (reference: string) => Promise<void>,
): Promise<void> {
  const errors: string[] = [];
  for (const reference of references) {
    try {
      await each(reference);
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (errors.length > 0) throw new ShoalError('SHOAL_FAILED_PRECONDITION', errors.join('; '));
}

function createCommand(io: CliIo): Command {
  return addCreateOptions(
    new Command('create')
      .description('Create a new service')
      .argument('<image>', 'image to run')
      .argument('[command...]', 'command and arguments')
      // Everything after IMAGE belongs to the task's command, as with Docker.
      .passThroughOptions(),
  ).action(async (image: string, args: string[], options: ServiceCreateFlags, self: Command) => {
    const spec = buildServiceSpec(image, args, options);
    await withDaemon(self, io, async (client) => {
      const { service } = await client.control.createService({ spec });
      io.out(`${service!.id}\n`);
      await follow(io, client, service!, options, 'create');
    });
  });
}

function updateCommand(io: CliIo): Command {
  return addUpdateOptions(
    new Command('update')
      .description('Update a service')
      .argument('<service>', 'service name or ID'),
  )
    .option('--rollback', "roll back to the service's previous spec")
    .action(
      async (
        reference: string,
        options: ServiceUpdateFlags & { rollback?: boolean },
        self: Command,
      ) => {
        await withDaemon(self, io, async (client) => {
          if (options.rollback) return rollBack(io, client, reference, options);
          const service = await getService(client, reference);
          const spec = applyServiceUpdate(service.spec!, options);
          await client.control.updateService({
            serviceId: service.id,
            serviceVersion: service.meta?.version ?? 0,
            spec,
            rollback: false,
          });
          io.out(`${reference}\n`);
          await follow(io, client, service, options, 'update');
        });
      },
    );
}

function parseScale(text: string): [string, number] {
  const match = /^(.+)=(\d+)$/.exec(text);
  if (!match || !Number.isSafeInteger(Number(match[2]))) {
    throw new TypeError(`Invalid scale specifier "${text}": want SERVICE=REPLICAS`);
  }
  return [match[1]!, Number(match[2])];
}

function scaleCommand(io: CliIo): Command {
  return new Command('scale')
    .description('Scale one or multiple replicated services')
    .argument('<service=replicas...>', 'services and their replica counts')
    .option('-d, --detach', 'exit immediately instead of waiting for the services to converge')
    .action(async (texts: string[], options: { detach?: boolean }, self: Command) => {
      const targets = texts.map(parseScale);
      await withDaemon(self, io, async (client) => {
        const scaled: pb.Service[] = [];
        await forEachReference(
          targets.map(([name]) => name),
          async (reference) => {
            const replicas = targets.find(([name]) => name === reference)![1];
            const service = await getService(client, reference);
            if (service.spec?.mode?.$case !== 'replicated') {
              throw new ShoalError(
                'SHOAL_FAILED_PRECONDITION',
                `Scale service "${reference}": scale can only be used with replicated mode`,
              );
            }
            await client.control.updateService({
              serviceId: service.id,
              serviceVersion: service.meta?.version ?? 0,
              spec: { ...service.spec, mode: { $case: 'replicated', replicated: { replicas } } },
              rollback: false,
            });
            io.out(`${reference} scaled to ${replicas}\n`);
            scaled.push(service);
          },
        );
        for (const service of scaled) await follow(io, client, service, options, 'update');
      });
    });
}

/** Asks for the previous spec back, as `service rollback` and `service update --rollback` do. */
async function rollBack(
  io: CliIo,
  client: LocalApiClient,
  reference: string,
  options: { detach?: boolean; quiet?: boolean },
): Promise<void> {
  const service = await getService(client, reference);
  if (!service.previousSpec) {
    throw new ShoalError(
      'SHOAL_FAILED_PRECONDITION',
      `Roll back service "${reference}": the service has no previous spec`,
    );
  }
  await client.control.updateService({
    serviceId: service.id,
    serviceVersion: service.meta?.version ?? 0,
    spec: service.spec,
    rollback: true,
  });
  io.out(`${reference}\n`);
  if (!options.detach && !options.quiet) io.out('rollback: manually requested rollback\n');
  await follow(io, client, service, options, 'rollback');
}

function rollbackCommand(io: CliIo): Command {
  return new Command('rollback')
    .description("Revert changes to a service's configuration")
    .argument('<service>', 'service name or ID')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .action(
      async (reference: string, options: { detach?: boolean; quiet?: boolean }, self: Command) => {
        await withDaemon(self, io, (client) => rollBack(io, client, reference, options));
      },
    );
}

function lsCommand(io: CliIo): Command {
  return withListingOptions(new Command('ls').alias('list').description('List services')).action(
    async (options: { format: string; quiet?: boolean }, self: Command) => {
      await withDaemon(self, io, async (client) => {
        const [{ services }, { tasks }] = await Promise.all([
          client.control.listServices({}),
          client.control.listTasks({ filters: NO_TASK_FILTERS }),
        ]);
        // Docker lists services by name.
        const rows = services
          .map((service) => serviceRow(service, tasks))
          .sort((a, b) => a.Name.localeCompare(b.Name));
        if (options.quiet) io.out(rows.map((row) => `${row.ID}\n`).join(''));
        else if (options.format === 'json') io.out(renderJson(rows));
        else io.out(renderTable(SERVICE_LS_HEADERS, rows.map(serviceRowCells)));
      });
    },
  );
}

interface PsFlags {
  format: string;
  quiet?: boolean;
  /** commander's `--no-trunc` sets this to false. */
  trunc: boolean;
  filter?: string[];
}

function withPsOptions(command: Command): Command {
  return withListingOptions(command)
    .option('--no-trunc', 'do not truncate output')
    .option(
      '-f, --filter <filter>',
      'filter output based on conditions provided (repeatable)',
      collect,
    );
}

async function printTasks(
  io: CliIo,
  client: LocalApiClient,
  tasks: readonly pb.Task[],
  options: PsFlags,
  serviceNames?: ReadonlyMap<string, string>,
): Promise<void> {
  const filter = parseTaskFilter(options.filter ?? []);
  const { nodes } = await client.control.listNodes({});
  const hostnames = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? '']));
  const shown = tasks.filter((task) => matchesTaskFilter(task, filter, hostnames));
  const noTrunc = !options.trunc;
  const rows = taskRows(shown, {
    now: (io.clock ?? SYSTEM_CLOCK).now(),
    hostnames,
    noTrunc,
    ...(serviceNames ? { serviceNames } : {}),
  });
  if (options.quiet) io.out(rows.map((row) => `${row.ID}\n`).join(''));
  else if (options.format === 'json') io.out(renderJson(rows));
  else io.out(renderTable(TASK_PS_HEADERS, rows.map(taskRowCells)));
}

function psCommand(io: CliIo): Command {
  return withPsOptions(
    new Command('ps')
      .description('List the tasks of one or more services')
      .argument('<service...>', 'service names or IDs'),
  ).action(async (references: string[], options: PsFlags, self: Command) => {
    parseTaskFilter(options.filter ?? []);
    await withDaemon(self, io, async (client) => {
      const services: pb.Service[] = [];
      for (const reference of references) services.push(await getService(client, reference));
      const { tasks } = await client.control.listTasks({
        filters: { ...NO_TASK_FILTERS, serviceIds: services.map((s) => s.id) },
      });
      const names = new Map(services.map((s) => [s.id, s.spec?.annotations?.name ?? s.id]));
      const own = tasks.filter((t) => names.has(t.serviceId));
      await printTasks(io, client, own, options, names);
    });
  });
}

/** `shoal node ps [NODE...]`: the tasks of nodes, this one by default. */
export function nodePsCommand(io: CliIo): Command {
  return withPsOptions(
    new Command('ps')
      .description('List tasks running on one or more nodes, defaults to current node')
      .argument('[node...]', 'node ID, ID prefix or hostname ("self" for this node)'),
  ).action(async (references: string[], options: PsFlags, self: Command) => {
    parseTaskFilter(options.filter ?? []);
    await withDaemon(self, io, async (client) => {
      const nodeIds: string[] = [];
      for (const reference of references.length > 0 ? references : ['self']) {
        if (reference === 'self') nodeIds.push((await client.info()).nodeId);
        else nodeIds.push((await client.control.getNode({ nodeId: reference })).node!.id);
      }
      const { tasks } = await client.control.listTasks({
        filters: { ...NO_TASK_FILTERS, nodeIds },
      });
      await printTasks(
        io,
        client,
        tasks.filter((t) => nodeIds.includes(t.nodeId)),
        options,
      );
    });
  });
}

function inspectCommand(io: CliIo): Command {
  return withFormatOption(
    new Command('inspect').description('Display detailed information on one or more services'),
  )
    .option('--pretty', 'print the information in a human friendly format')
    .argument('<service...>', 'service names or IDs')
    .action(async (references: string[], options: { pretty?: boolean }, self: Command) => {
      await withDaemon(self, io, async (client) => {
        const services: pb.Service[] = [];
        for (const reference of references) services.push(await getService(client, reference));
        if (options.pretty) io.out(services.map(renderServicePretty).join('\n'));
        else io.out(renderJson(services.map(serviceInspectView)));
      });
    });
}

function rmCommand(io: CliIo): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove one or more services')
    .argument('<service...>', 'service names or IDs')
    .action(async (references: string[], _options: unknown, self: Command) => {
      await withDaemon(self, io, async (client) => {
        await forEachReference(references, async (reference) => {
          const service = await getService(client, reference);
          await client.control.removeService({ serviceId: service.id });
          io.out(`${reference}\n`);
        });
      });
    });
}

/** Builds the `service` command group. */
export function serviceCommand(io: CliIo): Command {
  const group = new Command('service')
    .description('Manage swarm services')
    // `create` passes the options after IMAGE through to the task's command.
    .enablePositionalOptions();
  for (const command of [
    createCommand(io),
    inspectCommand(io),
    serviceLogsCommand(io),
    lsCommand(io),
    psCommand(io),
    rmCommand(io),
    rollbackCommand(io),
    scaleCommand(io),
    updateCommand(io),
  ]) {
    group.addCommand(command);
  }
  return group;
}
