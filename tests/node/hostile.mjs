// The hostile-HTTP part of #18's fault suite, against a running `cirrus serve` (tests/cli/serve_hostile.sh
// starts it): slowloris heads and bodies, 1,000 idle connections, one address past its limit,
// clients vanishing while queued and while streaming, oversized and malformed requests. Throughout,
// a prober asks GET /health every 100 ms and each answer must come within 1 s; afterwards the
// server's resident memory is back near where it started and it serves as before.
//
// Attackers connect from other loopback addresses (127.0.0.2 and up: Linux routes all of 127/8 to
// lo) so that per-address limits apply to them and not to the prober. Node's standard library
// only: no npm install. Env: PORT, SERVER_PID, ACCESS_LOG, MODEL, HEADER_TIMEOUT_S, BODY_TIMEOUT_S,
// PER_IP, MAX_BODY, RSS_CHECK (0: skip the memory check, e.g. under ASan's quarantine).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const PORT = Number(process.env.PORT);
const PID = Number(process.env.SERVER_PID);
const LOG = process.env.ACCESS_LOG;
const MODEL = process.env.MODEL || 'g';
const HEADER_S = Number(process.env.HEADER_TIMEOUT_S || 2);
const BODY_S = Number(process.env.BODY_TIMEOUT_S || 2);
const PER_IP = Number(process.env.PER_IP || 64);
const MAX_BODY = Number(process.env.MAX_BODY || 65536);
const RSS_CHECK = process.env.RSS_CHECK !== '0';

let checks = 0;
let fails = 0;
function check(ok, what) {
  checks++;
  if (!ok) fails++;
  console.log(`${ok ? 'ok' : 'FAIL'}: ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMiB = () => Number(fs.readFileSync(`/proc/${PID}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const logLines = () => fs.readFileSync(LOG, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

/* One request on a fresh connection: {status, body, ms}; status 0 when the server closed without
 * a reply (or the timeout passed). */
function request(method, path, { body, headers = {}, from, timeout = 5000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, headers, localAddress: from, agent: false, timeout },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { data += d; });
        res.on('end', () => resolve({ status: res.statusCode, body: data, ms: Date.now() - t0 }));
        res.on('error', () => resolve({ status: res.statusCode, body: data, ms: Date.now() - t0 }));
      });
    req.on('timeout', () => { req.destroy(); });
    req.on('error', () => resolve({ status: 0, body: '', ms: Date.now() - t0 }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/* A raw socket from `from`; resolves once connected. closedAt is set when the server closes it. */
function raw(from) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: PORT, localAddress: from });
    s.t0 = Date.now();
    s.closedAt = 0;
    s.got = '';
    s.on('data', (d) => { s.got += d.toString('latin1'); });
    s.on('close', () => { s.closedAt = Date.now(); });
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(s));
  });
}

async function waitClosed(socks, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end && socks.some((s) => !s.closedAt)) await sleep(50);
  return socks.filter((s) => s.closedAt).length;
}

// ---- the prober: /health every 100 ms, each within 1 s ------------------------------------------
const health = { n: 0, fail: 0, max: 0, stop: false, phase: 'warm-up', worst: '' };
async function probe() {
  while (!health.stop) {
    const r = await request('GET', '/health', { timeout: 1000 });
    health.n++;
    if (r.status !== 200) health.fail++;
    if (r.ms > health.max) { health.max = r.ms; health.worst = health.phase; }
    await sleep(100);
  }
}

const chatBody = (extra = {}) => JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 4, ...extra });
// The slot holder: ~2000 tokens that cannot end early (end-of-text banned): the queue stays full.
const LONG = { max_tokens: 2000, temperature: 1, stream: true, logit_bias: { 50256: -100 } };

async function warmUp() {
  for (let i = 0; i < 3; i++) {
    await request('POST', '/v1/completions', { body: chatBody(), headers: { 'content-type': 'application/json' } });
    await request('POST', '/v1/completions', { body: chatBody({ stream: true }), headers: { 'content-type': 'application/json' } });
    await request('GET', '/metrics');
    await request('POST', '/v1/completions', { body: '{', headers: { 'content-type': 'application/json' } });
  }
}

