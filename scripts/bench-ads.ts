/**
 * `npm run bench`, rewarded ads: gas per voucher conversion in batches of 1, 10 and 100 (and per
 * issuance) on Hardhat's in-process chain; then ad-network callbacks per second through the
 * relayer (signature verified, counted once, recorded in PGlite, released vouchers queued), and
 * the signature checks alone. Prints the figures and adds them to bench/results.json under "ads".
 * Wall-clock figures vary with the machine; gas does not.
 */
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { ethers, config as hardhatConfig } from "hardhat";
import { generateKeyPairSync } from "node:crypto";
import { custodialUserId } from "../server/adapters/chain/ids";
import { insertUser } from "../server/adapters/db/users";
import { verifyAdCallback, signEd25519 } from "../server/modules/ads/ad-callback-signature";
import { signPayload } from "../server/domain/inbound-signature";
import { deployCustody, deployMockStablecoin, deployPoolContracts } from "../server/adapters/chain/deploy";
import { DEFAULT_AD_CREDIT_PARAMETERS, deployAdCredit } from "../server/modules/ads/deploy";
import { TEST_ADMIN_TOKEN, TEST_USER_SALT, call, startTestRelayer } from "../test/helpers/relayer";
import { CONCURRENCY, drive, round } from "./bench-load";
import { mergeResults } from "./bench-results";

const DECIMALS = 6;
const UNIT = 10n ** BigInt(DECIMALS);
const GP = 10n ** 18n;
const CALLBACKS = 2_000;
const CALLBACK_USERS = 100;
const VERIFICATIONS = 20_000;

let counter = 0;
const nextId = () => ethers.id(`bench-ads-${counter++}`);

async function conversionGas() {
  const [operator, funder] = await ethers.getSigners();
  const settlement = await deployMockStablecoin(operator, DECIMALS);
  const { pool } = await deployPoolContracts(operator, {
    settlement: await settlement.getAddress(),
    maxIssuance: 10n ** 12n * GP,
    parameters: { poolShare: 3_000n, mintShare: 7_000n, exitFee: 2_000n, initialPrice: UNIT, referralShare1: 0n, referralShare2: 0n },
    admin: operator.address,
  });
  const custody = await deployCustody(operator, pool, { withdrawalFee: 100n, exitMultiple: 0n, referralMode: 0n }, operator.address);
  const ads = await deployAdCredit(operator, pool, custody, DEFAULT_AD_CREDIT_PARAMETERS, operator.address);
  await (await custody.grantRole(await custody.RELAYER_ROLE(), operator.address)).wait();
  await (await ads.grantRole(await ads.RELAYER_ROLE(), operator.address)).wait();
  const merchant = ethers.id("bench-merchant");
  await (await custody.register(merchant, ethers.ZeroHash)).wait();
  await (await custody.setMerchant(merchant, true)).wait();
  await (await settlement.mint(funder.address, 10n ** 12n * UNIT)).wait();
  await (await settlement.connect(funder).approve(await ads.getAddress(), ethers.MaxUint256)).wait();
  await (await ads.connect(funder).topUp(merchant, 10n ** 9n * UNIT)).wait();
  const users = Array.from({ length: 100 }, (_, i) => ethers.id(`bench-ad-user-${i}`));
  for (const u of users) await (await custody.register(u, ethers.ZeroHash)).wait();
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => Number((await (await tx).wait())!.gasUsed);
  const sales = () => users.map((u) => ({ saleId: nextId(), user: u, merchant, amount: 1_000n * UNIT }));
  const conversions = (n: number) => users.slice(0, n).map((u) => ({ conversionId: nextId(), user: u, merchant, vouchers: UNIT }));

  // Warm-up: every user has vouchers and GP in custody already (a returning shopper).
  await (await ads.issueVouchers(sales())).wait();
  await (await ads.convert(conversions(100))).wait();
  const issueBatch100 = await gasOf(ads.issueVouchers(sales()));
  const batches = [];
  for (const size of [1, 10, 100]) {
    const total = await gasOf(ads.convert(conversions(size)));
    batches.push({ size, total, perConversion: Math.round(total / size) });
  }
  return {
    issue_batch100_per_sale: Math.round(issueBatch100 / 100),
    conversion_batches: batches,
    conversion_marginal: Math.round((batches[2].total - batches[0].total) / 99),
  };
}

