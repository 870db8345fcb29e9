-- wrk reporter: after the run, one machine-readable line that bench/wrk.py parses.
-- Latencies are in microseconds; "status" counts responses with a status of 400 or more.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,"
      .. "\"p50_us\":%d,\"p90_us\":%d,\"p95_us\":%d,\"p99_us\":%d,"
      .. "\"mean_us\":%.1f,\"max_us\":%d,"
      .. "\"errors\":{\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}}\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
