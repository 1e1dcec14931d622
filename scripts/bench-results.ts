/** bench/results.json is shared by the benchmarks: each one replaces only its own top-level entries. */
import * as fs from "node:fs";
import * as path from "node:path";

export function mergeResults(entries: Record<string, unknown>): string {
  const out = path.join(__dirname, "..", "bench", "results.json");
  const results = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) : {};
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ ...results, ...entries }, null, 2) + "\n");
  return path.relative(process.cwd(), out);
}
