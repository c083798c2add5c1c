import { describe, expect, it } from 'vitest';
import { ShoalError } from '../errors.js';
import { type Mount, Mount_Type } from '../pb.js';
import { parseMount } from './mount.js';

const BASE: Mount = {
  type: Mount_Type.TYPE_VOLUME,
  source: '',
  target: '',
  readOnly: false,
  tmpfsSizeBytes: 0,
  volumeLabels: {},
};

describe('parseMount', () => {
  const cases: { name: string; input: string; want?: Partial<Mount>; error?: string }[] = [
    {
      name: 'parseMount: returns a read-only bind mount when readonly is bare',
      input: 'type=bind,source=/srv,target=/data,readonly',
      want: { type: Mount_Type.TYPE_BIND, source: '/srv', target: '/data', readOnly: true },
    },
    {
      name: 'parseMount: defaults to a volume when type is absent',
      input: 'src=cache,dst=/cache,ro=false',
      want: { source: 'cache', target: '/cache' },
    },
    {
      name: 'parseMount: reads tmpfs-size with a unit when the mount is tmpfs',
      input: 'type=tmpfs,target=/tmp,tmpfs-size=64m',
      want: { type: Mount_Type.TYPE_TMPFS, target: '/tmp', tmpfsSizeBytes: 64 * 1024 * 1024 },
    },
    {
      name: 'parseMount: reads volume labels when given',
      input: 'type=volume,source=data,target=/d,volume-label=team=a',
      want: { source: 'data', target: '/d', volumeLabels: { team: 'a' } },
    },
    {
      name: 'parseMount: fails when the type is unknown',
      input: 'type=npipe,target=/x',
      error:
        'Parse mount: invalid --mount "type=npipe,target=/x": type "npipe" is not supported: want bind, volume or tmpfs',
    },
    {
      name: 'parseMount: fails when the target is missing',
      input: 'type=bind,source=/srv',
      error: 'Parse mount: invalid --mount "type=bind,source=/srv": target is required',
    },
    {
      name: 'parseMount: fails when the target is relative',
      input: 'type=volume,target=data',
      error:
        'Parse mount: invalid --mount "type=volume,target=data": target "data" must be an absolute path',
    },
    {
      name: 'parseMount: fails when a bind source is relative',
      input: 'type=bind,source=srv,target=/data',
      error:
        'Parse mount: invalid --mount "type=bind,source=srv,target=/data": source "srv" must be an absolute path for a bind mount',
    },
    {
      name: 'parseMount: fails when a bind has no source',
      input: 'type=bind,target=/data',
      error:
        'Parse mount: invalid --mount "type=bind,target=/data": source is required for a bind mount',
    },
    {
      name: 'parseMount: fails when a tmpfs has a source',
      input: 'type=tmpfs,source=x,target=/t',
      error:
        'Parse mount: invalid --mount "type=tmpfs,source=x,target=/t": source is not allowed for a tmpfs mount',
    },
    {
      name: 'parseMount: fails when tmpfs-size is given for a volume',
      input: 'target=/t,tmpfs-size=1k',
      error:
        'Parse mount: invalid --mount "target=/t,tmpfs-size=1k": tmpfs-size is only allowed for a tmpfs mount',
    },
    {
      name: 'parseMount: fails when a volume name has a slash',
      input: 'source=a/b,target=/t',
      error:
        'Parse mount: invalid --mount "source=a/b,target=/t": source "a/b" is not a valid volume name',
    },
    {
      name: 'parseMount: fails when a key is unknown',
      input: 'target=/t,consistency=cached',
      error:
        'Parse mount: invalid --mount "target=/t,consistency=cached": key "consistency" is not supported',
    },
    {
      name: 'parseMount: fails when readonly has a bad value',
      input: 'target=/t,readonly=yes',
      error:
        'Parse mount: invalid --mount "target=/t,readonly=yes": readonly "yes" is invalid: want true or false',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) {
        let error: unknown;
        try {
          parseMount(c.input);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ShoalError);
        expect(error).toMatchObject({ code: 'SHOAL_INVALID_ARGUMENT', message: c.error });
      } else {
        expect(parseMount(c.input)).toEqual({ ...BASE, ...c.want });
      }
    });
  }
});
