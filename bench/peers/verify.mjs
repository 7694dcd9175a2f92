// The same ES256 assertions verify-bench made, verified by
// @simplewebauthn/server for SECONDS on one Node.js thread.
//   node verify.mjs ASSERTIONS.jsonl SECONDS
import { readFileSync } from 'node:fs';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';

const [file, secs] = [process.argv[2], Number(process.argv[3] || 3)];
const items = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));

async function verify(x) {
  const r = await verifyAuthenticationResponse({
    response: {
      id: 'AAAA', rawId: 'AAAA', type: 'public-key', clientExtensionResults: {},
      response: {
        authenticatorData: x.authenticatorData,
        clientDataJSON: x.clientDataJSON,
        signature: x.signature,
      },
    },
    expectedChallenge: x.challenge,
    expectedOrigin: 'https://fido2gate.test',
    expectedRPID: 'fido2gate.test',
    credential: { id: "AAAA", publicKey: b64(x.key), counter: 0 },
    requireUserVerification: true,
  });
  if (!r.verified) throw new Error('not verified');
}

let n = 0;
const t0 = performance.now();
while (performance.now() - t0 < secs * 1000) {
  for (let i = 0; i < 64; i++, n++) await verify(items[n % items.length]);
}
const per = n / ((performance.now() - t0) / 1000);
console.log(JSON.stringify({ simplewebauthn_es256_per_s: Math.round(per) }));
