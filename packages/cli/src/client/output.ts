// Output contract of every listing and inspect command: a human table by default,
// `--format json` for one JSON document, and `-q` for IDs only on listings, so scripts
// and tests never parse tables.
import { type Command, Option } from 'commander';

export type OutputFormat = 'table' | 'json';

/** Adds `--format` to an inspect or listing command. */
export function withFormatOption(command: Command): Command {
  return command.addOption(
    new Option('--format <format>', 'output format: table, or json for one JSON document')
      .choices(['table', 'json'])
      .default('table'),
  );
}

/** Adds `--format` and `-q, --quiet` to a listing command. */
export function withListingOptions(command: Command): Command {
  return withFormatOption(command).option('-q, --quiet', 'only print IDs');
}

/** One JSON document, pretty-printed, with a final newline. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Aligned columns as Docker prints them: headers in capitals, at least three spaces
 * between columns.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column]! + 3),
      )
      .join('')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}
