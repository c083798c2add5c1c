// The task image: no registry is reachable, so the lab builds a tiny image from Debian's
// busybox-static (httpd, nc, nslookup, wget, sh, …), imports it once into one node's
// runtime, saves it to a tarball in the cache dir, and `docker load`s that tarball into
// every other node. The tarball is rebuilt only when busybox or the recipe changes.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LabError } from './errors.js';
import type { LabLayout, NodePaths } from './lab-layout.js';
import { runCommand } from './run-command.js';

/** The task image every lab node's runtime holds. */
export const TASK_IMAGE = 'shoal-lab/busybox:latest';
/** Where the image's busybox comes from (Debian's busybox-static). */
export const BUSYBOX_PATH = '/bin/busybox';
// Bump when the rootfs or the image config below changes, to invalidate cached tarballs.
const RECIPE_VERSION = 1;
const IMAGE_TIMEOUT_MS = 120_000;

interface ImageStamp {
  readonly recipe: number;
  readonly busyboxSha256: string;
  readonly image: string;
}

/** The cached tarball of the task image and its stamp. */
export function taskImagePaths(layout: LabLayout): { tarball: string; stamp: string } {
  return {
    tarball: join(layout.cacheDir, 'busybox-image.tar'),
    stamp: join(layout.cacheDir, 'busybox-image.json'),
  };
}

function docker(layout: LabLayout, paths: NodePaths, args: readonly string[]) {
  return runCommand(layout.dockerCli, ['-H', `unix://${paths.dockerSocket}`, ...args], {
    timeoutMs: IMAGE_TIMEOUT_MS,
  });
}

async function wantedStamp(): Promise<ImageStamp> {
  if (!existsSync(BUSYBOX_PATH)) {
    throw new LabError(
      'SHOAL_LAB_MISSING_BINARY',
      `Build task image: no such file: "${BUSYBOX_PATH}": apt-get install busybox-static`,
    );
  }
  const busyboxSha256 = createHash('sha256')
    .update(await readFile(BUSYBOX_PATH))
    .digest('hex');
  return { recipe: RECIPE_VERSION, busyboxSha256, image: TASK_IMAGE };
}

async function isCacheFresh(layout: LabLayout, wanted: ImageStamp): Promise<boolean> {
  const { tarball, stamp } = taskImagePaths(layout);
  if (!existsSync(tarball) || !existsSync(stamp)) return false;
  try {
    const found = JSON.parse(await readFile(stamp, 'utf8')) as ImageStamp;
    return (
      found.recipe === wanted.recipe &&
      found.busyboxSha256 === wanted.busyboxSha256 &&
      found.image === wanted.image
    );
  } catch {
    return false;
  }
}

async function buildRootfs(rootfs: string): Promise<void> {
  await rm(rootfs, { recursive: true, force: true });
  for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'tmp', 'www', 'var']) {
    await mkdir(join(rootfs, dir), { recursive: true });
  }
  await writeFile(join(rootfs, 'bin/busybox'), await readFile(BUSYBOX_PATH), { mode: 0o755 });
  // Every applet busybox was built with, at the path it expects (`usr/bin/wget`, …).
  const { stdout } = await runCommand(BUSYBOX_PATH, ['--list-full']);
  for (const applet of stdout.split('\n').filter((line) => line !== '')) {
    const target = join(rootfs, applet);
    if (existsSync(target)) continue;
    await mkdir(dirname(target), { recursive: true });
    await symlink('/bin/busybox', target);
  }
  await writeFile(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(
    join(rootfs, 'www/index.html'),
    '<!doctype html><title>shoal-lab</title><p>hello from shoal-lab/busybox</p>\n',
  );
  await chmod(join(rootfs, 'tmp'), 0o1777);
}

/**
 * Makes sure the cache holds a task image tarball built from this machine's busybox,
 * building it with node `builder`'s runtime when it does not. The builder then holds the
 * image too.
 *
 * @returns whether the image was built (true) or the cache was fresh (false).
 */
export async function ensureTaskImageTarball(
  layout: LabLayout,
  builder: NodePaths,
): Promise<boolean> {
  const wanted = await wantedStamp();
  if (await isCacheFresh(layout, wanted)) return false;
  const { tarball, stamp } = taskImagePaths(layout);
  const work = join(layout.cacheDir, 'build');
  const rootfs = join(work, 'rootfs');
  await mkdir(work, { recursive: true });
  try {
    await buildRootfs(rootfs);
    const rootfsTar = join(work, 'rootfs.tar');
    await runCommand('tar', [
      '--numeric-owner',
      '--owner=0',
      '--group=0',
      '-C',
      rootfs,
      '-cf',
      rootfsTar,
      '.',
    ]);
    await docker(layout, builder, [
      'import',
      '--change',
      'CMD ["sh"]',
      '--change',
      'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'WORKDIR /',
      '--change',
      `LABEL org.shoal.lab.recipe=${RECIPE_VERSION}`,
      rootfsTar,
      TASK_IMAGE,
    ]);
    const partial = `${tarball}.${process.pid}.tmp`;
    await docker(layout, builder, ['save', '-o', partial, TASK_IMAGE]);
    await rename(partial, tarball);
    await writeFile(stamp, `${JSON.stringify(wanted, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return true;
}

/** Loads the cached task image tarball into the node's runtime. */
export async function loadTaskImage(layout: LabLayout, paths: NodePaths): Promise<void> {
  await docker(layout, paths, ['load', '-q', '-i', taskImagePaths(layout).tarball]);
}

/** Whether the node's runtime holds `image`. */
export async function hasImage(
  layout: LabLayout,
  paths: NodePaths,
  image: string = TASK_IMAGE,
): Promise<boolean> {
  const result = await runCommand(
    layout.dockerCli,
    ['-H', `unix://${paths.dockerSocket}`, 'image', 'inspect', '--format', '{{.Id}}', image],
    { allowFailure: true },
  );
  return result.exitCode === 0;
}
