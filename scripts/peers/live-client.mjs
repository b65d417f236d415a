// A graphql-ws client as frontends run it (npm graphql-ws over npm ws): subscribes, prints
// `connected` once the server acknowledged the connection, then each event as one JSON line.
// Usage: node live-client.mjs <ws url> <bearer token> <subscription> [variables as JSON]
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, variables] = process.argv.slice(2);
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  keepAlive: 10_000,
  on: { connected: () => print({ connected: true }) },
});

client.subscribe(
  { query, variables: variables ? JSON.parse(variables) : {} },
  {
    next: (value) => print({ next: value }),
    error: (error) => {
      print({ error: String(error?.reason ?? error?.message ?? error) });
      process.exit(1);
    },
    complete: () => {
      print({ complete: true });
      process.exit(0);
    },
  },
);
