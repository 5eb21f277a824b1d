// What a client of a member org gets from a peer's DeliverWithPrivateData with the official Fabric
// Gateway client for Node (getBlockAndPrivateDataEvents): every block in [from, to) and the private
// writes the peer hands it with them.
//
//   node deliver.mjs PEER TLS_CA MSP_ID CERT KEY CHANNEL FROM TO [MARKER...]
//
// Prints one JSON line: {"refused", "error", "blocks", "private_writes", "found"} where `found`
// lists the MARKERs met in any private data received. Exits 0 whatever the peer answered: the
// suite asserts on the line.
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, signers } from '@hyperledger/fabric-gateway';

const [peer, tlsCa, mspId, certPath, keyPath, channel, from, to, ...markers] = process.argv.slice(2);
if (!to) {
  console.error('usage: node deliver.mjs PEER TLS_CA MSP_ID CERT KEY CHANNEL FROM TO [MARKER...]');
  process.exit(2);
}

// The peers' TLS certificates name localhost as well as 127.0.0.1; TLS names no IP address.
const client = new grpc.Client(peer, grpc.credentials.createSsl(readFileSync(tlsCa)), { 'grpc.ssl_target_name_override': 'localhost' });
const gateway = connect({
  client,
  identity: { mspId, credentials: readFileSync(certPath) },
  signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(keyPath))),
});

const out = { refused: false, error: '', blocks: 0, private_writes: 0, found: [] };
const seen = new Set();
const timer = setTimeout(() => finish('timed out waiting for blocks'), 30000);
let events;

function finish(error) {
  clearTimeout(timer);
  if (error) out.error = String(error);
  out.found = [...seen];
  console.log(JSON.stringify(out));
  try { events?.close(); } catch { /* already closed */ }
  gateway.close();
  client.close();
  process.exit(0);
}

try {
  events = await gateway.getNetwork(channel).getBlockAndPrivateDataEvents({ startBlock: BigInt(from) });
  for await (const e of events) {
    out.blocks += 1;
    for (const [, txPvt] of e.getPrivateDataMapMap().entries()) {
      for (const ns of txPvt.getNsPvtRwsetList()) out.private_writes += ns.getCollectionPvtRwsetList().length;
      const bytes = Buffer.from(txPvt.serializeBinary()).toString('latin1');
      for (const m of markers) if (bytes.includes(m)) seen.add(m);
    }
    if (e.getBlock().getHeader().getNumber() + 1 >= Number(to)) break;
  }
  finish('');
} catch (err) {
  // The peer refuses in the stream's first answer: a DeliverResponse whose status is FORBIDDEN
  // (403), which the client reports as "Unexpected status response: 403".
  out.refused = /status response: 403\b|PERMISSION_DENIED|FORBIDDEN/.test(`${err?.code} ${err?.message}`);
  finish(`${err?.code ?? ''} ${err?.message ?? err}`);
}
