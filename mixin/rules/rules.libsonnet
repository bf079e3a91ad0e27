// Recording rules the alerts build on.
{
  prometheusRules+:: {
    local c = $._config,
    local sel = c.readinessSelector,
    groups+: [
      {
        name: 'readiness.rules',
        rules: [
          {
            // The share of an item's probe runs that errored (timeout, exception): over the runs
            // of the last window when there were any, else the share last recorded, held until
            // the item runs again. An item probed hourly thus keeps the verdict on its last run
            // for the whole hour instead of losing it when the run leaves the window
            // (ReadinessProbeErrors would flap). The hold reads this rule's own previous sample
            // (Prometheus's 5-minute lookback): after more than 5 minutes without evaluation it
            // starts empty and the next run sets it again.
            record: 'readiness_item:probe_errors:ratio',
            expr: |||
              increase(readiness_probe_errors_total{%(sel)s}[%(w)s])
              / on (job, instance, item)
              (increase(readiness_probe_runs_total{%(sel)s}[%(w)s]) > 0)
              or on (job, instance, item)
              (
                readiness_item:probe_errors:ratio{%(sel)s}
                and on (job, instance, item) readiness_probe_runs_total{%(sel)s}
              )
            ||| % { sel: sel, w: c.probeErrorWindow },
          },
        ],
      },
    ],
  },
}
