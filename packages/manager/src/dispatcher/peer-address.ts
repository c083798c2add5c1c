// The address a node's session came from, as stored in its status: the host only,
// since the port of an outgoing connection is ephemeral.

/**
 * The host part of a grpc-js peer string (`127.0.0.1:5000`, `[::1]:5000`,
 * `ipv4:10.0.0.2:5000`), or the string itself when it has no port.
 *
 * @example
 * hostOfPeer('[fd00::2]:41234'); // 'fd00::2'
 */
export function hostOfPeer(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  if (bare.startsWith('[')) {
    const end = bare.indexOf(']');
    return end > 0 ? bare.slice(1, end) : bare;
  }
  const colons = bare.split(':').length - 1;
  // One colon: host:port. None: no port. More: an IPv6 address without brackets.
  return colons === 1 ? bare.slice(0, bare.lastIndexOf(':')) : bare;
}
