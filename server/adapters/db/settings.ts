import type { Queryable } from "./db";

const INSERT_IF_ABSENT = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
const SELECT_SETTING = "SELECT value FROM settings WHERE key = $1";

/** The setting `key`, created with `make()` the first time; every relayer then reads the same. */
export async function settingOrCreate(db: Queryable, key: string, make: () => string): Promise<string> {
  await db.query(INSERT_IF_ABSENT, [key, make()]);
  const [row] = await db.query<{ value: string }>(SELECT_SETTING, [key]);
  return row.value;
}
