// server.js — the stack batchbox replaces, rebuilt small for `./build.sh bench --compare`
// (docs/benchmarks.md, "Side by side"): a Fastify HTTP server, a BullMQ queue and an
// in-process BullMQ worker on Redis, shaped like the backend the seed documents describe.
//
//   POST /api/v1/jobs        insert the job record (a Redis hash), enqueue it in BullMQ,
//                            publish job_created; 202 with the job DTO
//   GET  /api/v1/jobs/:id    the job DTO from Redis (404 when unknown)
//   GET  /api/v1/jobs/events SSE: job_created / job_state_changed with the job DTO,
//                            fed by a Redis pub/sub bridge (the seed's cross-process
//                            delivery), heartbeats every 15 s
//   POST /api/v1/auth/login  the bench account (BENCH_EMAIL / BENCH_PASSWORD) gets a
//                            random Bearer token; every other route except /health needs it
//   GET  /api/v1/health      200
//
// The worker is a no-op: it marks the job running (publishing job_state_changed), does
// nothing, then marks it succeeded (publishing again), as processQueueJob does in the seed.
// Configuration by environment: PORT, REDIS_PORT, CONCURRENCY (worker concurrency,
// default 4 as in the measurements of the original), BENCH_EMAIL, BENCH_PASSWORD.
// Used only by the benchmark; never by batchbox itself.
'use strict';

const crypto = require('node:crypto');
const { EventEmitter } = require('node:events');
const Fastify = require('fastify');
const IORedis = require('ioredis');
const { Queue, Worker } = require('bullmq');

const PORT = Number(process.env.PORT || 3000);
const REDIS_PORT = Number(process.env.REDIS_PORT || 6379);
const CONCURRENCY = Number(process.env.CONCURRENCY || 4);
const EMAIL = process.env.BENCH_EMAIL || 'bench@example.com';
const PASSWORD = process.env.BENCH_PASSWORD || 'bench-password-1';
const QUEUE = 'jobs';
const CHANNEL = 'bb:events';

const redisOpts = { host: '127.0.0.1', port: REDIS_PORT, maxRetriesPerRequest: null };
const redis = new IORedis(redisOpts);        // commands of the API
const sub = new IORedis(redisOpts);          // the pub/sub bridge's subscriber
const queue = new Queue(QUEUE, { connection: new IORedis(redisOpts) });
const tokens = new Set();
const bus = new EventEmitter();
bus.setMaxListeners(0);
let eventSeq = 0;

function jobToDto(h) {
  return {
    jobId: h.id,
    state: h.state,
    preset: h.preset,
    attempts: Number(h.attempts || 0),
    createdAt: h.createdAt,
    startedAt: h.startedAt || null,
    finishedAt: h.finishedAt || null,
  };
}

async function publish(type, id) {
  const h = await redis.hgetall(`bb:job:${id}`);
  await redis.publish(CHANNEL, JSON.stringify({ type, job: jobToDto(h) }));
}

async function setState(id, fields, type) {
  await redis.hset(`bb:job:${id}`, fields);
  await publish(type, id);
}

const app = Fastify({ logger: false });

app.addHook('onRequest', async (req, reply) => {
  if (req.url === '/api/v1/health' || req.url === '/api/v1/auth/login') return;
  const h = req.headers.authorization || '';
  if (!h.startsWith('Bearer ') || !tokens.has(h.slice(7))) {
    reply.code(401).send({ error: 'unauthorized', message: 'sign in first' });
  }
});

app.get('/api/v1/health', async () => ({ status: 'ok' }));

app.post('/api/v1/auth/login', async (req, reply) => {
  const b = req.body || {};
  if (b.email !== EMAIL || b.password !== PASSWORD) {
    return reply.code(401).send({ error: 'unauthorized', message: 'wrong e-mail or password' });
  }
  const t = 'tok_' + crypto.randomBytes(32).toString('base64url');
  tokens.add(t);
  return { accessToken: t, expiresIn: 86400 };
});

app.post('/api/v1/jobs', async (req, reply) => {
  const b = req.body;
  if (!b || typeof b.preset !== 'string' || b.preset !== 'noop') {
    return reply.code(400).send({ error: 'invalid', field: 'preset', message: 'unknown preset' });
  }
  const id = String(await redis.incr('bb:job:seq'));
  const rec = { id, state: 'queued', preset: b.preset, attempts: '0',
                createdAt: new Date().toISOString() };
  await redis.hset(`bb:job:${id}`, rec);
  await queue.add('noop', { id }, { removeOnComplete: true, removeOnFail: true });
  await publish('job_created', id);
  return reply.code(202).send(jobToDto(rec));
});

app.get('/api/v1/jobs/events', (req, reply) => {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 1000\n\n');
  const onEvent = (seq, type, data) => res.write(`id: ${seq}\nevent: ${type}\ndata: ${data}\n\n`);
  const beat = setInterval(() => res.write(':\n\n'), 15000);
  bus.on('event', onEvent);
  req.raw.on('close', () => {
    clearInterval(beat);
    bus.off('event', onEvent);
  });
});

app.get('/api/v1/jobs/:id', async (req, reply) => {
  const h = await redis.hgetall(`bb:job:${req.params.id}`);
  if (!h || !h.id) return reply.code(404).send({ error: 'not_found', message: 'no such job' });
  return jobToDto(h);
});

sub.on('message', (channel, msg) => {
  const ev = JSON.parse(msg);
  eventSeq += 1;
  bus.emit('event', eventSeq, ev.type, JSON.stringify(ev.job));
});

const worker = new Worker(QUEUE, async (job) => {
  const id = job.data.id;
  await setState(id, { state: 'running', attempts: '1', startedAt: new Date().toISOString() },
                 'job_state_changed');
  // the no-op workflow: nothing to do
  await setState(id, { state: 'succeeded', finishedAt: new Date().toISOString() },
                 'job_state_changed');
}, { connection: new IORedis(redisOpts), concurrency: CONCURRENCY });

async function main() {
  await sub.subscribe(CHANNEL);
  await app.listen({ host: '127.0.0.1', port: PORT });
}

async function stop() {
  await worker.close();
  await app.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
