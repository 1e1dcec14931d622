/**
 * What the deploy prints about a failure must not hand out the RPC provider's API key, which its
 * URL carries in the path (`/v3/<key>`), the query (`?apikey=`) or the user part: every URL in a
 * text is cut to its scheme and host, and the configured URL's secret parts are removed wherever
 * they appear (ethers quotes `requestUrl` inside its messages).
 */

const URL_PATTERN = /\b([a-z][a-z0-9+.-]*):\/\/(?:[^\s/?#@"'<>]*@)?([^\s/?#"'<>]+)[^\s"'<>]*/gi;

/** `text` with each URL as `scheme://host[:port]`, and `rpcUrl`'s path, query and user part nowhere. */
export function withoutUrls(text: string, rpcUrl?: string): string {
  let out = text.replace(URL_PATTERN, (_, scheme: string, host: string) => `${scheme}://${host}`);
  if (rpcUrl) {
    let secrets: string[] = [];
    try {
      const url = new URL(rpcUrl);
      secrets = [url.pathname + url.search + url.hash, url.pathname, url.username, url.password, url.search].filter((p) => p.length > 1);
    } catch {
      secrets = [rpcUrl];
    }
    for (const secret of secrets) out = out.split(secret).join("…");
  }
  return out;
}
