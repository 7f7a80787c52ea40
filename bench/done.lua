-- Appended to every scenario: one JSON line with what bench/run reads. Scenarios that
-- keep a `refused` table per thread (status -> count) get it summed into "statuses".
done = function(summary, latency, requests)
  local e = summary.errors
  local totals, statuses = {}, {}
  for _, thread in ipairs(threads or {}) do
    for status, count in pairs(thread:get("refused") or {}) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    table.insert(statuses, string.format('"%d": %d', status, count))
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": %d, "non_2xx": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, table.concat(statuses, ", ")))
end
