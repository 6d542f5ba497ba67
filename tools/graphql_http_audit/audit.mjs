// Run graphql-http's GraphQL-over-HTTP server audits against a running gateway.
//
//   node tools/graphql_http_audit/audit.mjs --url http://127.0.0.1:4000/graphql \
//        [--modules node_modules] [--json results.json]     (graphql-http from package-lock.json: make install)
//
// Prints one line per audit (ok / WARN / FAIL), then writes the results as JSON when asked.
// Exit status: 0 when every MUST passes and there are no warnings, 1 otherwise, 2 on a usage error.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

function arg(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = arg("url");
const modules = resolve(arg("modules", new URL("../../node_modules", import.meta.url).pathname));
const jsonOut = arg("json");
if (!url) {
  console.error("usage: audit.mjs --url URL [--modules DIR] [--json FILE]");
  process.exit(2);
}

const require = createRequire(join(modules, "noop.js"));
const { serverAudits } = require("graphql-http");

const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    entry.reason = result.reason;
    if (result.response) {
      entry.httpStatus = result.response.status;
      entry.body = await result.response.text().catch(() => "");
    }
  }
  results.push(entry);
  const mark = { ok: "ok  ", warn: "WARN", error: "FAIL", notice: "note" }[result.status] ?? result.status;
  console.log(`${mark} ${result.id} ${result.name}${entry.reason ? ` -- ${entry.reason}` : ""}`);
}

const count = (status) => results.filter((r) => r.status === status).length;
console.log(
  `\n${count("ok")} ok, ${count("warn")} warnings, ${count("error")} errors, ${count("notice")} notices (of ${results.length})`,
);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2) + "\n");
process.exit(count("warn") + count("error") === 0 ? 0 : 1);
