// Apollo's reference composer (@apollo/composition, pinned in package.json) over a batch of cases.
// stdin: [{"name": ..., "subgraphs": [{"name", "url", "sdl"}]}]; stdout: [{"name", "ok",
// "supergraph" (or null), "codes": [error codes], "messages": [...]}], one process for the corpus.
"use strict";
const { composeServices } = require("@apollo/composition");
const { parse } = require("graphql");

function composeCase(c) {
  let services;
  try {
    services = c.subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
  } catch (e) {
    return { name: c.name, ok: false, supergraph: null, codes: ["INVALID_GRAPHQL"], messages: [String(e.message)] };
  }
  try {
    const result = composeServices(services);
    if (result.errors && result.errors.length) {
      const codes = result.errors.map((e) => (e.extensions && e.extensions.code) || "UNKNOWN");
      return { name: c.name, ok: false, supergraph: null, codes, messages: result.errors.map((e) => e.message) };
    }
    return { name: c.name, ok: true, supergraph: result.supergraphSdl, codes: [], messages: [] };
  } catch (e) {
    return { name: c.name, ok: false, supergraph: null, codes: ["CRASH"], messages: [String(e && e.message)] };
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map(composeCase)));
});