async function callbackRate() {
  let clock = Math.floor(Date.now() / 1000);
  const relayer = await startTestRelayer({
    nowSeconds: () => clock,
    ads: { policy: { kind: "fixed", tasks: 6, vouchers: UNIT }, dailyTaskCap: 1_000 },
  });
  try {
    for (let i = 0; i < CALLBACK_USERS; i++) {
      await insertUser(relayer.db, {
        userId: `viewer-${i}`,
        account: custodialUserId(TEST_USER_SALT, `viewer-${i}`),
        passwordHash: "-",
        paymentHash: null,
      });
    }
    const network = await call(relayer.url, "POST", "/v1/admin/ad-networks", {
      token: TEST_ADMIN_TOKEN,
      body: { name: "bench", scheme: "hmac-sha256" },
      headers: { "idempotency-key": "bench-network-1" },
    });
    const { networkId, secret } = network.body as { networkId: string; secret: string };
    clock = Math.floor(Date.now() / 1000);
    const requests = Array.from({ length: CALLBACKS }, (_, i) => {
      const body = JSON.stringify({ transactionId: `bench-${i}`, userId: `viewer-${i % CALLBACK_USERS}` });
      return {
        headers: {
          "content-type": "application/json",
          "x-gp-timestamp": String(clock),
          "x-gp-signature": signPayload(secret, clock, body),
        },
        body,
      };
    });
    const load = await drive(`${relayer.url}/v1/ads/callbacks/${networkId}`, requests, 200);
    const [{ counted }] = await relayer.db.query<{ counted: number }>("SELECT count(*)::int AS counted FROM ad_tasks");
    if (Number(counted) !== CALLBACKS) throw new Error(`counted ${counted} of ${CALLBACKS}`);
    const replays = await drive(`${relayer.url}/v1/ads/callbacks/${networkId}`, requests.slice(0, 500), 409);
    return { load, replays };
  } finally {
    await relayer.stop();
  }
}

function verificationRate() {
  const now = Math.floor(Date.now() / 1000);
  const rawBody = Buffer.from(JSON.stringify({ transactionId: "t-1", userId: "viewer-1" }));
  const secret = "whsec_bench";
  const pair = generateKeyPairSync("ed25519");
  const privateKey = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicKey = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
  const rate = (key: Parameters<typeof verifyAdCallback>[1], signature: string) => {
    const started = performance.now();
    for (let i = 0; i < VERIFICATIONS; i++) verifyAdCallback({ rawBody, timestamp: String(now), signature }, key, now);
    return round(VERIFICATIONS / ((performance.now() - started) / 1000), 0);
  };
  return {
    hmacPerSecond: rate({ scheme: "hmac-sha256", secret, publicKey: null }, signPayload(secret, now, rawBody)),
    ed25519PerSecond: rate({ scheme: "ed25519", secret: null, publicKey }, signEd25519(privateKey, now, rawBody)),
  };
}

async function main() {
  const gas = await conversionGas();
  console.log("Rewarded ads, gas (Hardhat in-process chain, solc " + hardhatConfig.solidity.compilers[0].version + ", optimizer 200 runs)");
  console.log(`  issuance, batch of 100 sales, per sale   ${gas.issue_batch100_per_sale}`);
  console.log("  conversions (returning shoppers):  size   total   per conversion");
  for (const b of gas.conversion_batches)
    console.log(
      `                                     ${String(b.size).padStart(4)}  ${String(b.total).padStart(7)}  ${String(b.perConversion).padStart(8)}`,
    );
  console.log(`  marginal conversion in a batch           ${gas.conversion_marginal}`);

  const verify = verificationRate();
  console.log(`\nsignature checks alone (one core): HMAC-SHA256 ${verify.hmacPerSecond}/s, Ed25519 ${verify.ed25519PerSecond}/s`);
  const { load, replays } = await callbackRate();
  console.log(
    `callbacks through the relayer (${CALLBACKS}, ${CONCURRENCY} in flight, ${CALLBACK_USERS} users, PGlite): ` +
      `${load.perSecond}/s, p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms; every one counted once`,
  );
  console.log(`replayed callbacks refused (409): ${replays.perSecond}/s`);

  const written = mergeResults({
    ads: {
      generatedAt: new Date().toISOString(),
      environment: {
        node: process.version,
        cores: os.cpus().length,
        solc: hardhatConfig.solidity.compilers[0].version,
        database: "PGlite",
      },
      gas,
      verification: verify,
      callbacks: load,
      replays,
    },
  });
  console.log(`\nwritten to ${written}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
