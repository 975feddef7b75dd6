#!/usr/bin/env node
// tests/s3/server.js — s3rver (pinned in tests/s3/package.json) with AWS
// Signature Version 4 checking, for batchbox's S3 tests.
//
// s3rver 3.7.1 checks Signature V2 itself but accepts any V4 signature from
// a known access key ("Signature version 4 calculation is unimplemented",
// node_modules/s3rver/lib/middleware/authentication.js).  This script runs
// it with a middleware in front that checks every request whose
// Authorization header says AWS4-HMAC-SHA256, independently of batchbox's
// signer, as the Amazon S3 API reference ("Authenticating Requests (AWS
// Signature Version 4)") describes: the credential scope (date, region,
// "s3", "aws4_request"), that host and every x-amz- header are signed,
// the canonical request built from the request as received (path segments
// and query parameters decoded and encoded again RFC 3986 style), and the
// HMAC-SHA-256 signature with the account's secret.  A mismatch is answered
// as AWS does: 403 SignatureDoesNotMatch, 400 AuthorizationHeaderMalformed
// for a wrong region.  The payload is not hashed (s3rver does not either):
// x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256, and the
// SHA-256 of the empty body on requests without one.
//
// Every request is appended to --auth-log as one JSON line:
//   {"method", "path", "scheme" ("AWS4-HMAC-SHA256", "AWS" or "none"),
//    "verified" (true, false, or null when not V4), "region", "ua", "error"}
// so a test can prove which signature a client used.
//
// Usage: node server.js -d DIR [-a ADDR] [-p PORT] [--region R]
//        [--auth-log FILE] [--key KEY.pem --cert CERT.pem]
//        [--configure-bucket NAME]...
// Prints "S3rver listening on ADDR:PORT" once it listens (the line
// tests/s3/start.sh and tests/api/test_s3.py wait for).  Stops on SIGTERM.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');
const AWSAccount = require('s3rver/lib/models/account');

const EMPTY_SHA256 = crypto.createHash('sha256').update('').digest('hex');

function usage(msg) {
  console.error(`tests/s3/server.js: ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { address: '127.0.0.1', port: 0, region: 'us-east-1', buckets: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '-d': o.directory = val(); break;
      case '-a': o.address = val(); break;
      case '-p': o.port = Number(val()); break;
      case '--region': o.region = val(); break;
      case '--auth-log': o.authLog = val(); break;
      case '--key': o.key = fs.readFileSync(val()); break;
      case '--cert': o.cert = fs.readFileSync(val()); break;
      case '--configure-bucket': o.buckets.push({ name: val(), configs: [] }); break;
      case '--silent': break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!o.directory) usage('-d DIR is required');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('bad -p');
  if (!!o.key !== !!o.cert) usage('--key and --cert go together');
  return o;
}

// RFC 3986 encoding of one path segment or query component, as AWS does it.
function uriEncode(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    c => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function decode(s) {
  try {
    return decodeURIComponent(s);
  } catch (e) {
    throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI.');
  }
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

// The canonical request of a Koa request, given the signed header names.
function canonicalRequest(ctx, signedHeaders, payloadHash) {
  const raw = ctx.req.url;
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const rawQuery = q < 0 ? '' : raw.slice(q + 1);
  const uri = rawPath.split('/').map(seg => uriEncode(decode(seg))).join('/');
  const query = rawQuery === '' ? [] : rawQuery.split('&').filter(p => p !== '').map(p => {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    const v = eq < 0 ? '' : p.slice(eq + 1);
    return [uriEncode(decode(k)), uriEncode(decode(v))];
  });
  query.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  const headers = signedHeaders.map(name => {
    const v = ctx.req.headers[name];
    if (v === undefined) {
      throw new S3Error('AccessDenied', `Signed header ${name} is missing`);
    }
    return `${name}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
  });
  return [ctx.method, uri, query.map(kv => kv.join('=')).join('&'),
    headers.join(''), signedHeaders.join(';'), payloadHash].join('\n');
}

