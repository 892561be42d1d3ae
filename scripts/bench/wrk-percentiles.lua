-- wrk-percentiles.lua: wrk -s this file prints, after wrk's own report, one line per
-- percentile of the request latency, in microseconds:
--   percentile 99.9 2512
-- wrk --latency stops at 99%; the tail this project tunes for needs 99.9% too.
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 99, 99.9, 99.99}) do
    io.write(string.format("percentile %g %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("percentile max %d\n", latency.max))
end
