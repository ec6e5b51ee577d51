#!/usr/bin/env bash
# Provider protection over the real API (docs/protection.md): scripted tenants -- a chat app, a RAG
# app, a recommendation service, a distillation harvester, an extraction prober -- run through
# `cirrus serve --db` on loopback; the risk detector must flag both attackers within their first
# RISK_EVAL_N requests (60 here to stay fast under ASan in CI; tests/eval/risk_eval.sh runs the issue's 2,000)
# and no normal tenant.
# Prints precision and recall. Also: the top_logprobs cap header, logit_bias leaving returned
# logprobs unchanged, the risk policies at admission (403 block, 429 throttle) and the watermark
# detect endpoint on watermarked and plan-unwatermarked outputs.
# The plan's watermark switch is checked by determinism, not by detection: under one seed two
# watermarked tenants get the same text and a plan-off tenant a different one. Detection over
# text does not work on stories260K (its placeholder pieces do not survive detokenize and
# re-tokenize, docs/protection.md), so the detect endpoint is only checked for a well-formed verdict.
source "$(dirname "$0")/serve_common.bash"
N=${RISK_EVAL_N:-60}
DB="$TMP/risk.db"
cp_cli() { "$CIRRUS_BIN" "$@" --db "$DB" >>"$TMP/seed.log" 2>&1 || { echo "FAIL: cirrus $*"; cat "$TMP/seed.log"; exit 1; }; }
for t in chatapp ragapp recsvc harvester prober nowm ops; do cp_cli tenant create "$t"; done
cp_cli price set --model stories --input 2.00 --cached-input 1.00 --output 6.00 --from 2020-01-01
cp_cli plan set --tenant nowm --watermark off --from 2020-01-01
key() { "$CIRRUS_BIN" key create --tenant "$1" --scope "${2:-inference}" --db "$DB" | tail -n 1; }
ADMIN=$(key ops admin)
KEYS=""
for t in chatapp ragapp recsvc harvester prober nowm; do KEYS="$KEYS $t=$(key $t)"; done
start_server --db "$DB"
[ -f "$DB.wmkey" ] && [ "$(stat -c %a "$DB.wmkey")" = 600 ]; check "watermark secret created 0600 next to the DB" test $? -eq 0
if grep -q "$(cat "$DB.wmkey" | head -c 64)" "$ERR" "$LOG" 2>/dev/null; then check "key never logged" false; else check "key never logged" true; fi

python3 - "$BASE" "$ADMIN" "$N" $KEYS >"$TMP/eval.out" 2>&1 <<'PY'
import json, random, sys, threading, urllib.request, urllib.error
base, admin, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
keys = dict(a.split("=", 1) for a in sys.argv[4:])
def post(path, key, body):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=60) as f: return f.status, dict(f.headers), json.loads(f.read())
    except urllib.error.HTTPError as e: return e.code, dict(e.headers), json.loads(e.read() or b"{}")
def risk():
    r = urllib.request.Request(base + "/v1/admin/risk", headers={"Authorization": "Bearer " + admin})
    with urllib.request.urlopen(r, timeout=30) as f: return json.loads(f.read())
W = "dragon princess robot forest ocean castle rabbit wizard train garden moon river pirate kitten music rain snow baker knight owl".split()
V = "Write a poem about|Explain how|Summarize the history of|List five facts about|Translate into French: the|Describe a day of|Give advice to|Compare|Argue for|Invent a recipe with".split("|")
S = "in simple words|for experts|as a song|step by step|in one paragraph|with a twist|in the future|as a dialogue".split("|")
def chatapp(i, rnd):
    msgs = [{"role": "system", "content": "You are Lily, a friendly storyteller for kids. Keep answers gentle."}]
    for t in range(i % 3 + 1):
        msgs.append({"role": "user", "content": ["Tell me a story", "What happened next?", "Why was she sad?", "The end?"][t]})
        if t < i % 3: msgs.append({"role": "assistant", "content": "She smiled."})
    return "/v1/chat/completions", {"model": "stories", "messages": msgs, "max_tokens": 24, "temperature": 0.8}
DOCS = ["Tim had a red ball. He played in the park with his dog every day after school.",
        "The old bakery on the hill sold bread and cakes. Mia liked the lemon cake most.",
        "Ben and Sue built a boat from boxes. It floated on the pond for one whole minute."]
def ragapp(i, rnd):
    return "/v1/completions", {"model": "stories", "prompt": "Context: %s\nQuestion: %s\nAnswer:" % (DOCS[i % 3], rnd.choice(["Who?", "Where?", "What color?", "Why?"])), "max_tokens": 12, "temperature": 0}
def recsvc(i, rnd):
    liked = ", ".join(rnd.sample(W, 3))
    return "/v1/completions", {"model": "stories", "prompt": "User liked stories about: %s.\nRecommend one title:" % liked, "max_tokens": 6, "temperature": 0, "logprobs": 3, "logit_bias": {"0": -100, "1": -100}}
def harvester(i, rnd):
    p = "%s %s and %s %s." % (rnd.choice(V), rnd.choice(W), rnd.choice(W), rnd.choice(S))
    return "/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": p}], "max_tokens": 64, "temperature": 1.0}
