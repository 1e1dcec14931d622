/**
 * The services behind the routes, without HTTP: custodial call planning on anvil and PGlite
 * (what each plan calls on the chain, what it records, what the chain refuses at once), and the
 * merchant statement built from operation records.
 */
import { expect } from "chai";
import pino from "pino";
import { parseUnits } from "ethers";
import { type EmbeddedChain } from "../../server/adapters/chain/anvil";
import type { ChainPort } from "../../server/adapters/chain/chain";
import { custodialUserId } from "../../server/adapters/chain/ids";
import type { Db } from "../../server/adapters/db/db";
import { insertMerchant } from "../../server/adapters/db/merchants";
import { type OperationRecord, findOperation } from "../../server/adapters/db/operations";
import { countByState } from "../../server/adapters/db/orders";
import { insertShop } from "../../server/adapters/db/shops";
import { insertUser } from "../../server/adapters/db/users";
import { CHAIN_ASSET, SALE_ASSETS } from "../../server/domain/assets";
import { AppError } from "../../server/errors";
import type { Principal } from "../../server/http/auth";
import { createSender } from "../../server/services/sender";
import { planPause, planPoolParameter } from "../../server/services/chain-controls";
import { recordAdSale } from "../../server/modules/ads/service";
import { planPayment, planRedemption, planTransfer, planUnlink, userMover } from "../../server/services/custodial";
import { planMerchant } from "../../server/services/merchants";
import { readOperation } from "../../server/services/operation-reads";
import { type PlannedOperation, planCall, recordPlanned, requestIdOf } from "../../server/services/operations";
import { createOrderIntake } from "../../server/services/order-intake";
import { statementCsv, statementOf } from "../../server/services/statements";
import { signedInboundOrder } from "../helpers/inbound-orders";
import { startLocalStack, stopLocalStack } from "../helpers/local-stack";

const SALT = "services-salt";

/** The error a promise rejects with; fails the test when it resolves. */
async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (error) {
    expect(error).to.be.instanceOf(AppError);
    return error as AppError;
  }
  expect.fail("expected a refusal");
}

/**
 * Never run: tsc checks that a call is typed by the typechain contract of its target. Each line
 * must fail to compile (`@ts-expect-error` fails the type check when it does not).
 */
export function callsThatMustNotCompile(chain: ChainPort) {
  const base = { kind: "test", actor: "test", details: {} };
  // @ts-expect-error a misspelt function name
  void planCall(chain, { ...base, target: "custody", fn: "transfr", args: [] });
  // @ts-expect-error an argument missing
  void planCall(chain, { ...base, target: "custody", fn: "unlink", args: [] });
  // @ts-expect-error an argument too many
  void planCall(chain, { ...base, target: "pool", fn: "pause", args: [1n] });
  // @ts-expect-error a function of another contract
  void planCall(chain, { ...base, target: "pool", fn: "payMerchant", args: (r: string) => [r, r, r, 0, 1n] });
  // @ts-expect-error a view, which no operation sends
  void planCall(chain, { ...base, target: "custody", fn: "accountOf", args: ["0x"] });
  // @ts-expect-error an argument of the wrong type
  void planCall(chain, { ...base, target: "custody", fn: "setMerchant", args: ["0x", "yes"] });
}

