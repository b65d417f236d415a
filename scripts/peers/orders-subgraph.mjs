// A second, tiny subgraph for the federation tests: orders whose owners are UserProfile users.
//   ORDERS_OWNERS  comma-separated user ids; order i is owned by owner i
//   PORT           port on 127.0.0.1 (0 picks a free one)
// Prints `listening <url>` on stdout once it listens.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    "The first orders (all without first)."
    orders(first: Int): [Order!]!
  }

  type Order @key(fields: "id") {
    id: ID!
    "Who placed it: a user of the profile service."
    owner: User!
  }

  type User @key(fields: "id", resolvable: false) {
    id: ID!
  }
`);

const owners = (process.env.ORDERS_OWNERS ?? '').split(',').filter(Boolean);
const orders = owners.map((owner, index) => ({ id: `order-${index}`, owner: { id: owner } }));

const resolvers = {
  Query: { orders: (_, { first }) => (first == null ? orders : orders.slice(0, first)) },
  Order: { __resolveReference: (ref) => orders.find((order) => order.id === ref.id) },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: Number(process.env.PORT ?? 0) },
  });
  console.log(`listening ${url}`);
}
