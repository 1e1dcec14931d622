/**
 * One `npm start` per data folder: its chain state, database and admin token belong to one
 * process. The lock is a file holding the pid of the process that holds it, made with an exclusive
 * create; a lock whose process is gone (killed outright, or a zombie) is taken over.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const LOCK_FILE = "gp.lock";

/** The folder is held by a live process. */
export class DataFolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`the data folder ${dataDir} is in use by process ${pid}; stop it first, or start with another GP_DATA_DIR`);
    this.name = "DataFolderInUseError";
  }
}

/** Whether `pid` is a running process (a zombie, dead but not yet reaped, is not). */
function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): kill(0) answered, so it runs
  }
}

const readPid = (file: string): number => {
  try {
    return Number(fs.readFileSync(file, "utf8").trim());
  } catch {
    return NaN;
  }
};

export interface DataFolderLock {
  file: string;
  /** The pid of a dead process whose lock was taken over, if there was one. */
  tookOverFrom: number | null;
  /** Removes the lock if this process still holds it. */
  release(): void;
}

/** Takes the data folder's lock for this process, or throws DataFolderInUseError naming the holder. */
export function lockDataFolder(dataDir: string): DataFolderLock {
  return lockFile(path.join(dataDir, LOCK_FILE), (pid) => new DataFolderInUseError(dataDir, pid));
}

/** Takes the lock `file` for this process (the deploy's journal has one too), or throws `inUse(holder)`. */
export function lockFile(file: string, inUse: (pid: number) => Error): DataFolderLock {
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return {
        file,
        tookOverFrom,
        release: () => {
          if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readPid(file);
    if (holder === process.pid || isRunning(holder)) throw inUse(holder);
    // A dead holder's lock: move it aside under a name of our own, so that of two starts taking it
    // over at once only one moves it; the other finds the winner's lock on its next attempt.
    const aside = `${file}.stale.${process.pid}`;
    try {
      fs.renameSync(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    const moved = readPid(aside);
    if (moved !== holder && isRunning(moved)) {
      // What was moved is a live start's fresh lock, made since we read the dead one: put it back.
      fs.renameSync(aside, file);
      throw inUse(moved);
    }
    fs.rmSync(aside, { force: true });
    tookOverFrom = Number.isInteger(holder) ? holder : null;
  }
  throw new Error(`could not take the lock ${file}: it kept changing`);
}
