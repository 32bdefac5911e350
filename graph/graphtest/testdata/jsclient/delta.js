// Pages a mail folder of the Graph emulator through delta with Microsoft's
// Graph JavaScript client (@microsoft/microsoft-graph-client, pinned in
// package-lock.json) and fetches the first message's $value; prints what it
// got as JSON for graph/graphtest/jsclient_test.go to check.
//
// Env: GRAPH_URL (https://host:port/v1.0), TOKEN (a bearer token), START
// (a delta path or a deltaLink from an earlier run), PAGE (odata.maxpagesize),
// VALUE_PATH (the message path whose $value to fetch, "" for none).
"use strict";
const { Client, PageIterator, ResponseType } = require("@microsoft/microsoft-graph-client");

async function main() {
  const root = new URL(process.env.GRAPH_URL);
  const client = Client.init({
    authProvider: (done) => done(null, process.env.TOKEN),
    baseUrl: root.origin,
    defaultVersion: root.pathname.replace(/^\/|\/$/g, ""),
    // The emulator's host is not a Microsoft Graph host: the client only
    // sends the token to hosts it knows or is told (customHosts).
    customHosts: new Set([root.hostname]),
  });
  const opts = { headers: { Prefer: "odata.maxpagesize=" + process.env.PAGE } };
  const first = await client.api(process.env.START).headers(opts.headers).get();
  const out = { ids: [], removed: [], pages: 1, deltaLink: "", value: "" };
  const it = new PageIterator(client, first, (m) => {
    if (m["@removed"]) out.removed.push(m.id);
    else out.ids.push(m.id);
    return true;
  }, opts);
  // Count the pages the iterator fetched through @odata.nextLink.
  const fetchNext = it.fetchAndUpdateNextPageData.bind(it);
  it.fetchAndUpdateNextPageData = async () => { out.pages++; return fetchNext(); };
  await it.iterate();
  if (!it.isComplete()) throw new Error("delta paging did not complete");
  out.deltaLink = it.getDeltaLink() || "";
  if (process.env.VALUE_PATH) {
    const ab = await client.api(process.env.VALUE_PATH + "/$value").responseType(ResponseType.ARRAYBUFFER).get();
    out.value = Buffer.from(ab).toString("base64");
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
