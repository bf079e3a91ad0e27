// Readiness item detail: one item's status, history, probe runs and expiry on the chosen exporters.
local g = import 'lib.libsonnet';

function(c)
  local s = g.chosen + ', item="$item"';
  local stat(title, description, x, expr) = g.panel(
    'stat', title, description, [x, 4, 6, 5],
    [g.target(expr, legend='{{instance}}', instant=true)],
    defaults={ unit: 'dateTimeFromNow', color: { mode: 'fixed', fixedColor: 'text' } },
    options=g.reduceLast { colorMode: 'value', graphMode: 'none', textMode: 'value' },
  );
  g.dashboard(
    c,
    'readiness-item',
    'Readiness item detail',
    "One checklist item: its status, history, probe runs and expiry. The probe's summary and evidence are on the exporter's item page.",
    g.variables(c.readinessSelector, [
      g.queryVariable('item', 'Item', 'label_values(readiness_item_info{%s, job=~"$job", instance=~"$instance"}, item)' % c.readinessSelector, multi=false),
    ]),
    [
      g.panel(
        'table', 'Item',
        "The item's title, category, priority, probe kind and owner.",
        [0, 0, 24, 4],
        [g.target('readiness_item_info{%s}' % s, instant=true, table=true)],
        defaults={ custom: { align: 'auto' } },
        options={ showHeader: true },
        transformations=[{
          id: 'organize',
          options: { excludeByName: { Time: true, Value: true, __name__: true, job: true }, indexByName: {}, renameByName: { item_owner: 'owner' } },
        }],
      ),
      g.panel(
        'stat', 'Status', 'The current status of the item.', [0, 4, 6, 5],
        [g.target(g.statusCode(s), legend='{{instance}}', instant=true)],
        defaults={ mappings: g.statusMappings, color: { mode: 'thresholds' }, thresholds: g.steps([['text', null]]) },
        options=g.reduceLast { colorMode: 'background', graphMode: 'none', textMode: 'value' },
      ),
      stat('Last change', 'When the item entered its current status.', 6,
           'readiness_item_last_change_timestamp_seconds{%s} * 1000' % s),
      stat('Last probe', 'When the last probe run ended.', 12,
           'readiness_item_last_probe_timestamp_seconds{%s} * 1000' % s),
      stat('Last PASS', 'When the item was last judged PASS (kept across exporter restarts); empty if it never passed.', 18,
           'readiness_item_last_pass_timestamp_seconds{%s} * 1000' % s),
      g.panel(
        'state-timeline', 'Status history', "The item's status over time.", [0, 9, 24, 4],
        [g.target(g.statusCode(s), legend='{{instance}}')],
        defaults={
          mappings: g.statusMappings,
          color: { mode: 'thresholds' },
          thresholds: g.steps([['text', null]]),
          custom: { fillOpacity: 80, lineWidth: 0 },
        },
        options={
          showValue: 'auto',
          mergeValues: true,
          rowHeight: 0.9,
          alignValue: 'left',
          legend: { showLegend: false, displayMode: 'list', placement: 'bottom' },
        },
      ),
      g.panel(
        'timeseries', 'Probe duration', 'How long each probe run of the item took.', [0, 13, 12, 8],
        [g.target('readiness_item_probe_duration_seconds{%s}' % s, legend='{{instance}}')],
        defaults={ unit: 's', min: 0, color: { mode: 'palette-classic' }, custom: { drawStyle: 'points', pointSize: 5 } },
        options={ legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'none' } },
      ),
      g.panel(
        'timeseries', 'Probe runs and errors', 'Probe runs of the item, and those that could not judge it (timeouts, exceptions).', [12, 13, 12, 8],
        [
          g.target('increase(readiness_probe_runs_total{%s}[$__rate_interval])' % s, legend='runs {{instance}}'),
          g.target('increase(readiness_probe_errors_total{%s}[$__rate_interval])' % s, legend='errors {{instance}}'),
        ],
        defaults={ unit: 'none', min: 0, color: { mode: 'palette-classic' }, custom: { drawStyle: 'bars', fillOpacity: 60 } },
        options={ legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'none' } },
      ),
      g.panel(
        'stat', 'Expiry',
        'When what the item checked stops being valid (attestations, certificates); empty for probe kinds without an expiry.',
        [0, 21, 12, 4],
        [g.target('readiness_item_expiry_timestamp_seconds{%s} * 1000' % s, legend='{{instance}}', instant=true)],
        defaults={ unit: 'dateTimeFromNow', color: { mode: 'fixed', fixedColor: 'text' } },
        options=g.reduceLast { colorMode: 'value', graphMode: 'none', textMode: 'value' },
      ),
      g.panel(
        'stat', 'Risk accepted until',
        'While a risk accepted for the item is in force, when it expires; its regression alerts are held until then.',
        [12, 21, 12, 4],
        [g.target('readiness_item_risk_acceptance_expiry_timestamp_seconds{%s} * 1000 and on (job, instance, item) readiness_item_risk_accepted{%s} == 1' % [s, s], legend='{{instance}}', instant=true)],
        defaults={ unit: 'dateTimeFromNow', color: { mode: 'fixed', fixedColor: 'orange' } },
        options=g.reduceLast { colorMode: 'value', graphMode: 'none', textMode: 'value' },
      ),
    ],
  )
