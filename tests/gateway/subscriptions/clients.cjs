// The reference clients against the gateway: graphql-ws (graphql-transport-ws) and graphql-sse (distinct
// connections mode). Usage: node clients.cjs NODE_MODULES_DIR BASE_URL TOKEN
// Prints one JSON object: what each client received.
const path = require("path");
const [modules, base, token] = process.argv.slice(2);
const { createClient: createWsClient } = require(path.join(modules, "graphql-ws"));
const { createClient: createSseClient } = require(path.join(modules, "graphql-sse"));
const WebSocket = require(path.join(modules, "ws"));

const EVENTS = "subscription { orderEvents { kind order { number balance } } }";
const QUERY = '{ order(id: "o1") { number balance } }';

async function take(iterator, n) {
  const out = [];
  for await (const result of iterator) {
    out.push(result);
    if (out.length === n) break; // return() completes the operation
  }
  return out;
}

async function main() {
  const timer = setTimeout(() => { console.error("timeout"); process.exit(2); }, 20000);
  const ws = createWsClient({
    url: base.replace("http://", "ws://") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 0,
  });
  const wsEvents = await take(ws.iterate({ query: EVENTS, extensions: { cursor: "0" } }), 2);
  const wsQuery = await take(ws.iterate({ query: QUERY }), 5);
  let wsError = null;
  try {
    await take(ws.iterate({ query: "subscription { nope }" }), 1);
  } catch (errors) {
    wsError = errors;
  }
  await ws.dispose();

  const sse = createSseClient({
    url: base + "/graphql",
    headers: { Authorization: `Bearer ${token}` },
    singleConnection: false,
    retryAttempts: 0,
  });
  const sseEvents = await take(sse.iterate({ query: EVENTS, extensions: { cursor: "1" } }), 1);
  const sseQuery = await take(sse.iterate({ query: QUERY }), 5);
  sse.dispose();
  clearTimeout(timer);
  console.log(JSON.stringify({ wsEvents, wsQuery, wsError, sseEvents, sseQuery }));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : JSON.stringify(error));
  process.exit(1);
});
