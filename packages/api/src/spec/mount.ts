// Mounts as Docker's `--mount` writes them (`type=bind,source=/a,target=/b,readonly`)
// and the rules a mount must follow whichever way it arrived.
import { ShoalError } from '../errors.js';
import { type Mount, Mount_Type } from '../pb.js';

const TYPES: Readonly<Record<string, Mount_Type>> = {
  bind: Mount_Type.TYPE_BIND,
  volume: Mount_Type.TYPE_VOLUME,
  tmpfs: Mount_Type.TYPE_TMPFS,
};
// Docker's volume name rule (daemon/names): a first alphanumeric, then [a-zA-Z0-9_.-].
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const SIZE = /^(\d+)([bkmg]?)$/i;
const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/**
 * Parses Docker's `--mount` syntax. Keys: `type` (bind, volume or tmpfs, default
 * volume), `source`/`src`, `target`/`destination`/`dst`, `readonly`/`ro` (bare or
 * `=true|false|1|0`), `tmpfs-size` (bytes, or with k/m/g), `volume-label=K=V`.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` naming the mount and what is wrong
 * @example
 * parseMount('type=bind,source=/srv,target=/data,readonly');
 */
export function parseMount(text: string): Mount {
  const fail = (reason: string): never => {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `Parse mount: invalid --mount "${text}": ${reason}`,
    );
  };
  const mount: Mount = {
    type: Mount_Type.TYPE_VOLUME,
    source: '',
    target: '',
    readOnly: false,
    tmpfsSizeBytes: 0,
    volumeLabels: {},
  };
  for (const field of text.split(',')) {
    const at = field.indexOf('=');
    const key = (at < 0 ? field : field.slice(0, at)).trim().toLowerCase();
    const value = at < 0 ? undefined : field.slice(at + 1);
    if ((key === 'readonly' || key === 'ro') && value === undefined) {
      mount.readOnly = true;
      continue;
    }
    if (value === undefined) return fail(`field "${field}" must be a key=value pair`);
    switch (key) {
      case 'type': {
        const type = TYPES[value];
        if (type === undefined)
          return fail(`type "${value}" is not supported: want bind, volume or tmpfs`);
        mount.type = type;
        break;
      }
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        if (!['true', 'false', '1', '0'].includes(value)) {
          return fail(`readonly "${value}" is invalid: want true or false`);
        }
        mount.readOnly = value === 'true' || value === '1';
        break;
      case 'tmpfs-size': {
        const size = SIZE.exec(value);
        if (!size)
          return fail(`tmpfs-size "${value}" is invalid: want bytes, or a number with k, m or g`);
        mount.tmpfsSizeBytes = Number(size[1]) * SIZE_UNITS[size[2]!.toLowerCase()]!;
        break;
      }
      case 'volume-label': {
        const eq = value.indexOf('=');
        if (eq <= 0) return fail(`volume-label "${value}" is invalid: want K=V`);
        mount.volumeLabels[value.slice(0, eq)] = value.slice(eq + 1);
        break;
      }
      default:
        return fail(`key "${key}" is not supported`);
    }
  }
  const problem = checkMount(mount);
  if (problem) return fail(problem);
  return mount;
}

/**
 * The reason a mount is invalid, if it is: a target is required and absolute; bind
 * sources are absolute paths; volume sources are volume names (or empty for an
 * anonymous volume); tmpfs takes no source; type-specific options only on their type.
 *
 * @internal shared by parseMount and the service spec validator
 */
export function checkMount(mount: Mount): string | undefined {
  if (!Object.values(TYPES).includes(mount.type)) return `type ${mount.type} is not supported`;
  if (mount.target === '') return 'target is required';
  if (!mount.target.startsWith('/')) return `target "${mount.target}" must be an absolute path`;
  switch (mount.type) {
    case Mount_Type.TYPE_BIND:
      if (mount.source === '') return 'source is required for a bind mount';
      if (!mount.source.startsWith('/')) {
        return `source "${mount.source}" must be an absolute path for a bind mount`;
      }
      break;
    case Mount_Type.TYPE_VOLUME:
      if (mount.source !== '' && !VOLUME_NAME.test(mount.source)) {
        return `source "${mount.source}" is not a valid volume name`;
      }
      break;
    case Mount_Type.TYPE_TMPFS:
      if (mount.source !== '') return 'source is not allowed for a tmpfs mount';
      break;
  }
  if (mount.tmpfsSizeBytes !== 0 && mount.type !== Mount_Type.TYPE_TMPFS) {
    return 'tmpfs-size is only allowed for a tmpfs mount';
  }
  if (mount.tmpfsSizeBytes < 0) return `tmpfs-size "${mount.tmpfsSizeBytes}" must not be negative`;
  if (Object.keys(mount.volumeLabels).length > 0 && mount.type !== Mount_Type.TYPE_VOLUME) {
    return 'volume-label is only allowed for a volume mount';
  }
  return undefined;
}
