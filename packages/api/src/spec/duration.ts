// Conversions between protobuf Durations and milliseconds, and Go-style duration text
// ("1m30s") because that is how Docker's flags print and accept durations.
import type { Duration } from '../pb.js';

/**
 * Milliseconds in a protobuf Duration; 0 when it is absent.
 *
 * @example
 * durationToMs({ seconds: 1, nanos: 500_000_000 }); // 1500
 */
export function durationToMs(duration: Duration | undefined): number {
  if (!duration) return 0;
  return duration.seconds * 1000 + Math.trunc(duration.nanos / 1e6);
}

/**
 * A protobuf Duration of `ms` milliseconds (seconds and nanos share the sign).
 *
 * @example
 * durationFromMs(5000); // { seconds: 5, nanos: 0 }
 */
export function durationFromMs(ms: number): Duration {
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return { seconds, nanos };
}

/**
 * `ms` as Go prints a time.Duration, the form Docker's flags show: "0s", "500ms", "1m30s".
 *
 * @example
 * formatDuration(90_000); // "1m30s"
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  const h = hours > 0 ? `${hours}h` : '';
  const m = hours > 0 || minutes > 0 ? `${minutes}m` : '';
  return `${sign}${h}${m}${seconds}s`;
}
