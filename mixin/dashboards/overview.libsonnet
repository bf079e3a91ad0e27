// Readiness overview: the decision, scores and item statuses of the chosen exporters.
local g = import 'lib.libsonnet';

function(c)
  local s = g.chosen;
  local pct = { unit: 'percentunit', min: 0, max: 1 };
  local gaugeSteps = g.steps([['red', null], ['orange', c.gaugeThresholds.caution], ['green', c.gaugeThresholds.go]]);
  g.dashboard(
    c,
    'readiness-overview',
    'Readiness overview',
    'Go/No-Go decision, scores and item statuses of the chosen readiness exporters.',
    g.variables(c.readinessSelector),
    [
      g.panel(
        'stat', 'Decision',
        "The checklist's Go/No-Go decision: NO-GO while any critical item is not PASS or the total score is below the caution threshold.",
        [0, 0, 6, 4],
        [g.target(g.decisionCode(s), legend='{{instance}}', instant=true)],
        defaults={ mappings: g.decisionMappings, color: { mode: 'thresholds' }, thresholds: g.steps([['red', null]]) },
        options=g.reduceLast { colorMode: 'background', graphMode: 'none', textMode: 'value' },
      ),
      g.panel(
        'stat', 'In this decision for',
        'How long ago the computed decision last changed (readiness_decision_last_change_timestamp_seconds).',
        [0, 4, 6, 2],
        [g.target('time() - readiness_decision_last_change_timestamp_seconds{%s}' % s, legend='{{instance}}', instant=true)],
        defaults={ unit: 's', color: { mode: 'fixed', fixedColor: 'text' } },
        options=g.reduceLast { colorMode: 'none', graphMode: 'none', textMode: 'value' },
      ),
      g.panel(
        'gauge', 'Critical score',
        'PASS critical items over applicable critical items. Anything below 100 % is NO-GO.',
        [6, 0, 6, 6],
        [g.target('readiness_critical_score_ratio{%s}' % s, legend='{{instance}}', instant=true)],
        defaults=pct { decimals: 1, color: { mode: 'thresholds' }, thresholds: g.steps([['red', null], ['green', 1]]) },
        options=g.reduceLast { showThresholdMarkers: true, showThresholdLabels: true },
      ),
      g.panel(
        'gauge', 'Total score',
        "PASS items over applicable items. GO from the exporter's GO threshold, GO WITH CAUTION from its caution threshold (with every critical item PASS): Score history draws the thresholds the exporter exports (readiness_decision_threshold_ratio); the colours here follow the mixin's gaugeThresholds.",
        [12, 0, 6, 6],
        [g.target('readiness_total_score_ratio{%s}' % s, legend='{{instance}}', instant=true)],
        defaults=pct { decimals: 1, color: { mode: 'thresholds' }, thresholds: gaugeSteps },
        options=g.reduceLast { showThresholdMarkers: true, showThresholdLabels: true },
      ),
      g.panel(
        'bargauge', 'Items by status',
        'How many items of the chosen exporters are in each status right now.',
        [18, 0, 6, 6],
        [g.target('sum by (status) (readiness_item_status{%s})' % s, legend='{{status}}', instant=true)],
        defaults={ unit: 'none', min: 0, decimals: 0, color: { mode: 'fixed', fixedColor: 'blue' } },
        options=g.reduceLast { orientation: 'horizontal', displayMode: 'basic', showUnfilled: true },
      ),
      g.panel(
        'bargauge', 'Score per category',
        'PASS items over applicable items in each category.',
        [0, 6, 12, 9],
        [g.target('readiness_category_score_ratio{%s}' % s, legend='{{category}}', instant=true)],
        defaults=pct { decimals: 0, color: { mode: 'thresholds' }, thresholds: gaugeSteps },
        options=g.reduceLast { orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true },
      ),
      g.panel(
        'table', 'Critical items not PASS',
        "The critical items that block GO: FAIL first, then PARTIAL, then PENDING (not configured yet, or not attested yet: see the probe column), with their titles. Each item links to its detail dashboard and to its page on the exporter (the exporter's external URL, or http://<instance>), which shows the probe's summary (observed beside expected) and evidence: those are not metrics.",
        [12, 6, 12, 9],
        [g.target(|||
          (
            max without (status, category, priority) (readiness_item_status{%(s)s, priority="critical", status="fail"} == 1) * 3
            or max without (status, category, priority) (readiness_item_status{%(s)s, priority="critical", status="partial"} == 1) * 2
            or max without (status, category, priority) (readiness_item_status{%(s)s, priority="critical", status="pending"} == 1)
          )
          * on (job, instance, item) group_left (title, category, probe) readiness_item_info{%(s)s}
          * on (job, instance) group_left (external_url) (
            %(url)s
          )
        ||| % { s: s, url: std.strReplace(std.stripChars(g.exporterURL(s), '\n'), '\n', '\n  ') }, instant=true, table=true)],
        defaults={ custom: { align: 'auto' } },
        overrides=[
          {
            matcher: { id: 'byName', options: 'Value' },
            properties: [
              { id: 'displayName', value: 'status' },
              { id: 'mappings', value: g.valueMappings([[3, 'FAIL', 'red'], [2, 'PARTIAL', 'orange'], [1, 'PENDING', 'blue']]) },
              { id: 'custom.cellOptions', value: { type: 'color-background' } },
            ],
          },
          {
            matcher: { id: 'byName', options: 'item' },
            properties: [{
              id: 'links',
              value: [
                { title: 'Item detail', url: g.itemDetailURL },
                { title: 'Summary and evidence on the exporter', url: '${__data.fields.external_url}/items/${__value.raw}', targetBlank: true },
              ],
            }],
          },
        ] + g.hidden(['Time', 'job', 'external_url']),
        options={ showHeader: true, sortBy: [{ displayName: 'status', desc: true }] },
        transformations=[{
          id: 'organize',
          options: {
            excludeByName: {},
            indexByName: { Value: 0, item: 1, title: 2, category: 3, probe: 4, instance: 5 },
            renameByName: {},
          },
        }],
      ),
      g.panel(
        'state-timeline', 'Items that changed status',
        "The status over time of each item whose status changed within the dashboard's time range (an exporter restart counts: its items start PENDING); items that held one status throughout are left out.",
        [0, 15, 24, 12],
        [g.target(|||
          %(code)s
          and on (job, instance, item)
          (changes(readiness_item_last_change_timestamp_seconds{%(s)s}[$__range] @ end()) > 0)
        ||| % { s: s, code: std.stripChars(g.statusCode(s), '\n') }, legend='{{item}} {{instance}}')],
        defaults={
          mappings: g.statusMappings,
          color: { mode: 'thresholds' },
          thresholds: g.steps([['text', null]]),
          custom: { fillOpacity: 80, lineWidth: 0 },
        },
        options={
          showValue: 'never',
          mergeValues: true,
          rowHeight: 0.9,
          alignValue: 'left',
          legend: { showLegend: false, displayMode: 'list', placement: 'bottom' },
        },
      ),
      g.panel(
        'timeseries', 'Score history',
        'Total and critical score over time, with the GO and GO WITH CAUTION thresholds each exporter exports (readiness_decision_threshold_ratio, from its decision: config) as dashed lines.',
        [0, 27, 12, 9],
        [
          g.target('readiness_total_score_ratio{%s}' % s, legend='total {{instance}}'),
          g.target('readiness_critical_score_ratio{%s}' % s, legend='critical {{instance}}'),
          g.target('readiness_decision_threshold_ratio{%s, decision="go"}' % s, legend='GO threshold {{instance}}'),
          g.target('readiness_decision_threshold_ratio{%s, decision="go_with_caution"}' % s, legend='GO WITH CAUTION threshold {{instance}}'),
        ],
        defaults=pct {
          color: { mode: 'palette-classic' },
          custom: { lineWidth: 2, fillOpacity: 0, drawStyle: 'line', lineInterpolation: 'stepAfter' },
        },
        overrides=[
          {
            matcher: { id: 'byFrameRefID', options: line[0] },
            properties: [
              { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
              { id: 'custom.lineWidth', value: 1 },
              { id: 'color', value: { mode: 'fixed', fixedColor: line[1] } },
            ],
          }
          for line in [['C', 'green'], ['D', 'orange']]
        ],
        options={
          legend: { showLegend: true, displayMode: 'list', placement: 'bottom' },
          tooltip: { mode: 'multi', sort: 'none' },
        },
      ),
      g.panel(
        'table', 'Recent changes',
        'The 20 items that changed status last, with the status they changed to.',
        [12, 27, 12, 9],
        [g.target(|||
          topk(20,
            readiness_item_last_change_timestamp_seconds{%(s)s} * 1000
            * on (job, instance, item) group_left (title, priority) readiness_item_info{%(s)s}
            * on (job, instance, item) group_left (status) (readiness_item_status{%(s)s} == 1)
          )
        ||| % { s: s }, instant=true, table=true)],
        defaults={ custom: { align: 'auto' } },
        overrides=[
          {
            matcher: { id: 'byName', options: 'Value' },
            properties: [{ id: 'unit', value: 'dateTimeAsIso' }, { id: 'displayName', value: 'changed at' }],
          },
          {
            matcher: { id: 'byName', options: 'item' },
            properties: [{ id: 'links', value: [{ title: 'Item detail', url: g.itemDetailURL }] }],
          },
        ] + g.hidden(['Time', 'job']),
        options={ showHeader: true, sortBy: [{ displayName: 'changed at', desc: true }] },
        transformations=[{
          id: 'organize',
          options: {
            excludeByName: {},
            indexByName: { Value: 0, item: 1, status: 2, title: 3, priority: 4, instance: 5 },
            renameByName: {},
          },
        }],
      ),
    ],
  )
