// Every failure the CLI or the daemon's entry reports to a person is one line that
// starts with `Error: `, whatever threw it.
import { CommanderError } from 'commander';

/** The one line to print for `error`. */
export function errorLine(error: unknown): string {
  let message: string;
  if (error instanceof CommanderError) {
    // Commander says "error: unknown option '--x'"; keep its words, our prefix.
    message = error.message.replace(/^error:\s*/i, '');
  } else if (error instanceof Error) {
    message = error.message;
  } else {
    message = String(error);
  }
  const oneLine = message.replace(/\s*\n\s*/g, '; ').trim();
  const capitalised = oneLine.charAt(0).toUpperCase() + oneLine.slice(1);
  return `Error: ${capitalised || 'unknown failure'}`;
}
