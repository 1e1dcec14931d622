/**
 * The chain port's contract registry against a real anvil: a module's contract registered on a
 * deployment that has it and on one made before it (a data folder without its address), and a
 * refusal decoded with the named arguments of the contract error's ABI.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../helpers/net";
import { ANVIL_DEV_KEY, type EmbeddedChain, startAnvil } from "../../server/adapters/chain/anvil";
import { type ChainPort, type Deployments, UnknownContractError, connectChain } from "../../server/adapters/chain/chain";
import { ChainRevertError } from "../../server/adapters/chain/errors";
import { chainOrderId, custodialUserId } from "../../server/adapters/chain/ids";
import { ensureLocalDeployment } from "../../server/adapters/chain/local-deployment";
import { MODULE_DEPLOYMENTS } from "../../server/modules";
import { AppError } from "../../server/errors";
import { adCreditContract } from "../../server/modules/ads/contract";
import { planCall } from "../../server/services/operations";

describe("the chain port's contract registry", function () {
  this.timeout(120_000);
  let dir: string;
  let anvil: EmbeddedChain;
  let deployments: Deployments;
  const chains: ChainPort[] = [];
  const connect = (d: Deployments) => {
    const chain = connectChain(anvil.url, ANVIL_DEV_KEY, d);
    chains.push(chain);
    return chain;
  };

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gp-registry-"));
    anvil = await startAnvil({ port: await freePort(), stateFile: path.join(dir, "chain", "state.json") });
    ({ deployments } = await ensureLocalDeployment(anvil.url, ANVIL_DEV_KEY, path.join(dir, "deployments.json"), {
      modules: MODULE_DEPLOYMENTS,
    }));
  });
  after(async function () {
    for (const chain of chains) chain.close();
    await anvil?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("when the deployment has the module's contract", function () {
    it("connects it by its deployments.json key, finds it by its operations' target, and lists it last", async function () {
      const chain = connect(deployments);
      chain.register(adCreditContract);
      expect(await chain.contract("adCredit").getAddress()).to.equal(deployments.adCredit);
      expect(chain.adCredit).to.equal(chain.contract("adCredit"));
      expect(chain.target("ads").address).to.equal(deployments.adCredit);
      expect(chain.target("custody").address).to.equal(deployments.custody);
      expect(chain.contracts().map((c) => c.name)).to.deep.equal(["pool", "points", "custody", "settlement", "adCredit"]);
    });
  });

  describe("when the deployment predates the module (no address for it)", function () {
    it("has it as null and answers ADS_UNAVAILABLE for every call of it", async function () {
      const { adCredit: _, ...before } = deployments;
      const chain = connect(before);
      chain.register(adCreditContract);
      expect(chain.adCredit).to.equal(null);
      expect(chain.contracts().map((c) => c.name)).to.deep.equal(["pool", "points", "custody", "settlement"]);
      const unavailable = (error: unknown) => error instanceof AppError && error.code === "ADS_UNAVAILABLE";
      expect(() => chain.contract("adCredit"))
        .to.throw(AppError)
        .that.satisfies(unavailable);
      expect(() => chain.target("ads"))
        .to.throw(AppError)
        .that.satisfies(unavailable);
      const planned = await planCall(chain, {
        kind: "ad-credit-top-up",
        actor: "admin",
        target: "ads",
        fn: "topUp",
        args: [custodialUserId("salt", "merchant"), 1n],
        details: {},
      }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(planned).to.satisfy(unavailable);
    });
  });

  it("refuses a target no entry names", function () {
    const chain = connect(deployments);
    expect(() => chain.target("dividends")).to.throw(UnknownContractError, "no contract is registered as dividends");
  });

  it("decodes a refusal with the error's named arguments, the contract whose ABI declares it and the order it names", async function () {
    const chain = connect(deployments);
    const order = { orderId: chainOrderId("shop-1", "tiny"), user: custodialUserId("salt", "bob"), amount: 1n };
    const refused = await chain.simulate([order]);
    expect(refused).to.be.instanceOf(ChainRevertError);
    expect(refused!.name).to.equal("PoolOrderTooSmall");
    expect(refused!.contract).to.equal("pool");
    expect(refused!.orderKey).to.equal(chain.orderKey(order.orderId).toLowerCase());
    expect(refused!.namedArgs).to.deep.equal({ orderKey: chain.orderKey(order.orderId), amount: 1n });
    expect(refused!.cause).to.have.property("data");
  });
});
