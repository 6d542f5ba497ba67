// Apollo Gateway behind Apollo Server's standalone HTTP server, one process.
// Usage: node apollo-gateway.mjs <supergraph.graphql> <port> [host]
// The runner copies this file next to bench/.cache/peers/node_modules so that the imports resolve.
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const [supergraphPath, port, host = '127.0.0.1'] = process.argv.slice(2);
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraphPath, 'utf8') });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(port), host } });
console.log(`apollo gateway ready at ${url}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.stop().finally(() => process.exit(0));
  });
}