// Throws the S3Error AWS would answer; returns the region on success.
function verifyV4(ctx, region) {
  const auth = ctx.req.headers.authorization;
  const m = /^AWS4-HMAC-SHA256 (.*)$/.exec(auth);
  const parts = new Map();
  for (const c of m[1].split(',')) {
    const [k, ...v] = c.trim().split('=');
    parts.set(k, v.join('='));
  }
  const cred = (parts.get('Credential') || '').split('/');
  const signed = (parts.get('SignedHeaders') || '').split(';');
  const sig = parts.get('Signature') || '';
  if (cred.length !== 5 || !signed[0] || !/^[0-9a-f]{64}$/.test(sig)) {
    throw new S3Error('AuthorizationHeaderMalformed',
      'The authorization header is malformed; it must name Credential ' +
      '(KEY/DATE/REGION/s3/aws4_request), SignedHeaders and Signature.');
  }
  const [accessKey, date, credRegion, service, term] = cred;
  if (service !== 's3' || term !== 'aws4_request') {
    throw new S3Error('AuthorizationHeaderMalformed',
      `The authorization header is malformed; incorrect service "${service}" or ` +
      `terminal "${term}".`);
  }
  if (credRegion !== region) {
    throw new S3Error('AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${credRegion}' is wrong; ` +
      `expecting '${region}'`, { Region: region });
  }
  const amzDate = ctx.req.headers['x-amz-date'] || '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    throw new S3Error('AuthorizationHeaderMalformed',
      'The authorization header is malformed; x-amz-date must be yyyymmddThhmmssZ ' +
      'and its date the credential\'s.');
  }
  const sorted = [...signed].sort();
  const required = Object.keys(ctx.req.headers).filter(h => h === 'host' || h.startsWith('x-amz-'));
  for (const h of required) {
    if (!signed.includes(h)) {
      throw new S3Error('AccessDenied',
        `There were headers present in the request which were not signed: ${h}`);
    }
  }
  if (sorted.join(';') !== signed.join(';')) {
    throw new S3Error('AuthorizationHeaderMalformed',
      'The authorization header is malformed; SignedHeaders must be sorted.');
  }
  const payloadHash = ctx.req.headers['x-amz-content-sha256'] || '';
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD ' +
      'or a SHA-256 in hex');
  }
  const hasBody = Number(ctx.req.headers['content-length'] || 0) > 0 ||
    ctx.req.headers['transfer-encoding'] !== undefined;
  if (!hasBody && payloadHash !== EMPTY_SHA256 && payloadHash !== 'UNSIGNED-PAYLOAD') {
    throw new S3Error('XAmzContentSHA256Mismatch',
      'The provided \'x-amz-content-sha256\' header does not match what was computed.');
  }
  const account = AWSAccount.registry.get(accessKey);
  if (!account) {
    throw new S3Error('InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: accessKey });
  }
  const secret = account.accessKeys.get(accessKey);
  const creq = canonicalRequest(ctx, signed, payloadHash);
  const scope = `${date}/${credRegion}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope,
    crypto.createHash('sha256').update(creq, 'utf8').digest('hex')].join('\n');
  let key = hmac('AWS4' + secret, date);
  key = hmac(key, credRegion);
  key = hmac(key, 's3');
  key = hmac(key, 'aws4_request');
  const expect = hmac(key, toSign).toString('hex');
  if (!crypto.timingSafeEqual(Buffer.from(expect), Buffer.from(sig))) {
    throw new S3Error('SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you ' +
      'provided. Check your key and signing method.',
      { AWSAccessKeyId: accessKey, StringToSign: toSign, CanonicalRequest: creq });
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const log = o.authLog ? fs.openSync(o.authLog, 'a') : null;
  const server = new S3rver({
    directory: o.directory,
    address: o.address,
    port: o.port,
    silent: true,
    key: o.key,
    cert: o.cert,
    configureBuckets: o.buckets,
    vhostBuckets: false,
  });
  // In front of s3rver's own middleware (its authentication included).
  server.middleware.unshift(async (ctx, next) => {
    const auth = ctx.req.headers.authorization || '';
    const scheme = auth.startsWith('AWS4-HMAC-SHA256 ') ? 'AWS4-HMAC-SHA256'
      : auth.startsWith('AWS ') ? 'AWS' : 'none';
    const entry = { method: ctx.method, path: ctx.req.url, scheme, verified: null,
      region: null, ua: ctx.req.headers['user-agent'] || '', error: null };
    try {
      if (scheme === 'AWS4-HMAC-SHA256') {
        entry.verified = false;
        const cm = /Credential=[^/]*\/\d{8}\/([^/]*)\//.exec(auth);
        entry.region = cm ? cm[1] : null;
        verifyV4(ctx, o.region);
        entry.verified = true;
      }
    } catch (err) {
      entry.error = err.code || String(err);
      throw err;
    } finally {
      if (log !== null) fs.writeSync(log, JSON.stringify(entry) + '\n');
    }
    return next();
  });
  const { address, port } = await server.run();
  process.on('SIGTERM', () => process.exit(0));
  console.log(`S3rver listening on ${address}:${port}${o.key ? ' (https)' : ''}`);
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
