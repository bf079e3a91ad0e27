// PromQL shared by the alerts and the recording rules, built from _config: one place for
// "was PASS", "regressed" and the item labels every item alert carries.
function(c) {
  local sel = c.readinessSelector,

  // Items that have been PASS at some time: the exporter keeps the time of the last PASS in its
  // store, across restarts (absent for an item that never passed).
  wasPass:: |||
    readiness_item_last_pass_timestamp_seconds{%(sel)s}
  ||| % { sel: sel },

  // Exporters whose decision has been one of `decisions` (a regex) at some time, kept the same
  // way.
  wasDecision(decisions):: |||
    readiness_decision_last_timestamp_seconds{%(sel)s, decision=~"%(d)s"}
  ||| % { sel: sel, d: decisions },

  local indent(s) = std.join('\n', ['  ' + l for l in std.split(std.stripChars(s, '\n'), '\n')]),

  // Items FAIL or PARTIAL now (matching `matchers`) that were PASS before, except while a risk
  // accepted for them is in force. One series per item, without the status label.
  regressed(matchers):: |||
    (
      max without (status, priority, category) (
        readiness_item_status{%(sel)s%(m)s, status=~"fail|partial"} == 1
      )
      and on (job, instance, item)
      (
    %(wasPass)s
      )
    )
    unless on (job, instance, item) readiness_item_risk_accepted{%(sel)s} == 1
  ||| % {
    sel: sel,
    m: if matchers == '' then '' else ', ' + matchers,
    wasPass: indent(indent($.wasPass)),
  },

  // `body` (one series per job, instance, item) joined with the item's info series, keeping
  // only items whose info matches `matchers`: title, category, priority, probe kind, and owner
  // (the exporter's item_owner, renamed; an empty item_owner leaves a target label `owner`).
  withItemLabels(body, matchers):: |||
    (
    %(body)s
    )
    * on (job, instance, item) group_left (title, category, priority, probe, owner)
    label_replace(
      readiness_item_info{%(sel)s%(m)s},
      "owner", "$1", "item_owner", "(.+)"
    )
  ||| % {
    body: indent(body),
    sel: sel,
    m: if matchers == '' then '' else ', ' + matchers,
  },

  local notAttestation = 'unless on (job, instance, item) readiness_item_info{%s, probe=~"%s"}' % [sel, c.personProbes],

  // Exporters with at least c.stormItems probe-judged regressions; `critical`: with a critical
  // one among them (then it pages), else without.
  storm(critical):: |||
    count without (item) (
    %(all)s
      %(notAttestation)s
    ) >= %(n)d
    %(op)s on (job, instance) (
    %(critical)s
      %(notAttestation)s
    )
  ||| % {
    all: indent($.regressed('')),
    critical: indent($.regressed('priority="critical"')),
    notAttestation: notAttestation,
    n: c.stormItems,
    op: if critical then 'and' else 'unless',
  },

  // NO-GO after having been GO or GO WITH CAUTION. `critical`: caused by a probe-judged
  // critical item not PASS (no accepted risk); else the rest (total score, attestations).
  noGo(critical):: |||
    (
      max without (decision) (readiness_decision{%(sel)s, decision="no_go"} == 1)
      and on (job, instance)
      (
    %(wasReady)s
      )
    )
    %(op)s on (job, instance)
    (
      readiness_item_status{%(sel)s, priority="critical", status=~"fail|partial|pending"} == 1
      %(notAttestation)s
      unless on (job, instance, item) readiness_item_risk_accepted{%(sel)s} == 1
    )
  ||| % {
    sel: sel,
    wasReady: indent(indent($.wasDecision('go|go_with_caution'))),
    notAttestation: notAttestation,
    op: if critical then 'and' else 'unless',
  },

  // GO WITH CAUTION after having been GO.
  degraded:: |||
    max without (decision) (readiness_decision{%(sel)s, decision="go_with_caution"} == 1)
    and on (job, instance)
    (
    %(wasGo)s
    )
  ||| % { sel: sel, wasGo: indent($.wasDecision('go')) },

  scoreDropped:: |||
    max_over_time(readiness_total_score_ratio{%(sel)s}[%(w)s]) - readiness_total_score_ratio{%(sel)s}
    >= %(drop)g
  ||| % { sel: sel, w: c.scoreDropWindow, drop: c.scoreDrop },

  stale:: |||
    time() - readiness_item_last_probe_timestamp_seconds{%(sel)s}
    > on (job, instance, item) %(n)d * readiness_item_interval_seconds{%(sel)s}
  ||| % { sel: sel, n: c.staleIntervals },

  // The share of errored runs (recorded by prometheusRules, held between runs).
  probeErrors:: 'readiness_item:probe_errors:ratio{%s} > %g' % [sel, c.probeErrorRatio],

  expiringSoon:: |||
    0 < readiness_item_expiry_timestamp_seconds{%(sel)s} - time() < %(s)d
  ||| % { sel: sel, s: c.expiringSoonSeconds },

  // Acceptances that ran out while their item still fails; the value is the expiry time.
  expiredAcceptance:: |||
    readiness_item_risk_acceptance_expiry_timestamp_seconds{%(sel)s} < time()
    and on (job, instance, item) readiness_item_risk_accepted{%(sel)s} == 0
    and on (job, instance, item) readiness_item_status{%(sel)s, status=~"fail|partial"} == 1
  ||| % { sel: sel },
}
