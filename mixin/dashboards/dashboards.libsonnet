// grafanaDashboards: file name -> dashboard JSON.
{
  grafanaDashboards+:: {
    local c = $._config,
    'readiness-fleet.json': (import 'fleet.libsonnet')(c),
    'readiness-overview.json': (import 'overview.libsonnet')(c),
    'readiness-item-detail.json': (import 'item.libsonnet')(c),
    'readiness-exporter-health.json': (import 'health.libsonnet')(c),
  },
}
