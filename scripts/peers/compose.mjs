// The composition check: composes UserProfile's checked-in subgraph SDL with the orders test
// subgraph, as a gateway or GraphOS would. Prints the errors and the hints; exits 1 on an error.
//   node scripts/peers/compose.mjs subgraph.graphql
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { typeDefs as orders } from './orders-subgraph.mjs';

const profiles = parse(readFileSync(process.argv[2], 'utf8'));
const result = composeServices([
  { name: 'profiles', url: 'http://profiles', typeDefs: profiles },
  { name: 'orders', url: 'http://orders', typeDefs: orders },
]);
for (const hint of result.hints ?? []) console.log(`hint ${hint.definition.code}: ${hint.message}`);
if (result.errors) {
  for (const error of result.errors) console.error(`error: ${error.message}`);
  process.exit(1);
}
console.log('composed: no errors');
