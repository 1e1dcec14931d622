/**
 * The relayer as a process, killed for real: SIGKILL between sending a batch and recording its
 * outcome (and between recording and sending), a power cut of the whole start (relayer and
 * chain together), and a clean Ctrl-C; each time a restart on the same data folder finishes the
 * work with every order minted exactly once.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseUnits } from "ethers";
import { contribution } from "../../server/domain/points-math";
import { LOCKED_POINTS } from "../../models/pool-model";
import { TEST_ADMIN_TOKEN, call, createShop, postOrder, settledOrder } from "../helpers/relayer";
import { type RelayerProcess, isAlive, killHard, startRelayerProcess } from "../helpers/process";

describe("the relayer process, killed and restarted", function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  const running: RelayerProcess[] = [];
  const dataDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-process-"));
    dirs.push(dir);
    return dir;
  };
  const start = async (dir: string, env: Record<string, string> = {}) => {
    const p = await startRelayerProcess(dir, { GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ...env });
    running.push(p);
    return p;
  };
  after(async function () {
    for (const p of running) {
      const anvil = p.anvilPid();
      killHard(p.child.pid);
      killHard(anvil);
    }
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const order = (id: string) => ({ orderId: id, userId: "alice", amount: "100" });
  async function expectWorkedExampleMintedOnce(p: RelayerProcess, shopId: string) {
    const orders = [];
    for (const id of ["A", "B", "C"]) orders.push(await settledOrder(p.url, shopId, id, 60_000));
    expect(orders.map((o) => [o.state, o.gpMinted])).to.deep.equal([
      ["confirmed", "20.999999"],
      ["confirmed", "14.7"],
      ["confirmed", "12.495"],
    ]);
    const pool = (await call(p.url, "GET", "/v1/pool")).body;
    expect([pool.assets, pool.supply, pool.minted]).to.deep.equal(["90", "48.195", "48.195"]);
  }

  for (const fault of ["crash-after-broadcast", "crash-before-broadcast"]) {
    it(`mints the worked example exactly once after a SIGKILL ${fault.replace("crash-", "")}`, async function () {
      const dir = dataDir();
      const first = await start(dir, { GP_FAULT: fault });
      const shop = await createShop(first.url, "Crash");
      // The relayer dies at its first batch, maybe before all three are posted: a shop retries
      // what got no answer, as it would in service.
      const unanswered: string[] = [];
      for (const id of ["A", "B", "C"]) {
        const answer = await postOrder(first.url, shop, order(id)).catch(() => null);
        if (answer) expect(answer.status).to.equal(202);
        else unanswered.push(id);
      }
      expect(await first.exited).to.equal("SIGKILL");
      const second = await start(dir);
      for (const id of ["A", "B", "C"]) {
        // Unanswered may still have been recorded (the kill fell after the commit, before the reply).
        expect((await postOrder(second.url, shop, order(id))).status).to.be.oneOf(unanswered.includes(id) ? [200, 202] : [200]);
      }
      await expectWorkedExampleMintedOnce(second, shop.shopId);
      second.child.kill("SIGINT");
      expect(await second.exited).to.equal(0);
    });
  }

  it("loses nothing when the whole start (relayer and chain) is killed with orders in flight", async function () {
    const dir = dataDir();
    // No confirmation depth: orders are confirmed as soon as mined, so the cut can take blocks
    // the relayer already confirmed, the case a reorg check must catch.
    const first = await start(dir, { GP_CONFIRMATIONS: "0" });
    const shop = await createShop(first.url, "Power cut");
    const sent: string[] = [];
    for (let wave = 0; wave < 4; wave++) {
      const ids = Array.from({ length: 15 }, (_, i) => `w${wave}-${i}`);
      const answers = await Promise.all(ids.map((id) => postOrder(first.url, shop, { orderId: id, userId: `u${wave}`, amount: "12.5" })));
      expect(answers.map((a) => a.status)).to.deep.equal(ids.map(() => 202));
      sent.push(...ids);
      await new Promise((r) => setTimeout(r, 400));
    }
    // Cut the power the moment the last wave's first order is confirmed: the chain's state file is
    // written once a second, so the restarted chain often lacks blocks the relayer confirmed.
    await settledOrder(first.url, shop.shopId, "w3-0", 30_000);
    const anvil = first.anvilPid();
    killHard(anvil);
    killHard(first.child.pid);
    expect(await first.exited).to.equal("SIGKILL");
    for (let i = 0; i < 50 && isAlive(anvil); i++) await new Promise((r) => setTimeout(r, 100));

    const second = await start(dir);
    let minted = 0n;
    for (const id of sent) {
      const order = await settledOrder(second.url, shop.shopId, id, 90_000);
      expect(order.state, id).to.equal("confirmed");
      minted += parseUnits(order.gpMinted, 18);
    }
    const lost = second.output().includes("a confirmed batch's block is gone");
    console.log(
      `      (${sent.length} orders; the restarted chain ${lost ? "had lost blocks the relayer had confirmed: re-minted" : "had kept every confirmed block"})`,
    );
    const pool = (await call(second.url, "GET", "/v1/pool")).body;
    // Every accepted order minted, none twice: the supply is exactly the GP the orders report,
    // and the GP the first order locked in the pool.
    expect(parseUnits(pool.supply, 18)).to.equal(minted + LOCKED_POINTS);
    // And the pool holds each order's contribution once.
    const perOrder = contribution(parseUnits("12.5", pool.settlement.decimals), BigInt(pool.params.poolShareBps));
    expect(parseUnits(pool.assets, pool.settlement.decimals)).to.equal(perOrder * BigInt(sent.length));
    second.child.kill("SIGINT");
    expect(await second.exited).to.equal(0);
  });

  it("prints the admin token only on the start that made it, then the file that keeps it, and never one from GP_ADMIN_TOKEN", async function () {
    const dir = dataDir();
    const first = await startRelayerProcess(dir);
    running.push(first);
    expect(first.output()).to.contain(`admin token: ${first.adminToken}`);
    first.child.kill("SIGINT");
    expect(await first.exited).to.equal(0);

    const second = await startRelayerProcess(dir);
    running.push(second);
    expect(second.adminToken).to.equal(first.adminToken);
    expect(second.output()).to.not.contain(first.adminToken);
    expect(second.output()).to.contain(`admin token: in ${path.join(dir, "admin-token")}`);
    second.child.kill("SIGINT");
    expect(await second.exited).to.equal(0);

    const third = await start(dir);
    expect(third.output()).to.not.contain(TEST_ADMIN_TOKEN);
    expect(third.output()).to.not.contain(first.adminToken);
    expect(third.output()).to.contain("admin token: from GP_ADMIN_TOKEN");
    third.child.kill("SIGINT");
    expect(await third.exited, third.output()).to.equal(0);
  });

  it("lets a newcomer sign up by phone on npm start, with the code the outbox sender wrote to the data folder", async function () {
    const dir = dataDir();
    const p = await start(dir);
    expect(p.output()).to.contain(`SMS codes:   not sent: printed here and appended to ${path.join(dir, "sms-outbox.log")}`);
    const shop = await createShop(p.url, "Outbox shop", p.adminToken);
    const earned = await postOrder(p.url, shop, { orderId: "outbox-1", phone: "138 0013 8000", amount: "100" });
    expect(earned.status).to.equal(202);
    expect((await settledOrder(p.url, shop.shopId, "outbox-1", 60_000, p.adminToken)).state).to.equal("confirmed");
    const sent = await call(p.url, "POST", "/v1/phone-codes", { body: { phone: "13800138000", purpose: "signup" } });
    expect(sent.status, JSON.stringify(sent.body)).to.equal(202);
    const outbox = fs.readFileSync(path.join(dir, "sms-outbox.log"), "utf8");
    const code = /to \+8613800138000 code (\d{6}) \(signup/.exec(outbox)?.[1];
    expect(code, outbox).to.match(/^\d{6}$/);
    const signed = await call(p.url, "POST", "/v1/phone/signup", { body: { phone: "13800138000", code, password: "my first password" } });
    expect(signed.status, JSON.stringify(signed.body)).to.equal(201);
    const me = await call(p.url, "GET", "/v1/me", { token: signed.body.token });
    expect(me.body.phone).to.equal("+8613800138000");
    expect(Number(me.body.points)).to.be.greaterThan(0);
    p.child.kill("SIGINT");
    expect(await p.exited, p.output()).to.equal(0);
  });

  it("pays orders past its settlement float by refilling it from the treasury, as npm start runs it", async function () {
    // A float of 50 pays the pool's 30 of one order of 100; the next orders need refills.
    const p = await start(dataDir(), { GP_SETTLEMENT_FLOAT: "50" });
    const shop = await createShop(p.url, "Past the float");
    for (const id of ["F1", "F2", "F3", "F4"])
      expect((await postOrder(p.url, shop, { orderId: id, userId: "frank", amount: "100" })).status).to.equal(202);
    const settled = [];
    for (const id of ["F1", "F2", "F3", "F4"]) settled.push((await settledOrder(p.url, shop.shopId, id, 60_000)).state);
    expect(settled, p.output()).to.deep.equal(["confirmed", "confirmed", "confirmed", "confirmed"]);
    const pool = (await call(p.url, "GET", "/v1/pool")).body;
    expect(pool.assets).to.equal("120");
    p.child.kill("SIGINT");
    expect(await p.exited, p.output()).to.equal(0);
  });

  it("stops cleanly on Ctrl-C (SIGINT) and resumes with the same contracts, balances and orders", async function () {
    const dir = dataDir();
    const first = await startRelayerProcess(dir);
    running.push(first);
    expect(first.output()).to.contain(`admin token: ${first.adminToken}`);
    expect(first.output()).to.contain(dir);
    const shop = await createShop(first.url, "Resume", first.adminToken);
    for (const id of ["A", "B", "C"])
      expect((await postOrder(first.url, shop, { orderId: id, userId: "alice", amount: "100" })).status).to.equal(202);
    for (const id of ["A", "B", "C"]) await settledOrder(first.url, shop.shopId, id, 60_000, first.adminToken);
    const poolBefore = (await call(first.url, "GET", "/v1/pool")).body;
    const anvil = first.anvilPid();
    first.child.kill("SIGINT");
    expect(await first.exited).to.equal(0);
    expect(isAlive(anvil)).to.equal(false);

    const second = await startRelayerProcess(dir);
    running.push(second);
    expect(second.adminToken).to.equal(first.adminToken);
    const poolAfter = (await call(second.url, "GET", "/v1/pool")).body;
    // The same pool, read at the new head (the restart's own checks may have added blocks).
    expect(poolAfter.block).to.be.at.least(poolBefore.block);
    expect({ ...poolAfter, block: 0 }).to.deep.equal({ ...poolBefore, block: 0 });
    expect((await settledOrder(second.url, shop.shopId, "C", 10_000, second.adminToken)).gpMinted).to.equal("12.495");
    expect((await postOrder(second.url, shop, { orderId: "A", userId: "alice", amount: "100" })).status).to.equal(200);
    second.child.kill("SIGINT");
    expect(await second.exited).to.equal(0);
  });
});
