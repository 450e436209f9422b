// Verify a compact JWS (alg EdDSA, Ed25519) with jose, independently of our Python code.
//
//   node verify-jws.mjs '<public JWK as JSON>' [--ndjson] < token.txt
//
// Exits 0 and writes the verified payload bytes to stdout; exits 1 with the reason on stderr.
// With --ndjson it reads one token a line and prints one outcome a line ("verified" or
// "NOT VERIFIED: why"), exiting 0 only if every one verified.
import {readFileSync} from 'node:fs';

import {compactVerify, importJWK} from 'jose';

// jose decodes base64url leniently: a last character whose unused low bits are set decodes to
// the same signature. Our Python side (PyJWT) rejects such tokens, and a token must have one
// spelling, so insist on the canonical encoding of every part first.
function assertCanonical(token) {
  const parts = token.split('.');
  if(parts.length !== 3) {
    throw new Error('not a compact JWS (three parts)');
  }
  for(const part of parts) {
    if(!/^[A-Za-z0-9_-]*$/.test(part) ||
      Buffer.from(part, 'base64url').toString('base64url') !== part) {
      throw new Error('a part is not canonical base64url');
    }
  }
}

async function verify(token, key) {
  assertCanonical(token);
  const {payload, protectedHeader} = await compactVerify(token, key, {algorithms: ['EdDSA']});
  if(protectedHeader.alg !== 'EdDSA') {
    throw new Error(`unexpected algorithm ${protectedHeader.alg}`);
  }
  return payload;
}

async function main() {
  const args = process.argv.slice(2);
  const ndjson = args.includes('--ndjson');
  const positional = args.filter(a => !a.startsWith('--'));
  if(positional.length !== 1) {
    process.stderr.write('usage: verify-jws.mjs <public JWK JSON> [--ndjson] < token.txt\n');
    process.exit(2);
  }
  const key = await importJWK(JSON.parse(positional[0]), 'EdDSA');
  const input = readFileSync(0, 'utf8');
  if(!ndjson) {
    process.stdout.write(await verify(input.trim(), key));
    return;
  }
  let allVerified = true;
  for(const token of input.split('\n').filter(line => line.trim())) {
    try {
      await verify(token.trim(), key);
      process.stdout.write('verified\n');
    } catch(e) {
      allVerified = false;
      process.stdout.write(`NOT VERIFIED: ${e.message.split('\n')[0]}\n`);
    }
  }
  process.exit(allVerified ? 0 : 1);
}

main().catch(e => {
  process.stderr.write(`NOT VERIFIED: ${e.message}\n`);
  process.exit(1);
});
