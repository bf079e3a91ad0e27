// Every setting of the readiness mixin. Override with `(import 'mixin.libsonnet') + {_config+:: {...}}`
// and render again (`make mixin` renders the shipped files with these defaults).
{
  _config+:: {
    // Which scrape jobs are readiness exporters. Every selector of the rules and dashboards
    // carries it, and ReadinessExporterDown/Absent look for `up` with it.
    readinessSelector: 'job=~"readiness.*"',

    // Probe kinds that read a person's record, not a target (the `probe` label of
    // readiness_item_info): attestations, and the Sign-Off Sheet's sign-offs and decision. Their
    // regressions are paperwork: ReadinessAttestationExpired (a ticket), never a page; a
    // signature that stops counting because another item regressed would otherwise page once
    // per role beside that item's own alert.
    personProbes: 'attestation|signoff|decision',

    // Where alerts/runbook.md is served: each alert's runbook_url is this with `#alertname`.
    // The shipped files point at the project's repository; set it to your own copy (a Git
    // server, a wiki) so the link in a notification opens for the person on call.
    runbookURLBase: 'https://github.com/readiness-exporter/readiness-exporter/blob/main/alerts/runbook.md',

    // Severity labels, routed by alerts/alertmanager.example.yml: page, ticket, log only.
    severities: {
      page: 'critical',
      ticket: 'warning',
      info: 'info',
    },

    // `for` and `keep_firing_for` of each alert (keep_firing_for needs Prometheus 2.42+).
    durations: {
      criticalItemRegressed: { 'for': '5m', keepFiringFor: '10m' },
      itemRegressed: { 'for': '15m', keepFiringFor: '15m' },
      attestationExpired: { 'for': '10m' },
      riskAcceptanceExpired: { 'for': '5m' },
      // Shorter than criticalItemRegressed: the aggregate must already fire (and inhibit) when
      // the per-item alerts of the same outage would.
      manyItemsRegressed: { 'for': '3m', keepFiringFor: '10m' },
      noGo: { 'for': '15m', keepFiringFor: '15m' },
      decisionDegraded: { 'for': '30m', keepFiringFor: '15m' },
      scoreDropped: { 'for': '10m' },
      probesStale: { 'for': '10m' },
      probeErrors: { 'for': '15m', keepFiringFor: '15m' },
      expiringSoon: { 'for': '10m' },
      exporterDown: { 'for': '5m' },
      exporterAbsent: { 'for': '15m' },
      configReloadFailed: { 'for': '10m' },
    },

    // ReadinessManyItemsRegressed: this many probe-judged items of one exporter regressed at
    // once make one alert, which inhibits their per-item alerts (alertmanager.example.yml).
    stormItems: 10,

    // ReadinessScoreDropped: the total score this far below its best within the window.
    scoreDrop: 0.05,
    scoreDropWindow: '1h',

    // ReadinessProbesStale: the last probe run older than this many of the item's intervals.
    staleIntervals: 3,

    // ReadinessProbeErrors: more than this share of the runs in the window errored. Items probed
    // less often than the window keep the share of their last runs until their next run.
    probeErrorRatio: 0.5,
    probeErrorWindow: '30m',

    // ReadinessExpiringSoon: what an item checked (certificate, attestation) expires within.
    expiringSoonSeconds: 14 * 86400,

    // Dashboards: the colour steps of score gauges. The exporter's own thresholds
    // (readiness_decision_threshold_ratio, from `decision:` in its config) are drawn as lines
    // and listed on the overview; set these to the same values if you change `decision:`.
    gaugeThresholds: { caution: 0.90, go: 0.95 },
    dashboardTags: ['readiness'],
    dashboardRefresh: '30s',
    dashboardTimezone: 'utc',
  },
}
