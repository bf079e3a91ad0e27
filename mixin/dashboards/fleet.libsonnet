// Readiness fleet: every exporter (one per service and environment) with its decision, scores,
// blockers and how long it has held its decision; each links to its overview.
local g = import 'lib.libsonnet';

function(c)
  local s = g.chosen;
  local perExporter(expr) = 'max without () (%s)' % expr;  // drops __name__ so rows merge
  local count(decision) = g.target(
    'count(readiness_decision{%s, decision="%s"} == 1) or vector(0)' % [s, decision],
    legend=decision,
    instant=true,
  );
  local countPanel(title, description, x, target, color) = g.panel(
    'stat', title, description, [x, 0, 6, 4], [target],
    defaults={ color: { mode: 'fixed', fixedColor: color }, decimals: 0 },
    options=g.reduceLast { colorMode: 'background', graphMode: 'none', textMode: 'value' },
  );
  local overviewURL = '/d/readiness-overview/readiness-overview?${datasource:queryparam}&var-job=${__data.fields.job}&var-instance=${__value.raw}&${__url_time_range}';
  local column(name, display, props=[]) = {
    matcher: { id: 'byName', options: name },
    properties: [{ id: 'displayName', value: display }] + props,
  };
  g.dashboard(
    c,
    'readiness-fleet',
    'Readiness fleet',
    'Every readiness exporter: its decision, scores, blockers and how long it has held its decision. Click an instance for its overview.',
    g.variables(c.readinessSelector),
    [
      countPanel('Scraped exporters', 'Readiness exporters Prometheus scrapes (up, whatever their state).', 0,
                 g.target('count(up{%s}) or vector(0)' % s, legend='exporters', instant=true), 'blue'),
      countPanel('GO', 'Exporters whose decision is GO.', 6, count('go'), 'green'),
      countPanel('GO WITH CAUTION', 'Exporters whose decision is GO WITH CAUTION.', 12, count('go_with_caution'), 'orange'),
      countPanel('NO-GO', 'Exporters whose decision is NO-GO.', 18, count('no_go'), 'red'),
      g.panel(
        'table', 'Exporters',
        'One row per exporter (job, instance and the target labels its scrape adds, such as service and environment). Blockers: critical items not PASS. In decision for: since the computed decision last changed.',
        [0, 4, 24, 12],
        [
          g.target(g.decisionCode(s), instant=true, table=true),
          g.target(perExporter('readiness_total_score_ratio{%s}' % s), instant=true, table=true),
          g.target(perExporter('readiness_critical_score_ratio{%s}' % s), instant=true, table=true),
          g.target('sum without (item, category, priority, status) (readiness_item_status{%s, priority="critical", status=~"fail|partial|pending"})' % s, instant=true, table=true),
          g.target('sum without (item, category, priority, status) (readiness_item_status{%s, status=~"fail|partial"})' % s, instant=true, table=true),
          g.target('time() - readiness_decision_last_change_timestamp_seconds{%s}' % s, instant=true, table=true),
        ],
        defaults={ custom: { align: 'auto' } },
        overrides=[
          column('Value #A', 'decision', [
            { id: 'mappings', value: g.decisionMappings },
            { id: 'custom.cellOptions', value: { type: 'color-background' } },
          ]),
          column('Value #B', 'total score', [{ id: 'unit', value: 'percentunit' }, { id: 'decimals', value: 1 }]),
          column('Value #C', 'critical score', [{ id: 'unit', value: 'percentunit' }, { id: 'decimals', value: 1 }]),
          column('Value #D', 'blockers'),
          column('Value #E', 'failing items'),
          column('Value #F', 'in decision for', [{ id: 'unit', value: 's' }]),
          column('instance', 'instance', [{ id: 'links', value: [{ title: 'Overview of this exporter', url: overviewURL }] }]),
        ],
        options={ showHeader: true, sortBy: [{ displayName: 'decision', desc: false }] },
        transformations=[
          { id: 'merge', options: {} },
          { id: 'organize', options: { excludeByName: { Time: true }, indexByName: {}, renameByName: {} } },
        ],
      ),
      g.panel(
        'state-timeline', 'Decision over time',
        "Each exporter's decision over the dashboard's time range.",
        [0, 16, 24, 8],
        [g.target(g.decisionCode(s), legend='{{instance}}')],
        defaults={
          mappings: g.decisionMappings,
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
        'timeseries', 'Total score per exporter',
        'PASS items over applicable items, per exporter.',
        [0, 24, 12, 8],
        [g.target('readiness_total_score_ratio{%s}' % s, legend='{{instance}}')],
        defaults={ unit: 'percentunit', min: 0, max: 1, color: { mode: 'palette-classic' }, custom: { lineInterpolation: 'stepAfter' } },
        options={ legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
      ),
      g.panel(
        'timeseries', 'Blockers per exporter',
        'Critical items not PASS, per exporter: any makes the decision NO-GO.',
        [12, 24, 12, 8],
        [g.target('sum without (item, category, priority, status) (readiness_item_status{%s, priority="critical", status=~"fail|partial|pending"})' % s, legend='{{instance}}')],
        defaults={ unit: 'none', min: 0, decimals: 0, color: { mode: 'palette-classic' }, custom: { lineInterpolation: 'stepAfter' } },
        options={ legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
      ),
    ],
  )