describe("services, without HTTP", function () {
  describe("custodial call planning on anvil and PGlite", function () {
    this.timeout(120_000);
    const secret = "whsec_services";
    let dir: string;
    let anvil: EmbeddedChain;
    let chain: ChainPort;
    let db: Db;
    const now = () => Math.floor(Date.now() / 1000);
    const alice = userMover(SALT, "alice");
    const bob = userMover(SALT, "bob");
    /** Ticks the sender until no order or operation waits to be sent or confirmed. */
    async function settle() {
      const sender = createSender({
        db,
        chain,
        userSalt: SALT,
        log: pino({ level: "silent" }),
        options: { batchSize: 50, confirmations: 0, replaceAfterMs: 60_000 },
      });
      for (let i = 0; i < 50; i++) {
        await sender.tick();
        const c = await countByState(db);
        const [ops] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM operations WHERE state IN ('queued', 'submitted')");
        if (c.received === 0 && c.submitted === 0 && ops.n === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("orders or operations still pending");
    }
    /** The custody function and arguments a planned operation's calldata encodes. */
    const decoded = (planned: PlannedOperation) => {
      const tx = chain.custody.interface.parseTransaction({ data: planned.op.calldata! })!;
      return { fn: tx.name, args: [...tx.args] };
    };

    before(async function () {
      ({ dir, anvil, chain, db } = await startLocalStack("gp-services-"));
      await insertShop(db, { id: "shop-1", name: "Shop", webhookSecret: secret });
      for (const u of [alice, bob]) await insertUser(db, { userId: u.userId, account: u.account, passwordHash: "x", paymentHash: null });
      // Orders make alice's and bob's custodial accounts on the chain and credit alice GP.
      const intake = createOrderIntake({
        db,
        settlementDecimals: 6,
        maxOrderAmount: 10n ** 18n,
        userSalt: SALT,
        nowSeconds: now,
        extensions: [],
      });
      await intake.receive(signedInboundOrder("shop-1", secret, { orderId: "A", userId: "alice", amount: "100.00" }, now()));
      await intake.receive(signedInboundOrder("shop-1", secret, { orderId: "B", userId: "bob", amount: "10.00" }, now()));
      await settle();
      expect((await chain.custody.accountOf(alice.account)).points).to.equal(parseUnits("20.999999", 18));
    });
    after(() => stopLocalStack({ dir, anvil, chain, db }));

    describe("a user's transfer", function () {
      it("calls the custody's transfer with the operation's request id, the two accounts, the asset's ordinal and the amount", async function () {
        const planned = await planTransfer(chain, db, SALT, alice, { toUserId: "bob", asset: "GP", amount: "2.5" });
        expect(planned.op).to.deep.include({
          kind: "transfer",
          actor: "user:alice",
          account: alice.account,
          counterparty: bob.account,
          target: "custody",
          requestId: requestIdOf(planned.op.id),
          details: { toUserId: "bob", asset: "GP", amount: "2.5" },
        });
        expect(decoded(planned)).to.deep.equal({
          fn: "transfer",
          args: [requestIdOf(planned.op.id), alice.account, bob.account, BigInt(CHAIN_ASSET.GP), parseUnits("2.5", 18)],
        });
      });

      it("records nothing until it is recorded, then queues it as planned", async function () {
        const planned = await planTransfer(chain, db, SALT, alice, { toUserId: "bob", asset: "GP", amount: "1" });
        expect(await findOperation(db, planned.op.id)).to.equal(null);
        const op = await recordPlanned(db, planned);
        expect(op).to.deep.include({ id: planned.op.id, state: "queued", calldata: planned.op.calldata });
        expect((await findOperation(db, op.id))?.kind).to.equal("transfer");
      });

      it("is refused at once, with the chain's reason, when the account holds too little of the asset", async function () {
        const error = await refusal(planTransfer(chain, db, SALT, alice, { toUserId: "bob", asset: "CP", amount: "1" }));
        expect(error.code).to.equal("INSUFFICIENT_BALANCE");
        expect(error.details).to.deep.equal({ chainError: "CustodyInsufficientBalance" });
      });

      it("is refused for an unknown receiver and for oneself, before the chain is asked", async function () {
        const unknown = await refusal(planTransfer(chain, db, SALT, alice, { toUserId: "carol", asset: "GP", amount: "1" }));
        expect([unknown.code, unknown.message]).to.deep.equal(["NOT_FOUND", "no registered user carol"]);
        const self = await refusal(planTransfer(chain, db, SALT, alice, { toUserId: "alice", asset: "GP", amount: "1" }));
        expect([self.code, self.details]).to.deep.equal(["VALIDATION_FAILED", { field: "toUserId" }]);
      });

      it("refuses more decimal places than the asset has", async function () {
        const error = await refusal(planTransfer(chain, db, SALT, alice, { toUserId: "bob", asset: "CP", amount: "0.0000001" }));
        expect(error.code).to.equal("VALIDATION_FAILED");
      });
    });

    describe("reading an operation", function () {
      it("shows it to the operator and the user who asked, and answers NOT_FOUND alike to others and for unknown ids", async function () {
        const op = await recordPlanned(db, await planTransfer(chain, db, SALT, alice, { toUserId: "bob", asset: "GP", amount: "0.5" }));
        const readers: Principal[] = [{ kind: "admin" }, { kind: "user", userId: "alice", sessionHash: "h" }];
        for (const reader of readers) {
          expect((await readOperation(db, SALT, reader, op.id)).operationId).to.equal(op.id);
        }
        const refused: [Principal, string][] = [
          [{ kind: "user", userId: "bob", sessionHash: "h" }, op.id],
          [{ kind: "merchant", merchantId: "mer_other", keyId: "k", role: "owner" }, op.id],
          [{ kind: "shop", shopId: "shop-1" }, op.id],
          [{ kind: "admin" }, "op_unknown"],
        ];
        for (const [reader, id] of refused) {
          const error = await refusal(readOperation(db, SALT, reader, id));
          expect([error.code, error.message]).to.deep.equal(["NOT_FOUND", `no operation ${id}`]);
        }
      });
    });

    describe("a payment to a merchant", function () {
      it("is refused at once while the account is not flagged as merchant on the chain, and for an unknown merchant", async function () {
        await insertMerchant(db, { id: "mer_unflagged", name: "Unflagged", account: custodialUserId(SALT, "unflagged") });
        const error = await refusal(
          planPayment(chain, db, alice, { merchantId: "mer_unflagged", asset: "GP", amount: "1" }, [recordAdSale]),
        );
        expect([error.code, error.details]).to.deep.equal(["CHAIN_REFUSED", { chainError: "CustodyNotMerchant" }]);
        const unknown = await refusal(planPayment(chain, db, alice, { merchantId: "mer_none", asset: "GP", amount: "1" }, [recordAdSale]));
        expect([unknown.code, unknown.message]).to.deep.equal(["NOT_FOUND", "no merchant mer_none"]);
      });

      it("calls payMerchant with the merchant's account, and records the ad sale with the operation", async function () {
        const m = await planMerchant(chain, SALT);
        await insertMerchant(db, { id: m.id, name: "Flagged", account: m.account });
        await recordPlanned(db, m.planned);
        await settle();
        const planned = await planPayment(chain, db, alice, { merchantId: m.id, asset: "GP", amount: "1.25" }, [recordAdSale]);
        expect(planned.op).to.deep.include({ kind: "pay-merchant", account: alice.account, counterparty: m.account });
        expect(decoded(planned)).to.deep.equal({
          fn: "payMerchant",
          args: [requestIdOf(planned.op.id), alice.account, m.account, BigInt(CHAIN_ASSET.GP), parseUnits("1.25", 18)],
        });
        const op = await recordPlanned(db, planned);
        const sales = await db.query<{ asset: string; paid: string; payment_id: string; state: string }>(
          "SELECT asset, paid::text AS paid, payment_id, state FROM voucher_sales WHERE merchant_id = $1",
          [m.id],
        );
        expect(sales).to.deep.equal([{ asset: "GP", paid: parseUnits("1.25", 18).toString(), payment_id: op.id, state: "awaiting" }]);
      });
    });

    describe("the asset names", function () {
      it("are the ones the database's voucher_sales.asset accepts", async function () {
        const [check] = await db.query<{ def: string }>(
          `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
            WHERE conrelid = 'voucher_sales'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%asset%'`,
        );
        expect([...check.def.matchAll(/'(\w+)'/g)].map((m) => m[1])).to.have.members([...SALE_ASSETS]);
      });
    });

    describe("a redemption", function () {
      it("calls redeem for GP, with the least payout asked for in settlement units", async function () {
        const planned = await planRedemption(chain, alice, { asset: "GP", amount: "3", minPayout: "0.5" });
        expect(planned.op.kind).to.equal("redeem");
        expect(decoded(planned)).to.deep.equal({
          fn: "redeem",
          args: [requestIdOf(planned.op.id), alice.account, parseUnits("3", 18), parseUnits("0.5", 6)],
        });
      });

      it("calls redeemConstant for CP, and is refused when the account holds none", async function () {
        const error = await refusal(planRedemption(chain, alice, { asset: "CP", amount: "1" }));
        expect([error.code, error.details]).to.deep.equal(["INSUFFICIENT_BALANCE", { chainError: "CustodyInsufficientBalance" }]);
      });
    });

    describe("the operator's calls", function () {
      it("plans a merchant's flag: setMerchant on its new account, by the admin", async function () {
        const m = await planMerchant(chain, SALT);
        expect(m.id).to.match(/^mer_[0-9a-f]{12}$/);
        expect(m.planned.op).to.deep.include({ kind: "set-merchant", actor: "admin", account: m.account, requestId: null });
        expect(decoded(m.planned)).to.deep.equal({ fn: "setMerchant", args: [m.account, true] });
      });

      it("plans a pool parameter in the parameter's units, and refuses one outside the contract's bounds with them", async function () {
        const planned = await planPoolParameter(chain, "initialPrice", "0.5");
        expect(planned.op.details).to.deep.equal({ name: "initialPrice", value: "500000", asGiven: "0.5" });
        const tx = chain.pool.interface.parseTransaction({ data: planned.op.calldata! })!;
        expect([tx.name, ...tx.args]).to.deep.equal(["setParameter", 3n, 500_000n]);
        const error = await refusal(planPoolParameter(chain, "exitFee", "10001"));
        expect([error.code, error.details]).to.deep.equal(["CHAIN_REFUSED", { chainError: "PoolParameterOutOfRange" }]);
      });

      it("plans a pause of the pool", async function () {
        const planned = await planPause(chain, "pause");
        expect(planned.op).to.deep.include({ kind: "pause", target: "pool", account: null, details: {} });
        expect(chain.pool.interface.parseTransaction({ data: planned.op.calldata! })?.name).to.equal("pause");
      });

      it("refuses an unlink when no original account is linked", async function () {
        const error = await refusal(planUnlink(chain, alice));
        expect([error.code, error.details]).to.deep.equal(["CHAIN_REFUSED", { chainError: "CustodyNotLinked" }]);
      });
    });
  });

  describe("a merchant's statement", function () {
    const merchant = "0xmerchant";
    const op = (o: Partial<OperationRecord> & Pick<OperationRecord, "id" | "kind" | "details">): OperationRecord => ({
      actor: "user:alice",
      account: merchant,
      counterparty: null,
      requestId: null,
      target: "custody",
      calldata: null,
      state: "confirmed",
      transactionId: null,
      txHash: `0x${o.id}`,
      result: null,
      reason: null,
      createdAt: new Date("2026-01-02T03:04:05.000Z"),
      ...o,
    });
    const ops = [
      op({ id: "p1", kind: "pay-merchant", account: "0xalice", counterparty: merchant, details: { asset: "GP", amount: "1.5" } }),
      op({ id: "p2", kind: "pay-merchant", account: "0xalice", counterparty: merchant, details: { asset: "CP", amount: "2" } }),
      op({ id: "p3", kind: "pay-merchant", account: "0xalice", counterparty: "0xother", details: { asset: "CP", amount: "9" } }),
      op({ id: "p4", kind: "pay-merchant", state: "rejected", counterparty: merchant, details: { asset: "CP", amount: "9" } }),
      op({
        id: "r1",
        kind: "redeem",
        details: { asset: "GP", amount: "1" },
        result: [
          { name: "Redeemed", args: { fee: "100000" } },
          { name: "RedeemedToBalance", args: { payout: "400000" } },
        ],
      }),
      op({ id: "x1", kind: "exchange-constant", details: { constantPoints: "1" } }),
      op({ id: "w1", kind: "withdraw-settlement", details: { to: "0xpaid", amount: "0.25" } }),
    ];

    it("lists confirmed moves of the merchant's account only, with totals in each asset's units", function () {
      const s = statementOf(ops, merchant, 6);
      expect(s.entries.map((e) => [e.operationId, e.type, e.asset, e.amount, e.payout, e.fee, e.counterparty])).to.deep.equal([
        ["p1", "payment-received", "GP", "1.5", "", "", "alice"],
        ["p2", "payment-received", "CP", "2", "", "", "alice"],
        ["r1", "redemption", "GP", "1", "0.4", "0.1", ""],
        ["x1", "exchange", "CP", "1", "", "", ""],
        ["w1", "withdrawal", "settlement", "0.25", "", "", "0xpaid"],
      ]);
      expect(s.totals).to.deep.equal({
        receivedGP: "1.5",
        receivedCP: "2",
        redeemedGP: "1",
        redeemedCP: "0",
        payout: "0.4",
        fees: "0.1",
        withdrawn: "0.25",
      });
    });

    it("writes CSV with a header, CRLF lines, quoted cells and defused formulas", function () {
      const [entry] = statementOf(ops, merchant, 6).entries;
      const csv = statementCsv([{ ...entry, counterparty: '=HYPERLINK("x, y")' }]);
      expect(csv).to.equal(
        "time,operationId,type,asset,amount,payout,fee,counterparty,txHash\r\n" +
          `2026-01-02T03:04:05.000Z,p1,payment-received,GP,1.5,,,"'=HYPERLINK(""x, y"")",0xp1\r\n`,
      );
    });
  });
});
