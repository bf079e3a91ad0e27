// The readiness alerts. Each keeps `job` and `instance` (and the target labels the scrape adds:
// aggregations use `without`, never `by`), so several exporters share one Prometheus and one
// Alertmanager; item alerts carry item, title, category, priority, probe and owner.
local expr = import '../lib/expressions.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local e = expr(c),
    local sev = c.severities,
    local d = c.durations,

    local alert(name, severity, durations, body, summary, description) = {
      alert: name,
      expr: body,
      'for': durations['for'],
      [if std.objectHas(durations, 'keepFiringFor') then 'keep_firing_for']: durations.keepFiringFor,
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: description,
        runbook_url: '%s#%s' % [c.runbookURLBase, std.asciiLower(name)],
      },
    },

    // The description's "is now FAIL/PARTIAL", looked up at notification time: the status is
    // not a label, so a PARTIAL <-> FAIL change keeps the same alert (no second page).
    local nowStatus = |||
      {{ with printf "readiness_item_status{job=%q,instance=%q,item=%q,status=~\"fail|partial\"} == 1"
      $labels.job $labels.instance $labels.item | query }}{{ range . }}{{ .Labels.status | toUpper }}{{ end }}
      {{- else }}FAIL or PARTIAL{{ end }}
    |||,
    local owner = '{{ with $labels.owner }}, owner {{ . }}{{ end }}',
    local itemRef = 'item {{ $labels.item }} ({{ $labels.title }}%s) on {{ $labels.instance }} (job {{ $labels.job }})' % owner,
    local threshold(decision, fallback) = |||
      {{ with printf "readiness_decision_threshold_ratio{job=%%q,instance=%%q,decision=%%q}" $labels.job
      $labels.instance "%s" | query }}{{ . | first | value | humanizePercentage }}{{ else }}%s{{ end }}
    ||| % [decision, fallback],
    local oneLine(s) = std.strReplace(std.stripChars(s, '\n'), '\n', ' '),

    groups+: [
      {
        name: 'readiness.alerts',
        rules: [
          alert(
            'ReadinessCriticalItemRegressed', sev.page, d.criticalItemRegressed,
            e.withItemLabels(e.regressed('priority="critical"'), 'probe!~"%s"' % c.personProbes),
            'A critical readiness item that passed is now failing.',
            oneLine(|||
              Critical %s was PASS and is now %s; the decision is NO-GO until it passes.
            ||| % [itemRef, std.stripChars(nowStatus, '\n')]),
          ),
          alert(
            'ReadinessItemRegressed', sev.ticket, d.itemRegressed,
            e.withItemLabels(e.regressed('priority="high"'), 'probe!~"%s"' % c.personProbes),
            'A high-priority readiness item that passed is now failing.',
            oneLine(|||
              High-priority %s was PASS and is now %s.
            ||| % [itemRef, std.stripChars(nowStatus, '\n')]),
          ),
          alert(
            'ReadinessAttestationExpired', sev.ticket, d.attestationExpired,
            e.withItemLabels(e.regressed(''), 'probe=~"%s"' % c.personProbes),
            "A person's attestation of a readiness item that passed no longer holds.",
            oneLine(|||
              The attestation of %s was PASS and is now %s: it expired
              {{ with printf "readiness_item_expiry_timestamp_seconds{job=%%q,instance=%%q,item=%%q}"
              $labels.job $labels.instance $labels.item | query }}on {{ . | first | value | humanizeTimestamp }}{{ else }}or was signed as not passing{{ end }}.
              Ask its owner for a new validation.
            ||| % [itemRef, std.stripChars(nowStatus, '\n')]),
          ),
          alert(
            'ReadinessRiskAcceptanceExpired', sev.ticket, d.riskAcceptanceExpired,
            e.withItemLabels(e.expiredAcceptance, ''),
            'The accepted risk of a failing readiness item has expired.',
            oneLine(|||
              The risk accepted for %s expired on {{ $value | humanizeTimestamp }} and the item
              is still %s: its regression alerts are no longer held. Renew the acceptance or
              fix the item.
            ||| % [itemRef, std.stripChars(nowStatus, '\n')]),
          ),
          alert(
            'ReadinessManyItemsRegressed', sev.page, d.manyItemsRegressed,
            e.storm(true),
            'Many readiness items of one exporter stopped passing at once.',
            oneLine(|||
              {{ $value }} items of {{ $labels.instance }} (job {{ $labels.job }}) that passed
              are now FAIL or PARTIAL, critical ones among them: one cause is likely (a dependency,
              a credential, the network). Their per-item alerts are inhibited while this fires.
            |||),
          ),
          alert(
            'ReadinessManyItemsRegressed', sev.ticket, d.manyItemsRegressed,
            e.storm(false),
            'Many readiness items of one exporter stopped passing at once.',
            oneLine(|||
              {{ $value }} items of {{ $labels.instance }} (job {{ $labels.job }}) that passed
              are now FAIL or PARTIAL, no critical one among them: one cause is likely (a
              dependency, a credential, the network). Their per-item alerts are inhibited while
              this fires.
            |||),
          ),
          alert(
            'ReadinessNoGo', sev.page, d.noGo,
            e.noGo(true),
            'The readiness decision fell to NO-GO because of critical items.',
            oneLine(|||
              {{ $labels.instance }} (job {{ $labels.job }}) has been NO-GO for %s after having
              been GO or GO WITH CAUTION; critical items not PASS:
              {{ with printf "count(readiness_item_status{job=%%q,instance=%%q,priority=\"critical\",status=~\"fail|partial|pending\"} == 1)"
              $labels.job $labels.instance | query }}{{ . | first | value }}{{ end }}.
            ||| % d.noGo['for']),
          ),
          alert(
            'ReadinessNoGo', sev.ticket, d.noGo,
            e.noGo(false),
            'The readiness decision fell to NO-GO on its total score.',
            oneLine(|||
              {{ $labels.instance }} (job {{ $labels.job }}) has been NO-GO for %s after having
              been GO or GO WITH CAUTION, with no probe-judged critical item failing: the total
              score is below the GO WITH CAUTION threshold (%s), or only attestations and accepted
              risks among the critical items are not PASS.
            ||| % [d.noGo['for'], std.stripChars(threshold('go_with_caution', 'the caution threshold'), '\n')]),
          ),
          alert(
            'ReadinessDecisionDegraded', sev.ticket, d.decisionDegraded,
            e.degraded,
            'The readiness decision fell from GO to GO WITH CAUTION.',
            oneLine(|||
              {{ $labels.instance }} (job {{ $labels.job }}) was GO and has been GO WITH CAUTION
              for %s: all critical items pass, but the total score is below the GO threshold
              (%s).
            ||| % [d.decisionDegraded['for'], std.stripChars(threshold('go', 'the GO threshold'), '\n')]),
          ),
          alert(
            'ReadinessScoreDropped', sev.ticket, d.scoreDropped,
            e.scoreDropped,
            'The total readiness score fell by %g points or more within %s.' % [c.scoreDrop * 100, c.scoreDropWindow],
            oneLine(|||
              The total score of {{ $labels.instance }} (job {{ $labels.job }}) is
              {{ $value | humanizePercentage }} below its best of the last %s.
            ||| % c.scoreDropWindow),
          ),
          alert(
            'ReadinessProbesStale', sev.ticket, d.probesStale,
            e.withItemLabels(e.stale, ''),
            'A readiness item has not been probed for more than %d of its intervals.' % c.staleIntervals,
            oneLine(|||
              Item {{ $labels.item }} ({{ $labels.title }}%s) on {{ $labels.instance }} (job
              {{ $labels.job }}) was last probed {{ $value | humanizeDuration }} ago; its status is
              out of date.
            ||| % owner),
          ),
          alert(
            'ReadinessProbeErrors', sev.ticket, d.probeErrors,
            e.withItemLabels(e.probeErrors, ''),
            "A readiness item's probe keeps erroring instead of judging the item.",
            oneLine(|||
              {{ $value | humanizePercentage }} of the probe runs of item {{ $labels.item }}
              ({{ $labels.title }}%s) on {{ $labels.instance }} (job {{ $labels.job }}) in the last
              %s (or its last runs, for an item probed less often) timed out or raised an error.
            ||| % [owner, c.probeErrorWindow]),
          ),
          alert(
            'ReadinessExpiringSoon', sev.ticket, d.expiringSoon,
            e.withItemLabels(e.expiringSoon, ''),
            'An attestation or certificate of a readiness item expires soon.',
            oneLine(|||
              What item {{ $labels.item }} ({{ $labels.title }}%s) on {{ $labels.instance }} (job
              {{ $labels.job }}) checked stops being valid in {{ $value | humanizeDuration }}.
            ||| % owner),
          ),
          alert(
            'ReadinessExporterDown', sev.ticket, d.exporterDown,
            'up{%s} == 0' % c.readinessSelector,
            'Prometheus cannot scrape a readiness exporter.',
            oneLine(|||
              {{ $labels.instance }} (job {{ $labels.job }}) has not answered scrapes for %s;
              readiness scores and item alerts for it are unknown.
            ||| % d.exporterDown['for']),
          ),
          alert(
            'ReadinessExporterAbsent', sev.ticket, d.exporterAbsent,
            'absent(up{%s})' % c.readinessSelector,
            'No readiness exporter is among Prometheus\'s targets.',
            oneLine(|||
              No target matching {%s} has existed for %s; service discovery or the scrape
              config lost the exporter.
            ||| % [c.readinessSelector, d.exporterAbsent['for']]),
          ),
          alert(
            'ReadinessConfigReloadFailed', sev.ticket, d.configReloadFailed,
            'readiness_exporter_config_last_reload_successful{%s} == 0' % c.readinessSelector,
            'A readiness exporter rejected its new config and still runs the old one.',
            oneLine(|||
              The last config reload of {{ $labels.instance }} (job {{ $labels.job }}) failed; it
              keeps probing with the previous config. Its log names the file, item and field at
              fault.
            |||),
          ),
        ],
      },
    ],
  },
}
