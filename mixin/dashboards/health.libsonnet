// Readiness exporter health: scrapes, reloads, probe durations, errors and staleness, and the
// exporter process itself.
local g = import 'lib.libsonnet';

function(c)
  local s = g.chosen;
  local series(title, description, pos, targets, defaults) = g.panel(
    'timeseries', title, description, pos, targets,
    defaults=defaults { color: { mode: 'palette-classic' } },
    options={ legend: { showLegend: true, displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
  );
  g.dashboard(
    c,
    'readiness-exporter-health',
    'Readiness exporter health',
    'Is the readiness exporter itself working: scrapes, config reloads, probe durations, errors, staleness and its process.',
    g.variables(c.readinessSelector),
    [
      g.panel(
        'stat', 'Scrape', 'Whether Prometheus can scrape the exporter.', [0, 0, 6, 4],
        [g.target('up{%s}' % s, legend='{{instance}}', instant=true)],
        defaults={ mappings: g.valueMappings([[1, 'UP', 'green'], [0, 'DOWN', 'red']]), color: { mode: 'thresholds' }, thresholds: g.steps([['red', null], ['green', 1]]) },
        options=g.reduceLast { colorMode: 'background', graphMode: 'none', textMode: 'value' },
      ),
      g.panel(
        'stat', 'Last config reload', 'Whether the last config (re)load succeeded; after a failure the previous config keeps running.', [6, 0, 6, 4],
        [g.target('readiness_exporter_config_last_reload_successful{%s}' % s, legend='{{instance}}', instant=true)],
        defaults={ mappings: g.valueMappings([[1, 'OK', 'green'], [0, 'FAILED', 'red']]), color: { mode: 'thresholds' }, thresholds: g.steps([['red', null], ['green', 1]]) },
        options=g.reduceLast { colorMode: 'background', graphMode: 'none', textMode: 'value' },
      ),
      g.panel(
        'stat', 'Config loaded', 'When the config was last loaded successfully.', [12, 0, 6, 4],
        [g.target('readiness_exporter_config_last_reload_success_timestamp_seconds{%s} * 1000' % s, legend='{{instance}}', instant=true)],
        defaults={ unit: 'dateTimeFromNow', color: { mode: 'fixed', fixedColor: 'text' } },
        options=g.reduceLast { colorMode: 'value', graphMode: 'none', textMode: 'value' },
      ),
      g.panel(
        'stat', 'Version', "The exporter's version, revision and Python version.", [18, 0, 6, 4],
        [g.target('readiness_exporter_build_info{%s}' % s, legend='{{version}} {{revision}} {{pythonversion}}', instant=true)],
        defaults={ color: { mode: 'fixed', fixedColor: 'text' } },
        options=g.reduceLast { colorMode: 'none', graphMode: 'none', textMode: 'name' },
      ),
      series('Probe duration, slowest items', 'The ten items whose last probe run took longest.', [0, 4, 12, 8],
             [g.target('topk(10, readiness_item_probe_duration_seconds{%s})' % s, legend='{{item}} {{instance}}')],
             { unit: 's', min: 0 }),
      series('Probe runs and errors', 'Probe runs per second across all items, and those that could not judge their item.', [12, 4, 12, 8],
             [
               g.target('sum without (item) (rate(readiness_probe_runs_total{%s}[$__rate_interval]))' % s, legend='runs {{instance}}'),
               g.target('sum without (item) (rate(readiness_probe_errors_total{%s}[$__rate_interval]))' % s, legend='errors {{instance}}'),
             ],
             { unit: 'reqps', min: 0 }),
      series('Probe errors by item', 'Errored probe runs per item.', [0, 12, 12, 8],
             [g.target('increase(readiness_probe_errors_total{%s}[$__rate_interval])' % s, legend='{{item}} {{instance}}')],
             { unit: 'none', min: 0 }),
      series('Staleness (intervals since last probe)', "Time since each item's last probe run, in its own intervals; above 3 ReadinessProbesStale fires.", [12, 12, 12, 8],
             [g.target('(time() - readiness_item_last_probe_timestamp_seconds{%(s)s}) / on (job, instance, item) readiness_item_interval_seconds{%(s)s}' % { s: s }, legend='{{item}} {{instance}}')],
             { unit: 'none', min: 0 }),
      series('Scrape duration', 'How long a scrape of /metrics takes.', [0, 20, 12, 8],
             [g.target('scrape_duration_seconds{%s}' % s, legend='{{instance}}')],
             { unit: 's', min: 0 }),
      series('Samples per scrape', 'Samples in one scrape of /metrics.', [12, 20, 12, 8],
             [g.target('scrape_samples_scraped{%s}' % s, legend='{{instance}}')],
             { unit: 'none', min: 0 }),
      series('CPU', "The exporter process's CPU use, in cores.", [0, 28, 8, 8],
             [g.target('rate(process_cpu_seconds_total{%s}[$__rate_interval])' % s, legend='{{instance}}')],
             { unit: 'none', min: 0 }),
      series('Memory', "The exporter process's resident memory.", [8, 28, 8, 8],
             [g.target('process_resident_memory_bytes{%s}' % s, legend='{{instance}}')],
             { unit: 'bytes', min: 0 }),
      series('Open file descriptors', "The exporter process's open descriptors, against its limit.", [16, 28, 8, 8],
             [
               g.target('process_open_fds{%s}' % s, legend='open {{instance}}'),
               g.target('process_max_fds{%s}' % s, legend='limit {{instance}}'),
             ],
             { unit: 'none', min: 0 }),
    ],
  )
