// The lab's underlay: one IPv4 subnet shared by every node's eth0. Pure arithmetic, no I/O.
import { LabError } from './errors.js';

/** A parsed IPv4 CIDR. `base` is the network address as an unsigned 32-bit number. */
export interface UnderlaySubnet {
  readonly cidr: string;
  readonly base: number;
  readonly prefixLength: number;
}

// Ranges a lab underlay must not overlap: the overlay's default address pool (10.0.0.0/8,
// ARCHITECTURE "Allocator") and Docker's default bridge pools (172.16.0.0/12); loopback,
// "this network", link-local and multicast/reserved are no place for a test network either.
const FORBIDDEN_RANGES: readonly { cidr: string; why: string }[] = [
  { cidr: '10.0.0.0/8', why: "Shoal's overlay address pool" },
  { cidr: '172.16.0.0/12', why: "Docker's bridge address pools" },
  { cidr: '0.0.0.0/8', why: 'the "this network" block' },
  { cidr: '127.0.0.0/8', why: 'loopback' },
  { cidr: '169.254.0.0/16', why: 'link-local' },
  { cidr: '224.0.0.0/3', why: 'multicast and reserved addresses' },
];

/** The default underlay: RFC 2544's benchmarking block, never routed on the Internet. */
export const DEFAULT_UNDERLAY_CIDR = '198.18.0.0/24';

function parseAddress(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

function parseCidrUnchecked(cidr: string): UnderlaySubnet {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const address = match ? parseAddress(match[1]!) : undefined;
  const prefixLength = match ? Number(match[2]) : Number.NaN;
  if (address === undefined || !(prefixLength >= 0 && prefixLength <= 32)) {
    throw new LabError(
      'SHOAL_LAB_INVALID_ARGUMENT',
      `Parse subnet: not an IPv4 CIDR: "${cidr}" (want e.g. "${DEFAULT_UNDERLAY_CIDR}")`,
    );
  }
  const base = (address & maskOf(prefixLength)) >>> 0;
  return { cidr: `${formatAddress(base)}/${prefixLength}`, base, prefixLength };
}

function overlaps(a: UnderlaySubnet, b: UnderlaySubnet): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  const mask = maskOf(shorter);
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/**
 * Parses and checks a lab underlay subnet: a /8 to /29 that overlaps none of the ranges the
 * overlay, Docker or the host itself use.
 *
 * @example
 * parseUnderlaySubnet('198.18.0.0/24'); // { cidr: '198.18.0.0/24', base: 3323068416, prefixLength: 24 }
 */
export function parseUnderlaySubnet(cidr: string): UnderlaySubnet {
  const subnet = parseCidrUnchecked(cidr);
  if (subnet.prefixLength < 8 || subnet.prefixLength > 29) {
    throw new LabError(
      'SHOAL_LAB_INVALID_ARGUMENT',
      `Parse subnet: prefix length must be between 8 and 29: "${cidr}"`,
    );
  }
  for (const forbidden of FORBIDDEN_RANGES) {
    if (overlaps(subnet, parseCidrUnchecked(forbidden.cidr))) {
      throw new LabError(
        'SHOAL_LAB_INVALID_ARGUMENT',
        `Parse subnet: "${subnet.cidr}" overlaps ${forbidden.cidr} (${forbidden.why}): choose another, e.g. "${DEFAULT_UNDERLAY_CIDR}"`,
      );
    }
  }
  return subnet;
}

/** How many node addresses the subnet holds (network and broadcast excluded). */
export function hostCapacity(subnet: UnderlaySubnet): number {
  return 2 ** (32 - subnet.prefixLength) - 2;
}

/**
 * The address of host number `index` (1-based) in the subnet, e.g. index 1 of
 * 198.18.0.0/24 is 198.18.0.1.
 */
export function hostAddress(subnet: UnderlaySubnet, index: number): string {
  if (!Number.isInteger(index) || index < 1 || index > hostCapacity(subnet)) {
    throw new LabError(
      'SHOAL_LAB_INVALID_ARGUMENT',
      `Allocate address: subnet "${subnet.cidr}" has no host number ${index}: it holds ${hostCapacity(subnet)}`,
    );
  }
  return formatAddress(subnet.base + index);
}
