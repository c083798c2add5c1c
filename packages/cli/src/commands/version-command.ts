// `shoal version`: the client's version and, when the daemon answers, the daemon's.
import type { pb } from '@shoal/api';
import { Command } from 'commander';
import { type CliIo, withDaemon } from '../client/cli-context.js';
import { renderJson, withFormatOption } from '../client/output.js';
import { versionInfo } from '../version.js';

function versionView(info: pb.VersionInfo | undefined) {
  return {
    version: info?.version ?? '',
    apiVersion: info?.apiVersion ?? '',
    nodeVersion: info?.nodeVersion ?? '',
    os: info?.os ?? '',
    arch: info?.arch ?? '',
    gitCommit: info?.gitCommit ?? '',
  };
}

function renderVersion(title: string, view: ReturnType<typeof versionView>): string {
  return [
    `${title}:`,
    ` Version:           ${view.version}`,
    ` API version:       ${view.apiVersion}`,
    ` Node.js version:   ${view.nodeVersion}`,
    ...(view.gitCommit ? [` Git commit:        ${view.gitCommit}`] : []),
    ` OS/Arch:           ${view.os}/${view.arch}`,
    '',
  ].join('\n');
}

/** Builds the `version` command. */
export function versionCommand(io: CliIo): Command {
  const command = new Command('version').description('Show the Shoal version information');
  return withFormatOption(command).action(async (options: { format: string }, self: Command) => {
    const client = versionView(versionInfo());
    if (options.format === 'table') io.out(renderVersion('Client', client));
    // As `docker version` does: the client part prints even when the daemon is away.
    const response = await withDaemon(self, io, (daemon) => daemon.version());
    const server = versionView(response.daemon);
    io.out(
      options.format === 'json'
        ? renderJson({ client, server })
        : `\n${renderVersion('Server', server)}`,
    );
  });
}
