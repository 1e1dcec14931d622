/** Settings are read in one place; a missing or bad one stops the start, naming it. */
import { expect } from "chai";
import * as path from "node:path";
import { ConfigError, loadConfig } from "../../server/config";

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env, "/srv/gp");
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("configuration", function () {
  it("runs embedded with nothing set: port 8080, .data/ in the project, anvil, PGlite", function () {
    const c = loadConfig({}, "/srv/gp");
    expect(c).to.deep.include({
      port: 8080,
      host: "127.0.0.1",
      dataDir: path.resolve("/srv/gp", ".data"),
      chainPort: 8545,
      adminToken: null,
      databaseUrl: null,
    });
    expect(c.chain).to.deep.equal({ kind: "embedded" });
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it("switches to a real chain and PostgreSQL by configuration", function () {
    const key = `0x${"11".repeat(32)}`;
    const c = loadConfig(
      { RPC_URL: "https://rpc.example.org", RELAYER_PRIVATE_KEY: key, DEPLOYMENTS_FILE: "deploy.json", DATABASE_URL: "postgres://u@db/gp" },
      "/srv/gp",
    );
    expect(c.chain).to.deep.equal({
      kind: "external",
      rpcUrl: "https://rpc.example.org",
      privateKey: key,
      deploymentsFile: "/srv/gp/deploy.json",
    });
    expect(c.databaseUrl).to.equal("postgres://u@db/gp");
  });

  it("sends SMS codes to the outbox when embedded, to nobody on a real chain unless told, and to Aliyun with its settings", function () {
    expect(loadConfig({}, "/srv/gp").sms).to.deep.equal({ provider: "outbox" });
    expect(loadConfig({}, "/srv/gp").smsLimits).to.deep.equal({ perIpHour: 20, perIpDay: 50, dailyBudget: 2000 });
    const external = { RPC_URL: "https://rpc.example", RELAYER_PRIVATE_KEY: `0x${"1".repeat(64)}`, DEPLOYMENTS_FILE: "d.json" };
    expect(loadConfig(external, "/srv/gp").sms).to.deep.equal({ provider: "none" });
    expect(loadConfig({ ...external, GP_SMS_PROVIDER: "outbox" }, "/srv/gp").sms).to.deep.equal({ provider: "outbox" });
    const aliyun = loadConfig(
      {
        GP_SMS_PROVIDER: "aliyun",
        GP_SMS_ALIYUN_ACCESS_KEY_ID: "LTAI5tExample",
        GP_SMS_ALIYUN_ACCESS_KEY_SECRET: "secret-of-the-ram-user",
        GP_SMS_ALIYUN_SIGN_NAME: "绿色积分",
        GP_SMS_ALIYUN_TEMPLATE_CODE: "SMS_123456789",
        GP_SMS_PER_IP_HOUR: "5",
      },
      "/srv/gp",
    );
    expect(aliyun.sms).to.deep.equal({
      provider: "aliyun",
      aliyun: {
        accessKeyId: "LTAI5tExample",
        accessKeySecret: "secret-of-the-ram-user",
        signName: "绿色积分",
        templateCode: "SMS_123456789",
        endpoint: "https://dysmsapi.aliyuncs.com",
      },
    });
    expect(aliyun.smsLimits.perIpHour).to.equal(5);
  });

  it("trusts no proxy unless told which: a hop count or the proxies' addresses", function () {
    expect(loadConfig({}, "/srv/gp").trustProxy).to.equal(false);
    expect(loadConfig({ GP_TRUST_PROXY: "1" }, "/srv/gp").trustProxy).to.equal(1);
    expect(loadConfig({ GP_TRUST_PROXY: "loopback, 10.0.0.0/8,::1" }, "/srv/gp").trustProxy).to.equal("loopback,10.0.0.0/8,::1");
  });

  const bad: [string, NodeJS.ProcessEnv, RegExp][] = [
    ["PORT", { PORT: "eighty" }, /whole number/],
    ["PORT", { PORT: "70000" }, /0 to 65535/],
    ["GP_CHAIN_PORT", { GP_CHAIN_PORT: "0" }, /1 to 65535/],
    ["GP_ADMIN_TOKEN", { GP_ADMIN_TOKEN: "short" }, /16 characters/],
    ["RPC_URL", { RPC_URL: "not a url" }, /URL/],
    ["RELAYER_PRIVATE_KEY", { RPC_URL: "http://127.0.0.1:8545" }, /needs RELAYER_PRIVATE_KEY/],
    ["RELAYER_PRIVATE_KEY", { RELAYER_PRIVATE_KEY: "0x1234" }, /64 hex/],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }, /postgres/],
    ["GP_BATCH_SIZE", { GP_BATCH_SIZE: "0" }, /1 to 500/],
    ["GP_CONFIRMATIONS", { GP_CONFIRMATIONS: "-1" }, /whole number/],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }, /./],
    ["GP_FAULT", { GP_FAULT: "crash-anywhere" }, /./],
    ["GP_AD_POLICY", { GP_AD_POLICY: "weekly:6:1" }, /is not fixed:<tasks>:<vouchers>/],
    ["GP_AD_POLICY", { GP_AD_POLICY: "daily-share:6:150" }, /not a percentage/],
    ["GP_AD_POLICY", { GP_AD_POLICY: "fixed:0:1" }, /not a task count/],
    ["GP_AD_DAILY_TASK_CAP", { GP_AD_DAILY_TASK_CAP: "0" }, /1 to 10000/],
    ["GP_TRUST_PROXY", { GP_TRUST_PROXY: "true" }, /any client choose its address/],
    ["GP_TRUST_PROXY", { GP_TRUST_PROXY: "10.0.0.0/33" }, /proxies' addresses/],
    ["GP_SMS_PROVIDER", { GP_SMS_PROVIDER: "twilio" }, /one of outbox, aliyun, none/],
    ["GP_SMS_ALIYUN_ACCESS_KEY_ID", { GP_SMS_PROVIDER: "aliyun" }, /needs GP_SMS_ALIYUN_ACCESS_KEY_ID/],
    ["GP_SMS_ALIYUN_TEMPLATE_CODE", { GP_SMS_ALIYUN_TEMPLATE_CODE: "verify" }, /SMS_ and digits/],
    ["GP_SMS_DAILY_BUDGET", { GP_SMS_DAILY_BUDGET: "0" }, /./],
  ];
  for (const [setting, env, message] of bad) {
    it(`stops on ${setting}=${Object.values(env).join(",")}, naming ${setting}`, function () {
      const error = refusal(env);
      expect(error.setting).to.equal(setting);
      expect(error.message)
        .to.match(new RegExp(`^${setting}: `))
        .and.match(message);
    });
  }
});
