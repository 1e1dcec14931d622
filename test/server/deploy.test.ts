/**
 * `npm run deploy` against a second EVM implementation, Hardhat's node (EDR), as a subprocess the
 * way an operator runs it: a full deploy whose check list is all ok with the deployer holding
 * nothing, a second run that sends nothing, runs killed halfway that resume with the same
 * addresses and no transaction twice, refused configurations that send nothing; then the relayer
 * as a process on that deployment takes the worked example end to end, and refuses to start on a
 * deployments file of another chain or with a key lacking its roles.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import {
  JsonRpcProvider,
  NonceManager,
  Transaction,
  type TransactionRequest,
  Wallet,
  ZeroHash,
  getCreateAddress,
  id as keccakOfText,
  parseUnits,
} from "ethers";
import { readDeployments } from "../../server/adapters/chain/chain";
import { ConfigError } from "../../server/config";
import { readDeployFile, resolveDeployConfig } from "../../server/deploy/config";
import { legacyDigest, openJournal, planDigest } from "../../server/deploy/journal";
import { deploySteps } from "../../server/deploy/plan";
import { type DeployContext, StepReverted, runStep } from "../../server/deploy/runner";
import { withoutUrls } from "../../server/redact";
import { Custody__factory, IAccessControl__factory, MockStablecoin__factory } from "../../typechain-types";
import { type HardhatNode, rpc, startHardhatNode } from "../helpers/hardhat-node";
import { freePort } from "../helpers/net";
import { type RelayerProcess, killHard, startRelayerProcess } from "../helpers/process";
import { TEST_ADMIN_TOKEN, call, createShop, postOrder, settledOrder } from "../helpers/relayer";

const ROOT = path.resolve(__dirname, "..", "..");
const UNIT = 10n ** 6n;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

describe("deploy.example.json", function () {
  it("is a configuration the deploy accepts, with the embedded start's parameters", function () {
    const file = readDeployFile(path.join(ROOT, "deploy.example.json"));
    const config = resolveDeployConfig(file, { decimals: 6, symbol: "TUSD" });
    expect(config.pool).to.deep.equal({
      poolShare: 3000n,
      mintShare: 7000n,
      exitFee: 2000n,
      initialPrice: UNIT,
      referralShare1: 1000n,
      referralShare2: 0n,
    });
    expect([config.custody, config.adCredit]).to.deep.equal([
      { withdrawalFee: 100n, exitMultiple: 0n, referralMode: 1n },
      { adShare: 1500n, noticePeriod: 604_800n },
    ]);
    expect(config.cap).to.equal(100_000_000n * 10n ** 18n);
    expect(() => resolveDeployConfig(file, { decimals: 19, symbol: "X" }))
      .to.throw(ConfigError)
      .with.property("setting", "settlement");
  });

  it("makes the referral mode an explicit choice: firstOrder or perOrder, refused when missing or misspelt", function () {
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, "deploy.example.json"), "utf8"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-referral-mode-"));
    const read = (custody: Record<string, unknown>) => {
      const file = path.join(dir, "deploy.json");
      fs.writeFileSync(file, JSON.stringify({ ...example, custody }));
      return readDeployFile(file);
    };
    try {
      const perOrder = resolveDeployConfig(read({ withdrawalFee: 100, exitMultiple: 0, referralMode: "perOrder" }), {
        decimals: 6,
        symbol: "T",
      });
      expect(perOrder.custody.referralMode).to.equal(0n);
      expect(() => read({ withdrawalFee: 100, exitMultiple: 0 }))
        .to.throw(ConfigError)
        .with.property("setting", "custody.referralMode");
      expect(() => read({ withdrawalFee: 100, exitMultiple: 0, referralMode: "everyOrder" })).to.throw(
        ConfigError,
        /must be one of "perOrder", "firstOrder"/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has a journal digest of what the steps use only, and resumes a journal written with the earlier digest", function () {
    const file = readDeployFile(path.join(ROOT, "deploy.example.json"));
    const config = resolveDeployConfig(file, { decimals: 6, symbol: "TUSD" });
    const same = planDigest(config);
    expect(planDigest({ ...config, treasury: null, settlementSymbol: "units", confirmations: 9 })).to.equal(same);
    expect(planDigest({ ...config, cap: config.cap + 1n })).to.not.equal(same);
    expect(planDigest({ ...config, pool: { ...config.pool, exitFee: 0n } })).to.not.equal(same);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-journal-"));
    try {
      const journal = path.join(dir, "deployments.journal.json");
      const header = { chainId: "31337", deployer: "0x0000000000000000000000000000000000000001" };
      fs.writeFileSync(journal, JSON.stringify({ ...header, config: legacyDigest(config), steps: { "deploy:pool": { done: true } } }));
      expect(() => openJournal(journal, { ...header, config: same })).to.throw(/written for another configuration/);
      const opened = openJournal(journal, { ...header, config: same }, [legacyDigest(config)]);
      expect([opened.found, opened.data.config, opened.data.steps["deploy:pool"].done]).to.deep.equal([true, same, true]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the deploy's failure output", function () {
  it("cuts every URL to its scheme and host, and removes the RPC URL's path, query and user part anywhere", function () {
    const rpcUrl = "https://user:pw123@rpc.example:8545/v3/KEY123?apikey=KEY456";
    const text = `server response 401 (request={ }, info={ "requestUrl": "${rpcUrl}" }) and https://other.example/a/b?c=d /v3/KEY123`;
    const out = withoutUrls(text, rpcUrl);
    expect(out).to.contain("https://rpc.example:8545");
    expect(out).to.contain("https://other.example");
    for (const secret of ["KEY123", "KEY456", "pw123", "/a/b", "c=d"]) expect(out).to.not.contain(secret);
  });
});

describe("npm run deploy, against Hardhat's node", function () {
  this.timeout(600_000);
  let node: HardhatNode;
  let provider: JsonRpcProvider;
  let dir: string;
  let keys: { issuer: string; deployer: string; admin: string; relayer: string; treasury: string };
  let addresses: { deployer: string; admin: string; relayer: string; treasury: string };
  let tusd: string;
  let tusd24: string;
  const running: RelayerProcess[] = [];

  /** The worked example's parameters, those of the embedded start. */
  const configOf = (overrides: Record<string, unknown> = {}) => ({
    settlement: tusd,
    admin: addresses.admin,
    relayer: addresses.relayer,
    treasury: addresses.treasury,
    cap: "100000000",
    pool: { poolShare: 3000, mintShare: 7000, exitFee: 2000, initialPrice: "1", referralShare1: 1000, referralShare2: 0 },
    custody: { withdrawalFee: 100, exitMultiple: 0, referralMode: "firstOrder" },
    adCredit: { adShare: 1500, noticePeriod: 7 * 24 * 3600 },
    ...overrides,
  });
  const writeConfig = (name: string, config: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };

  function launch(config: string, out: string, env: Record<string, string> = {}, yes = true, extra: string[] = []) {
    const args = ["-r", "ts-node/register/transpile-only", path.join("scripts", "deploy.ts"), "--config", config, "--out", out, ...extra];
    const child = spawn(process.execPath, yes ? [...args, "--yes"] : args, {
      cwd: ROOT,
      env: { ...process.env, RPC_URL: node.url, DEPLOYER_PRIVATE_KEY: keys.deployer, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdin.end();
    const done = new Promise<Run>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code: code ?? signal ?? "unknown", stdout, stderr })),
    );
    return { pid: child.pid!, done, stdout: () => stdout };
  }
  const deploy = (config: string, out: string, env: Record<string, string> = {}, yes = true, extra: string[] = []) =>
    launch(config, out, env, yes, extra).done;
  const deployerNonce = () => provider.getTransactionCount(addresses.deployer, "latest");
  const checklistLines = (run: Run) => run.stdout.split("\n").filter((l) => /^(ok|FAIL|info|warn) {1,4} /.test(l));

  before(async function () {
    node = await startHardhatNode();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
    provider.pollingInterval = 250;
    const [issuer, deployer, admin, relayer, treasury] = node.keys;
    keys = { issuer, deployer, admin, relayer, treasury };
    addresses = {
      deployer: new Wallet(deployer).address,
      admin: new Wallet(admin).address,
      relayer: new Wallet(relayer).address,
      treasury: new Wallet(treasury).address,
    };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-deploy-"));
    const signer = new NonceManager(new Wallet(issuer, provider));
    const token = await new MockStablecoin__factory(signer).deploy("Test Dollar", "TUSD", 6);
    const token24 = await new MockStablecoin__factory(signer).deploy("Too Fine", "TF24", 24);
    tusd = await (await token.waitForDeployment()).getAddress();
    tusd24 = await (await token24.waitForDeployment()).getAddress();
  });

  after(async function () {
    for (const p of running) killHard(p.child.pid);
    provider?.destroy();
    await node?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let out: string;
  let first: Run;

  describe("a first deploy", function () {
    it("deploys with the deployer's key, its check list all ok, and the deployer holding no role", async function () {
      out = path.join(dir, "deployments.json");
      const before = await deployerNonce();
      first = await deploy(writeConfig("deploy.json", configOf()), out);
      expect(first.code, first.stdout + first.stderr).to.equal(0);
      console.log(
        `      check list as printed:\n${checklistLines(first)
          .map((l) => "        " + l)
          .join("\n")}`,
      );
      const lines = checklistLines(first);
      expect(lines.filter((l) => l.startsWith("FAIL"))).to.deep.equal([]);
      expect(lines.filter((l) => l.startsWith("ok")).length).to.be.greaterThan(60);
      expect(first.stdout).to.contain("All checks ok.");
      expect(first.stdout).to.match(/TUSD, 6 decimals, read on the chain/);

      const d = readDeployments(out)!;
      expect(d.chainId).to.equal("31337");
      expect(d.settlement).to.equal(tusd);
      expect(d.settlementDecimals).to.equal(6);
      expect(d.treasury).to.equal(addresses.treasury);
      expect(d.adCredit).to.match(/^0x[0-9a-fA-F]{40}$/);
      // Every transaction the run sent is in the file, each step one, none twice.
      const txs = (d as unknown as { transactions: { step: string; transaction: string; block: number }[] }).transactions;
      expect(txs.length).to.equal((await deployerNonce()) - before);
      expect(new Set(txs.map((t) => t.transaction)).size).to.equal(txs.length);
      const poolTx = await provider.getTransactionReceipt(txs[0].transaction);
      expect(poolTx!.contractAddress).to.equal(d.pool);
      expect(d.deployedAtBlock).to.equal(poolTx!.blockNumber);

      // Read independently of the check list: the deployer holds no role at all, the admin the admin's.
      const roles = ["DEFAULT_ADMIN_ROLE", "RELAYER_ROLE", "PARAMETER_ROLE", "PAUSER_ROLE"].map((r) =>
        r === "DEFAULT_ADMIN_ROLE" ? ZeroHash : keccakOfText(r),
      );
      for (const address of [d.pool, d.custody, d.adCredit!]) {
        const access = IAccessControl__factory.connect(address, provider);
        for (const role of roles) expect(await access.hasRole(role, addresses.deployer), `${address} ${role}`).to.equal(false);
        expect(await access.hasRole(ZeroHash, addresses.admin)).to.equal(true);
        expect(await access.hasRole(ZeroHash, addresses.relayer)).to.equal(false);
      }
      expect(lines.filter((l) => / of deployer /.test(l)).every((l) => l.startsWith("ok") && l.endsWith("actual not held"))).to.equal(true);
    });

    it("writes the explorer's verification input: standard JSON, compiler, name and the constructor arguments sent", async function () {
      const d = readDeployments(out)!;
      const pool = JSON.parse(fs.readFileSync(path.join(dir, "deployments.verification", "pool.json"), "utf8"));
      expect(pool.contractName).to.equal("contracts/pool/Pool.sol:Pool");
      expect(pool.compilerVersion).to.match(/^v0\.8\.28\+commit\.[0-9a-f]{8}$/);
      expect(pool.standardJsonInput.language).to.equal("Solidity");
      expect(Object.keys(pool.standardJsonInput.sources)).to.include("contracts/pool/Pool.sol");
      expect(Object.keys(pool.standardJsonInput.sources)).to.not.include("contracts/mocks/MockStablecoin.sol");
      const txs = (d as unknown as { transactions: { transaction: string }[] }).transactions;
      const creation = await provider.getTransaction(txs[0].transaction);
      expect(creation!.data.endsWith(pool.constructorArguments)).to.equal(true);
      for (const name of ["points", "custody", "adCredit"]) {
        const v = JSON.parse(fs.readFileSync(path.join(dir, "deployments.verification", `${name}.json`), "utf8"));
        expect(v.address).to.equal((d as unknown as Record<string, string>)[name]);
        expect(v.constructorArguments).to.match(/^[0-9a-f]+$/);
      }
    });

    it("sends nothing when run again", async function () {
      const before = await deployerNonce();
      const again = await deploy(path.join(dir, "deploy.json"), out);
      expect(again.code, again.stdout + again.stderr).to.equal(0);
      expect(again.stdout).to.contain("Nothing to send");
      expect(again.stdout).to.contain("(0 transactions sent by this run)");
      expect(await deployerNonce()).to.equal(before);
      expect(readDeployments(out)!.pool).to.equal(readDeployments(path.join(dir, "deployments.json"))!.pool);
      expect(checklistLines(again).filter((l) => l.startsWith("FAIL"))).to.deep.equal([]);
    });
  });

  describe("a role held by anyone else", function () {
    it("is a FAIL naming the role and the address, and ok again once revoked", async function () {
      const d = readDeployments(out)!;
      const stranger = Wallet.createRandom().address;
      const admin = new NonceManager(new Wallet(keys.admin, provider));
      const pool = IAccessControl__factory.connect(d.pool, admin);
      const custody = IAccessControl__factory.connect(d.custody, admin);
      const minter = keccakOfText("MINTER_ROLE");
      await (await pool.grantRole(keccakOfText("PAUSER_ROLE"), stranger)).wait();
      await (await custody.grantRole(minter, stranger)).wait();
      const run = await deploy(path.join(dir, "deploy.json"), out);
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      const failed = checklistLines(run).filter((l) => l.startsWith("FAIL"));
      expect(failed).to.have.length(2);
      expect(failed[0]).to.match(
        new RegExp(`^FAIL +pool\\.PAUSER_ROLE holders .* expected admin, relayer, actual ${stranger} \\(unexpected\\), admin, relayer$`),
      );
      expect(failed[1]).to.match(new RegExp(`^FAIL +custody\\.${minter} holders .* expected none, actual ${stranger} \\(unexpected\\)$`));

      await (await pool.revokeRole(keccakOfText("PAUSER_ROLE"), stranger)).wait();
      await (await custody.revokeRole(minter, stranger)).wait();
      const again = await deploy(path.join(dir, "deploy.json"), out);
      expect(again.code, again.stdout + again.stderr).to.equal(0);
      const lines = checklistLines(again);
      expect(lines.filter((l) => l.startsWith("FAIL"))).to.deep.equal([]);
      expect(lines.filter((l) => / holders \(events since block /.test(l))).to.have.length(11);
    });
  });

  describe("a transaction pending too long", function () {
    it("is replaced at its nonce with higher fees, journalled first; a second run meanwhile is refused naming the first's pid", async function () {
      const key = node.keys[5];
      const deployer = new Wallet(key).address;
      const stuck = path.join(dir, "stuck.json");
      const journal = () => JSON.parse(fs.readFileSync(path.join(dir, "stuck.journal.json"), "utf8"));
      const until = async (what: string, ok: () => boolean) => {
        for (const deadline = Date.now() + 60_000; !ok(); await new Promise((r) => setTimeout(r, 100)))
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      };
      await rpc(node.url, "evm_setAutomine", [false]);
      await rpc(node.url, "evm_setIntervalMining", [0]);
      let first: ReturnType<typeof launch> | null = null;
      let firstRaw = "";
      try {
        first = launch(path.join(dir, "deploy.json"), stuck, { DEPLOYER_PRIVATE_KEY: key, GP_DEPLOY_REPLACE_AFTER: "3" });
        await until("the pool's transaction to be journalled", () => fs.existsSync(path.join(dir, "stuck.journal.json")));
        firstRaw = journal().steps["deploy:pool"].raw;
        const second = await deploy(path.join(dir, "deploy.json"), stuck, { DEPLOYER_PRIVATE_KEY: key });
        expect(second.code, second.stdout + second.stderr).to.equal(2);
        expect(second.stderr).to.contain(`is in use by the deploy running as process ${first.pid}`);
        // Broadcast, not only journalled: Hardhat refuses a replacement once it mines each transaction again.
        await until("a replacement", () => / replaced at nonce 0 /.test(first!.stdout()));
      } finally {
        await rpc(node.url, "evm_setAutomine", [true]);
        await rpc(node.url, "evm_setIntervalMining", [1000]);
      }
      const run = await first.done;
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.match(/deploy:pool: 0x[0-9a-f]{64} pending for 3 s; replaced at nonce 0 with fees raised 25%/);
      const entry = journal().steps["deploy:pool"];
      const d = readDeployments(stuck)! as unknown as {
        pool: string;
        contracts: { pool: { transaction: string } };
        transactions: unknown[];
      };
      expect(d.contracts.pool.transaction).to.equal(entry.hash);
      expect(entry.replaced).to.not.include(entry.hash);
      for (const replaced of entry.replaced) expect(await provider.getTransactionReceipt(replaced)).to.equal(null);
      expect(Transaction.from(firstRaw).hash).to.equal(entry.replaced[0]);
      const [was, now] = await Promise.all([provider.getTransaction(entry.replaced[0]), provider.getTransaction(entry.hash)]);
      expect(was).to.equal(null);
      expect(now!.nonce).to.equal(0);
      expect(now!.maxFeePerGas! * 100n).to.be.at.least(125n * Transaction.from(firstRaw).maxFeePerGas!);
      expect(now!.maxPriorityFeePerGas! * 100n).to.be.at.least(125n * Transaction.from(firstRaw).maxPriorityFeePerGas!);
      expect(d.pool).to.equal(getCreateAddress({ from: deployer, nonce: 0 }));
      expect(await provider.getTransactionCount(deployer, "latest")).to.equal(d.transactions.length);
      expect(fs.existsSync(path.join(dir, "stuck.journal.json.lock"))).to.equal(false);
    });
  });

  describe("a replacement the node refuses", function () {
    it("keeps waiting for the transaction it was to replace, which is then the step's (in process)", async function () {
      // Hardhat refuses a replacement while automining with the first one still in its mempool;
      // other nodes refuse an underpriced one. Either way the first one may still be mined.
      class RefusingSecond extends JsonRpcProvider {
        broadcasts = 0;
        override async broadcastTransaction(raw: string) {
          if (++this.broadcasts === 2) throw new Error("replacement transaction underpriced (refused by the test's node)");
          return super.broadcastTransaction(raw);
        }
      }
      const refusing = new RefusingSecond(node.url, undefined, { staticNetwork: true, pollingInterval: 250 });
      const wallet = new Wallet(node.keys[8], refusing);
      const config = {
        ...resolveDeployConfig(readDeployFile(path.join(dir, "deploy.json")), { decimals: 6, symbol: "TUSD" }),
        confirmations: 1,
      };
      const journalFile = path.join(fs.mkdtempSync(path.join(dir, "refused-")), "journal.json");
      const said: string[] = [];
      const context: DeployContext = {
        provider: refusing,
        wallet,
        config,
        journal: openJournal(journalFile, { chainId: "31337", deployer: wallet.address, config: planDigest(config) }),
        fault: null,
        replaceAfterMs: 2_000,
        say: (line) => said.push(line),
      };
      const steps = deploySteps(config, wallet.address);
      await rpc(node.url, "evm_setAutomine", [false]);
      await rpc(node.url, "evm_setIntervalMining", [0]);
      let sentHash = "";
      try {
        let failed: Error | null = null;
        const run = runStep(context, steps[0], steps);
        run.catch((error: Error) => (failed = error));
        for (const deadline = Date.now() + 60_000; !said.some((l) => l.includes("refused the replacement")); await sleep(50)) {
          if (failed) throw failed;
          if (Date.now() > deadline) throw new Error(`no refusal said: ${said.join(" | ")}`);
        }
        sentHash = JSON.parse(fs.readFileSync(journalFile, "utf8")).steps["deploy:pool"].hash;
        await rpc(node.url, "evm_mine", []);
        expect(await run).to.equal(true);
      } finally {
        await rpc(node.url, "evm_setAutomine", [true]);
        await rpc(node.url, "evm_setIntervalMining", [1000]);
        refusing.destroy();
      }
      const entry = JSON.parse(fs.readFileSync(journalFile, "utf8")).steps["deploy:pool"];
      expect(entry.done).to.equal(true);
      expect(entry.hash).to.equal(sentHash);
      expect((await provider.getTransactionReceipt(entry.hash))!.status).to.equal(1);
      expect(entry.replaced).to.have.length(1);
      expect(await provider.getTransaction(entry.replaced[0])).to.equal(null);
      expect(said.find((l) => l.includes("refused the replacement"))).to.contain(`the node refused the replacement of ${sentHash}`);
      expect(await provider.getCode(entry.address)).to.not.equal("0x");
    });
  });

  describe("a step whose transaction reverted", function () {
    it("stops the run naming the step, the transaction and what to do; run again, it is signed anew (in process)", async function () {
      // Out of gas for real: a signer that gives the pool's creation too little gas.
      class ShortOfGas extends Wallet {
        override async populateTransaction(tx: TransactionRequest) {
          return { ...(await super.populateTransaction(tx)), gasLimit: 1_500_000n };
        }
      }
      const key = node.keys[7];
      const config = resolveDeployConfig(readDeployFile(path.join(dir, "deploy.json")), { decimals: 6, symbol: "TUSD" });
      const journalDir = fs.mkdtempSync(path.join(dir, "in-process-"));
      const said: string[] = [];
      const context = (wallet: Wallet): DeployContext => ({
        provider,
        wallet,
        config,
        journal: openJournal(path.join(journalDir, "journal.json"), {
          chainId: "31337",
          deployer: wallet.address,
          config: planDigest(config),
        }),
        fault: null,
        replaceAfterMs: 60_000,
        say: (line) => said.push(line),
      });
      const short = new ShortOfGas(key, provider);
      const steps = deploySteps(config, short.address);
      const nonce = await provider.getTransactionCount(short.address, "latest");
      const failed = await runStep(context(short), steps[0], steps).then(
        () => null,
        (error: Error) => error,
      );
      expect(failed).to.be.instanceOf(StepReverted);
      const hash = JSON.parse(fs.readFileSync(path.join(journalDir, "journal.json"), "utf8")).steps["deploy:pool"].hash;
      expect((await provider.getTransactionReceipt(hash))!.status).to.equal(0);
      expect(failed!.message).to.match(
        new RegExp(`^step deploy:pool reverted: its transaction ${hash} \\(block \\d+\\) failed, .* run the same command again`),
      );

      const wallet = new Wallet(key, provider);
      expect(await runStep(context(wallet), steps[0], steps)).to.equal(true);
      expect(said).to.include(
        `deploy:pool: its transaction ${hash} reverted (block ${(await provider.getTransactionReceipt(hash))!.blockNumber}); signing the step anew at a fresh nonce`,
      );
      const pool = getCreateAddress({ from: wallet.address, nonce: nonce + 1 });
      expect(JSON.parse(fs.readFileSync(path.join(journalDir, "journal.json"), "utf8")).steps["deploy:pool"]).to.include({
        address: pool,
        done: true,
        nonce: nonce + 1,
      });
      expect(await provider.getCode(pool)).to.not.equal("0x");
    });

    it("is signed anew at a fresh nonce by the next run, the rest resumed", async function () {
      const key = node.keys[6];
      const signer = new Wallet(key, provider);
      const reverted = path.join(dir, "reverted.json");
      const journalFile = path.join(dir, "reverted.journal.json");
      const killed = await deploy(path.join(dir, "deploy.json"), reverted, {
        DEPLOYER_PRIVATE_KEY: key,
        GP_DEPLOY_FAULT: "after:deploy:pool",
      });
      expect(killed.code, killed.stdout + killed.stderr).to.equal("SIGKILL");
      const journal = JSON.parse(fs.readFileSync(journalFile, "utf8"));
      // The custody's step journalled with a transaction that reverts: a withdrawal fee past its bound.
      const nonce = await provider.getTransactionCount(signer.address, "latest");
      const bad = await new Custody__factory().getDeployTransaction(
        journal.steps["deploy:pool"].address,
        { withdrawalFee: 5000, exitMultiple: 0, referralMode: 0 },
        signer.address,
      );
      const raw = await signer.signTransaction(await signer.populateTransaction({ ...bad, nonce, gasLimit: 5_000_000 }));
      const sent = Transaction.from(raw);
      // Hardhat's node mines it and answers the revert as an error.
      await provider.broadcastTransaction(raw).catch((error: Error) => expect(error.message).to.contain("CustodyParameterOutOfRange"));
      expect((await provider.waitForTransaction(sent.hash!))!.status).to.equal(0);
      const badAddress = getCreateAddress({ from: signer.address, nonce });
      journal.steps["deploy:custody"] = { hash: sent.hash!, raw, nonce, address: badAddress, done: false };
      fs.writeFileSync(journalFile, JSON.stringify(journal));

      const run = await deploy(path.join(dir, "deploy.json"), reverted, { DEPLOYER_PRIVATE_KEY: key });
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.contain("[redo] deploy Custody");
      expect(run.stdout).to.contain(`deploy:custody: its transaction ${sent.hash} reverted (block`);
      expect(run.stdout).to.contain("signing the step anew at a fresh nonce");
      const d = readDeployments(reverted)!;
      expect(d.custody).to.equal(getCreateAddress({ from: signer.address, nonce: nonce + 1 }));
      expect(await provider.getCode(badAddress)).to.equal("0x");
      expect(checklistLines(run).filter((l) => l.startsWith("FAIL"))).to.deep.equal([]);
    });
  });

  describe("a run killed halfway", function () {
    it("resumes with the same addresses, sending no transaction twice", async function () {
      const resumed = path.join(dir, "resumed.json");
      const config = path.join(dir, "deploy.json");
      const before = await deployerNonce();
      const killed = await deploy(config, resumed, { GP_DEPLOY_FAULT: "after:deploy:custody" }, true, ["--fresh"]);
      expect(killed.code, killed.stdout + killed.stderr).to.equal("SIGKILL");
      expect(fs.existsSync(resumed)).to.equal(false);
      const journal = () => JSON.parse(fs.readFileSync(path.join(dir, "resumed.journal.json"), "utf8"));
      const pool = journal().steps["deploy:pool"].address;
      const custody = journal().steps["deploy:custody"].address;
      expect(await provider.getCode(pool)).to.not.equal("0x");

      // Killed again with a grant broadcast and not yet recorded as mined.
      const again = await deploy(config, resumed, { GP_DEPLOY_FAULT: "sent:grant:custody.RELAYER_ROLE:relayer" });
      expect(again.code, again.stdout + again.stderr).to.equal("SIGKILL");
      expect(again.stdout).to.match(/Took over the lock .*resumed\.journal\.json\.lock of process \d+, which is gone/);
      expect(journal().steps["grant:custody.RELAYER_ROLE:relayer"].done).to.equal(false);

      // The treasury and the confirmations are not part of the plan: changing them still resumes.
      const changed = writeConfig("resumed-changed.json", { ...configOf(), treasury: undefined, confirmations: 2 });
      const last = await deploy(changed, resumed);
      expect(last.code, last.stdout + last.stderr).to.equal(0);
      const d = readDeployments(resumed)!;
      expect([d.pool, d.custody]).to.deep.equal([pool, custody]);
      expect(d.pool).to.not.equal(readDeployments(out)!.pool);
      expect(checklistLines(last).filter((l) => l.startsWith("FAIL"))).to.deep.equal([]);
      const steps = (d as unknown as { transactions: unknown[] }).transactions.length;
      expect((await deployerNonce()) - before).to.equal(steps);
    });
  });

  describe("a check that fails", function () {
    it("is printed FAIL and makes the command exit non-zero", async function () {
      // On the resumed deployment, the admin grants the deployer a role it must not keep.
      const d = readDeployments(path.join(dir, "resumed.json"))!;
      const pool = IAccessControl__factory.connect(d.pool, new NonceManager(new Wallet(keys.admin, provider)));
      await (await pool.grantRole(keccakOfText("PARAMETER_ROLE"), addresses.deployer)).wait();
      const run = await deploy(path.join(dir, "deploy.json"), path.join(dir, "resumed.json"));
      expect(run.code, run.stdout + run.stderr).to.equal(1);
      const failed = checklistLines(run).filter((l) => l.startsWith("FAIL"));
      expect(failed).to.have.length(2);
      expect(failed[0]).to.match(/^FAIL +pool\.PARAMETER_ROLE of deployer +expected not held, actual held$/);
      expect(failed[1]).to.match(
        /^FAIL +pool\.PARAMETER_ROLE holders \(events since block \d+\) +expected admin, relayer, actual admin, deployer, relayer$/,
      );
      expect(run.stdout).to.contain("2 checks FAILED.");
    });
  });

  describe("with the deployer as its own admin", function () {
    it("keeps the admin's roles on the deployer, renounces nothing, and checks all ok", async function () {
      const own = path.join(dir, "own-admin.json");
      const run = await deploy(writeConfig("own-admin.config.json", configOf({ admin: addresses.deployer })), own, {}, true, ["--fresh"]);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.not.contain("renounce");
      const lines = checklistLines(run);
      expect(lines.filter((l) => l.startsWith("FAIL"))).to.deep.equal([]);
      expect(lines.some((l) => /^ok +pool\.DEFAULT_ADMIN_ROLE of admin\/deployer +expected held, actual held$/.test(l))).to.equal(true);
      const d = readDeployments(own)!;
      expect(await IAccessControl__factory.connect(d.custody, provider).hasRole(ZeroHash, addresses.deployer)).to.equal(true);
    });
  });

  describe("a refused configuration", function () {
    const refusedWith = async (config: unknown, field: RegExp, extra: { yes?: boolean; args?: string[] } = {}) => {
      const before = await deployerNonce();
      const name = `refused-${Math.random().toString(36).slice(2)}`;
      const run = await deploy(
        writeConfig(`${name}.config.json`, config),
        path.join(dir, `${name}.json`),
        {},
        extra.yes ?? true,
        extra.args,
      );
      expect(run.code, run.stdout + run.stderr).to.equal(2);
      expect(run.stderr).to.match(field);
      expect(await deployerNonce()).to.equal(before);
      expect(fs.existsSync(path.join(dir, `${name}.journal.json`))).to.equal(false);
      return run;
    };

    it("refuses an exit fee above the pool's bound, naming the field", async function () {
      await refusedWith(configOf({ pool: { ...configOf().pool, exitFee: 5001 } }), /Deploy refused: pool\.exitFee: must be from 0 to 5000/);
    });

    it("refuses a settlement token of 24 decimals, read on the chain", async function () {
      await refusedWith(configOf({ settlement: tusd24 }), /Deploy refused: settlement: .* has 24 decimals; the pool supports at most 18/);
    });

    it("refuses shares above the whole, a bad address, a misspelt field and an initial price past its bound", async function () {
      await refusedWith(configOf({ pool: { ...configOf().pool, referralShare1: 3001 } }), /pool\.mintShare: mintShare \+ referralShare1/);
      await refusedWith(configOf({ admin: "0x1234" }), /Deploy refused: admin: must be a non-zero 0x address/);
      await refusedWith(
        configOf({ pool: { ...configOf().pool, exitfee: 100 } }),
        /Deploy refused: pool\.exitfee: is not a field of the configuration/,
      );
      await refusedWith(
        configOf({ pool: { ...configOf().pool, initialPrice: "1000000.000001" } }),
        /pool\.initialPrice: must be above 0 and at most 1000000 TUSD/,
      );
    });

    it("refuses to send without a terminal and without --yes", async function () {
      const run = await refusedWith(configOf(), /Deploy refused: --yes: not a terminal/, { yes: false, args: ["--fresh"] });
      expect(run.stdout).to.contain("Green Points deploy on chain id 31337");
    });

    it("refuses a relayer that is the deployer, naming the field", async function () {
      await refusedWith(
        configOf({ relayer: addresses.deployer }),
        /Deploy refused: relayer: must differ from the deployer 0x[0-9a-fA-F]{40}/,
      );
    });

    it("refuses, without --fresh, a new --out when the deployer has sent transactions on this chain", async function () {
      const run = await refusedWith(
        configOf(),
        /Deploy refused: --fresh: no journal at .*refused-\w+\.journal\.json, but the deployer 0x[0-9a-fA-F]{40} has sent \d+ transactions on chain id 31337: .*pass --fresh/,
      );
      expect(run.stdout).to.not.contain("Steps (");
    });
  });

  describe("an RPC URL carrying an API key", function () {
    it("is never printed: the failure names the scheme and host only", async function () {
      const server = http.createServer((_, res) => {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid API key" }));
      });
      const port = await freePort();
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      try {
        const rpcUrl = `http://127.0.0.1:${port}/v3/SECRETPATHKEY?apikey=SECRETQUERYKEY`;
        const run = await deploy(path.join(dir, "deploy.json"), path.join(dir, "unauthorised.json"), { RPC_URL: rpcUrl });
        expect(run.code, run.stdout + run.stderr).to.equal(1);
        expect(run.stderr).to.match(/^Deploy failed: /);
        expect(run.stderr).to.contain(`http://127.0.0.1:${port}`);
        for (const secret of ["SECRETPATHKEY", "SECRETQUERYKEY", "/v3/", "apikey"]) expect(run.stdout + run.stderr).to.not.contain(secret);
        expect(run.stderr).to.not.match(/\n\s+at /);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe("the relayer on the deployment", function () {
    const relayerEnv = (deployments: string, key = keys.relayer) => ({
      GP_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      RPC_URL: node.url,
      RELAYER_PRIVATE_KEY: key,
      DEPLOYMENTS_FILE: deployments,
    });
    const relayerDir = () => fs.mkdtempSync(path.join(dir, "relayer-"));

    it("takes the worked example end to end, its float pulled from the treasury", async function () {
      // The treasury funds the relayer after the deploy: it holds settlement and lets it pull a float.
      const treasury = MockStablecoin__factory.connect(tusd, new NonceManager(new Wallet(keys.treasury, provider)));
      await (await treasury.mint(addresses.treasury, 1_000_000n * UNIT)).wait();
      await (await treasury.approve(addresses.relayer, 1_000_000n * UNIT)).wait();

      const p = await startRelayerProcess(relayerDir(), relayerEnv(out));
      running.push(p);
      const shop = await createShop(p.url, "Hardhat shop");
      for (const id of ["A", "B", "C"]) {
        const answer = await postOrder(p.url, shop, { orderId: id, userId: "alice", amount: "100" });
        expect(answer.status).to.equal(202);
      }
      const orders = [];
      for (const id of ["A", "B", "C"]) orders.push(await settledOrder(p.url, shop.shopId, id, 120_000));
      expect(orders.map((o) => [o.state, o.gpMinted])).to.deep.equal([
        ["confirmed", "20.999999"],
        ["confirmed", "14.7"],
        ["confirmed", "12.495"],
      ]);
      const pool = (await call(p.url, "GET", "/v1/pool")).body;
      expect([pool.assets, pool.supply]).to.deep.equal(["90", "48.195"]);
      const settlement = MockStablecoin__factory.connect(tusd, provider);
      expect(await settlement.balanceOf(readDeployments(out)!.pool)).to.equal(parseUnits("90", 6));
      p.child.kill("SIGINT");
      expect(await p.exited, p.output()).to.equal(0);
    });

    it("refuses to start on a deployments file naming another chain id, naming both", async function () {
      const other = path.join(dir, "other-chain.json");
      fs.writeFileSync(other, JSON.stringify({ ...readDeployments(out)!, chainId: "1" }));
      const failed = await startRelayerProcess(relayerDir(), relayerEnv(other)).then(
        (p) => (running.push(p), null),
        (e: Error) => e.message,
      );
      expect(failed).to.match(/the node answers chain id 31337, the deployments file names chain id 1/);
    });

    it("refuses to start with a key lacking the relayer's roles, naming them", async function () {
      const failed = await startRelayerProcess(relayerDir(), relayerEnv(out, keys.treasury)).then(
        (p) => (running.push(p), null),
        (e: Error) => e.message,
      );
      expect(failed).to.contain(`the relayer key ${addresses.treasury} lacks PARAMETER_ROLE on the pool, PAUSER_ROLE on the pool`);
    });
  });
});
