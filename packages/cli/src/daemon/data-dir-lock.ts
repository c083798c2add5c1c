// One daemon per data directory: a pid file taken with O_EXCL. A pid file whose process
// is gone (a crash) is taken over; one whose process lives is refused.
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '@shoal/api';

const LOCK_FILE = 'shoald.pid';

/** A held lock on a data directory; `release()` is safe to call twice. */
export interface DataDirLock {
  release(): Promise<void>;
}

/** Takes the data directory's lock for this process. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx', 0o600);
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await unlink(path).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new ShoalError(
          'SHOAL_FAILED_PRECONDITION',
          `Start shoald: data directory "${dataDir}" is in use by shoald (pid ${pid}): stop it or pass another --data-dir`,
        );
      }
      await unlink(path).catch(() => {});
    }
  }
  throw new ShoalError('SHOAL_INTERNAL', `Start shoald: cannot take the lock "${path}"`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
