import { expect } from "chai";
import { type ReleasePolicy, nextRelease, parsePolicy, releaseFor, sourcePolicies } from "../../server/modules/ads/release-policy";

const unit = 10n ** 6n;
const units = (text: string) => {
  const [whole, fraction = ""] = text.split(".");
  return BigInt(whole) * unit + BigInt(fraction.padEnd(6, "0"));
};
const policies = sourcePolicies(6);

/** Runs `days` days of `tasksPerDay` completions and returns what each day released. */
function simulateDays(policy: ReleasePolicy, start: bigint, days: number, tasksPerDay: number): bigint[] {
  let balance = start;
  let total = 0;
  const released: bigint[] = [];
  for (let d = 0; d < days; d++) {
    let today = 0n;
    for (let t = 1; t <= tasksPerDay; t++) {
      total++;
      const r = releaseFor(policy, { balance, tasksToday: t, tasksTotal: total });
      balance -= r;
      today += r;
    }
    released.push(today);
  }
  return released;
}

describe("Release policies (docs/rules.md, the source examples)", function () {
  describe("fixed: 6 rewarded videos convert 1 voucher", function () {
    it("releases nothing for the first five videos and 1 voucher on the sixth, then again on the twelfth", function () {
      const released = Array.from({ length: 12 }, (_, i) =>
        releaseFor(policies.fixed, { balance: units("10"), tasksToday: i + 1, tasksTotal: i + 1 }),
      );
      expect(released).to.deep.equal([0n, 0n, 0n, 0n, 0n, unit, 0n, 0n, 0n, 0n, 0n, unit]);
    });
    it("carries progress over days and releases only what is left", function () {
      expect(releaseFor(policies.fixed, { balance: units("0.25"), tasksToday: 2, tasksTotal: 6 })).to.equal(units("0.25"));
      expect(nextRelease(policies.fixed, { balance: units("3"), tasksToday: 0, tasksTotal: 4 })).to.deep.equal({
        vouchers: 0n,
        tasksUntilRelease: 2,
      });
      expect(nextRelease(policies.fixed, { balance: units("3"), tasksToday: 5, tasksTotal: 5 })).to.deep.equal({
        vouchers: unit,
        tasksUntilRelease: 1,
      });
    });
  });

  describe("daily share: 2% of the remaining vouchers", function () {
    it("releases 4 of 200 on day one and 3.92 of 196 on day two, once a day when the day's tasks are done", function () {
      expect(simulateDays(policies.dailyShare, units("200"), 2, 6)).to.deep.equal([units("4"), units("3.92")]);
    });
    it("releases nothing on a day the tasks were not all done, and not twice on one day", function () {
      expect(simulateDays(policies.dailyShare, units("200"), 1, 5)).to.deep.equal([0n]);
      expect(releaseFor(policies.dailyShare, { balance: units("200"), tasksToday: 7, tasksTotal: 7 })).to.equal(0n);
      expect(nextRelease(policies.dailyShare, { balance: units("200"), tasksToday: 6, tasksTotal: 6 })).to.deep.equal({
        vouchers: 0n,
        tasksUntilRelease: null,
      });
    });
    it("rounds the release down to the base unit", function () {
      expect(releaseFor(policies.dailyShare, { balance: 149n, tasksToday: 6, tasksTotal: 6 })).to.equal(2n); // 2.98 -> 2
    });
  });

  describe("thresholds: 1% at 200, 1.2% at 400", function () {
    it("releases 2 a day for 300 vouchers and 4.8 for 900", function () {
      expect(simulateDays(policies.thresholds, units("300"), 1, 6)).to.deep.equal([units("2")]);
      expect(simulateDays(policies.thresholds, units("900"), 1, 6)).to.deep.equal([units("4.8")]);
    });
    it("releases nothing below the lowest level, and steps down as the balance falls below a level", function () {
      expect(simulateDays(policies.thresholds, units("199.99"), 1, 6)).to.deep.equal([0n]);
      expect(simulateDays(policies.thresholds, units("401"), 2, 6)).to.deep.equal([units("4.8"), units("2")]);
    });
  });

  describe("GP_AD_POLICY", function () {
    it("reads the three source policies from their settings", function () {
      expect(parsePolicy("fixed:6:1", 6)).to.deep.equal(policies.fixed);
      expect(parsePolicy("daily-share:6:2", 6)).to.deep.equal(policies.dailyShare);
      expect(parsePolicy("thresholds:6:200@1,400@1.2", 6)).to.deep.equal(policies.thresholds);
    });
  });
});
