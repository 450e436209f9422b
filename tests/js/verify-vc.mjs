// Verify an eddsa-jcs-2022 Data Integrity proof with Digital Bazaar's cryptosuite, offline.
//
//   node verify-vc.mjs '<public JWK as JSON>' [--skip-jsonld] [--ndjson] < credential.json
//
// Exits 0 and prints "verified" when the proof verifies with that key; exits 1 with the reason
// on stderr otherwise. With --ndjson it reads one credential a line and prints one outcome a
// line ("verified" or "NOT VERIFIED: why"), exiting 0 only if every one verified. Unless
// --skip-jsonld is given it also expands the credential in JSON-LD safe mode, so a term missing
// from its contexts fails too (data-integrity.mjs holds the check itself).
import {readFileSync} from 'node:fs';

import {contextDocuments, verify} from './data-integrity.mjs';

async function outcome(text, jwk, options) {
  try {
    await verify(JSON.parse(text), jwk, options);
    return 'verified';
  } catch(e) {
    return `NOT VERIFIED: ${e.message}`;
  }
}

async function main() {
  const args = process.argv.slice(2);
  const skipJsonld = args.includes('--skip-jsonld');
  const ndjson = args.includes('--ndjson');
  const positional = args.filter(a => !a.startsWith('--'));
  if(positional.length !== 1) {
    process.stderr.write(
      'usage: verify-vc.mjs <public JWK JSON> [--skip-jsonld] [--ndjson] < input\n');
    process.exit(2);
  }
  const jwk = JSON.parse(positional[0]);
  const input = readFileSync(0, 'utf8');
  const texts = ndjson ? input.split('\n').filter(line => line.trim()) : [input];
  const options = {skipJsonld, documents: contextDocuments()};
  let allVerified = true;
  for(const text of texts) {
    const line = await outcome(text, jwk, options);
    allVerified &&= line === 'verified';
    (line === 'verified' || ndjson ? process.stdout : process.stderr).write(`${line}\n`);
  }
  process.exit(allVerified ? 0 : 1);
}

main().catch(e => {
  process.stderr.write(`NOT VERIFIED: ${e.message}\n`);
  process.exit(1);
});
