// Read the register's revocation status list the way an outside verifier would: check its
// eddsa-jcs-2022 proof with Digital Bazaar's cryptosuite, then read bits with Digital Bazaar's
// Bitstring Status List library, offline.
//
//   node status-list.mjs '<public JWK as JSON>' [--skip-jsonld] [INDEX ...] \
//       [--credential=FILE ...] < status-list-credential.json
//
// Exits 1 with "NOT VERIFIED: why" on stderr, printing nothing else, unless the list's proof
// verifies with that key (and, without --skip-jsonld, it expands in JSON-LD safe mode). Then it
// prints "verified", "length N" (bits in the list), one "index I: B" line for each INDEX and one
// "credential FILE: B" line for each certificate credential named: the bit at the
// credentialStatus that credential carries, read by the library's checkStatus. A list the
// library decodes differently from a plain GZIP reading (node's zlib, index 0 the most
// significant bit of the first byte, per W3C Bitstring Status List v1.0) is an error too, as is
// an index outside the list: those exit 1 with "ERROR: why".
import {readFileSync} from 'node:fs';
import {gunzipSync} from 'node:zlib';

import {checkStatus, decodeList} from '@digitalbazaar/vc-bitstring-status-list';

import {NotVerified, contextDocuments, verify} from './data-integrity.mjs';

function usage() {
  process.stderr.write('usage: status-list.mjs <public JWK JSON> [--skip-jsonld] [INDEX ...] ' +
    '[--credential=FILE ...] < status-list-credential.json\n');
  process.exit(2);
}

// The bits as the specification writes them, without the library: a second reading to compare.
function plainBits(encodedList) {
  if(!encodedList.startsWith('u')) {
    throw new Error('the encodedList is not multibase base64url (no "u" prefix)');
  }
  return gunzipSync(Buffer.from(encodedList.slice(1), 'base64url'));
}

function plainBit(bytes, index) {
  return (bytes[index >> 3] >> (7 - (index % 8))) & 1;
}

function bit(list, bytes, index) {
  if(!(index >= 0 && index < list.length)) {
    throw new Error(`index ${index} is outside the list of ${list.length}`);
  }
  const libraryBit = list.getStatus(index) ? 1 : 0;
  if(libraryBit !== plainBit(bytes, index)) {
    throw new Error(`the library and plain GZIP disagree on bit ${index}`);
  }
  return libraryBit;
}

async function statusOf(file, statusList) {
  const credential = JSON.parse(readFileSync(file, 'utf8'));
  // The only document there is: the list already verified above, at its own id. A credential
  // that names any other list fails to load it.
  const documentLoader = async url => {
    if(url === statusList.id) {
      return {contextUrl: null, documentUrl: url, document: statusList};
    }
    throw new Error(`offline: no document for ${url}`);
  };
  const result = await checkStatus({
    credential,
    documentLoader,
    // The proof was checked above with the register's published log key. The library's own
    // check (@digitalbazaar/vc) would also ask that the list's issuer control that key, and
    // the register names its log key as a did:key, not under its own URL.
    verifyBitstringStatusListCredential: false,
    // Schools issue the certificates; the register, not the school, publishes their status.
    verifyMatchingIssuers: false,
  });
  if(!result.verified) {
    throw new Error(`checkStatus failed for ${file}: ${result.error?.message}`);
  }
  if(result.results.length !== 1) {
    throw new Error(`${file} has ${result.results.length} status entries, not one`);
  }
  return result.results[0].status ? 1 : 0;
}

async function main() {
  const args = process.argv.slice(2);
  const skipJsonld = args.includes('--skip-jsonld');
  const files = args.filter(a => a.startsWith('--credential=')).map(a => a.slice(13));
  const positional = args.filter(a => !a.startsWith('--'));
  if(positional.length < 1 || !positional.slice(1).every(i => /^\d+$/.test(i))) {
    usage();
  }
  const jwk = JSON.parse(positional[0]);
  const indexes = positional.slice(1).map(Number);
  const statusList = JSON.parse(readFileSync(0, 'utf8'));

  await verify(statusList, jwk, {skipJsonld, documents: contextDocuments()});
  const {encodedList} = statusList.credentialSubject;
  const list = await decodeList({encodedList});
  const bytes = plainBits(encodedList);
  if(bytes.length * 8 !== list.length) {
    throw new Error(`the library reads ${list.length} bits, plain GZIP ${bytes.length * 8}`);
  }
  const lines = ['verified', `length ${list.length}`];
  for(const index of indexes) {
    lines.push(`index ${index}: ${bit(list, bytes, index)}`);
  }
  for(const file of files) {
    lines.push(`credential ${file}: ${await statusOf(file, statusList)}`);
  }
  process.stdout.write(lines.map(line => `${line}\n`).join(''));
}

main().catch(e => {
  // "NOT VERIFIED" only for a proof that fails; anything else is a failure to read the list.
  const label = e instanceof NotVerified ? 'NOT VERIFIED' : 'ERROR';
  process.stderr.write(`${label}: ${e.message}\n`);
  process.exit(1);
});
