/**
 * One start per data folder: a second `npm start` on a folder in use refuses, naming the pid that
 * holds it; a lock left by a process killed outright is taken over.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DataFolderInUseError, LOCK_FILE, lockDataFolder } from "../../server/adapters/data-folder-lock";
import { type RelayerProcess, isAlive, killHard, startRelayerProcess } from "../helpers/process";

/** A process that runs until killed, and the pid of one that has run and is gone (reaped). */
const sleeper = () => spawn("sleep", ["60"], { stdio: "ignore" });
async function deadPid(): Promise<number> {
  const child = spawn("true", [], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

describe("the data folder's lock", function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-lock-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is taken by a free folder, refuses a second taker with the holder's pid, and is free again once released", function () {
    const lock = lockDataFolder(dir);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8").trim()).to.equal(String(process.pid));
    expect(lock.tookOverFrom).to.equal(null);
    expect(() => lockDataFolder(dir))
      .to.throw(DataFolderInUseError)
      .with.property("pid", process.pid);
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).to.equal(false);
    lockDataFolder(dir).release();
  });

  it("refuses while another live process holds it, and takes it over once that process is gone", async function () {
    const other = sleeper();
    try {
      fs.writeFileSync(path.join(dir, LOCK_FILE), `${other.pid}\n`);
      expect(() => lockDataFolder(dir))
        .to.throw(DataFolderInUseError)
        .with.property("pid", other.pid);
    } finally {
      other.kill("SIGKILL");
      await new Promise((r) => other.once("exit", r));
    }
    const lock = lockDataFolder(dir);
    expect(lock.tookOverFrom).to.equal(other.pid);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8").trim()).to.equal(String(process.pid));
    lock.release();
  });

  it("takes over a lock naming a process that is gone, or naming nothing readable", async function () {
    const dead = await deadPid();
    fs.writeFileSync(path.join(dir, LOCK_FILE), `${dead}\n`);
    const fromDead = lockDataFolder(dir);
    expect(fromDead.tookOverFrom).to.equal(dead);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8").trim()).to.equal(String(process.pid));
    fromDead.release();
    fs.writeFileSync(path.join(dir, LOCK_FILE), "not a pid");
    const fromNothing = lockDataFolder(dir);
    expect(fromNothing.tookOverFrom).to.equal(null);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8").trim()).to.equal(String(process.pid));
    fromNothing.release();
  });

  describe("npm start on one folder", function () {
    this.timeout(240_000);
    let first: RelayerProcess | null = null;
    let again: RelayerProcess | null = null;
    after(async function () {
      for (const p of [first, again]) {
        if (!p) continue;
        const anvil = p.anvilPid();
        killHard(p.child.pid);
        killHard(anvil);
      }
    });

    it("refuses a second start while the first runs, naming its pid, and a start after the first was killed outright takes over", async function () {
      first = await startRelayerProcess(dir);
      let refusal = "";
      try {
        again = await startRelayerProcess(dir);
      } catch (error) {
        refusal = String((error as Error).message);
      }
      expect(again, "the second start must not serve").to.equal(null);
      expect(refusal).to.include(`is in use by process ${first.child.pid}`);
      expect((await fetch(`${first.url}/healthz`)).status, "the first keeps serving").to.equal(200);

      killHard(first.child.pid);
      await first.exited;
      expect(isAlive(first.child.pid)).to.equal(false);
      again = await startRelayerProcess(dir);
      expect((await fetch(`${again.url}/healthz`)).status).to.equal(200);
      expect(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8").trim()).to.equal(String(again.child.pid));
      again.child.kill("SIGINT");
      expect(await again.exited).to.equal(0);
      expect(fs.existsSync(path.join(dir, LOCK_FILE)), "a clean stop releases the lock").to.equal(false);
      again = null;
      first = null;
    });
  });
});
