/**
 * The chain adapter against a real anvil (the embedded chain of `npm start`): first-start
 * deployment, a signed custodial batch with the relayer's own nonce, its receipt and credits.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JsonRpcProvider, NonceManager, Wallet, ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { freePort } from "../helpers/net";
import { ANVIL_DEV_KEY, type EmbeddedChain, startAnvil } from "../../server/adapters/chain/anvil";
import { type ChainPort, connectChain } from "../../server/adapters/chain/chain";
import { chainOrderId, custodialUserId } from "../../server/adapters/chain/ids";
import { ensureLocalDeployment } from "../../server/adapters/chain/local-deployment";
import { MODULE_DEPLOYMENTS } from "../../server/modules";
import { formatAmount } from "../../server/domain/display";
import { IAccessControl__factory } from "../../typechain-types";

describe("the chain adapter on anvil", function () {
  this.timeout(120_000);
  let dir: string;
  let anvil: EmbeddedChain;
  let chain: ChainPort;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-chain-"));
    anvil = await startAnvil({ port: await freePort(), stateFile: path.join(dir, "chain", "state.json") });
  });
  after(async function () {
    chain?.close();
    await anvil?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("deploys on the first start and finds the same contracts on the next", async function () {
    const file = path.join(dir, "deployments.json");
    const first = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, file, { modules: MODULE_DEPLOYMENTS });
    expect(first.fresh).to.equal(true);
    const second = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, file, { modules: MODULE_DEPLOYMENTS });
    expect(second).to.deep.equal({ deployments: first.deployments, fresh: false });
    chain = connectChain(anvil.url, ANVIL_DEV_KEY, first.deployments);
  });

  it("lets a data folder from before the admin key grant its relayer key the roles it sends with, a module's contract's too", async function () {
    const file = path.join(dir, "legacy", "deployments.json");
    const { deployments } = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, file, { modules: MODULE_DEPLOYMENTS });
    expect(deployments.adCredit).to.be.a("string");
    const provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true });
    try {
      const keyFile = path.join(dir, "legacy", "admin-key");
      const admin = new NonceManager(new Wallet(fs.readFileSync(keyFile, "utf8").trim(), provider));
      const relayer = new Wallet(ANVIL_DEV_KEY).address;
      const wanted: [string, string][] = [
        [deployments.pool, "PARAMETER_ROLE"],
        [deployments.pool, "PAUSER_ROLE"],
        [deployments.custody, "RELAYER_ROLE"],
        [deployments.custody, "PARAMETER_ROLE"],
        [deployments.adCredit!, "RELAYER_ROLE"],
        [deployments.adCredit!, "PARAMETER_ROLE"],
      ];
      const roles = wanted.map(([, name]) => keccak256(toUtf8Bytes(name)));
      // As before the admin key: the relayer key administers every contract and holds none of the roles it sends with.
      for (const address of new Set(wanted.map(([a]) => a))) {
        await (await IAccessControl__factory.connect(address, admin).grantRole(ZeroHash, relayer)).wait();
      }
      for (const [i, [address]] of wanted.entries()) {
        await (await IAccessControl__factory.connect(address, admin).revokeRole(roles[i], relayer)).wait();
      }
      fs.rmSync(keyFile);

      const again = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, file, { modules: MODULE_DEPLOYMENTS });
      expect(again.fresh).to.equal(false);
      const holds = ([address]: [string, string], i: number) =>
        IAccessControl__factory.connect(address, provider).hasRole(roles[i], relayer);
      const held = await Promise.all(wanted.map(holds));
      expect(held).to.deep.equal(wanted.map(() => true));
    } finally {
      provider.destroy();
    }
  });

  it("sends the worked example as one signed batch and reads each order's GP from the receipt", async function () {
    const unit = 10n ** BigInt(chain.deployments.settlementDecimals);
    const user = custodialUserId("salt", "alice");
    const orders = ["A", "B", "C"].map((id) => ({ orderId: chainOrderId("shop-1", id), user, amount: 100n * unit }));
    expect(await chain.simulate(orders)).to.equal(undefined);
    const nonce = await chain.pendingNonce();
    const signed = await chain.signBatch(orders, nonce);
    await chain.broadcast(signed.raw);
    await chain.broadcast(signed.raw); // a second copy of the same transaction is harmless
    let mined = await chain.mined(signed.hash);
    for (let i = 0; !mined && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      mined = await chain.mined(signed.hash);
    }
    expect(mined?.status).to.equal(1);
    expect(await chain.blockHash(mined!.blockNumber)).to.equal(mined!.blockHash);
    const credited = orders.map((o) => formatAmount(mined!.credited.get(chain.orderKey(o.orderId).toLowerCase())!, 18));
    expect(credited).to.deep.equal(["20.999999", "14.7", "12.495"]); // the first buyer's 21 less the locked millionth
    expect(await chain.isOrderRecorded(orders[1].orderId)).to.equal(true);
    expect(await chain.creditedPoints(orders[2].orderId)).to.equal(12_495n * 10n ** 15n);
    expect(await chain.minedNonce()).to.equal(nonce + 1);
  });

  it("decodes a refused batch with the order it names", async function () {
    const user = custodialUserId("salt", "alice");
    const repeated = { orderId: chainOrderId("shop-1", "A"), user, amount: 10n ** 6n };
    const refused = await chain.simulate([repeated]);
    expect(refused?.name).to.equal("PoolOrderAlreadyRecorded");
    expect(refused?.orderKey).to.equal(chain.orderKey(repeated.orderId).toLowerCase());
    const tiny = { orderId: chainOrderId("shop-1", "tiny"), user, amount: 1n };
    expect((await chain.simulate([tiny]))?.name).to.equal("PoolOrderTooSmall");
  });
});
