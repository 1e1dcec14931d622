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
import * as os from "node:os";
import * as path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet, ZeroHash, id as keccakOfText, parseUnits } from "ethers";
import { readDeployments } from "../../server/adapters/chain/chain";
import { DeployConfigError, readDeployFile, resolveDeployConfig } from "../../server/deploy/config";
import { IAccessControl__factory, MockStablecoin__factory } from "../../typechain-types";
import { type HardhatNode, startHardhatNode } from "../helpers/hardhat-node";
import { type RelayerProcess, killHard, startRelayerProcess } from "../helpers/process";
import { TEST_ADMIN_TOKEN, call, createShop, postOrder, settledOrder } from "../helpers/relayer";

const ROOT = path.resolve(__dirname, "..", "..");
const UNIT = 10n ** 6n;

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
      referralShare2: 500n,
    });
    expect([config.custody, config.adCredit]).to.deep.equal([
      { withdrawalFee: 100n, exitMultiple: 0n },
      { adShare: 1500n, noticePeriod: 604_800n },
    ]);
    expect(config.cap).to.equal(100_000_000n * 10n ** 18n);
    expect(() => resolveDeployConfig(file, { decimals: 19, symbol: "X" }))
      .to.throw(DeployConfigError)
      .with.property("field", "settlement");
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
    pool: { poolShare: 3000, mintShare: 7000, exitFee: 2000, initialPrice: "1", referralShare1: 1000, referralShare2: 500 },
    custody: { withdrawalFee: 100, exitMultiple: 0 },
    adCredit: { adShare: 1500, noticePeriod: 7 * 24 * 3600 },
    ...overrides,
  });
  const writeConfig = (name: string, config: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };

  function deploy(config: string, out: string, env: Record<string, string> = {}, yes = true): Promise<Run> {
    const args = ["-r", "ts-node/register/transpile-only", path.join("scripts", "deploy.ts"), "--config", config, "--out", out];
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
    return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code: code ?? signal ?? "unknown", stdout, stderr })));
  }
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

  describe("a run killed halfway", function () {
    it("resumes with the same addresses, sending no transaction twice", async function () {
      const resumed = path.join(dir, "resumed.json");
      const config = path.join(dir, "deploy.json");
      const before = await deployerNonce();
      const killed = await deploy(config, resumed, { GP_DEPLOY_FAULT: "after:deploy:custody" });
      expect(killed.code, killed.stdout + killed.stderr).to.equal("SIGKILL");
      expect(fs.existsSync(resumed)).to.equal(false);
      const journal = () => JSON.parse(fs.readFileSync(path.join(dir, "resumed.journal.json"), "utf8"));
      const pool = journal().steps["deploy:pool"].address;
      const custody = journal().steps["deploy:custody"].address;
      expect(await provider.getCode(pool)).to.not.equal("0x");

      // Killed again with a grant broadcast and not yet recorded as mined.
      const again = await deploy(config, resumed, { GP_DEPLOY_FAULT: "sent:grant:custody.RELAYER_ROLE:relayer" });
      expect(again.code, again.stdout + again.stderr).to.equal("SIGKILL");
      expect(journal().steps["grant:custody.RELAYER_ROLE:relayer"].done).to.equal(false);

      const last = await deploy(config, resumed);
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
      expect(failed).to.have.length(1);
      expect(failed[0]).to.match(/^FAIL +pool\.PARAMETER_ROLE of deployer +expected not held, actual held$/);
      expect(run.stdout).to.contain("1 checks FAILED.");
    });
  });

  describe("with the deployer as its own admin", function () {
    it("keeps the admin's roles on the deployer, renounces nothing, and checks all ok", async function () {
      const own = path.join(dir, "own-admin.json");
      const run = await deploy(writeConfig("own-admin.config.json", configOf({ admin: addresses.deployer })), own);
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
    const refusedWith = async (config: unknown, field: RegExp, extra: { yes?: boolean } = {}) => {
      const before = await deployerNonce();
      const name = `refused-${Math.random().toString(36).slice(2)}`;
      const run = await deploy(writeConfig(`${name}.config.json`, config), path.join(dir, `${name}.json`), {}, extra.yes ?? true);
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
      await refusedWith(configOf({ pool: { ...configOf().pool, referralShare1: 3000 } }), /pool\.mintShare: mintShare \+ referralShare1/);
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
      const run = await refusedWith(configOf(), /Deploy refused: --yes: not a terminal/, { yes: false });
      expect(run.stdout).to.contain("Green Points deploy on chain id 31337");
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
