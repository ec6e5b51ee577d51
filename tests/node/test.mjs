// The official OpenAI Node SDK, unchanged, against `cirrus serve`: models, chat and completions
// (streamed and not), and errors surfacing as the SDK's own error classes.
// Env: CIRRUS_BASE_URL (http://127.0.0.1:PORT/v1), CIRRUS_KEY, CIRRUS_MODEL.
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = process.env.CIRRUS_BASE_URL;
const apiKey = process.env.CIRRUS_KEY;
const model = process.env.CIRRUS_MODEL;
assert.ok(baseURL && apiKey && model, "CIRRUS_BASE_URL, CIRRUS_KEY and CIRRUS_MODEL are required");

// maxRetries 0: an error must surface at once, not after the SDK's back-off.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
const messages = [
  { role: "system", content: "You tell short stories." },
  { role: "user", content: "Once upon a time" },
];

let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

async function expectError(cls, status, fn) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e}`);
    assert.equal(e.status, status);
    assert.equal(typeof e.message, "string");
    return e;
  }
  assert.fail(`expected ${cls.name}`);
}

await test("models.list", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes(model), `models: ${ids}`);
});

await test("models.retrieve", async () => {
  const m = await client.models.retrieve(model);
  assert.equal(m.id, model);
  assert.equal(m.object, "model");
});

await test("chat.completions.create", async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, "chat.completion");
  assert.equal(r.model, model);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, "number");
});

await test("chat.completions.create n=2 with logprobs", async () => {
  const r = await client.chat.completions.create({
    model, messages, max_tokens: 3, n: 2, seed: 1, logprobs: true, top_logprobs: 2,
  });
  assert.equal(r.choices.length, 2);
  const lp = r.choices[0].logprobs.content;
  assert.ok(lp.length >= 1);
  assert.equal(typeof lp[0].token, "string");
  assert.ok(lp[0].logprob <= 0);
  assert.equal(lp[0].top_logprobs.length, 2);
});

await test("chat.completions.create stream", async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 8, stream: true, stream_options: { include_usage: true },
  });
  let text = "", chunks = 0, finish = null, usage = null, role = null, id = null;
  for await (const c of stream) {
    chunks++;
    assert.equal(c.object, "chat.completion.chunk");
    id ??= c.id;
    assert.equal(c.id, id);
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      if (ch.delta.role) role = ch.delta.role;
      if (ch.delta.content) text += ch.delta.content;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  assert.equal(role, "assistant");
  assert.ok(chunks >= 3, `chunks ${chunks}`);
  assert.ok(["stop", "length"].includes(finish));
  assert.ok(usage && usage.completion_tokens >= 1 && usage.completion_tokens <= 8);
  assert.equal(typeof text, "string");
});

await test("chat stream aborted by the client, server still fine", async () => {
  const stream = await client.chat.completions.create({ model, messages, max_tokens: 300, stream: true });
  let n = 0;
  for await (const c of stream) {
    if (++n === 3) {
      stream.controller.abort();
      break;
    }
  }
  const r = await client.chat.completions.create({ model, messages, max_tokens: 2 });
  assert.equal(r.choices.length, 1);
});

await test("completions.create", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, temperature: 0 });
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.object, "text_completion");
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.usage.completion_tokens >= 1);
});

await test("completions.create stream", async () => {
  const stream = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, stream: true });
  let chunks = 0, finish = null;
  for await (const c of stream) {
    chunks++;
    assert.equal(c.object, "text_completion");
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.ok(chunks >= 2);
  assert.ok(["stop", "length"].includes(finish));
});

await test("401 -> AuthenticationError", async () => {
  const bad = new OpenAI({ baseURL, apiKey: "sk-wrong-key-0123456789", maxRetries: 0 });
  const e = await expectError(OpenAI.AuthenticationError, 401, () => bad.models.list());
  assert.equal(e.code, "invalid_api_key");
});

await test("404 unknown model -> NotFoundError", async () => {
  const e = await expectError(OpenAI.NotFoundError, 404, () =>
    client.chat.completions.create({ model: "no-such-model", messages }));
  assert.equal(e.code, "model_not_found");
  assert.equal(e.param, "model");
});

await test("400 unknown field -> BadRequestError naming it", async () => {
  const e = await expectError(OpenAI.BadRequestError, 400, () =>
    client.chat.completions.create({ model, messages, frobnicate: 1 }));
  assert.equal(e.param, "frobnicate");
  assert.equal(e.type, "invalid_request_error");
});

await test("400 out of range -> BadRequestError", async () => {
  const e = await expectError(OpenAI.BadRequestError, 400, () =>
    client.chat.completions.create({ model, messages, temperature: 5 }));
  assert.equal(e.param, "temperature");
});

await test("400 on a stream request -> error before any chunk", async () => {
  await expectError(OpenAI.BadRequestError, 400, async () => {
    const s = await client.chat.completions.create({ model, messages, stream: true, top_p: 2 });
    for await (const _ of s) { /* never reached */ }
  });
});

if (failed) {
  console.log(`openai-sdk: ${failed} failed`);
  process.exit(1);
}
console.log("openai-sdk: all passed");