def prober(i, rnd):
    bias = {str(3 + (4 * i + k) % 500): 100 for k in range(4)}
    return "/v1/completions", {"model": "stories", "prompt": "Once upon a time", "max_tokens": 1, "logprobs": 5, "logit_bias": bias}
tenants = {"chatapp": chatapp, "ragapp": ragapp, "recsvc": recsvc, "harvester": harvester, "prober": prober}
first = {}
def run(name):
    rnd = random.Random(name)
    for i in range(N):
        path, body = tenants[name](i, rnd)
        st, _, _ = post(path, keys[name], body)
        if st != 200: print("request failed", name, st, body, _); return
        if (i + 1) % 10 == 0 and name not in first:
            for t in risk()["tenants"]:
                if t["tenant"] == name and t["flagged"]: first[name] = i + 1
ths = [threading.Thread(target=run, args=(n,)) for n in tenants]
[t.start() for t in ths]; [t.join() for t in ths]
rep = risk()
for t in rep["tenants"]:
    print("tenant %-10s score %3d flagged %-5s first_flag_at %-5s top %s" % (t["tenant"], t["score"], t["flagged"], first.get(t["tenant"], "-"), ",".join(t["explanation"])))
attack = {"harvester", "prober"}
tp = len([n for n in first if n in attack]); fp = len([n for n in first if n not in attack])
print("RESULT recall %.2f precision %.2f (requests per tenant %d)" % (tp / 2, tp / (tp + fp) if tp + fp else 0.0, N))
print("ALERTS %d" % len(rep["alerts"]))
for t in rep["tenants"]: print("FEATURES", t["tenant"], json.dumps({k: round(v["value"], 2) for k, v in t["features"].items()}))
# top_logprobs capped at the plan's 5, with the header
st, h, b = post("/v1/chat/completions", keys["recsvc"], {"model": "stories", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, "logprobs": True, "top_logprobs": 10})
hl = {k.lower(): v for k, v in h.items()}
if st != 200: print("CAPERR", b)
print("CAP", st, hl.get("x-cirrus-top-logprobs-capped"), len(b["choices"][0]["logprobs"]["content"][0]["top_logprobs"]) if st == 200 else -1)
# logit_bias never changes returned logprobs
q = {"model": "stories", "prompt": "Once upon a time", "max_tokens": 1, "logprobs": 5, "temperature": 0, "seed": 1}
_, _, a = post("/v1/completions", keys["recsvc"], q)
q["logit_bias"] = {str(i): -100 for i in range(100, 140)}
_, _, c = post("/v1/completions", keys["recsvc"], q)
print("BIAS_SAME", a["choices"][0]["logprobs"]["top_logprobs"][0] == c["choices"][0]["logprobs"]["top_logprobs"][0])
# watermark: the plan's switch (same seed: watermarked tenants agree, the plan-off tenant differs),
# and the detect endpoint answers with a verdict
def gen(k):
    _, _, r = post("/v1/completions", k, {"model": "stories", "prompt": "Once upon a time", "max_tokens": 48, "temperature": 1.0, "seed": 7})
    return r["choices"][0]["text"]
wa, wb, wn = gen(keys["chatapp"]), gen(keys["ragapp"]), gen(keys["nowm"])
print("WM_PLAN", wa == wb, wa != wn)
st, _, d = post("/v1/admin/watermark/detect", admin, {"model": "stories", "text": wa})
print("WM_DETECT", st, sorted(k for k in ("scored_tokens", "green_tokens", "z", "p_value", "watermarked") if k in d) == ["green_tokens", "p_value", "scored_tokens", "watermarked", "z"], "z=%.2f" % d.get("z", 0))
# policies at admission
post("/v1/admin/risk/policy", admin, {"tenant": "harvester", "policy": "block"})
st, _, b = post("/v1/chat/completions", keys["harvester"], {"model": "stories", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1})
print("BLOCK", st, b.get("error", {}).get("type"))
post("/v1/admin/risk/policy", admin, {"tenant": "prober", "policy": "throttle"})
codes = [post("/v1/completions", keys["prober"], {"model": "stories", "prompt": "x", "max_tokens": 1})[0] for _ in range(8)]
print("THROTTLE", codes.count(200), codes.count(429))
print("POLICY_TENANT_KEY", post("/v1/admin/risk/policy", keys["chatapp"], {"tenant": "chatapp", "policy": "none"})[0])
PY
cat "$TMP/eval.out"
O=$(cat "$TMP/eval.out")
check "both attackers flagged, no normal tenant (recall 1, precision 1)" has "$O" "RESULT recall 1.00 precision 1.00"
check "top_logprobs capped to 5 with the header" has "$O" "CAP 200 5 5"
check "logit_bias leaves returned logprobs unchanged" has "$O" "BIAS_SAME True"
check "watermarked tenants agree under one seed, a plan-off tenant differs" has "$O" "WM_PLAN True True"
check "watermark detect endpoint answers with a verdict" has "$O" "WM_DETECT 200 True"
check "block policy: 403 permission_error" has "$O" "BLOCK 403 permission_error"
check "throttle policy: 6 per minute then 429" has "$O" "THROTTLE 6 2"
check "a tenant key cannot set policies" has "$O" "POLICY_TENANT_KEY 403"
stop_server
finish