async function slowloris() {
  health.phase = 'slowloris';
  // heads trickled a byte every 250 ms from three addresses, bodies trickled likewise
  const heads = [], bodies = [];
  for (let i = 0; i < 60; i++) heads.push(await raw(`127.0.0.${2 + (i % 3)}`));
  for (let i = 0; i < 20; i++) bodies.push(await raw(`127.0.0.5`));
  for (const s of bodies) s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{`);
  const head = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
  let i = 0;
  const t0 = Date.now();
  const timer = setInterval(() => {
    for (const s of heads) if (!s.closedAt) s.write(head[i % head.length]);
    for (const s of bodies) if (!s.closedAt) s.write('a');
    i++;
  }, 250);
  const closedHeads = await waitClosed(heads, (HEADER_S + 3) * 1000);
  const closedBodies = await waitClosed(bodies, (BODY_S + 3) * 1000);
  clearInterval(timer);
  const last = Math.max(...heads.map((s) => s.closedAt || Date.now())) - t0;
  check(closedHeads === 60, `slowloris: all 60 trickled heads closed by the server (${closedHeads}, the last after ${last} ms; deadline ${HEADER_S} s)`);
  check(closedBodies === 20, `slowloris: all 20 trickled bodies closed by the server (${closedBodies})`);
  check(heads.every((s) => !s.got.startsWith('HTTP/1.1 200')), 'slowloris: none of them was served');
}

async function idleThousand() {
  health.phase = '1000 idle connections';
  const socks = [];
  for (let a = 0; a < 25; a++) for (let i = 0; i < 40; i++) socks.push(raw(`127.0.1.${a + 1}`));
  const all = await Promise.all(socks);
  await sleep(500);
  const open = all.filter((s) => !s.closedAt && !s.destroyed).length;
  check(open === 1000, `1000 idle connections from 25 addresses held open (${open})`);
  const r = await request('POST', '/v1/completions', { body: chatBody(), headers: { 'content-type': 'application/json' } });
  check(r.status === 200, `served a completion with 1000 idle connections (${r.status}, ${r.ms} ms)`);
  const closed = await waitClosed(all, (HEADER_S + 4) * 1000);
  check(closed === 1000, `... and the 1000 were closed at the head deadline (${closed})`);

  health.phase = 'one address past its limit';
  const one = await Promise.all(Array.from({ length: PER_IP + 30 }, () => raw('127.0.0.9')));
  await sleep(600);
  const refused = one.filter((s) => s.closedAt && s.closedAt - s.t0 < 600).length;
  check(refused >= 30, `one address gets at most ${PER_IP} connections (${refused} of ${PER_IP + 30} refused at once)`);
  const other = await request('GET', '/health', { from: '127.0.0.10' });
  check(other.status === 200, `another address is served meanwhile (${other.status})`);
  for (const s of one) s.destroy();
}

/* Starts the slot holder; resolves once its tokens flow. */
async function holdSlot() {
  const s = await raw('127.0.0.1');
  const body = chatBody(LONG);
  s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  for (let i = 0; i < 100 && !s.got.includes('"text"'); i++) await sleep(50);
  return s;
}

async function vanishing() {
  health.phase = 'vanishing while queued';
  const holder = await holdSlot();
  check(holder.got.includes('"text"'), 'the slot holder streams');
  const before = logLines().length;
  const gone = [];
  for (let i = 0; i < 20; i++) {
    const s = await raw(`127.0.0.${20 + (i % 4)}`);
    const body = chatBody(i % 2 ? { stream: true } : {});
    s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    gone.push(s);
  }
  await sleep(300);
  const t0 = Date.now();
  for (const s of gone) s.destroy();
  let lines = [];
  while (Date.now() - t0 < 2500) {
    lines = logLines().slice(before).filter((l) => l.outcome === 'client_gone' && l.completion_tokens === 0);
    if (lines.length >= 20) break;
    await sleep(50);
  }
  check(lines.length === 20, `20 clients vanishing while queued: all cancelled in the queue (${lines.length}, within ${Date.now() - t0} ms)`);
  check(lines.every((l) => l.prompt_tokens === 0), '... none of them billed a prompt');
  check(!holder.closedAt, '... while the slot holder was still running');
  holder.destroy();

  health.phase = 'vanishing while streaming';
  const before2 = logLines().length;
  for (let i = 0; i < 10; i++) {
    const s = await raw('127.0.0.30');
    const body = chatBody(LONG);
    s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    for (let k = 0; k < 100 && !s.got.includes('"text"'); k++) await sleep(20);
    s.destroy();
  }
  const t1 = Date.now();
  let cut = [];
  while (Date.now() - t1 < 2500) {
    cut = logLines().slice(before2).filter((l) => l.outcome === 'client_gone');
    if (cut.length >= 10) break;
    await sleep(50);
  }
  check(cut.length === 10, `10 streams whose clients vanished: all logged client_gone (${cut.length})`);
  check(cut.every((l) => l.completion_tokens < 2000), `... each cancelled early (most tokens ${Math.max(0, ...cut.map((l) => l.completion_tokens))} of 2000)`);
}

async function badRequests() {
  health.phase = 'oversized and malformed requests';
  const json = { 'content-type': 'application/json' };
  const statuses = async (n, make) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await make(i));
    return out;
  };
  // a body announced far past the limit: refused before a byte is read
  const big = await statuses(10, async () => {
    const s = await raw('127.0.0.40');
    s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n{"model":`);
    for (let k = 0; k < 40 && !s.got.includes('\r\n\r\n'); k++) await sleep(25);
    s.destroy();
    return s.got.slice(0, 12);
  });
  check(big.every((g) => g === 'HTTP/1.1 413'), `a body announced at 100 MB: 413 at once (${[...new Set(big)].join(',')})`);
  // a chunked body past the limit
  const chunked = await statuses(5, () => request('POST', '/v1/completions', { body: 'x'.repeat(MAX_BODY * 2), headers: { ...json, 'transfer-encoding': 'chunked' } }));
  check(chunked.every((r) => r.status === 413), `a chunked body past the limit: 413 (${[...new Set(chunked.map((r) => r.status))].join(',')})`);
  // malformed bodies: every one a 400, none a crash
  const bodies = ['{', '[', 'null', '"x"', '{"model":', '\xff\xfe{}', '{"model":"g","prompt":"\\ud800"}', '['.repeat(20000),
    '{"model":"g","prompt":' + '['.repeat(5000) + ']'.repeat(5000) + '}', '{"model":"g","prompt":"a","max_tokens":1e999}',
    '{"model":"g","prompt":"a","n":-1}', '{"model":"g","prompt":"a","logit_bias":{"-1":1}}', '{"model":"g","prompt":"a","stop":[1]}',
    '{"model":"g","messages":"x"}', Buffer.from([0x7b, 0x00, 0x7d])];
  const bad = await statuses(bodies.length, (i) => request('POST', '/v1/completions', { body: bodies[i], headers: json }));
  check(bad.every((r) => r.status === 400 && r.body.includes('"error":{')), `${bodies.length} malformed bodies: each a 400 with an error object (${bad.map((r) => r.status).join(',')})`);
  // an oversized header block, a garbage request line, a body cut short
  const hdr = await request('GET', '/health', { headers: { 'x-big': 'a'.repeat(60000) } });
  check(hdr.status === 431, `headers past the limit: 431 (${hdr.status})`);
  const junk = await statuses(5, async () => {
    const s = await raw('127.0.0.41');
    s.write('\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n');
    await waitClosed([s], 2000);
    return s.got.slice(0, 12);
  });
  check(junk.every((g) => g === '' || g.startsWith('HTTP/1.1 4')), `garbage request lines: refused (${[...new Set(junk)].join(',') || 'closed'})`);
  const cutShort = [];
  for (let i = 0; i < 5; i++) {
    const s = await raw('127.0.0.42');
    s.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"model":"g"`);
    await sleep(50);
    s.destroy();
    cutShort.push(s);
  }
  const after = await request('POST', '/v1/completions', { body: chatBody(), headers: json });
  check(after.status === 200, `served after the bad requests (${after.status})`);
}

// ---- the run -----------------------------------------------------------------------------------
await warmUp();
await sleep(500);
const rss0 = rssMiB();
const prober = probe();
await slowloris();
await idleThousand();
await vanishing();
await badRequests();
health.phase = 'settling';
await sleep(Math.max(HEADER_S, BODY_S) * 1000 + 1500); // the last attackers' connections time out
health.stop = true;
await prober;
check(health.fail === 0 && health.max < 1000,
  `/health answered ${health.n} probes within 1 s throughout (${health.fail} failed; slowest ${health.max} ms, during ${health.worst})`);
const m = await request('GET', '/metrics');
check(/cirrus_requests_in_flight 0\n/.test(m.body), 'nothing left in flight');
const rss1 = rssMiB();
if (RSS_CHECK) {
  check(rss1 <= rss0 * 1.25 + 16, `resident memory back near its baseline (${rss0.toFixed(1)} MiB before, ${rss1.toFixed(1)} MiB after)`);
} else {
  console.log(`note: memory check skipped (RSS ${rss0.toFixed(1)} -> ${rss1.toFixed(1)} MiB under the sanitizer's quarantine)`);
}
console.log(`hostile.mjs: ${checks} checks, ${fails} failed`);
process.exit(fails ? 1 : 0);
