// The real Apollo gateway over two subgraphs: UserProfile (PROFILES_URL) and the orders test
// subgraph (ORDERS_URL), composed by introspection. It forwards each caller's Authorization
// and X-Tenant-Id headers to the subgraphs, as a production gateway must for UserProfile.
//   PORT  port on 127.0.0.1 (0 picks a free one)
// Prints `listening <url>` on stdout once it listens.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';

const FORWARDED = ['authorization', 'x-tenant-id', 'accept-language'];

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of FORWARDED) {
      const value = context.headers?.[name];
      if (value) request.http.headers.set(name, value);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [
      { name: 'profiles', url: process.env.PROFILES_URL },
      { name: 'orders', url: process.env.ORDERS_URL },
    ],
  }),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});

const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(process.env.PORT ?? 0) },
  context: async ({ req }) => ({ headers: req.headers }),
});
console.log(`listening ${url}`);
