#!/usr/bin/env bash
# cirrus serve under hostile or careless clients: a slowloris (partial headers), 500 idle
# connections, a body that never arrives, oversized headers, clients vanishing mid-stream and
# mid-request. Each time the server must keep serving others, cancel abandoned generations
# within a step or two, and leak no request.
source "$(dirname "$0")/serve_common.bash"
ulimit -n 4096 2>/dev/null || true
start_server --timeout 2 --max-connections 700 --per-ip-connections 0 # 500 idle ones from 127.0.0.1 below
CHAT='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":4}'
# The long requests cannot end early (end-of-text, id 2, is banned): only the client leaving
# stops them, so the checks below cannot pass or fail by a story's length.
LONG='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":400,"temperature":1,"stream":true,"logit_bias":{"2":-100}}'
LONG_WHOLE='{"model":"stories","messages":[{"role":"user","content":"Once"}],"max_tokens":401,"temperature":1,"logit_bias":{"2":-100}}'
ok_chat() { post /v1/chat/completions "$CHAT" --max-time 5; [ "$CODE" = 200 ]; }
# raw_request FD BODY: a POST to chat completions written on an open /dev/tcp descriptor
raw_request() {
    printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
        "${#2}" "$2" >&"$1"
}
# wait_log N: until the access log has N lines (at most 5 s)
wait_log() {
    for _ in $(seq 1 100); do
        [ "$(wc -l <"$LOG")" -ge "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# slowloris: partial headers, trickled; others are served meanwhile, and the idle timeout closes it
exec {slow}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&"$slow"
t0=$(date +%s%N)
check "served during a slowloris" ok_chat
printf 'X-Slow: 1\r\n' >&"$slow"
check "served during a slowloris (2)" ok_chat
check "no wait behind the slowloris" [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000 ]
if timeout 6 cat <&"$slow" >"$TMP/slow.out"; then closed=1; else closed=0; fi
check "idle timeout closes the slowloris" [ "$closed" = 1 ]
exec {slow}>&-

# a body announced but never sent: timed out, nobody else waits
exec {stall}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"mo' >&"$stall"
check "served during a stalled body" ok_chat
exec {stall}>&-

# 500 idle connections, then normal requests still work
fds=()
for _ in $(seq 1 500); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || break
    fds+=("$fd")
done
check "500 idle connections opened (${#fds[@]})" [ "${#fds[@]}" = 500 ]
check "served with 500 idle connections" ok_chat
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/health")
check "health with 500 idle connections" [ "$code" = 200 ]
for fd in "${fds[@]}"; do exec {fd}>&-; done

# oversized headers: refused, server fine
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Big: $(head -c 60000 /dev/zero | tr '\0' 'a')" "$BASE/health")
check "oversized headers refused ($code)" [ "$code" = 431 ]
printf 'X-Big: %s\r\n' "$(head -c 120000 /dev/zero | tr '\0' 'a')" >"$TMP/bighdr"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "@$TMP/bighdr" "$BASE/health")
check "far oversized headers refused ($code)" [ "$code" = 431 ] || [ "$code" = 413 ] || [ "$code" = 000 ]
check "served after oversized headers" ok_chat

# a client vanishing mid-stream: cancelled within a step or two, logged as client_gone
n=$(wc -l <"$LOG")
exec {v}<>"/dev/tcp/127.0.0.1/$PORT"
raw_request "$v" "$LONG"
read -r -t 5 status <&"$v"
check "stream started" has "$status" "200"
exec {v}>&-
check "vanished stream logged" wait_log $((n + 1))
line=$(tail -n 1 "$LOG")
check "vanished stream: client_gone" has "$line" '"outcome":"client_gone"'
tokens=$(printf '%s' "$line" | sed 's/.*"completion_tokens":\([0-9]*\).*/\1/')
check "vanished stream: cancelled early ($tokens of 400 tokens)" [ "$tokens" -lt 400 ]

# a client vanishing while its whole (non-streamed) reply is being generated
n=$(wc -l <"$LOG")
exec {v}<>"/dev/tcp/127.0.0.1/$PORT"
raw_request "$v" "$LONG_WHOLE"
sleep 0.02
exec {v}>&-
check "vanished request logged" wait_log $((n + 1))
line=$(tail -n 1 "$LOG")
tokens=$(printf '%s' "$line" | sed 's/.*"completion_tokens":\([0-9]*\).*/\1/')
check "vanished request: cancelled early ($tokens of 401 tokens)" [ "$tokens" -lt 401 ]
check "vanished request: client_gone" has "$line" '"outcome":"client_gone"'

# a crowd that vanishes at random points, then the server is healthy and holds nothing
pids=()
for i in $(seq 1 20); do
    curl -sN -o /dev/null --max-time "0.0$((i % 9 + 1))" -X POST "$BASE/v1/chat/completions" -d "$LONG" &
    pids+=($!)
done
wait "${pids[@]}"
check "served after the crowd vanished" ok_chat
idle=0
for _ in $(seq 1 100); do
    m=$(curl -s "$BASE/metrics")
    if has "$m" 'cirrus_requests_in_flight 0' && has "$m" 'cirrus_running_requests{model="stories"} 0'; then idle=1; break; fi
    sleep 0.05
done
check "no request left in flight" [ "$idle" = 1 ]
stop_server
finish
